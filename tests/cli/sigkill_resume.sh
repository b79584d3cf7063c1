#!/usr/bin/env bash
# SIGKILL of the runner at 10 random moments of a 5-step run, each followed by `resume`: the final
# state equals an uninterrupted run, and the sandbox's stats show one workflow per run and one
# completed download per artifact.
# The real binary against its own sandbox on 127.0.0.1; stops by itself. The kill delays come from
# $RANDOM seeded with $SEED (printed), so a failure is reproduced with SEED=<n> ctest -R sigkill.
# The resume of every third trial is itself SIGKILLed once, then resumed again.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_checks.sh"
test_setup "$1"
bg_pid=""
fail() {  # lib.sh's, with the failing trial's own logs
  echo "FAIL: $*"
  for f in "$work"/sandbox.log "$work/${d:-ref}"/*.err; do
    [ -s "$f" ] && { echo "--- ${f#$work/}"; tail -n 20 "$f"; }
  done
  exit 1
}
require curl jq sha256sum timeout

SEED=${SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
echo "SEED=$SEED"
trials=10
key=k-sigkill
export SOGNI_API_KEY=$key
start_sandbox "$key" --seed 7 --step-ms 50

five_step_plan > plan.yaml

# --- the uninterrupted run
mkdir ref
t0=$(now_ms)
timeout 30 "$bin" run plan.yaml --api-url "$url" --state-dir ref/state --out ref/out > ref/run.out 2> ref/run.err ||
  fail "the uninterrupted run exited $?"
duration=$(( $(now_ms) - t0 ))
ref_run=$(run_id_in ref/state)
[ -n "$ref_run" ] || fail "no run stored by the uninterrupted run"
final_state ref "$ref_run"
runs_created=1
echo "uninterrupted: ${duration} ms, $(jq -r '"\(.events) events, \(.artifactsDone)/\(.artifacts) artifacts"' ref/status.json)"

# --- SIGKILL at random moments, then resume
before_creation=0 mid_run=0 after_end=0
dup_trials=()
for i in $(seq 1 "$trials"); do
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    [ "$attempt" -le 5 ] || fail "trial $i: killed before creation 5 times in a row"
    d=t$i.$attempt
    mkdir "$d"
    delay=$(( RANDOM * duration / 32768 ))
    "$bin" run plan.yaml --api-url "$url" --state-dir "$d/state" --out "$d/out" > "$d/run.out" 2> "$d/run.err" &
    bg_pid=$!
    bg_pids=("$bg_pid")
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -KILL "$bg_pid" 2>/dev/null
    wait "$bg_pid" 2>/dev/null; rc=$?
    bg_pid=""
    run=$(run_id_in "$d/state")
    if [ -n "$run" ]; then break; fi
    echo "trial $i: kill at ${delay} ms landed before the run was created; again"
    before_creation=$((before_creation + 1))
  done
  runs_created=$((runs_created + 1))
  at=$("$bin" status "$run" --state-dir "$d/state" --json | jq -r '"\(.status) events \(.events) artifacts \(.artifactsDone)/\(.artifacts)"')
  if [ "$rc" -eq 0 ]; then after_end=$((after_end + 1)); how="had finished"; else mid_run=$((mid_run + 1)); how="killed"; fi
  extra=""
  if [ $((i % 3)) -eq 0 ] && [ "$rc" -ne 0 ]; then
    # Kill the first resume too, a little after it starts.
    "$bin" resume "$run" --api-url "$url" --state-dir "$d/state" > "$d/resume0.out" 2> "$d/resume0.err" &
    bg_pid=$!
    bg_pids=("$bg_pid")
    delay2=$(( RANDOM % 400 ))
    sleep "0.$(printf '%03d' "$delay2")"
    kill -KILL "$bg_pid" 2>/dev/null
    wait "$bg_pid" 2>/dev/null
    bg_pid=""
    extra=", resume killed at ${delay2} ms"
  fi
  timeout 30 "$bin" resume "$run" --api-url "$url" --state-dir "$d/state" > "$d/resume.out" 2> "$d/resume.err"
  rc=$?
  [ "$rc" -eq 0 ] || fail "trial $i: resume $run exited $rc"
  final_state "$d" "$run"
  cmp -s ref/final "$d/final" || fail "trial $i: final state differs from the uninterrupted run: $(diff ref/final "$d/final" | head -n 6)"
  line="trial $i: run $how at ${delay} ms ($at)$extra; resumed: $(jq -r '"\(.events) events, \(.artifactsDone)/\(.artifacts) artifacts"' "$d/status.json")"
  echo "$line"
  # Which of this trial's artifacts the sandbox delivered other than once (reported at the end).
  # (`downloads` counts whole deliveries from byte 0; a Range resume that finishes one is counted
  # apart, under resumedDownloads: together, one delivery per artifact.)
  dup=$(curl -sf "$url/_sandbox/stats" | jq -r --slurpfile ids <(jq .id "$d/artifacts.json") \
          '(.downloads // {}) as $d | (.resumedDownloads // {}) as $r | [$ids[] as $id | (($d[$id] // 0) + ($r[$id] // 0)) as $n
           | select($n != 1) | "\($id) x\($n)"] | join(", ")')
  [ -z "$dup" ] || dup_trials+=("$line: sent more than once: $dup")
done

# --- the sandbox's view: one workflow per run, one completed download per artifact
stats=$(curl -sf "$url/_sandbox/stats") || fail "GET /_sandbox/stats failed"
[ "$(jq .workflowsCreated <<<"$stats")" -eq "$runs_created" ] ||
  fail "the sandbox created $(jq .workflowsCreated <<<"$stats") workflows for $runs_created runs"
[ "$(sort -u workflows | wc -l)" -eq "$runs_created" ] || fail "two runs share a workflow"
[ "$(jq '.workflowsByIdempotencyKey | length' <<<"$stats")" -eq "$runs_created" ] ||
  fail "idempotency keys: $(jq -c .workflowsByIdempotencyKey <<<"$stats")"
[ "$(jq '[.workflowsByIdempotencyKey[] | select(. != 1)] | length' <<<"$stats")" -eq 0 ] ||
  fail "an idempotency key created more than one workflow: $(jq -c .workflowsByIdempotencyKey <<<"$stats")"
[ "${#dup_trials[@]}" -eq 0 ] || printf '%s\n' "${dup_trials[@]}"
check_deliveries "$stats"
resumed=$(jq -r '[.resumedDownloads // {} | to_entries[] | "\(.key) x\(.value)"] | join(", ")' <<<"$stats")
echo "resumedDownloads (Range resumes that finished an interrupted download): $(jq '[.resumedDownloads // {} | .[]] | add // 0' <<<"$stats")${resumed:+ ($resumed)}"
echo "ok: $trials SIGKILLs ($mid_run mid-run, $after_end after the end, $before_creation before creation, retried)," \
  "$runs_created runs = $runs_created workflows, $(wc -l < remote_artifacts) artifacts delivered once each"
