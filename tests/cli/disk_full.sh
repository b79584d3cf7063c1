#!/usr/bin/env bash
# A full disk through the real binary (issue 8, defect 15): the state directory and the --out
# directory each on a small tmpfs of their own, in a private mount namespace (`unshare -m` as
# root, `unshare -rm` otherwise), so nothing outside this test sees them.
#   state   the disk under the state directory is full when a detached run is resumed: exit 6, the error
#           in words (no SQLite code), the resume command; once there is room, resume completes
#           the run with every event of the server's log, stored once
#   out     the disk under --out fills while artifacts are saved: exit 1, each missing file said
#           with what to do; once there is room, `artifacts RUN` saves them, and none is fetched
#           twice
#   disk_full.sh BIN
# Exits 77 (ctest: skipped, said in its output) only where no mount namespace can be made.
set -u
if [ -z "${SFLOW_IN_MOUNT_NS:-}" ]; then
  for how in "-m" "-rm"; do
    if unshare $how true 2>/dev/null; then
      SFLOW_IN_MOUNT_NS=1 exec unshare $how "$BASH" "$0" "$@"
    fi
  done
  echo "SKIPPED: no private mount namespace here (unshare -m / -rm refused): the disk-full cases need one"
  exit 77
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_checks.sh"
test_setup "$1"
trap 'umount sdisk odisk 2>/dev/null; test_cleanup' EXIT
require curl jq mount umount dd
key=k-disk-full-0001
export SOGNI_API_KEY=$key
start_sandbox "$key" --step-ms 20
five_step_plan > plan.yaml
# A tmpfs of SIZE at DIR.
small_disk() { mkdir -p "$2" && mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$2" || fail "cannot mount a tmpfs on $2"; }
# Fills the disk under DIR to the last byte.
fill() { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null; sync; }
events_of() { "$bin" status "$1" --state-dir "$2" --json | jq .events; }
server_events_of() {
  local wid
  wid=$("$bin" status "$1" --state-dir "$2" --json | jq -r .workflowId)
  curl -sf "$url/_sandbox/events/$wid" | jq '.events | length'
}

# --- state: the state directory's disk is full when the run is resumed
small_disk 4m sdisk
"$bin" run plan.yaml --api-url "$url" --detach --state-dir sdisk/state --out s-out > detach.out 2> detach.err ||
  fail "detach: exit $?"
run=$(run_id_in sdisk/state)
[ -n "$run" ] || fail "state: no run stored"
fill sdisk
"$bin" resume "$run" --state-dir sdisk/state > full.out 2> full.err
rc=$?
[ "$rc" -eq 6 ] || fail "state: resume on a full disk exited $rc, expected 6"
grep -qi "disk full\|no space" full.err || fail "state: the error does not say the disk is full: $(head -n 3 full.err)"
grep -q "SQLITE_IOERR\|extended code" full.err && fail "state: an SQLite code instead of words: $(head -n 3 full.err)"
grep -q "resume $run" full.err || fail "state: no resume command: $(tail -n 3 full.err)"
rm -f sdisk/filler
"$bin" resume "$run" --state-dir sdisk/state > again.out 2> again.err || fail "state: resume after freeing space exited $?"
[ "$("$bin" status "$run" --state-dir sdisk/state --json | jq -r .status)" = completed ] || fail "state: not completed"
[ "$(events_of "$run" sdisk/state)" -eq "$(server_events_of "$run" sdisk/state)" ] ||
  fail "state: $(events_of "$run" sdisk/state) events stored, the server has $(server_events_of "$run" sdisk/state)"
"$bin" check --state-dir sdisk/state > check.out 2> check.err || fail "state: check after the full disk: $(head -n 3 check.out check.err)"
echo "ok   state: a full disk under the state directory: exit 6, said in words, resumed to completion after"

# --- out: the disk under --out fills while artifacts are saved
small_disk 100k odisk
"$bin" run plan.yaml --api-url "$url" --state-dir ostate --out odisk/out > out-full.out 2> out-full.err
rc=$?
[ "$rc" -eq 1 ] || fail "out: a run whose files did not fit exited $rc, expected 1"
orun=$(run_id_in ostate)
grep -q "No space left on device\|disk full" out-full.err || fail "out: the error does not say why: $(tail -n 4 out-full.err)"
grep -q "sogni-flow artifacts $orun" out-full.err || fail "out: no hint of what to do: $(tail -n 4 out-full.err)"
mount -o remount,size=4m odisk || fail "cannot grow the tmpfs"
"$bin" artifacts "$orun" --state-dir ostate > arts.out 2> arts.err || fail "out: artifacts after freeing space exited $?"
"$bin" artifacts "$orun" --state-dir ostate --no-download --json > arts.json || fail "out: artifacts --no-download failed"
[ "$(jq -r .state arts.json | sort -u)" = done ] || fail "out: not every artifact is saved: $(jq -c '{step,state}' arts.json)"
dups=$(curl -sf "$url/_sandbox/stats" | jq -c '[.downloads | to_entries[] | select(.value != 1)]')
[ "$dups" = "[]" ] || fail "out: objects downloaded more than once: $dups"
echo "ok   out: a full disk under --out: exit 1 with what to do; artifacts then saves every file, none fetched twice"
