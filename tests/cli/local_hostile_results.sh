#!/usr/bin/env bash
# A local run whose results are announced at a URL that must not be fetched (file://, from the
# sandbox's hostile_result_url fault): the runner refuses it, fetches nothing, leaves no part file
# in --out, fails the step (exit 1) and still shows what the completed project was charged.
#   local_hostile_results.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require curl jq timeout
export SOGNI_API_KEY=k-hostile-results
start_sandbox "$SOGNI_API_KEY" --step-ms 0 --faults hostile_result_url=1
cat > plan.yaml <<'PLAN'
version: 1
name: hostile-results
execution: local
steps:
  - {id: still, project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: a lamp, steps: 4, width: 512, height: 512, seed: 1, numberOfMedia: 2}}
PLAN
timeout 120 "$bin" run plan.yaml --api-url "$url" --state-dir state --out out > run.out 2> run.err; rc=$?
[ "$rc" -eq 1 ] || fail "a run whose results may not be fetched exited $rc, expected 1: $(tail -5 run.err)"
grep -q "refused URL" run.err || fail "the refusal is not said: $(tail -5 run.err)"
[ -z "$(find out -type f 2>/dev/null)" ] || fail "files were left in --out: $(find out -type f)"
stats=$(curl -fsS "$url/_sandbox/stats")
[ "$(jq '[.downloads[]] | length' <<<"$stats")" -eq 0 ] || fail "something was downloaded: $(jq -c .downloads <<<"$stats")"
charged=$(jq '[.projects[] | .charged] | add' <<<"$stats")
awk -v c="$charged" 'BEGIN { exit !(c > 0) }' || fail "the sandbox charged nothing ($charged): the fault did not bite"
run=$("$bin" status --json --state-dir state | jq -r .run)
"$bin" status "$run" --state-dir state > status.out || fail "status exited $?"
grep -Eq "^  still +failed .* [0-9.]+ spark$" status.out || fail "the step's charge is not shown: $(cat status.out)"
grep -q "charged $(printf '%.4f' "$charged")" status.out || fail "the run's charge is not $charged: $(grep charged status.out)"
echo "ok: a file:// result URL was refused, nothing fetched or left in --out, the step failed and its charge ($charged spark) is shown"
