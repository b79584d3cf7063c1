#!/usr/bin/env bash
# Two processes on one state directory (issue 8, defects 9 and 10). While one process drives run X,
# another can read it (status, events), list its artifacts, run another plan and cancel X; a
# second `resume X` is refused with exit 6 naming the holder, also after the lock file was
# deleted; every artifact is downloaded once. Then RACES two-process races of `resume X` (default
# 100; `make soak` passes more): exactly one of each pair drives X.
#   state_locking.sh BIN [RACES]
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
races=${2:-100}
start_sandbox k-lock --step-ms 250
export SOGNI_API_KEY=k-lock

cat > plan.yaml <<'PLAN'
version: 1
name: locked
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a lamp, numberOfVariations: 2}}
  - id: clip
    toolName: generate_video
    arguments: {prompt: orbit, duration: 3}
    dependsOn: [{sourceStepId: keyframe, targetArgument: referenceImageIndices, mediaType: image, transform: image_index}]
PLAN
cat > other.yaml <<'PLAN'
version: 1
name: other
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: a chair}}
PLAN

# A drives the run in the background.
"$bin" run plan.yaml --api-url "$url" > a.out 2> a.err &
a_pid=$!
bg_pids+=("$a_pid")
for _ in $(seq 1 200); do grep -q ": running" a.err 2>/dev/null && break; sleep 0.05; done
grep -q ": running" a.err || fail "the first run never showed running"
run_id=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' a.err | head -1)
[ -n "$run_id" ] || fail "no run id in a.err"

"$bin" status "$run_id" > b-status.out 2> b-status.err || fail "status exited $? while A drives the run"
"$bin" events "$run_id" --json > b-events.out 2> b-events.err || fail "events exited $? while A drives the run"
"$bin" artifacts "$run_id" --no-download > b-arts.out 2> b-arts.err; rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "artifacts --no-download exited $rc while A drives the run"

# The defect 10 regression: the lock file goes, the second driver must still be refused.
rm -f .sogni-flow/lock
"$bin" resume "$run_id" --api-url "$url" > b-resume.out 2> b-resume.err; rc=$?
[ "$rc" -eq 6 ] || fail "a second resume of the driven run exited $rc, expected 6"
grep -q "pid $a_pid " b-resume.err || fail "the refusal does not name the holder (pid $a_pid): $(head -1 b-resume.err)"

# Another plan runs beside it (the lock file deleted, and this process creates a new one).
"$bin" run other.yaml --api-url "$url" > b-run.out 2> b-run.err; rc=$?
[ "$rc" -eq 0 ] || fail "a second plan exited $rc while A drives another run"

wait "$a_pid"; rc=$?
[ "$rc" -eq 0 ] || fail "the first run exited $rc"
stats=$(curl -sf "$url/_sandbox/stats") || fail "no sandbox stats"
twice=$(echo "$stats" | jq '[.downloads[] | select(. != 1)] | length')
total=$(echo "$stats" | jq '.downloads | length')
[ "$twice" -eq 0 ] || fail "some artifact was not downloaded exactly once: $(echo "$stats" | jq -c .downloads)"
[ "$total" -eq 4 ] || fail "expected 4 downloads (3 of the plan, 1 of the other), got $total"

# Races: a run that never ends (one event a minute), resumed by two processes at once.
"$bin" sandbox --port 0 --api-key k-lock --step-ms 60000 > slow.log 2>&1 &
slow_pid=$!
bg_pids+=("$slow_pid")
slow=$(await_listening slow.log "$slow_pid")
[ -n "$slow" ] || fail "the slow sandbox did not start"
"$bin" run other.yaml --api-url "$slow" --detach --state-dir race > detach.out 2> detach.err ||
  fail "run --detach exited $?"
race_id=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' detach.err | head -1)
for i in $(seq 1 "$races"); do
  "$bin" resume "$race_id" --api-url "$slow" --state-dir race > r1.out 2> r1.err &
  p1=$!
  "$bin" resume "$race_id" --api-url "$slow" --state-dir race > r2.out 2> r2.err &
  p2=$!
  wait -n -p first "$p1" "$p2"; rc_first=$?
  other=$p1 other_err=r1.err first_err=r2.err
  [ "$first" = "$p1" ] && other=$p2 other_err=r2.err first_err=r1.err
  [ "$rc_first" -eq 6 ] || fail "race $i: the first to finish exited $rc_first, expected 6 ($(head -1 "$first_err"))"
  grep -q "is driven by pid $other " "$first_err" || fail "race $i: the refusal names another holder: $(head -1 "$first_err")"
  kill -0 "$other" 2>/dev/null || fail "race $i: the other resume ended too"
  kill -INT "$other"
  wait "$other"; rc_other=$?
  [ "$rc_other" -eq 130 ] || fail "race $i: the driving resume exited $rc_other after SIGINT, expected 130"
done
echo "ok: reads, cancel-free listing and another plan beside a driven run; a second driver refused (lock file deleted); $races races, one driver each"

# A runner killed with SIGKILL whose parent never waits for it (PID 1 of a container that does
# not reap) stays a zombie: it drives nothing, and `resume` takes its run over at once.
if command -v python3 > /dev/null; then
  python3 - "$bin" "$url" > zombie.out 2> zombie.err <<'PY' || fail "a run whose killed runner is a zombie was not resumed: $(cat zombie.out zombie.err)"
import os, signal, subprocess, sys, time
bin, url = sys.argv[1], sys.argv[2]
runner = subprocess.Popen([bin, "run", "other.yaml", "--api-url", url, "--state-dir", "zstate", "--out", "zout"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
run = ""
deadline = time.time() + 20
while not run and time.time() < deadline:  # the run is stored: its id is on stderr
    line = runner.stderr.readline().decode()
    if line.startswith("run r-"):
        run = line.split()[1]
os.kill(runner.pid, signal.SIGKILL)  # and no wait(): a zombie until the end of this script
for _ in range(500):
    with open(f"/proc/{runner.pid}/stat") as f:
        if f.read().rsplit(")", 1)[1].split()[0] == "Z":
            break
    time.sleep(0.01)
resumed = subprocess.run([bin, "resume", run, "--state-dir", "zstate"], capture_output=True, text=True, timeout=60)
print(resumed.returncode, resumed.stderr[-300:])
runner.wait()
sys.exit(0 if run and resumed.returncode == 0 else 1)
PY
  echo "ok: a run whose SIGKILLed runner was never reaped (a zombie) was resumed at once"
fi
