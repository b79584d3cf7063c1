#!/usr/bin/env bash
# The state directory through the binary (issue 8, defects 14 and 5): an existing directory's mode
# is never changed, one others can write is refused (exit 7), a file at the path is local state
# (exit 6), status and events work in a read-only directory; `forget` removes a run's state, not
# its files, and refuses a run that may be live (unless --force) or that another process drives.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require jq
start_sandbox k-dir --step-ms 0
export SOGNI_API_KEY=k-dir

cat > plan.yaml <<'PLAN'
version: 1
name: dirs
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: a chair}}
PLAN

# As a user the file modes bind: root runs the command without the capabilities that bypass them.
as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --bounding-set=-dac_override,-dac_read_search,-fowner -- "$@"
  else
    "$@"
  fi
}

# An existing 0755 directory: used as it is.
mkdir -m 0755 open
"$bin" run plan.yaml --api-url "$url" --state-dir open > open.out 2> open.err || fail "run in a 0755 directory exited $?"
[ "$(stat -c %a open)" = 755 ] || fail "the mode of an existing directory was changed to $(stat -c %a open)"
[ "$(stat -c %a open/state.db)" = 600 ] || fail "state.db is $(stat -c %a open/state.db)"
grep -q "tightened" open.err && fail "a notice about a directory that was not changed: $(cat open.err)"
run_id=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' open.err | head -1)

# A directory others can write: refused, untouched.
mkdir -m 0777 shared
chmod 0777 shared
"$bin" status --state-dir shared > shared.out 2> shared.err; rc=$?
"$bin" run plan.yaml --api-url "$url" --state-dir shared > shared-run.out 2> shared-run.err; rc_run=$?
[ "$rc" -eq 7 ] && [ "$rc_run" -eq 7 ] || fail "a world-writable state directory: status exited $rc, run $rc_run, expected 7"
[ "$(head -1 shared-run.err)" = "sogni-flow run: state directory shared is writable by others (mode 0777); sogni-flow keeps state only where no one else can write: chmod go-w shared or give another --state-dir" ] ||
  fail "refusal: $(head -1 shared-run.err)"
[ "$(stat -c %a shared)" = 777 ] || fail "a refused directory was changed"
[ -z "$(ls shared)" ] || fail "something was created in a refused directory: $(ls shared)"

# A plain file at the path: local state, exit 6.
echo "not a directory" > plain
for cmd in status "events $run_id" "resume $run_id" "cancel $run_id" "check"; do
  "$bin" $cmd --state-dir plain > plain.out 2> plain.err; rc=$?
  [ "$rc" -eq 6 ] || fail "$cmd with a file as state directory exited $rc, expected 6: $(head -1 plain.err)"
  grep -q "state directory plain is not a directory; move that file away or give another --state-dir" plain.err ||
    fail "$cmd: $(head -1 plain.err)"
done

# A read-only state directory: the commands that only read work.
cp -a open ro
chmod 0500 ro
as_user "$bin" status --state-dir ro > ro-status.out 2> ro-status.err || fail "status in a read-only directory exited $?: $(cat ro-status.err)"
grep -q "^$run_id  completed " ro-status.out || fail "status in a read-only directory: $(cat ro-status.out)"
as_user "$bin" events "$run_id" --json --state-dir ro > ro-events.out 2> ro-events.err || fail "events in a read-only directory exited $?: $(cat ro-events.err)"
[ "$(wc -l < ro-events.out)" -eq "$("$bin" events "$run_id" --json --state-dir open | wc -l)" ] || fail "events differ in a read-only copy"
as_user "$bin" check --state-dir ro > ro-check.out 2> ro-check.err || fail "check in a read-only directory exited $?: $(cat ro-check.err)"
as_user "$bin" artifacts "$run_id" --no-download --state-dir ro > ro-arts.out 2> ro-arts.err || fail "artifacts --no-download in a read-only directory exited $?"
[ -z "$(ls -A ro | grep -v '^state.db$\|^lock$')" ] || fail "a reader created files in a read-only directory: $(ls -A ro)"
as_user "$bin" resume "$run_id" --api-url "$url" --state-dir ro > ro-resume.out 2> ro-resume.err; rc=$?
[ "$rc" -eq 6 ] || fail "resume in a read-only directory exited $rc, expected 6"
chmod 0700 ro

# forget: a finished run's state goes, its files stay.
files_before=$(find sogni-out -type f | wc -l)
"$bin" forget "$run_id" --state-dir open > forget.out 2> forget.err || fail "forget exited $?: $(cat forget.err)"
grep -q "forgot run $run_id (completed, plan plan.yaml); its downloaded files in sogni-out/$run_id were left alone" forget.err ||
  fail "forget said: $(cat forget.err)"
"$bin" status "$run_id" --state-dir open > gone.out 2> gone.err; rc=$?
[ "$rc" -eq 2 ] || fail "status of a forgotten run exited $rc, expected 2"
[ "$(find sogni-out -type f | wc -l)" -eq "$files_before" ] || fail "forget removed downloaded files"
# A run whose workflow may be live: refused unless --force.
"$bin" run plan.yaml --api-url "$url" --detach --state-dir open > live.out 2> live.err || fail "run --detach exited $?"
live=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' live.err | head -1)
"$bin" forget "$live" --state-dir open > f1.out 2> f1.err; rc=$?
[ "$rc" -eq 6 ] || fail "forget of a live run exited $rc, expected 6"
grep -q "run $live not forgotten: its workflow .* may still be running on the server .* or give --force" f1.err || fail "$(cat f1.err)"
"$bin" status "$live" --state-dir open > /dev/null || fail "a refused forget removed the run"
"$bin" forget "$live" --force --state-dir open > f2.out 2> f2.err || fail "forget --force exited $?"
"$bin" status "$live" --state-dir open > /dev/null 2>&1 && fail "forget --force kept the run"
# A run another process drives: refused, even with --force.
"$bin" sandbox --port 0 --api-key k-dir --step-ms 60000 > slow.log 2>&1 &
bg_pids+=("$!")
slow=$(await_listening slow.log "$!")
[ -n "$slow" ] || fail "the slow sandbox did not start"
"$bin" run plan.yaml --api-url "$slow" --state-dir open > d.out 2> d.err &
d_pid=$!
bg_pids+=("$d_pid")
for _ in $(seq 1 200); do grep -q ": running" d.err 2>/dev/null && break; sleep 0.05; done
driven=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' d.err | head -1)
"$bin" forget "$driven" --force --state-dir open > f3.out 2> f3.err; rc=$?
[ "$rc" -eq 6 ] || fail "forget of a driven run exited $rc, expected 6"
grep -q "run $driven is driven by pid $d_pid " f3.err || fail "$(cat f3.err)"
kill -INT "$d_pid"
wait "$d_pid"
echo "ok: modes kept, a shared directory refused (7), a file refused (6), reads in a read-only directory, forget"
