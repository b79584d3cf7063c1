# What the binary-level tests share; sourced by tests/cli/*.sh after `set -u`.
#   test_setup BIN          bin=BIN (absolute), a fresh temp dir as the working directory, removed
#                           (with every process started through start_sandbox) on exit; the
#                           user's settings file is not read (XDG_CONFIG_HOME points into it)
#   fail MESSAGE            prints MESSAGE and the tail of every *.err and *.log here, exits 1
#   require TOOL...         fails unless every TOOL is on PATH
#   await_listening LOG PID [FROM]
#                           the URL of the "listening on" line PID writes to LOG (from line FROM),
#                           waiting up to 60 s unless PID ends; empty when none came
#   start_sandbox KEY ARGS  `sogni-flow sandbox --port 0 --api-key KEY ARGS...` on 127.0.0.1,
#                           logging to sandbox.log; sets url and sandbox_pid
#   start_fault_proxy PROXY LOG ARGS...
#                           tests/support/fault_proxy PROXY in front of the sandbox ($url), logging
#                           to LOG, with ARGS (--script, --seed); stops the one started before; sets
#                           purl and proxy_pid. stop_fault_proxy stops it.
#   two_step_plan NAME      writes NAME.yaml: an image and a video made from it
#   interrupt_run NAME SECS ARGS...
#                           `sogni-flow ARGS...` in the background (stdout NAME.out, stderr
#                           NAME.err); once NAME.err shows ": running" and SECS more have passed,
#                           one SIGINT; sets rc to its exit code
work=""
sandbox_pid=""
proxy_pid=""
bg_pids=()

test_cleanup() {
  [ -n "${KEEP_WORK:-}" ] && { echo "kept $work"; work=""; }
  local p
  for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
  wait 2>/dev/null
  [ -n "$work" ] && rm -rf "$work"
}

test_setup() {
  bin=$(realpath "$1")
  work=$(mktemp -d)
  export XDG_CONFIG_HOME=$work/.no-user-settings  # a developer's own defaults must not change a test
  trap test_cleanup EXIT
  trap 'exit 1' INT TERM
  cd "$work" || exit 1
}

fail() {
  local f
  echo "FAIL: $*"
  for f in *.err *.log; do [ -s "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
  exit 1
}

require() {
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null || fail "$tool is required"; done
}

# await_listening LOG PID [FROM]: prints the URL of the "listening on" line that the process PID
# writes to LOG (from line FROM on), or nothing when PID ends first or 60 s pass. The wait is long
# because `make test` compiles the sanitizer builds beside this suite on two cores: a start that
# takes 36 ms alone once took over 10 s there (a CI run failed on it). LOG must not hold an older
# process's line: the shell opens (and truncates) a `> LOG` redirection in the child, after `&` has
# returned, so a reused LOG can still show the previous line here (a CI run failed on that too;
# the launchers below remove LOG first).
await_listening() {
  local log=$1 pid=$2 from=${3:-1} i found
  for i in $(seq 1 600); do
    found=$(sed -n "$from,\$ s/.*listening on //p" "$log" 2>/dev/null | head -n 1)
    [ -n "$found" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$found" ] || found=$(sed -n "$from,\$ s/.*listening on //p" "$log" 2>/dev/null | head -n 1)
  printf '%s\n' "$found"
}

start_sandbox() {
  local key=$1
  shift
  rm -f sandbox.log
  "$bin" sandbox --port 0 --api-key "$key" "$@" > sandbox.log 2>&1 &
  sandbox_pid=$!
  url=$(await_listening sandbox.log "$sandbox_pid")
  [ -n "$url" ] || fail "the sandbox did not start ($(kill -0 "$sandbox_pid" 2>/dev/null && echo "still running" || echo "it exited")): $(tail -n 3 sandbox.log)"
  case "$url" in http://127.0.0.1:*) ;; *) fail "the sandbox is not on loopback: $url" ;; esac
}

two_step_plan() {
  cat > "$1.yaml" <<PLAN
version: 1
name: $1
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a lamp called $1}}
  - id: clip
    toolName: generate_video
    arguments: {prompt: orbit, duration: 3}
    dependsOn: [{sourceStepId: keyframe, targetArgument: referenceImageIndices, mediaType: image, transform: image_index}]
PLAN
}

stop_fault_proxy() {
  [ -n "$proxy_pid" ] && { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; }
  proxy_pid=""
}

start_fault_proxy() {
  local proxy=$1 log=$2
  shift 2
  stop_fault_proxy
  rm -f "$log"
  "$proxy" --upstream "$url" "$@" > "$log" 2>&1 &
  proxy_pid=$!
  purl=$(await_listening "$log" "$proxy_pid")
  [ -n "$purl" ] || fail "the fault proxy did not start: $(cat "$log")"
}

interrupt_run() {
  local name=$1 delay=$2 pid
  shift 2
  "$bin" "$@" > "$name.out" 2> "$name.err" &
  pid=$!
  bg_pids+=("$pid")
  for _ in $(seq 1 200); do grep -q ": running" "$name.err" 2>/dev/null && break; sleep 0.05; done
  sleep "$delay"
  kill -INT "$pid"
  wait "$pid"
  rc=$?
}
