#!/usr/bin/env bash
# sogni-flow against the official SDK on the same work, side by side (docs/performance.md).
# One sandbox per scenario, a separate process on loopback; each side's own CPU (user + sys) and
# peak RSS come from GNU time, so the sandbox's work is in neither. Ratios, not absolute times,
# are judged: sogni-flow's figure over the SDK's (or curl's) from the same run.
#
#   bench/sdk_compare.sh BIN [SCENARIO...]     scenarios: many follow one thousand resume (default: all)
#
#   many      N=200 workflows of 4 image steps, about 500 events each (--events-per-step 120),
#             all at once: `sogni-flow run PLANS -j N` against a Node script on the SDK
#             (bench/sdk_compare.mjs: workflows.start, streamEvents, every artifact written).
#             Goals: CPU <= 1/3 of the SDK's, peak RSS <= 1/3, wall <= the SDK's.
#   follow    the same workflows followed only (sogni-flow run --no-download; the SDK script
#             without downloads). Goal: CPU per event <= 1/4 of the SDK's.
#   one       one workflow of 100,000 events, completed, read by curl and followed durably by
#             `sogni-flow resume` (the run adopted with `recover`). Goal: >= 50% of curl's rate.
#   thousand  1,000 one-step workflows at once (-j 1000). Goals: peak RSS < 150 MB, threads not
#             one per run (at most 64), open descriptors bounded (at most 1,100... and reported).
#   resume    200 stored unfinished runs: `resume --all -j 200`. Goal: every run's event stream
#             requested within 2 s of the start (the sandbox's request count, polled).
# Needs node (the SDK from tests/conformance/node_modules), curl, jq, GNU time.
set -euo pipefail
bin=$(realpath "$1"); shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
sdk_dir="$root/tests/conformance"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(many follow one thousand resume)
N=${N:-200}
key=sdk-compare-key  # a key for these sandboxes only
work=$(mktemp -d)
sandbox_pids=()
cleanup() {  # the sandboxes this shell started
  for p in "${sandbox_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  sandbox_pids=()
}
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
[ -d "$sdk_dir/node_modules/@sogni-ai/sogni-client" ] || { echo "the SDK is not installed: run scripts/setup"; exit 1; }
cd "$work"

# start_sandbox NAME ARGS...: starts a sandbox, sets $url.
start_sandbox() {
  local name=$1; shift
  "$bin" sandbox --port 0 --api-key "$key" --balance 1000000000 --max-active 100000 "$@" > "$name.sandbox.log" 2>&1 &
  sandbox_pids+=($!)
  for _ in $(seq 1 600); do grep -q "listening on" "$name.sandbox.log" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on //p' "$name.sandbox.log")
  case "$url" in http://127.0.0.1:*) ;; *) echo "the sandbox did not start on loopback"; cat "$name.sandbox.log"; exit 1 ;; esac
}

# measure NAME CMD...: runs CMD under GNU time; samples its process's threads and open
# descriptors every 20 ms. Sets m_cpu m_rss_mb m_wall m_threads m_fds m_rc.
measure() {
  local name=$1; shift
  m_rc=0
  /usr/bin/time -f '%U %S %e %M' -o "$name.time" "$@" > "$name.out" 2> "$name.err" &
  local tpid=$! child="" threads=0 fds=0
  while kill -0 "$tpid" 2>/dev/null; do
    [ -n "$child" ] || child=$(pgrep -P "$tpid" | head -1 || true)
    if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
      local t f
      t=$(awk '/^Threads:/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
      f=$( (ls "/proc/$child/fd" 2>/dev/null || true) | wc -l)
      [ "${t:-0}" -gt "$threads" ] && threads=$t
      [ "${f:-0}" -gt "$fds" ] && fds=$f
    fi
    sleep 0.02
  done
  wait "$tpid" || m_rc=$?
  local user sys
  read -r user sys m_wall m_rss_kb < <(tail -1 "$name.time")
  m_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  m_rss_mb=$(awk -v kb="$m_rss_kb" 'BEGIN { printf "%.1f", kb / 1024 }')
  m_threads=$threads
  m_fds=$fds
}

verdict() { if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; then echo PASS; else echo MISS; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# plans N STEPS EVENTS_NOTE DIR: N server plans of STEPS image steps, each its own prompts.
plans() {
  local n=$1 steps=$2 dir=$3
  mkdir -p "$dir"
  for i in $(seq 1 "$n"); do
    {
      echo 'version: 1'
      echo "name: compare-$i"
      echo 'steps:'
      for s in $(seq 1 "$steps"); do
        printf '  - {id: s%d, toolName: generate_image, arguments: {prompt: "compare still %d.%d", seed: %d}}\n' "$s" "$i" "$s" "$s"
      done
    } > "$dir/p$i.yaml"
  done
  for f in "$dir"/p*.yaml; do "$bin" run "$f" --dry-run; done > "$dir/inputs.jsonl"
}

table_header() {
  printf '  %-22s %8s %9s %10s %8s %8s\n' "" "wall s" "CPU s" "peak MB" "threads" "fds"
}
table_row() { printf '  %-22s %8s %9s %10s %8s %8s\n' "$1" "$2" "$3" "$4" "${5:--}" "${6:--}"; }

fail() { echo "  FAILED: $*"; exit 1; }

# stored_events STATE: the events stored in a state directory (every run).
stored_events() { "$bin" status --json --state-dir "$1" | jq -s '[.[] | .events // 0] | add'; }

scenario_many() {
  local mode=$1  # downloads | follow
  echo "== $N workflows x 4 image steps (about 500 events each), all at once: $mode"
  start_sandbox "$mode" --step-ms 0 --events-per-step 120
  plans "$N" 4 "plans-$mode"
  local flags=()
  [ "$mode" = follow ] && flags=(--no-download)
  SOGNI_API_KEY=$key measure "flow-$mode" "$bin" run "plans-$mode"/p*.yaml -j "$N" "${flags[@]}" \
    --api-url "$url" --state-dir "state-$mode" --out "out-$mode"
  [ "$m_rc" -eq 0 ] || { tail -5 "flow-$mode.err"; fail "sogni-flow run exited $m_rc"; }
  local f_cpu=$m_cpu f_rss=$m_rss_mb f_wall=$m_wall f_threads=$m_threads f_fds=$m_fds
  local f_events
  f_events=$(stored_events "state-$mode")
  SANDBOX_URL=$url SANDBOX_API_KEY=$key measure "sdk-$mode" node "$here/sdk_compare.mjs" "$sdk_dir" \
    "plans-$mode/inputs.jsonl" "sdk-out-$mode" "$([ "$mode" = follow ] && echo follow || echo downloads)"
  [ "$m_rc" -eq 0 ] || { tail -5 "sdk-$mode.err"; fail "the SDK script exited $m_rc"; }
  local s_events s_completed
  s_events=$(jq .events "sdk-$mode.out")
  s_completed=$(jq .completed "sdk-$mode.out")
  [ "$s_completed" -eq "$N" ] || fail "the SDK script completed $s_completed of $N workflows"
  if [ "$mode" = downloads ]; then
    local files
    files=$(find "out-$mode" -name '*.png' | wc -l)
    [ "$files" -eq $((N * 4)) ] || fail "sogni-flow saved $files files, expected $((N * 4))"
    [ "$(jq .artifacts "sdk-$mode.out")" -eq $((N * 4)) ] || fail "the SDK script saved $(jq .artifacts "sdk-$mode.out") files"
  fi
  table_header
  table_row "sogni-flow run -j $N" "$f_wall" "$f_cpu" "$f_rss" "$f_threads" "$f_fds"
  table_row "official SDK script" "$m_wall" "$m_cpu" "$m_rss_mb" "$m_threads" "$m_fds"
  echo "  events: sogni-flow stored $f_events, the SDK read $s_events"
  if [ "$mode" = downloads ]; then
    echo "  CPU ratio $(ratio "$f_cpu" "$m_cpu") (goal <= 0.33): $(verdict "$(ratio "$f_cpu" "$m_cpu")" 0.3334)"
    echo "  RSS ratio $(ratio "$f_rss" "$m_rss_mb") (goal <= 0.33): $(verdict "$(ratio "$f_rss" "$m_rss_mb")" 0.3334)"
    echo "  wall ratio $(ratio "$f_wall" "$m_wall") (goal <= 1): $(verdict "$(ratio "$f_wall" "$m_wall")" 1)"
  else
    local f_per s_per
    f_per=$(awk -v c="$f_cpu" -v e="$f_events" 'BEGIN { printf "%.2f", c * 1e6 / e }')
    s_per=$(awk -v c="$m_cpu" -v e="$s_events" 'BEGIN { printf "%.2f", c * 1e6 / e }')
    echo "  CPU per event: sogni-flow $f_per us, SDK $s_per us; ratio $(ratio "$f_per" "$s_per") (goal <= 0.25): $(verdict "$(ratio "$f_per" "$s_per")" 0.25)"
  fi
}

scenario_one() {
  echo "== one workflow of 100,000 events, completed: curl reads its stream, sogni-flow follows it durably"
  start_sandbox one --step-ms 0 --events-per-step 99990
  plans 1 1 plans-one
  SOGNI_API_KEY=$key "$bin" run plans-one/p1.yaml --detach --api-url "$url" --state-dir state-one-start > detach.out 2>&1 ||
    { cat detach.out; fail "the start failed"; }
  local wid status=""
  wid=$(sed -n 's/.*started workflow \(wf_[0-9a-zA-Z_-]*\).*/\1/p' detach.out | head -1)
  [ -n "$wid" ] || { cat detach.out; fail "no workflow id"; }
  for _ in $(seq 1 600); do
    status=$(curl -fsS -H "api-key: $key" "$url/v1/creative-agent/workflows/$wid" | jq -r '.data.workflow.status // .data.status // empty')
    [ "$status" = completed ] && break
    sleep 0.1
  done
  [ "$status" = completed ] || fail "the workflow did not complete ($status)"
  local best_curl=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    curl -fsSN -H "api-key: $key" "$url/v1/creative-agent/workflows/$wid/events/stream" -o stream.txt
    t1=$(date +%s.%N)
    local w
    w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best_curl" ] || awk -v a="$w" -v b="$best_curl" 'BEGIN { exit !(a < b) }'; then best_curl=$w; fi
  done
  local events
  events=$(grep -c '^data:.*"sequence"' stream.txt)
  local c_rate
  c_rate=$(awk -v e="$events" -v w="$best_curl" 'BEGIN { printf "%.0f", e / w }')
  SOGNI_API_KEY=$key "$bin" recover "$wid" --api-url "$url" --state-dir state-one > recover.out 2>&1 ||
    { cat recover.out; fail "recover failed"; }
  local run
  run=$("$bin" status --json --state-dir state-one | jq -r 'select(.workflowId == "'"$wid"'") | .run' | head -1)
  [ -n "$run" ] || fail "recover stored no run"
  SOGNI_API_KEY=$key measure flow-one "$bin" resume "$run" --state-dir state-one
  [ "$m_rc" -eq 0 ] || { tail -5 flow-one.err; fail "sogni-flow resume exited $m_rc"; }
  local stored f_rate
  stored=$(stored_events state-one)
  [ "$stored" -ge "$events" ] || fail "sogni-flow stored $stored events of $events"
  f_rate=$(awk -v e="$stored" -v w="$m_wall" 'BEGIN { printf "%.0f", e / w }')
  echo "  curl (best of 3): $events events in $best_curl s = $c_rate events/s"
  echo "  sogni-flow resume (whole process, durable): $stored events in $m_wall s = $f_rate events/s; CPU $m_cpu s, peak RSS $m_rss_mb MB"
  echo "  rate ratio $(ratio "$f_rate" "$c_rate") (goal >= 0.50): $(verdict 0.50 "$(ratio "$f_rate" "$c_rate")")"
}

scenario_thousand() {
  local n=1000
  echo "== $n one-step workflows at once (-j $n)"
  # Steps slow enough (a run lasts seconds) that all 1,000 streams are open at the same time.
  start_sandbox thousand --step-ms 300 --events-per-step 20
  plans "$n" 1 plans-thousand
  SOGNI_API_KEY=$key measure flow-thousand "$bin" run plans-thousand/p*.yaml -j "$n" \
    --api-url "$url" --state-dir state-thousand --out out-thousand
  if [ "$m_rc" -eq 2 ] && grep -q -- "-j wants a number" flow-thousand.err; then
    # Not a broken run: this sogni-flow does not take that many runs at once (yet). A goal missed.
    echo "  $(sed -n 's/^sogni-flow run: //p' flow-thousand.err | head -1)"
    echo "  1,000 runs at once: MISS (cannot run them at once)"
    return 0
  fi
  [ "$m_rc" -eq 0 ] || { tail -5 flow-thousand.err; fail "sogni-flow run exited $m_rc"; }
  local files
  files=$(find out-thousand -name '*.png' | wc -l)
  [ "$files" -eq "$n" ] || fail "sogni-flow saved $files files, expected $n"
  table_header
  table_row "sogni-flow run -j $n" "$m_wall" "$m_cpu" "$m_rss_mb" "$m_threads" "$m_fds"
  echo "  peak RSS $m_rss_mb MB (goal < 150): $(verdict "$m_rss_mb" 149.99)"
  echo "  threads at most $m_threads (goal: no thread per run, <= 64): $(verdict "$m_threads" 64)"
  echo "  open descriptors at most $m_fds (goal: bounded, <= 1100): $(verdict "$m_fds" 1100)"
}

scenario_resume() {
  echo "== resume --all of $N stored unfinished runs: every event stream requested within 2 s"
  start_sandbox resume --step-ms 1000 --events-per-step 3
  plans "$N" 4 plans-resume
  SOGNI_API_KEY=$key "$bin" run plans-resume/p*.yaml -j "$N" --detach --api-url "$url" --state-dir state-resume \
    > detach.out 2>&1 || { tail -5 detach.out; fail "run --detach failed"; }
  local before
  before=$(curl -fsS "$url/_sandbox/stats" | jq .streamsOpened)
  local t0
  t0=$(date +%s%N)
  SOGNI_API_KEY=$key "$bin" resume --all -j "$N" --state-dir state-resume > resume.out 2> resume.err &
  local rpid=$! elapsed="" seen=0
  while :; do
    seen=$(curl -fsS "$url/_sandbox/stats" | jq .streamsOpened)
    if [ $((seen - before)) -ge "$N" ]; then elapsed=$(( ($(date +%s%N) - t0) / 1000000 )); break; fi
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 30000 ] || break
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.01
  done
  kill -INT "$rpid" 2>/dev/null || true
  wait "$rpid" 2>/dev/null || true
  [ -n "$elapsed" ] || fail "only $((seen - before)) of $N streams were requested"
  echo "  every stream requested after $elapsed ms (goal < 2000): $(verdict "$elapsed" 1999)"
}

# Each scenario runs in a subshell of its own, which stops its sandbox when it ends: a scenario
# that fails (FAILED, exit 1 at the end) does not keep the others from running.
failed=0
for s in "${scenarios[@]}"; do
  case "$s" in
    many) ( trap cleanup EXIT; scenario_many downloads ) || failed=1 ;;
    follow) ( trap cleanup EXIT; scenario_many follow ) || failed=1 ;;
    one) ( trap cleanup EXIT; scenario_one ) || failed=1 ;;
    thousand) ( trap cleanup EXIT; scenario_thousand ) || failed=1 ;;
    resume) ( trap cleanup EXIT; scenario_resume ) || failed=1 ;;
    *) echo "unknown scenario '$s' (many follow one thousand resume)"; exit 2 ;;
  esac
done
exit "$failed"
