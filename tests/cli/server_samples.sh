#!/usr/bin/env bash
# Every server sample plan runs to completion through the binary against the sandbox on
# 127.0.0.1: the stored events equal the sandbox's authoritative log (same records, same order),
# each artifact was downloaded exactly once and its file's sha256 is the stored one, with a
# provenance file beside it. Plans needing approval are approved first (in a copy of samples/).
# Stops by itself.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
src=$(realpath "$2")
require curl jq sha256sum timeout
cp -r "$src/samples" samples
export SOGNI_API_KEY=k-samples SOGNI_FLOW_STATE_DIR="$work/state"
start_sandbox "$SOGNI_API_KEY" --step-ms 5
export SOGNI_API_BASE_URL=$url

plans=0 artifacts_total=0
for plan in samples/*.yaml; do
  grep -qE '^execution: local' "$plan" && continue  # the default is server
  grep -qE '^kind: batch' "$plan" && continue  # a batch file: tests/cli/batch.sh runs batches
  grep -qE '^kind: template' "$plan" && continue
  name=$(basename "$plan" .yaml)
  args=()
  [ -f "samples/params/$name.params.yaml" ] && args+=(--param-file "samples/params/$name.params.yaml")
  if grep -qE '^\s+approval: required' "$plan"; then
    units=$("$bin" estimate "$plan" "${args[@]}" --json | jq -s '.[0].totalUnits // .[0].total_units // empty')
    [ -n "$units" ] || fail "$name: no estimate"
    timeout 60 "$bin" approve "$plan" "${args[@]}" --max-units "$units" --by ci > /dev/null 2> "$name.approve.err" ||
      fail "$name: approve failed"
  fi
  timeout 120 "$bin" run "$plan" "${args[@]}" --json > "$name.out" 2> "$name.err"; rc=$?
  [ "$rc" -eq 0 ] || fail "$name: run exited $rc"
  summary=$(tail -n 1 "$name.out")
  run=$(echo "$summary" | jq -r '.run')
  wid=$(echo "$summary" | jq -r '.workflowId')
  [ "$(echo "$summary" | jq -r '.status')" = completed ] || fail "$name: $summary"
  # Stored events == the sandbox's authoritative log, record by record.
  "$bin" events "$run" --json | jq -c -S . > "$name.stored"
  curl -fsS "$url/_sandbox/events/$wid" | jq -c -S '.events[]' > "$name.log"
  [ -s "$name.log" ] || fail "$name: the sandbox has no log for $wid"
  cmp -s "$name.stored" "$name.log" || fail "$name: stored events differ from the sandbox log ($(wc -l < "$name.stored") vs $(wc -l < "$name.log"))"
  # Each artifact: done, its file's sha256 the stored one, a provenance file that says so.
  "$bin" artifacts "$run" --json --no-download > "$name.arts" 2> /dev/null
  n=0
  while read -r art; do
    path=$(echo "$art" | jq -r '.path') sha=$(echo "$art" | jq -r '.sha256')
    [ "$(echo "$art" | jq -r '.state')" = done ] || fail "$name: artifact not done: $art"
    [ "$(sha256sum "$path" | cut -d' ' -f1)" = "$sha" ] || fail "$name: $path does not match its sha256"
    [ "$(jq -r '.sha256' "$path.provenance.json")" = "$sha" ] || fail "$name: provenance of $path"
    [ "$(jq -r '.workflowId' "$path.provenance.json")" = "$wid" ] || fail "$name: provenance workflow of $path"
    n=$((n + 1))
  done < "$name.arts"
  [ "$n" -gt 0 ] || fail "$name: no artifacts"
  echo "ok: $name: $(wc -l < "$name.stored") events equal the sandbox log, $n artifacts"
  plans=$((plans + 1)) artifacts_total=$((artifacts_total + n))
done
[ "$plans" -ge 5 ] || fail "only $plans server samples found"
# One completed download per artifact, across all the runs.
stats=$(curl -fsS "$url/_sandbox/stats")
[ "$(echo "$stats" | jq '.downloads | length')" -eq "$artifacts_total" ] || fail "downloads: $(echo "$stats" | jq -c .downloads)"
[ "$(echo "$stats" | jq '[.downloads[] | select(. != 1)] | length')" -eq 0 ] || fail "an artifact was downloaded twice: $(echo "$stats" | jq -c .downloads)"
[ "$(echo "$stats" | jq '.workflowsCreated')" -eq "$plans" ] || fail "workflowsCreated is not $plans"
echo "ok: $plans server samples, $artifacts_total artifacts, each downloaded once"
