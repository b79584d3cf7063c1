#!/usr/bin/env bash
# The hostile corpus (tests/data/hostile/CLASS/CASE/) through the real binary: each case must exit
# with its expected code and print its expected first line on stderr, within 20 s, without echoing
# a secret.
#
# A case is a directory, copied to a fresh temporary directory that becomes the working directory:
#   args     one argument per line, passed to sogni-flow (required)
#   expect   line 1: the exit code; line 2: the exact first line of stderr (required)
#   expect-stderr-lines  each line must also be a whole line of stderr, in this order (not
#            necessarily adjacent): for what only a later line shows (every error reported, a hint)
#   env      KEY=VALUE lines added to a clean environment (PATH, HOME=the copy, LANG=C.UTF-8)
#   stdin    fed to the command's standard input (default: /dev/null)
#   setup    a bash script run in the copy first, for what cannot be committed (FIFOs, big files,
#            modes, a state directory made by an earlier command, a 1 MB argument: it may rewrite
#            the copy's args, which is read after it)
#   json     (empty) stdout must be JSON lines, each one object in valid UTF-8
#   sandbox  line 1: an API key; further lines: more `sogni-flow sandbox` arguments. A sandbox is
#            started on 127.0.0.1 for the case and stopped after it.
# In args, env, stdin and expect, @CASE@ stands for the copy's absolute path and @URL@ for the
# case's sandbox URL. After the command, no value of an env variable whose name contains KEY,
# TOKEN or SECRET (8 characters or more) may appear in its stdout or stderr.
#
#   hostile_corpus.sh BIN [CORPUS_DIR] [CASE_FILTER]
set -u
. "$(dirname "$0")/lib.sh"  # await_listening
bin=$(realpath "$1")
corpus=$(realpath "${2:-$(dirname "$0")/../data/hostile}")
filter=${3:-}
root=$(mktemp -d)
sandbox_pid=""
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$root"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

subst() { sed -e "s#@CASE@#$case_dir#g" -e "s#@URL@#${url:-}#g" "$1"; }

start_case_sandbox() {
  local key extra=()
  key=$(head -n 1 "$1")
  mapfile -t extra < <(tail -n +2 "$1")
  "$bin" sandbox --port 0 --api-key "$key" "${extra[@]}" > "$root/sandbox.log" 2>&1 &
  sandbox_pid=$!
  url=$(await_listening "$root/sandbox.log" "$sandbox_pid")
  [ -n "$url" ]
}

# Whether every line of the case's expect-stderr-lines is a whole line of $1, in order; sets
# missing_line to the first that is not.
lines_in_order() {
  local want got from=1 n
  missing_line=""
  while IFS= read -r want; do
    n=$(tail -n +"$from" "$1" | grep -nxF -m 1 -- "$want" | cut -d: -f1)
    if [ -z "$n" ]; then missing_line=$want; return 1; fi
    from=$((from + n))
  done < <(subst "$src/expect-stderr-lines")
  return 0
}

cases=0 failed=0
while IFS= read -r src; do
  name=${src#"$corpus"/}
  [ -n "$filter" ] && [[ "$name" != *$filter* ]] && continue
  cases=$((cases + 1))
  case_dir="$root/case-$cases"
  cp -a "$src" "$case_dir"
  url=""
  problem=""
  if [ -f "$src/sandbox" ] && ! start_case_sandbox "$src/sandbox"; then problem="its sandbox did not start"; fi
  env_args=(PATH="$PATH" HOME="$case_dir" LANG=C.UTF-8)
  [ -f "$src/env" ] && while IFS= read -r line; do [ -n "$line" ] && env_args+=("$line"); done < <(subst "$src/env")
  stdin=/dev/null
  if [ -f "$src/stdin" ]; then subst "$src/stdin" > "$root/stdin"; stdin="$root/stdin"; fi
  rc=""
  if [ -z "$problem" ]; then
    if [ -f "$src/setup" ]; then
      (cd "$case_dir" && env -i "${env_args[@]}" BIN="$bin" bash "$src/setup") > "$root/setup.log" 2>&1 ||
        problem="its setup failed: $(tail -n 3 "$root/setup.log")"
    fi
  fi
  if [ -z "$problem" ]; then
    mapfile -t args < <(subst "$case_dir/args")
    (cd "$case_dir" && exec timeout -s KILL 20 env -i "${env_args[@]}" "$bin" "${args[@]}") \
      < "$stdin" > "$root/out" 2> "$root/err"
    rc=$?
    want_rc=$(subst "$src/expect" | sed -n 1p)
    want_line=$(subst "$src/expect" | sed -n 2p)
    got_line=$(head -n 1 "$root/err")
    if [ "$rc" = 137 ]; then problem="killed after 20 s"
    elif [ "$rc" != "$want_rc" ]; then problem="exit $rc, expected $want_rc"
    elif [ "$got_line" != "$want_line" ]; then problem="first stderr line differs"
    elif [ -f "$src/expect-stderr-lines" ] && ! lines_in_order "$root/err"; then
      problem="stderr misses the line: $missing_line"
    fi
    if [ -f "$src/json" ]; then
      if ! iconv -f UTF-8 -t UTF-8 "$root/out" > /dev/null 2>&1; then problem="${problem:+$problem; }stdout is not valid UTF-8"
      elif [ ! -s "$root/out" ] || ! jq -e -s 'length > 0 and all(type == "object")' "$root/out" > /dev/null 2>&1; then
        problem="${problem:+$problem; }stdout is not JSON lines of objects"
      fi
    fi
    for kv in "${env_args[@]}"; do
      k=${kv%%=*} v=${kv#*=}
      case "$k" in *KEY*|*TOKEN*|*SECRET*) ;; *) continue ;; esac
      [ ${#v} -ge 8 ] || continue
      if grep -qF -- "$v" "$root/out" "$root/err"; then problem="${problem:+$problem; }the value of $k was printed"; fi
    done
  fi
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null; sandbox_pid=""; fi
  if [ -n "$problem" ]; then
    failed=$((failed + 1))
    echo "FAIL $name: $problem"
    echo "  expected: $(subst "$src/expect" | sed -n 2p)"
    echo "  got:      $(head -n 1 "$root/err" 2>/dev/null)"
    sed 's/^/  stderr| /' "$root/err" 2>/dev/null | head -n 8
  else
    echo "ok   $name: exit $rc"
  fi
  chmod -R u+w "$case_dir" 2>/dev/null  # a case may leave a read-only directory
  rm -rf "$case_dir"
done < <(find "$corpus" -mindepth 2 -maxdepth 2 -type d | LC_ALL=C sort)

echo "$cases cases, $failed failed"
[ "$cases" -gt 0 ] && [ "$failed" -eq 0 ]
