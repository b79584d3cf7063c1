#!/usr/bin/env bash
# The command line's own promises, through the real binary against its sandbox on 127.0.0.1:
#   1. sandbox --data-dir: a missing directory is created (its parent must exist) and really
#      persists; one that cannot be made or written is refused with exit 6 before listening.
#   2. "It already exists" is one rule, exit 2 with a --force hint (docs/diagnostics.md): approve
#      over an approval file, templates pull over a file, templates push of a template id the
#      server has; --force replaces (approve, pull) or updates (push).
#   3. status RUN shows a failed step's error (code, message, retryable), in text and --json.
#   4. No option is taken for an abbreviation of another, for any command.
# Stops by itself.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require jq timeout curl
export SOGNI_API_KEY=k-cli-surface-3b8e51 SOGNI_FLOW_STATE_DIR="$work/state" HOME="$work/home"
mkdir -p home
sf() { timeout 60 "$bin" "$@"; }

# 1. sandbox --data-dir
sandbox_until_listening() {  # sandbox_until_listening LOG ARGS...: starts it; sets sb_pid, sb_url
  local log=$1
  shift
  rm -f "$log"  # see await_listening: a reused log can show the last sandbox's line
  "$bin" sandbox --port 0 --api-key "$SOGNI_API_KEY" "$@" > "$log" 2>&1 &
  sb_pid=$!
  sb_url=$(await_listening "$log" "$sb_pid")
}
sf sandbox --port 0 --data-dir "$work/no/such/parent" > dd.out 2> dd.err; rc=$?
[ "$rc" -eq 6 ] || fail "sandbox --data-dir under a missing parent exited $rc, expected 6"
[ "$(head -n 1 dd.err)" = "sogni-flow sandbox: --data-dir $work/no/such/parent: cannot create it: No such file or directory" ] ||
  fail "sandbox --data-dir under a missing parent said: $(head -n 1 dd.err)"
: > plain-file
sf sandbox --port 0 --data-dir plain-file > dd.out 2> dd.err; rc=$?
[ "$rc" -eq 6 ] || fail "sandbox --data-dir naming a file exited $rc, expected 6"
grep -q "^sogni-flow sandbox: --data-dir plain-file: not a directory$" dd.err || fail "sandbox --data-dir FILE said: $(cat dd.err)"
if [ "$(id -u)" -ne 0 ]; then  # root writes anywhere
  mkdir ro && chmod 500 ro
  sf sandbox --port 0 --data-dir ro > dd.out 2> dd.err; rc=$?
  [ "$rc" -eq 6 ] || fail "sandbox --data-dir in a read-only directory exited $rc, expected 6"
fi
sandbox_until_listening sb1.log --data-dir "$work/fresh"
[ -n "$sb_url" ] || fail "the sandbox with a new --data-dir did not start: $(cat sb1.log)"
[ -d fresh ] || fail "--data-dir was not created"
[ "$(stat -c %a fresh)" = 700 ] || fail "--data-dir was created with mode $(stat -c %a fresh), expected 700"
cat > still.yaml <<'PLAN'
version: 1
name: still
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a lamp}}
PLAN
SOGNI_API_BASE_URL=$sb_url sf run still.yaml --detach > persist.out 2> persist.err || fail "run --detach failed"
kill -TERM "$sb_pid"; wait "$sb_pid"
[ -s fresh/sandbox.json ] || fail "the sandbox persisted nothing in its new --data-dir"
jq -e '.' fresh/sandbox.json > /dev/null || fail "fresh/sandbox.json is not JSON"
echo "ok: sandbox --data-dir: created and persisting; a missing parent or a file refused with exit 6"

start_sandbox "$SOGNI_API_KEY" --step-ms 0 --faults step_fail=1
export SOGNI_API_BASE_URL=$url

# 2. One rule for "it already exists": exit 2, and --force where replacing makes sense.
cat > gated.yaml <<'PLAN'
version: 1
name: gated
budget: {max_units: 10, approval: required}
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a lamp}}
PLAN
sf approve gated.yaml --max-units 5 > a1.out 2> a1.err || fail "approve failed: $(cat a1.err)"
before=$(cat gated.approval.json)
sf approve gated.yaml --max-units 6 > a2.out 2> a2.err; rc=$?
[ "$rc" -eq 2 ] || fail "approve over an existing approval exited $rc, expected 2"
grep -q "gated.approval.json exists; .*--force" a2.err || fail "approve over an existing approval said: $(cat a2.err)"
[ "$(cat gated.approval.json)" = "$before" ] || fail "approve without --force changed the approval file"
sf approve gated.yaml --max-units 6 --force > a3.out 2> a3.err || fail "approve --force failed: $(cat a3.err)"
[ "$(jq .maxUnits gated.approval.json)" = 6 ] || fail "approve --force did not replace the file: $(cat gated.approval.json)"

cat > teaser.yaml <<'PLAN'
version: 1
kind: template
name: surface-teaser
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a lamp}}
PLAN
sf templates push teaser.yaml > p1.out 2> p1.err || fail "templates push failed: $(cat p1.err)"
sf templates push teaser.yaml > p2.out 2> p2.err; rc=$?
[ "$rc" -eq 2 ] || fail "templates push of an existing id exited $rc, expected 2"
[ "$(head -n 1 p2.err)" = "sogni-flow templates push: template 'surface-teaser' already exists on the server; --force updates it (a new version), or give the plan another name" ] ||
  fail "templates push of an existing id said: $(cat p2.err)"
sf templates push teaser.yaml --force --json > p3.out 2> p3.err || fail "templates push --force failed: $(cat p3.err)"
[ "$(jq -r .version p3.out)" = 0.0.2 ] || fail "templates push --force did not make a new version: $(cat p3.out)"
sf templates show surface-teaser > /dev/null || fail "templates show failed"

echo '{"old": true}' > pulled.json
sf templates pull surface-teaser --out pulled.json > q1.out 2> q1.err; rc=$?
[ "$rc" -eq 2 ] || fail "templates pull over an existing file exited $rc, expected 2"
[ "$(head -n 1 q1.err)" = "sogni-flow templates pull: pulled.json exists; not overwriting it (--force replaces it)" ] ||
  fail "templates pull over an existing file said: $(cat q1.err)"
[ "$(cat pulled.json)" = '{"old": true}' ] || fail "templates pull without --force changed the file"
sf templates pull surface-teaser --out pulled.json --force > q2.out 2> q2.err || fail "templates pull --force failed: $(cat q2.err)"
[ "$(jq -r .id pulled.json)" = surface-teaser ] || fail "templates pull --force did not write the template"
ls pulled.json.tmp.* > /dev/null 2>&1 && fail "templates pull left a temporary file"
sf templates list --force > l.out 2> l.err; rc=$?
[ "$rc" -eq 2 ] || fail "templates list --force exited $rc, expected 2 (--force does not apply)"
echo "ok: approve, templates pull and templates push over what exists: exit 2 with the --force hint; --force replaces"

# 3. status RUN prints a failed step's error.
sf run still.yaml > f.out 2> f.err; rc=$?
[ "$rc" -eq 1 ] || fail "a run whose step fails exited $rc, expected 1"
failed=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' f.err)
[ -n "$failed" ] || fail "no run id in: $(cat f.err)"
"$bin" status "$failed" > s.out 2> s.err || fail "status of a failed run exited non-zero"
grep -q "^  step keyframe failed: provider_error: The render worker failed (sandbox fault) (retryable)$" s.out ||
  fail "status RUN does not show the failed step's error: $(cat s.out)"
"$bin" status "$failed" --json > sj.out || fail "status --json failed"
[ "$(jq -r '.failedSteps[0].step' sj.out)" = keyframe ] || fail "status --json has no failedSteps: $(cat sj.out)"
[ "$(jq -r '.failedSteps[0].error.code' sj.out)" = provider_error ] || fail "status --json: no error code: $(cat sj.out)"
[ "$(jq -r '.failedSteps[0].error.retryable' sj.out)" = true ] || fail "status --json: no retryable: $(cat sj.out)"
echo "ok: status RUN shows the failed step's code, message and retryable"

# 4. No abbreviations: every long option of every command, less its last letter (and less half of
#    it), is refused as unknown with exit 2, unless that prefix is itself an option of the command.
abbreviations=0
mapfile -t commands < <("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p')
for cmd in "${commands[@]}"; do
  mapfile -t options < <("$bin" "$cmd" --help | sed -n 's/^  \(-[a-zA-Z], \|    \)--\([a-z0-9-]\+\).*/\2/p')
  for o in "${options[@]}"; do
    for prefix in "${o:0:${#o}-1}" "${o:0:(${#o}+1)/2}"; do
      [ "${#prefix}" -ge 2 ] || continue
      printf '%s\n' "${options[@]}" | grep -qx -- "$prefix" && continue
      "$bin" "$cmd" "--$prefix" x < /dev/null > ab.out 2> ab.err; rc=$?
      [ "$rc" -eq 2 ] || fail "$cmd --$prefix (an abbreviation of --$o) exited $rc, expected 2"
      grep -q "^sogni-flow $cmd: unknown option '--$prefix'" ab.err || fail "$cmd --$prefix said: $(head -n 1 ab.err)"
      abbreviations=$((abbreviations + 1))
    done
  done
done
[ "$abbreviations" -ge 100 ] || fail "only $abbreviations abbreviations tried"
echo "ok: $abbreviations abbreviations of the long options of ${#commands[@]} commands refused"
