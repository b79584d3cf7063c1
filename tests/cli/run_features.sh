#!/usr/bin/env bash
# run with several plans and -j, --detach then resume --all, --timeout (exit 8) then resume while
# `events --follow` watches, --cancel-on-interrupt, and resume --all with nothing to do.
# The real binary against its own sandbox on 127.0.0.1; stops by itself.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require curl jq timeout sqlite3
export SOGNI_API_KEY=k-features-canary-7f3a9c SOGNI_FLOW_STATE_DIR="$work/state"
sf() { timeout 60 "$bin" "$@"; }
start_sandbox "$SOGNI_API_KEY" --step-ms 150
export SOGNI_API_BASE_URL=$url

for name in one two three; do two_step_plan "$name"; done

# 1. Three plans, two at a time, into one --out: DIR/RUN each; one summary naming all three.
sf run one.yaml two.yaml three.yaml -j 2 --out outs --json > multi.out 2> multi.err; rc=$?
[ "$rc" -eq 0 ] || fail "run of three plans exited $rc"
summary=$(tail -n 1 multi.out)
[ "$(echo "$summary" | jq -r '.event')" = summary ] || fail "the last line is not the summary"
[ "$(echo "$summary" | jq '.runs | length')" -eq 3 ] || fail "the summary does not name three runs"
[ "$(echo "$summary" | jq '[.runs[] | select(.status == "completed" and .artifactsDone == 2)] | length')" -eq 3 ] ||
  fail "not every run completed with its 2 artifacts: $summary"
for run in $(echo "$summary" | jq -r '.runs[].run'); do
  [ "$(find "outs/$run" -type f ! -name '*.provenance.json' | wc -l)" -eq 2 ] || fail "outs/$run does not hold its 2 files"
  events=$(grep -c "\"run\":\"$run\"" multi.out)
  [ "$events" -ge 10 ] || fail "only $events event lines for $run"
done
# -j 2 means two workflows at once, never three: by the server's own clock (each event's
# timestamp), two runs' workflows overlapped, and the three never all ran at the same time.
firsts=() lasts=()
for run in $(echo "$summary" | jq -r '.runs[].run'); do
  "$bin" events "$run" --json | jq -r '.timestamp' > "$run.times"
  firsts+=("$(head -n 1 "$run.times")") lasts+=("$(tail -n 1 "$run.times")")
done
overlap() { [[ "${firsts[$1]}" < "${lasts[$2]}" && "${firsts[$2]}" < "${lasts[$1]}" ]]; }
overlap 0 1 || overlap 0 2 || overlap 1 2 || fail "with -j 2 no two workflows ran at the same time: ${firsts[*]} / ${lasts[*]}"
latest_first=$(printf '%s\n' "${firsts[@]}" | sort | tail -n 1)
earliest_last=$(printf '%s\n' "${lasts[@]}" | sort | head -n 1)
[[ "$latest_first" > "$earliest_last" ]] || fail "with -j 2 three workflows ran at once: ${firsts[*]} / ${lasts[*]}"
echo "ok: 3 plans with -j 2 (two workflows at a time, never three), $(grep -c workflow_event multi.out) events, 6 files in outs/RUN/"

# 2. --detach starts and stores without following; resume --all takes it to the end.
sf run one.yaml --detach > detach.out 2> detach.err; rc=$?
[ "$rc" -eq 0 ] || fail "run --detach exited $rc"
detached=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' detach.err)
grep -q "(detached); follow it with: sogni-flow resume $detached" detach.err || fail "no resume hint after --detach"
case "$("$bin" status "$detached")" in *" queued "*|*" running "*) ;; *) fail "a detached run is not queued or running" ;; esac
sf resume --all > all.out 2> all.err; rc=$?
[ "$rc" -eq 0 ] || fail "resume --all exited $rc"
grep -q "resuming 1 run" all.err || fail "resume --all did not take up exactly the detached run"
case "$("$bin" status "$detached")" in *" completed "*"artifacts 2/2"*) ;; *) fail "after resume --all: $("$bin" status "$detached")" ;; esac
echo "ok: --detach, then resume --all completed it"

# 3. --timeout stops following with exit 8 and the resume command; `events --follow` then shows
#    what resume stores, and ends when the run does.
sf run two.yaml --timeout 1s > timeout.out 2> timeout.err; rc=$?
[ "$rc" -eq 8 ] || fail "run --timeout 1s exited $rc, expected 8"
late=$(sed -n 's/.*resume it with: sogni-flow resume \(r-[^ ]*\).*/\1/p' timeout.err | head -1)
[ -n "$late" ] || fail "no resume command after the timeout"
backlog=$("$bin" events "$late" | wc -l)
[ "$backlog" -gt 0 ] || fail "the timed-out run stored no events"
timeout 60 "$bin" events "$late" --follow > follow.out 2> follow.err &
follow_pid=$!
bg_pids+=("$follow_pid")
# resume starts only once events --follow has printed what was stored: it is following by then.
for _ in $(seq 1 200); do [ "$(wc -l < follow.out)" -ge "$backlog" ] && break; sleep 0.05; done
[ "$(wc -l < follow.out)" -ge "$backlog" ] || fail "events --follow did not print the $backlog stored events"
sf resume "$late" > late.out 2> late.err; rc=$?
[ "$rc" -eq 0 ] || fail "resume after the timeout exited $rc"
wait "$follow_pid"; rc=$?
[ "$rc" -eq 0 ] || fail "events --follow exited $rc"
"$bin" events "$late" > stored.out
cmp -s follow.out stored.out || fail "events --follow printed other events than were stored"
grep -q "completed" follow.err || fail "events --follow did not report the end"
[ "$(wc -l < stored.out)" -gt "$backlog" ] || fail "resume stored nothing after the $backlog events --follow started with"
echo "ok: --timeout exit 8; events --follow showed all $(wc -l < stored.out) events while resume ran"

# 4. --cancel-on-interrupt: Ctrl-C cancels the workflow, exits 130; resume then confirms cancelled.
interrupt_run cancel 0 run three.yaml --cancel-on-interrupt
[ "$rc" -eq 130 ] || fail "run --cancel-on-interrupt exited $rc after SIGINT, expected 130"
grep -q "cancel requested for workflow" cancel.err || fail "no cancel was requested"
cancelled=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' cancel.err)
sf resume "$cancelled" > c.out 2> c.err; rc=$?
[ "$rc" -eq 1 ] || fail "resume of the cancelled run exited $rc, expected 1"
case "$("$bin" status "$cancelled")" in *" cancelled "*) ;; *) fail "not cancelled: $("$bin" status "$cancelled")" ;; esac
echo "ok: --cancel-on-interrupt cancelled the workflow (exit 130), resume confirmed it"

# 4b. With -j 1 the second plan waits its turn: Ctrl-C with --cancel-on-interrupt cancels the
#     first remotely and gives up the second before its start is ever sent.
before=$(curl -fsS "$url/_sandbox/stats" | jq '.workflowsCreated')
interrupt_run cancel2 0 run one.yaml two.yaml -j 1 --cancel-on-interrupt
[ "$rc" -eq 130 ] || fail "run -j 1 --cancel-on-interrupt exited $rc after SIGINT, expected 130"
second=$(sed -n 's/^run \(r-[^ ]*\) (two).*/\1/p' cancel2.err)
grep -q "$second: cancelled before its start was sent" cancel2.err || fail "the waiting run was not given up"
case "$("$bin" status "$second")" in *" cancelled "*) ;; *) fail "the waiting run: $("$bin" status "$second")" ;; esac
after=$(curl -fsS "$url/_sandbox/stats" | jq '.workflowsCreated')
[ "$after" -eq $((before + 1)) ] || fail "$((after - before)) workflows were created, expected 1"
sf resume --all > c2.out 2> c2.err  # the first: confirmed cancelled (exit 1); the second is not taken up
grep -q "$second" c2.err && fail "resume --all took up the run that was given up"
echo "ok: with -j 1, Ctrl-C cancelled the running workflow and gave up the waiting one unsent"

# 5. Nothing left: resume --all says so and exits 0; usage errors exit 2.
sf resume --all > none.out 2> none.err; rc=$?
[ "$rc" -eq 0 ] || fail "resume --all with nothing to do exited $rc"
grep -q "nothing to resume" none.err || fail "resume --all did not say there was nothing to do"
sf run one.yaml -j 0 > /dev/null 2> usage.err; [ $? -eq 2 ] || fail "-j 0 was accepted"
sf run one.yaml --timeout soon > /dev/null 2> usage.err; [ $? -eq 2 ] || fail "--timeout soon was accepted"
sf resume > /dev/null 2> usage.err; [ $? -eq 2 ] || fail "resume without a run or --all was accepted"
sf run one.yaml missing.yaml --json > bad.out 2> usage.err; rc=$?
[ "$rc" -eq 2 ] || fail "a run with a missing plan exited $rc, expected 2"
[ "$(jq -c '[.event, .runs, .exitCode, (.errors | length)]' bad.out)" = '["summary",[],2,2]' ] ||
  fail "no JSON summary naming the problem when nothing could start: $(cat bad.out)"
echo "ok: resume --all with nothing to do; usage errors exit 2; --json summary when nothing started"

# 6. --no-download follows to the end and fetches nothing; `artifacts` fetches later. A local plan
#    is refused (its results feed the steps after it) before anything is stored or sent.
before=$(curl -fsS "$url/_sandbox/stats" | jq '[.downloads[]] | add // 0')
sf run one.yaml --no-download --out nodl > nodl.out 2> nodl.err; rc=$?
[ "$rc" -eq 0 ] || fail "run --no-download exited $rc"
nodl=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' nodl.err)
grep -q "^$nodl: completed ([0-9]* events, artifacts not downloaded; sogni-flow artifacts $nodl fetches them)" nodl.err ||
  fail "the summary does not say the artifacts were left: $(tail -2 nodl.err)"
[ ! -e nodl ] || [ -z "$(find nodl -type f)" ] || fail "--no-download wrote files: $(find nodl -type f)"
[ "$(curl -fsS "$url/_sandbox/stats" | jq '[.downloads[]] | add // 0')" -eq "$before" ] || fail "--no-download downloaded"
case "$("$bin" status "$nodl")" in *" completed "*"artifacts 0/2"*) ;; *) fail "after --no-download: $("$bin" status "$nodl")" ;; esac
sf artifacts "$nodl" > later.out 2> later.err || fail "artifacts after --no-download exited $?"
[ "$(find nodl -type f ! -name '*.provenance.json' | wc -l)" -eq 2 ] || fail "artifacts did not fetch the 2 files later"
cat > local.yaml <<'YAML'
version: 1
name: local-one
execution: local
steps:
  - {id: s1, project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: a lamp, steps: 4, width: 512, height: 512, seed: 1}}
YAML
created=$(curl -fsS "$url/_sandbox/stats" | jq '.projectsCreated')
runs_before=$("$bin" status --json | wc -l)
sf run one.yaml local.yaml --no-download > nolocal.out 2> nolocal.err; rc=$?
[ "$rc" -eq 2 ] || fail "--no-download with a local plan exited $rc, expected 2"
grep -q "local.yaml: --no-download is for server plans" nolocal.err || fail "no reason for refusing: $(cat nolocal.err)"
[ "$("$bin" status --json | wc -l)" -eq "$runs_before" ] || fail "a refused --no-download stored a run"
[ "$(curl -fsS "$url/_sandbox/stats" | jq '.projectsCreated')" -eq "$created" ] || fail "a refused --no-download sent a project"
echo "ok: --no-download followed to the end and fetched nothing, artifacts fetched later; refused for a local plan"

# 7. An estimate route answering an HTML page (a proxy in the way) is a malformed answer: exit 4
#    (unavailable, try again), for `estimate` and for `run`, which stores and sends nothing.
main_url=$url main_pid=$sandbox_pid
mv sandbox.log sandbox-main.log
start_sandbox "$SOGNI_API_KEY" --faults estimate_garbage=1
garbage_url=$url garbage_pid=$sandbox_pid
bg_pids+=("$garbage_pid")  # stopped at exit whatever happens
url=$main_url sandbox_pid=$main_pid
sf estimate local.yaml --api-url "$garbage_url" > garbage.out 2> garbage.err; rc=$?
[ "$rc" -eq 4 ] || fail "estimate against a garbled estimate route exited $rc, expected 4: $(cat garbage.err)"
grep -q "malformed answer" garbage.err || fail "the garbled quote is not named: $(cat garbage.err)"
runs_before=$("$bin" status --json | wc -l)
sf run local.yaml --api-url "$garbage_url" > garbage-run.out 2> garbage-run.err; rc=$?
[ "$rc" -eq 4 ] || fail "run against a garbled estimate route exited $rc, expected 4: $(cat garbage-run.err)"
[ "$("$bin" status --json | wc -l)" -eq "$runs_before" ] || fail "a run was stored without a quote"
[ "$(curl -fsS "$garbage_url/_sandbox/stats" | jq '.projectsCreated')" -eq 0 ] || fail "a project was sent without a quote"
kill "$garbage_pid" 2>/dev/null; wait "$garbage_pid" 2>/dev/null
echo "ok: a garbled estimate answer is exit 4 (malformed answer) for estimate and run, nothing stored or sent"

# 8. A sandbox on the IPv6 loopback, [::1]: its URLs (the artifacts' among them) put the address
#    in brackets, and a run through it completes with its files (an outside attack found
#    http://::1:PORT/... artifact URLs, refused by the client). Skipped, and said, where the
#    machine has no IPv6 loopback.
"$bin" sandbox --host ::1 --port 0 --api-key "$SOGNI_API_KEY" --step-ms 20 > sandbox-v6.log 2>&1 &
v6_pid=$!
v6_url=$(await_listening sandbox-v6.log "$v6_pid")
if [ -z "$v6_url" ]; then
  echo "skip: no IPv6 loopback here ($(head -c 200 sandbox-v6.log))"
else
  case "$v6_url" in "http://[::1]:"*) ;; *) fail "the IPv6 sandbox says it listens on $v6_url" ;; esac
  sf run one.yaml --api-url "$v6_url" --out v6-out > v6.out 2> v6.err || fail "run against [::1] exited $?: $(tail -3 v6.err)"
  [ "$(find v6-out -type f ! -name '*.provenance.json' | wc -l)" -eq 2 ] || fail "run against [::1] saved: $(find v6-out -type f)"
  v6_urls=$(sqlite3 -readonly "$SOGNI_FLOW_STATE_DIR/state.db" "SELECT url FROM artifacts WHERE url LIKE '%::1%'")
  [ -n "$v6_urls" ] && ! grep -v '^http://\[::1\]:' <<< "$v6_urls" > /dev/null ||
    fail "artifact URLs of the [::1] sandbox without brackets: $v6_urls"
  echo "ok: a sandbox on [::1] gives bracketed URLs and a run through it saves its files"
fi
kill "$v6_pid" 2>/dev/null; wait "$v6_pid" 2>/dev/null

# The API key is in no file the runs wrote (state, outputs, logs of the runner, downloads).
leaks=$(grep -rlaF "$SOGNI_API_KEY" . --exclude=sandbox.log)
[ -z "$leaks" ] || fail "the API key leaked into: $leaks"
echo "ok: the API key appears in no state, output or downloaded file"
