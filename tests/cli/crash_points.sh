#!/usr/bin/env bash
# The crash-point sweep (docs/reliability.md): a 5-step run is killed (SIGKILL, from inside, at the
# exact moment) at each crash point of its persistence protocol (engine/crash_point.h), then
# resumed; every episode must end as an uninterrupted run does: the same final state, stored
# events equal to the server's log, files equal to the store, no temp file left; and over all
# episodes the sandbox must have created one workflow per run and sent each artifact once.
#
#   crash_points.sh BIN_DIR [short|soak] [EPISODES]
# BIN_DIR holds sogni-flow and sogni-flow-crashtest (the same code with its crash points armed).
# short: every point at its first and its last hit (make test). soak: every hit of every point,
# over several sandbox seeds, with every third resume killed at a crash point of its own too,
# until EPISODES (default 2000) episodes have run (make soak). SEED=<n> replays a soak's choices.
# CRASH_WORKERS (soak: 4) episodes run at once: an episode mostly waits on the sandbox's step
# time, so more of them than cores keep both cores busy. CRASH_STEP_MS (20): the sandbox's.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_checks.sh"
bin_dir=$(realpath "$1")
mode=${2:-short}
target=${3:-2000}
test_setup "$bin_dir/sogni-flow"
crash_bin=$bin_dir/sogni-flow-crashtest
[ -x "$crash_bin" ] || fail "$crash_bin is missing"
require curl jq sha256sum timeout
SEED=${SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
echo "mode $mode, SEED=$SEED"
key=k-crash-points
export SOGNI_API_KEY=$key
sandbox_seed=7
step_ms=${CRASH_STEP_MS:-20}
[[ "$step_ms" =~ ^[0-9]{1,4}$ ]] || fail "CRASH_STEP_MS must be 0 to 9999, not '$step_ms'"
start_sandbox "$key" --seed "$sandbox_seed" --step-ms "$step_ms"
five_step_plan > plan.yaml

# The uninterrupted run, traced: which crash points it passes and how often.
mkdir ref
SOGNI_FLOW_CRASH_TRACE=$work/ref/trace timeout 60 "$crash_bin" run plan.yaml --api-url "$url" --state-dir ref/state \
  --out ref/out > ref/run.out 2> ref/run.err || fail "the uninterrupted run exited $?"
final_state ref "$(run_id_in ref/state)"
sort ref/trace | uniq -c | awk '{print $2, $1}' > points
[ "$(wc -l < points)" -ge 10 ] || fail "the run passed only $(wc -l < points) crash points: $(tr '\n' ' ' < points)"
echo "crash points of one run: $(awk '{printf "%s x%s, ", $1, $2}' points)"

# (point, hit) pairs of one round.
pairs() {
  local name count n
  while read -r name count; do
    if [ "$mode" = soak ]; then
      for n in $(seq 1 "$count"); do echo "$name $n"; done
    else
      echo "$name 1"
      [ "$count" -gt 1 ] && echo "$name $count"
    fi
  done < points
}

# Over the episodes on one sandbox: one workflow per run, each artifact sent once, and only the
# runs' own artifacts.
check_sandbox_totals() {
  local stats dups
  stats=$(curl -sf "$url/_sandbox/stats") || fail "GET /_sandbox/stats failed"
  [ "$(jq .workflowsCreated <<<"$stats")" -eq "$runs_created" ] ||
    fail "the sandbox created $(jq .workflowsCreated <<<"$stats") workflows for $runs_created runs"
  [ "$(jq '[.workflowsByIdempotencyKey[] | select(. != 1)] | length' <<<"$stats")" -eq 0 ] ||
    fail "an idempotency key created more than one workflow: $(jq -c .workflowsByIdempotencyKey <<<"$stats")"
  check_deliveries "$stats"
}
# One episode: kill a run at crash point $1, hit $2 (in dir $3), resume it, check it. Prints one
# word for the tally: killed, unreached (the run finished first) or killed-before (no run stored);
# with "+resume" when the resume was killed too.
episode() {
  local point=$1 n=$2 d=$3 rc run p2 c2 n2 word
  mkdir "$d"
  # In the background and waited for: a shell reports a foreground job killed by a signal.
  SOGNI_FLOW_CRASH_AT="$point:$n" timeout 60 "$crash_bin" run plan.yaml --api-url "$url" --state-dir "$d/state" \
    --out "$d/out" > "$d/run.out" 2> "$d/run.err" &
  wait $! 2>/dev/null
  rc=$?
  run=$(run_id_in "$d/state")
  if [ -z "$run" ]; then
    [ "$rc" -eq 137 ] || fail "$d ($point:$n): no run stored, exit $rc"
    rm -rf "$d"  # killed before the run existed: nothing to resume, nothing may have been sent
    echo killed-before
    return
  fi
  echo "$run" >> runs_created
  if [ "$rc" -eq 137 ]; then word=killed; else word=unreached; fi
  if [ "$mode" = soak ] && [ $((RANDOM % 3)) -eq 0 ] && [ "$rc" -eq 137 ]; then
    # The resume is killed too, at a point of its own.
    read -r p2 c2 < <(sed -n "$((RANDOM % $(wc -l < points) + 1))p" points)
    n2=$(( RANDOM % c2 + 1 ))
    SOGNI_FLOW_CRASH_AT="$p2:$n2" timeout 60 "$crash_bin" resume "$run" --state-dir "$d/state" \
      > "$d/resume0.out" 2> "$d/resume0.err" &
    wait $! 2>/dev/null
    [ $? -eq 137 ] && word="$word+resume"
  fi
  timeout 60 "$bin" resume "$run" --state-dir "$d/state" > "$d/resume.out" 2> "$d/resume.err"
  rc=$?
  [ "$rc" -eq 0 ] || fail "$d ($point:$n): resume exited $rc"
  final_state "$d" "$run" > /dev/null
  cmp -s ref/final "$d/final" ||
    fail "$d ($point:$n): the final state differs from the uninterrupted run: $(diff ref/final "$d/final" | head -n 6)"
  rm -rf "$d"
  echo "$word"
}

# A worker runs the episodes of its share of the pairs and writes a word per episode to its tally;
# a failure leaves its message in fail.K (the main shell reports it).
worker() {
  local k=$1 list=$2 point n i=0
  RANDOM=$((SEED + 7919 * k + round))
  fail() { echo "FAIL: $*" > "fail.$k"; exit 1; }
  while read -r point n; do
    i=$((i + 1))
    episode "$point" "$n" "r$round.w$k.e$i" >> "tally.$k"
  done < "$list"
}

: > runs_created
# (ref's run was created on this sandbox too)
echo ref >> runs_created
workers=1
if [ "$mode" = soak ]; then
  workers=${CRASH_WORKERS:-4}
  [[ "$workers" =~ ^[1-9][0-9]?$ ]] || fail "CRASH_WORKERS must be 1 to 99, not '$workers'"
  export FAST_CHECKS=1  # run_checks.sh: no HEAD per artifact (the download counts are checked here)
fi
episodes=0 round=0
while :; do
  round=$((round + 1))
  if [ "$round" -gt 1 ]; then
    # A new round on a sandbox with another seed: other step seeds, media and timings. Its
    # counters start again: the last one's are checked before it goes.
    runs_created=$(wc -l < runs_created)
    check_sandbox_totals
    kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null
    sandbox_seed=$((sandbox_seed + 1))
    start_sandbox "$key" --seed "$sandbox_seed" --step-ms "$step_ms"
    : > workflows; : > remote_artifacts; : > runs_created
  fi
  pairs > round.pairs
  pids=()
  for k in $(seq 1 "$workers"); do
    awk -v k="$k" -v w="$workers" 'NR % w == k % w' round.pairs > "round.pairs.$k"
    worker "$k" "round.pairs.$k" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for f in fail.*; do [ -e "$f" ] && fail "$(sed 's/^FAIL: //' "$f")"; done
  episodes=$((episodes + $(wc -l < round.pairs)))
  [ "$mode" = soak ] && [ "$episodes" -lt "$target" ] || break
done
runs_created=$(wc -l < runs_created)
cat tally.* > tally
killed=$(grep -c '^killed' tally) unreached=$(grep -c '^unreached' tally) resume_killed=$(grep -c '+resume' tally)
[ "$(wc -l < tally)" -eq "$episodes" ] || fail "$(wc -l < tally) episodes tallied, $episodes run"
check_sandbox_totals
echo "ok: $episodes crash episodes ($killed killed at their point, $unreached ran past it, $resume_killed resumes killed" \
  "too) over $round sandbox seeds, every one resumed to the uninterrupted run's final state; one workflow per run," \
  "each artifact sent once"
