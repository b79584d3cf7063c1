#!/usr/bin/env bash
# Input safety through the real binary, for what the hostile corpus cannot see (it checks exit
# codes and first lines): a param without a value reaches neither the state store nor the API,
# and every --json line is valid JSON even for a plan whose file name is not UTF-8.
# The sandbox runs on 127.0.0.1; every command has a generous timeout as a hang guard only.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require curl jq timeout
export SOGNI_API_KEY=k-input-safety-canary-51e0
sf() { timeout 60 "$bin" "$@"; }
start_sandbox "$SOGNI_API_KEY"

# 1. A param without a value: run exits 2 at validation; no run is stored, no workflow created,
#    and run --dry-run prints no body.
cat > unresolved.yaml <<'PLAN'
version: 1
name: unresolved
params:
  subject: {type: string}
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: "Studio photo of ${params.subject}"}}
PLAN
sf run unresolved.yaml --api-url "$url" --state-dir state > run.out 2> run.err; rc=$?
[ "$rc" -eq 2 ] || fail "run with an unresolved param exited $rc, expected 2"
grep -q "^unresolved.yaml:4:3: error: param 'subject' has no value" run.err || fail "no file:line:col for the param"
grep -q "^unresolved.yaml:6:66: error: step 'keyframe': argument 'prompt' refers to a param with no value" run.err ||
  fail "no file:line:col for the argument"
if [ -e state ]; then
  runs=$(sf status --state-dir state --json | jq -s '[.[] | select(.run != null)] | length')
  [ "$runs" -eq 0 ] || fail "$runs runs were stored"
fi
created=$(curl -fsS "$url/_sandbox/stats" | jq '.workflowsCreated')
[ "$created" -eq 0 ] || fail "the sandbox created $created workflows"
grep -q 'params.subject' run.out && fail "the literal reference reached stdout"
sf run --dry-run unresolved.yaml > dry.out 2> dry.err; rc=$?
[ "$rc" -eq 2 ] || fail "run --dry-run with an unresolved param exited $rc, expected 2"
[ -s dry.out ] && fail "run --dry-run printed a body: $(head -c 200 dry.out)"
# ... and with the value given, the same plan runs.
sf run unresolved.yaml -p subject=lamp --api-url "$url" --state-dir state > ok.out 2> ok.err; rc=$?
[ "$rc" -eq 0 ] || fail "run with the param given exited $rc"
echo "ok: an unresolved param stops run (exit 2, nothing stored or sent) and run --dry-run (exit 2)"

# 2. A plan file named with byte 0xff: every stdout line of validate --json (valid plan, invalid
#    plan, and the summary) parses, and the name shows as U+FFFD.
good=$(printf 'good-\xff.yaml')
bad=$(printf 'bad-\xff.yaml')
printf 'version: 1\nname: ok\nsteps:\n  - {id: a, toolName: generate_image, arguments: {prompt: p}}\n' > "$good"
printf 'version: 1\nname: bad\nsteps:\n  - {id: a, toolName: generate_imag, arguments: {prompt: p}}\n' > "$bad"
sf validate --json "$good" "$bad" > v.out 2> v.err; rc=$?
[ "$rc" -eq 2 ] || fail "validate --json exited $rc, expected 2"
[ "$(wc -l < v.out)" -eq 3 ] || fail "expected 3 lines on stdout, got $(wc -l < v.out)"
while IFS= read -r line; do
  printf '%s' "$line" | jq -e . > /dev/null 2>&1 || fail "not JSON: $line"
  printf '%s' "$line" | iconv -f UTF-8 -t UTF-8 > /dev/null 2>&1 || fail "not UTF-8: $line"
done < v.out
[ "$(sed -n 1p v.out | jq -r .plan)" = "good-�.yaml" ] || fail "the name is not shown with U+FFFD: $(sed -n 1p v.out)"
[ "$(sed -n 2p v.out | jq -r '.diagnostics[0].file')" = "bad-�.yaml" ] || fail "the diagnostic's file: $(sed -n 2p v.out)"
echo "ok: validate --json of plans named with byte 0xff prints valid JSON and UTF-8 only"
