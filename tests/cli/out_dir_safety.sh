#!/usr/bin/env bash
# --out is written only where the runner owns the folders, from bytes of this run only:
#   1. a step folder that is a symbolic link (planted under a shared --out) or writable by every
#      user is refused: the artifact is not saved (exit 1, saying why), nothing is written through
#      it, and `artifacts RUN` saves it once the folder is fixed;
#   2. part files left by another run (or an older sogni-flow) are never resumed from: the file
#      saved has the sandbox's bytes, and the other run's part is left alone;
#   3. two runs into one --out at once: every file on disk is the one its provenance and its
#      run's store name (`check` passes for both), and a run that could not save a file says so;
#   4. an --out that cannot be written is refused (exit 6) before anything is sent;
#   5. a step id too long to be a folder name is refused by validate (exit 2).
#   out_dir_safety.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require curl jq sha256sum
key=k-out-dir
export SOGNI_API_KEY=$key
start_sandbox "$key" --step-ms 10
two_step_plan lamp
created() { curl -sf "$url/_sandbox/stats" | jq .workflowsCreated; }
run_in() {  # run_in NAME OUT [ARGS...]: runs lamp.yaml into OUT with state dir NAME.state; rc, run
  local name=$1 out=$2
  shift 2
  timeout 120 "$bin" run lamp.yaml --api-url "$url" --state-dir "$name.state" --out "$out" "$@" > "$name.out" 2> "$name.err"
  rc=$?
  run=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' "$name.err")
}

# --- 1. a planted link, and a folder open to all
mkdir -p elsewhere shared1
ln -s ../elsewhere shared1/keyframe
run_in link shared1
[ "$rc" -eq 1 ] || fail "a run into a linked step folder exited $rc: $(cat link.err)"
grep -q "shared1/keyframe/ is a symbolic link" link.err || fail "no word of the link: $(cat link.err)"
[ -z "$(ls -A elsewhere)" ] || fail "files were written through the link: $(ls -A elsewhere)"
rm shared1/keyframe
timeout 60 "$bin" artifacts "$run" --state-dir link.state > fix.out 2> fix.err || fail "artifacts after the fix: $(cat fix.err)"
timeout 60 "$bin" check --state-dir link.state > check1.out 2>&1 || fail "check after the fix: $(cat check1.out)"
mkdir -p shared2/keyframe && chmod 777 shared2/keyframe
run_in open shared2
[ "$rc" -eq 1 ] && grep -q "writable by every user" open.err || fail "a world-writable step folder: exit $rc: $(cat open.err)"

# --- 2. part files that are not this run's
mkdir -p stale/keyframe stale/clip
head -c 10000 /dev/zero | tr '\0' X > stale/keyframe/.0.part                    # an older sogni-flow's name
head -c 5000 /dev/zero | tr '\0' Y > stale/clip/.0.r-20260101-000000-dead.part   # another run's
run_in stale stale
[ "$rc" -eq 0 ] || fail "a run beside stale part files exited $rc: $(cat stale.err)"
timeout 60 "$bin" artifacts "$run" --state-dir stale.state --no-download --json > stale.json 2>/dev/null
while read -r path sha; do
  [ "$(sha256sum "$path" | cut -d' ' -f1)" = "$sha" ] || fail "$path is not the store's bytes"
  head -c 4 "$path" | grep -q '[XY]' && fail "$path starts with a stale part's bytes"
done < <(jq -r '"\(.path) \(.sha256)"' stale.json)
[ "$(jq -r 'select(.step == "keyframe") | .path' stale.json)" = stale/keyframe/0.png ] ||
  fail "the keyframe was not saved as a PNG: $(cat stale.json)"
[ "$(tr -d Y < stale/clip/.0.r-20260101-000000-dead.part | wc -c)" -eq 0 ] &&
  [ "$(wc -c < stale/clip/.0.r-20260101-000000-dead.part)" -eq 5000 ] || fail "another run's part file was touched"

# --- 3. two runs into one --out at once
run_in twin_a same & pid_a=$!
run_in twin_b same
rc_b=$rc
wait "$pid_a"
for t in twin_a twin_b; do
  timeout 60 "$bin" check --state-dir "$t.state" > "$t.check" 2>&1 || fail "check of $t after sharing an --out: $(cat "$t.check")"
  if ! grep -q ": completed (" "$t.err"; then
    grep -q "exists with other content" "$t.err" || fail "$t did not complete and does not say why: $(cat "$t.err")"
  fi
done
for f in same/*/*.provenance.json; do
  file=${f%.provenance.json}
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$(jq -r .sha256 "$f")" ] || fail "$file is not the file its provenance names"
done

# --- 4. an --out that cannot be written
before=$(created)
: > not-a-dir
run_in file_out not-a-dir/out
[ "$rc" -eq 6 ] || fail "--out under a file exited $rc: $(cat file_out.err)"
grep -q "nothing\|choose another --out" file_out.err || fail "no hint: $(cat file_out.err)"
mkdir ro && chmod 555 ro
if ! touch ro/probe 2>/dev/null; then  # (root writes anywhere: this case needs another user)
  run_in ro_out ro/out
  [ "$rc" -eq 6 ] || fail "a read-only --out exited $rc: $(cat ro_out.err)"
fi
[ "$(created)" -eq "$before" ] || fail "a workflow was started for a run whose --out cannot be written"

# --- 5. a step id too long for a folder
long=$(head -c 300 /dev/zero | tr '\0' a)
printf 'version: 1\nname: long\nsteps:\n  - {id: %s, toolName: generate_image, arguments: {prompt: a lamp}}\n' "$long" > long.yaml
timeout 30 "$bin" validate long.yaml > long.out 2>&1
[ $? -eq 2 ] && grep -q "is 300 bytes long" long.out || fail "a 300-byte step id: $(head -c 400 long.out)"
[ "$(wc -c < long.out)" -lt 1000 ] || fail "the message repeats the whole id: $(wc -c < long.out) bytes"
echo "ok: linked and open step folders refused, stale parts ignored, a shared --out consistent, an unwritable --out refused before any start, a long step id refused"
