#!/usr/bin/env bash
# Many runs at once through the real binary against `sogni-flow sandbox` on 127.0.0.1: a run is
# not a thread (docs/architecture.md, "Threads: no thread per run").
#   threads   150 runs at -j 150 while every stream is open: the process stays under 64 threads,
#             every run completes with exactly the events the sandbox logged for its workflow,
#             and every artifact is saved once
#   ctrl-c    the same under Ctrl-C mid-way: exit 130 at once, every run stopped with what it
#             received committed (its cursor = its stored events); resume --all completes each
#             with the sandbox's events, none twice
#   sigkill   SIGKILL mid-way, then resume --all: the same end
#   slow      an API that takes 1 s for every answer, 200 runs at -j 200, Ctrl-C while many wait
#             for a worker: exit 130 within 3 s and no start sent after it (an outside attack found
#             30 s and starts sent for 30 s after it, growing with the number of runs)
#   jobs      -j 10000 is accepted, -j 10001 and -j 0 are not (exit 2); a -j past the open-file
#             limit is refused with the limit said
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require curl jq sqlite3
key=k-many-runs-0001
export SOGNI_API_KEY=$key
runs=150
# Slow enough that every stream is open at the same time for a while (about 3 s a run).
start_sandbox "$key" --step-ms 150 --events-per-step 4 --max-active 100000 --balance 1000000000
mkdir plans
for i in $(seq 1 "$runs"); do
  cat > "plans/p$i.yaml" <<PLAN
version: 1
name: many-$i
steps:
  - {id: a, toolName: generate_image, arguments: {prompt: "many $i a", seed: $i}}
  - {id: b, toolName: generate_image, arguments: {prompt: "many $i b", seed: $i}}
PLAN
done

# peak_threads PID: the most threads PID had while it ran (sampled every 50 ms).
peak_threads() {
  local pid=$1 most=0 t
  while kill -0 "$pid" 2>/dev/null; do
    t=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${t:-0}" -gt "$most" ] && most=$t
    sleep 0.05
  done
  echo "$most"
}

# every_run_whole STATE: every run completed, its stored events = the sandbox's log, 2 files.
every_run_whole() {
  local state=$1 id wf stored logged n=0
  while IFS=$'\t' read -r id wf; do
    n=$((n + 1))
    stored=$(sqlite3 "$state/state.db" "SELECT COALESCE(SUM(count), 0) FROM event_chunks WHERE run_id = '$id'")
    logged=$(curl -sf "$url/_sandbox/events/$wf" | jq '.events | length')
    [ "$stored" = "$logged" ] || fail "$id: $stored events stored, the sandbox logged $logged"
  done < <(sqlite3 -separator $'\t' "$state/state.db" "SELECT id, workflow_id FROM runs")
  [ "$n" -eq "$runs" ] || fail "$n runs stored, expected $runs"
  local done_runs
  done_runs=$(sqlite3 "$state/state.db" "SELECT COUNT(*) FROM runs WHERE status = 'completed'")
  [ "$done_runs" -eq "$runs" ] || fail "$done_runs of $runs runs completed"
  local files
  files=$(find "$state-out" -type f ! -name '*.provenance.json' ! -name '*.part' | wc -l)
  [ "$files" -eq $((runs * 2)) ] || fail "$files artifacts saved, expected $((runs * 2))"
}

# start_many STATE: `run` of every plan at -j $runs into STATE in the background (pid in $pid),
# returning once 50 runs are running.
start_many() {
  "$bin" run plans/*.yaml -j "$runs" --api-url "$url" --state-dir "$1" --out "$1-out" > "$1.out" 2> "$1.err" &
  pid=$!
  for _ in $(seq 1 200); do [ "$(grep -c ': running' "$1.err" 2>/dev/null)" -ge 50 ] && break; sleep 0.05; done
}

# --- threads
"$bin" run plans/*.yaml -j "$runs" --api-url "$url" --state-dir s1 --out s1-out > s1.out 2> s1.err &
pid=$!
most=$(peak_threads "$pid")
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] || fail "run -j $runs exited $rc"
[ "$most" -lt 64 ] || fail "threads: $most at once for $runs runs (a thread per run?)"
every_run_whole s1
echo "ok   threads: $runs runs at -j $runs on at most $most threads, every event and file there"

# --- ctrl-c
start_many s2
sleep 0.5
kill -INT "$pid"
start=$(date +%s%N)
wait "$pid"; rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -eq 130 ] || fail "ctrl-c: run exited $rc, not 130"
[ "$elapsed" -lt 3000 ] || fail "ctrl-c: the runs took $elapsed ms to stop"
bad=$(sqlite3 s2/state.db "SELECT COUNT(*) FROM cursors k WHERE
        (SELECT MAX(last_sequence) FROM event_chunks c WHERE c.run_id = k.run_id) <> k.last_sequence")
[ "$bad" -eq 0 ] || fail "ctrl-c: $bad runs whose cursor is not their last stored event"
"$bin" resume --all -j "$runs" --state-dir s2 > s2r.out 2> s2r.err || fail "ctrl-c: resume --all exited $?"
every_run_whole s2
echo "ok   ctrl-c: exit 130 in $elapsed ms, cursors committed; resume --all completed every run whole"

# --- sigkill
start_many s3
sleep 0.7
kill -KILL "$pid"
wait "$pid" 2>/dev/null
"$bin" resume --all -j "$runs" --state-dir s3 > s3r.out 2> s3r.err || fail "sigkill: resume --all exited $?"
every_run_whole s3
echo "ok   sigkill: resume --all completed every run whole"

# --- slow
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 150 --events-per-step 4 --max-active 100000 --balance 1000000000 --faults slow_ms=1000
created() { curl -sf "$url/_sandbox/stats" | jq .workflowsCreated; }
mkdir slow
for i in $(seq 1 200); do sed "s/^name: many-1$/name: slow-$i/; s/many 1 /slow $i /" plans/p1.yaml > "slow/p$i.yaml"; done
"$bin" run slow/*.yaml -j 200 --api-url "$url" --state-dir s5 --out s5-out > s5.out 2> s5.err &
pid=$!
sleep 2.5  # many runs still wait for a worker: their starts must not be sent after Ctrl-C
started=$(grep -c ': started workflow' s5.err)
kill -INT "$pid"
at_interrupt=$(created)
start=$(date +%s%N)
wait "$pid"; rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -eq 130 ] || fail "slow: run exited $rc after Ctrl-C, not 130"
[ "$elapsed" -lt 3000 ] || fail "slow: Ctrl-C took $elapsed ms with an API of 1 s an answer"
sleep 1.5  # starts sent before Ctrl-C are created after it (the sandbox answers them 1 s late)
final=$(created)
# At most the starts in flight at Ctrl-C, one per worker (48 at most), came after it; the runs
# still waiting for a worker sent none.
[ "$final" -le $((at_interrupt + 48)) ] && [ "$final" -lt 200 ] ||
  fail "slow: starts were sent after Ctrl-C ($at_interrupt created at it, $final in the end)"
echo "ok   slow: $started of 200 runs started in 2.5 s at 1 s an answer; Ctrl-C ended them in $elapsed ms, no start after it"

# --- jobs
"$bin" run plans/p1.yaml -j 10000 --dry-run > /dev/null 2> j1.err || fail "-j 10000 was refused: $(cat j1.err)"
for j in 10001 0 abc; do
  "$bin" run plans/p1.yaml -j "$j" --dry-run > /dev/null 2> j2.err; rc=$?
  [ "$rc" -eq 2 ] || fail "-j $j exited $rc, not 2"
done
(ulimit -n 300; "$bin" run plans/p1.yaml -j 1000 --api-url "$url" --state-dir s4 > /dev/null 2> j3.err); rc=$?
[ "$rc" -eq 2 ] || fail "-j past the open-file limit exited $rc, not 2"
grep -q "may open 300 (ulimit -n)" j3.err || fail "-j past the open-file limit: $(cat j3.err)"
[ ! -e s4/state.db ] || [ -z "$(sqlite3 s4/state.db 'SELECT id FROM runs' 2>/dev/null)" ] || fail "-j refused, yet a run was stored"
echo "ok   jobs: -j 10000 accepted; 10001, 0 and abc exit 2; past the file limit refused with the limit said"
