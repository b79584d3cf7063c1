#!/usr/bin/env bash
# Cancel and Ctrl-C of local runs, through the binary against `sogni-flow sandbox`:
#   1. `cancel RUN --wait` of a detached local run: every project in flight is cancelled on the
#      socket, no further step starts, the run ends cancelled (exit 0), and the sandbox never saw a
#      project for the step that had not started.
#   2. Ctrl-C of a running local run: exit 130 with a resume hint, the projects go on; `resume`
#      then re-attaches them and sends nothing twice (one project per step in the state database).
#   3. `cancel` of a run that has ended says so and changes nothing.
#   4. Two processes running local plans of one state directory at once both complete.
#   5. Ctrl-C while the quote waits to retry (503, Retry-After: 30): exit 130 at once, no run
#      stored, no project sent. Started with & from this script, so SIGINT comes in ignored (as
#      for any background job of a script); it used to stay ignored there, and the run paid.
#      With a slow API, the signal ends the quoting between two steps. Elsewhere (estimate) such
#      a SIGINT acts as by default.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require sqlite3
key=k-local-cancel
start_sandbox "$key" --step-ms 200
export SOGNI_API_KEY=$key
cat > plan.yaml <<'YAML'
version: 1
name: local-cancel
execution: local
steps:
  - id: first
    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: a red kettle, steps: 4, seed: 1}
  - id: second
    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: a blue kettle, steps: 4, seed: 2}
  - id: after
    project: {type: video, modelId: wan_v2.2-14b-fp8_i2v_lightx2v, positivePrompt: it turns, duration: 2, seed: 3}
    dependsOn:
      - {sourceStepId: first, targetArgument: referenceImage, mediaType: image, transform: image_url}
YAML
projects_of() { sqlite3 .sogni-flow/state.db "SELECT count(*) FROM projects WHERE run_id = '$1'"; }

# 1. cancel --wait of a detached run.
"$bin" run plan.yaml --api-url "$url" --detach -j 1 > detach.out 2> detach.err || fail "run --detach failed"
run=$(grep -o 'r-[0-9]*-[0-9]*-[0-9a-f]*' detach.err | head -1)
[ -n "$run" ] || fail "no run id"
"$bin" cancel "$run" --wait > cancel.out 2> cancel.err
rc=$?
[ $rc -eq 0 ] || fail "cancel --wait exited $rc"
grep -q "cancel requested for its projects in flight" cancel.err || fail "cancel did not say what it did"
status=$(sqlite3 .sogni-flow/state.db "SELECT status FROM runs WHERE id = '$run'")
[ "$status" = cancelled ] || fail "the cancelled run is $status"
# -j 1: only `first` was sent; `second` was ready and must never start after the cancel.
for step in second after; do
  st=$(sqlite3 .sogni-flow/state.db "SELECT status FROM steps WHERE run_id = '$run' AND step_id = '$step'")
  [ "$st" = cancelled ] || fail "step $step, not started before the cancel, is $st"
done
[ "$(projects_of "$run")" = 1 ] || fail "a project was sent for a step after the cancel: $(projects_of "$run")"
curl -s "$url/_sandbox/stats" > stats.json

# 3. cancel of an ended run.
"$bin" cancel "$run" > again.out 2> again.err || fail "cancel of an ended run failed"
grep -q "has already ended (cancelled)" again.err || fail "cancel of an ended run did not say so"

# 2. Ctrl-C, then resume.
interrupt_run ctrlc 0.3 run plan.yaml --api-url "$url" --no-cache
[ "$rc" -eq 130 ] || fail "Ctrl-C of a local run exited $rc, not 130"
grep -q "sogni-flow resume" ctrlc.err || fail "no resume hint after Ctrl-C"
run2=$(grep -o 'r-[0-9]*-[0-9]*-[0-9a-f]*' ctrlc.err | head -1)
before=$(projects_of "$run2")
"$bin" resume "$run2" > resume.out 2> resume.err || fail "resume after Ctrl-C failed"
[ "$(sqlite3 .sogni-flow/state.db "SELECT status FROM runs WHERE id = '$run2'")" = completed ] || fail "the resumed run did not complete"
[ "$(projects_of "$run2")" = 3 ] || fail "not one project per step after resume: $(projects_of "$run2") (before resume: $before)"
dups=$(sqlite3 .sogni-flow/state.db "SELECT count(*) FROM (SELECT step_id FROM projects WHERE run_id = '$run2' GROUP BY step_id HAVING count(*) > 1)")
[ "$dups" = 0 ] || fail "a step has two projects"
# 4. Two processes run local plans of one state directory at once (overlapping cron jobs): each
# socket has its own appId (the server closes an appId's older socket, 4015), both complete.
"$bin" run plan.yaml --api-url "$url" --no-cache > two_a.out 2> two_a.err &
pa=$!
"$bin" run plan.yaml --api-url "$url" --no-cache > two_b.out 2> two_b.err &
pb=$!
wait "$pa" || fail "the first of two concurrent local runs failed"
wait "$pb" || fail "the second of two concurrent local runs failed"
ra=$(grep -o 'r-[0-9]*-[0-9]*-[0-9a-f]*' two_a.err | head -1)
rb=$(grep -o 'r-[0-9]*-[0-9]*-[0-9a-f]*' two_b.err | head -1)
apps=$(sqlite3 .sogni-flow/state.db "SELECT count(DISTINCT app_id) FROM projects WHERE run_id IN ('$ra', '$rb')")
[ "$apps" = 2 ] || fail "the two concurrent processes did not each have their own appId ($apps)"
# restart_sandbox ARGS...: a sandbox of its own for the next case.
restart_sandbox() {
  kill "$sandbox_pid" 2>/dev/null
  wait "$sandbox_pid" 2>/dev/null
  start_sandbox "$key" "$@"
}
# sigint_when NAME READY ARGS...: runs `sogni-flow ARGS` in the background (so that SIGINT comes
# in ignored, as for a script's `&` job), waits until the command READY succeeds, sends SIGINT;
# sets rc and ms (from the signal to the exit). Output in NAME.out and NAME.err.
sigint_when() {
  local name=$1 ready=$2 pid t0
  shift 2
  "$bin" "$@" > "$name.out" 2> "$name.err" &
  pid=$!
  bg_pids+=("$pid")
  for _ in $(seq 1 100); do eval "$ready" && break; sleep 0.05; done
  t0=$(date +%s%N)
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
projects_sent() { curl -s "$url/_sandbox/stats" | jq '.projectsCreated'; }

# 5. Ctrl-C during the quote's wait for a retry.
restart_sandbox --faults http_5xx=1,retry_after=30
runs_before=$(sqlite3 .sogni-flow/state.db "SELECT count(*) FROM runs")
sigint_when quote '[ "$(curl -s "$url/_sandbox/stats" | jq ".faults.http_5xx // 0")" -gt 0 ]' \
  run plan.yaml --api-url "$url" --no-cache
[ "$rc" -eq 130 ] || fail "Ctrl-C during the quote's retry wait exited $rc, not 130: $(tail -n 3 quote.err)"
[ "$ms" -lt 5000 ] || fail "Ctrl-C during the quote's retry wait took $ms ms to end the run"
grep -q "interrupted before anything was stored or sent" quote.err || fail "the interrupted quote did not say so: $(cat quote.err)"
[ "$(sqlite3 .sogni-flow/state.db "SELECT count(*) FROM runs")" = "$runs_before" ] || fail "a run was stored"
[ "$(projects_sent)" = 0 ] || fail "a project was sent"
# 5b. ... and between two quotes: a slow API (1.5 s an answer) and six steps to quote (about
# 10 s). The signal ends the run once the step being quoted is, not after every step.
restart_sandbox --faults slow_ms=1500
{
  printf 'version: 1\nname: six\nexecution: local\nsteps:\n'
  for i in 1 2 3 4 5 6; do
    printf '  - id: s%d\n    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: kettle %d, seed: %d}\n' "$i" "$i" "$i"
  done
} > six.yaml
sigint_when slowq 'sleep 2' run six.yaml --api-url "$url" --no-cache
[ "$rc" -eq 130 ] || fail "Ctrl-C between quotes exited $rc, not 130: $(tail -n 3 slowq.err)"
[ "$ms" -lt 5000 ] || fail "Ctrl-C between quotes took $ms ms: the other steps were quoted first"
[ "$(projects_sent)" = 0 ] || fail "a project was sent"
# 5c. Outside the places that handle it, a SIGINT that came in ignored still acts (here it ends
# `estimate` at once); it was ignored, so a Ctrl-C between two guarded phases of `run` was lost.
sigint_when slowe 'sleep 1' estimate six.yaml --api-url "$url"
[ "$rc" -eq 130 ] || fail "SIGINT to a background estimate: exit $rc, not 130 (killed by the signal)"
[ "$ms" -lt 1000 ] || fail "SIGINT to a background estimate took $ms ms"
echo "local cancel: ok"
