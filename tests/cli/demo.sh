#!/usr/bin/env bash
# `make demo` as a user runs it (scripts/demo with the built binary): it exits 0, every sample is
# validated and estimated (local plans quoted by the embedded sandbox), the server plan and the
# local plan run to completion, and the files it lists exist. Its temporary directory goes under
# this test's own, removed at the end.
#   demo.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
src=$(realpath "$(dirname "$0")/../..")
export TMPDIR=$PWD
unset SOGNI_API_KEY SOGNI_API_BASE_URL
timeout 300 "$src/scripts/demo" "$bin" > demo.out 2> demo.err; rc=$?
[ "$rc" -eq 0 ] || fail "make demo exited $rc: $(tail -5 demo.err) $(tail -5 demo.out)"
grep -q "Every sample is valid and estimated, and two ran end to end" demo.out || fail "no closing line: $(tail -5 demo.out)"
for path in "$src"/samples/*.yaml; do
  plan=samples/$(basename "$path")
  case "$plan" in
    *.batch.yaml) grep -q "^$plan#.* ok" demo.out || fail "the runs of $plan are not estimated ok in the demo's summary" ;;
    *) grep -q "^$plan .* ok" demo.out || fail "$plan is not estimated ok in the demo's summary" ;;
  esac
done
grep -q "local-hero-shots.yaml  *local .* quoted" demo.out || fail "the local plan was not quoted"
[ "$(grep -c ": completed (" demo.err)" -ge 6 ] || fail "the two runs and the batch's four did not all complete: $(grep completed demo.err)"
grep -q "^total  *6  *0 " demo.out || fail "the demo's ledger does not count its 6 runs: $(grep -A8 'sogni-flow ledger' demo.out)"
page=$(sed -n 's|^  open file://\(.*\) in a browser$|\1|p' demo.out)
[ -n "$page" ] && grep -q "<td class=\"cell\">" "$page" || fail "the demo's report is missing or has no grid: $page"
files=$(sed -n 's/^  \(\/[^ ]*\)  ([0-9]* bytes)$/\1/p' demo.out)
[ "$(echo "$files" | grep -c .)" -ge 7 ] || fail "the demo lists fewer than 7 result files"
while read -r f; do [ -s "$f" ] || fail "the demo lists $f, which is missing or empty"; done <<< "$files"
echo "ok: make demo validates and estimates every sample, runs a server and a local plan and the sample batch, shows the ledger, writes the report, lists $(echo "$files" | grep -c .) files"
