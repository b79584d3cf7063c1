#!/usr/bin/env bash
# Local plans (execution: local) through the binary against `sogni-flow sandbox` on 127.0.0.1:
#   * every samples/local-*.yaml runs to completion; the sandbox created one project per step
#     and served each artifact once; each file's sha256 is the stored one and its provenance file
#     names the run, the step, the step's project (one the sandbox knows) and that sha256;
#   * a second run of an unchanged plan creates 0 projects and downloads nothing; reseed --step X
#     creates projects for X and its dependants only;
#   * `status RUN --json` shows each step's quote and charge; `estimate` asks the estimate routes;
#   * a --max-tokens below the quoted total exits 5 and a short balance exits 3, both before any
#     project or run exists;
#   * hostile: --max-tokens garbage, an unknown project key, a media file changed between run and
#     resume, a damaged stored spec, a cached file edited on disk, a --out shared by two runs, a
#     step the API would refuse behind a step that would be paid (refused by validate and run).
# Stops by itself.
set -u
. "$(dirname "$0")/lib.sh"
src=$(realpath "$2")
test_setup "$1"
require curl jq sha256sum timeout sqlite3
cp -r "$src/samples" samples
export SOGNI_API_KEY=k-local SOGNI_FLOW_STATE_DIR="$work/state"
start_sandbox "$SOGNI_API_KEY" --step-ms 2
export SOGNI_API_BASE_URL=$url

stats() { curl -fsS "$url/_sandbox/stats"; }
created() { stats | jq '.projectsCreated'; }
served() { stats | jq '[.downloads[]] | add // 0'; }
runs_stored() { "$bin" status --json 2>/dev/null | wc -l; }
set_balance() {
  curl -fsS -X POST -H "api-key: $SOGNI_API_KEY" -d "{\"spark\": $1}" "$url/_sandbox/balance" > /dev/null ||
    fail "could not set the balance"
}
step_count() { grep -cE '^  - id: ' "$1"; }
media_count() {  # the artifacts a plan makes: numberOfMedia of each step, 1 when absent
  awk '/^  - id: /{n++; c[n]=1} /^      numberOfMedia: /{c[n]=$2} END{s=0; for(i in c) s+=c[i]; print s}' "$1"
}

# check_run NAME RUN [CACHED]: the run completed; each artifact done, its file's sha256 the stored
# one, its provenance file naming the run, its step, the step's project and the sha256; the step's
# project is one the sandbox has completed. Sets n_arts. CACHED: how many steps must be cached.
check_run() {
  local name=$1 run=$2 cached=${3:-} bad pid
  "$bin" status "$run" --json > "$name.status" 2> "$name.status.err" || fail "$name: status $run failed"
  [ "$(jq -r '.status' "$name.status")" = completed ] || fail "$name: $(cat "$name.status")"
  "$bin" artifacts "$run" --json --no-download > "$name.arts" 2> /dev/null || fail "$name: artifacts $run failed"
  jq -r '.path' "$name.arts" > "$name.paths"
  xargs -d '\n' sha256sum < "$name.paths" | cut -d' ' -f1 > "$name.sums" || fail "$name: a file is missing"
  sed 's/$/.provenance.json/' "$name.paths" | xargs -d '\n' jq -c . > "$name.provs" || fail "$name: a provenance file is missing"
  bad=$(jq -rn --slurpfile arts "$name.arts" --slurpfile provs "$name.provs" --rawfile sums "$name.sums" \
          --slurpfile st "$name.status" --arg r "$run" '
    ($sums | split("\n") | map(select(length > 0))) as $s
    | ($st[0].steps | map({(.step): .projectId}) | add) as $pid
    | if ($arts | length) != ($provs | length) or ($arts | length) != ($s | length) then "counts differ"
      else [range(0; $arts | length) as $i | $arts[$i] as $a | $provs[$i] as $p
            | select($a.state != "done" or $s[$i] != $a.sha256 or $pid[$a.step] == null or $p.run != $r
                     or $p.step != $a.step or $p.projectId != $pid[$a.step] or $p.sha256 != $a.sha256)
            | $a.path] | join(" ") end')
  [ -z "$bad" ] || fail "$name: artifacts whose file, sha256 or provenance (run, step, projectId) is wrong: $bad"
  n_arts=$(wc -l < "$name.paths")
  # Every step's project is one the sandbox completed; quotes and charges are shown per step.
  for pid in $(jq -r '.steps[].projectId' "$name.status" | sort -u); do
    curl -fsS -H "api-key: $SOGNI_API_KEY" "$url/v2/projects/$pid" > "$name.project" ||
      fail "$name: the sandbox does not know project $pid"
    [ "$(jq -r '.data.project.status' "$name.project")" = completed ] || fail "$name: project $pid: $(head -c 300 "$name.project")"
  done
  jq -e '[.steps[] | select((.quoteTokens | type) != "number" or .quoteTokens <= 0 or (.chargeTokens | type) != "number")] | length == 0' \
    "$name.status" > /dev/null || fail "$name: a step without its quote or charge: $(jq -c '.steps' "$name.status")"
  if [ -n "$cached" ]; then
    [ "$(jq '[.steps[] | select(.cached)] | length' "$name.status")" -eq "$cached" ] ||
      fail "$name: expected $cached cached steps: $(jq -c '[.steps[] | {step, cached}]' "$name.status")"
  fi
}

# --- Every local sample, to completion.
total_arts=0
for plan in samples/local-*.yaml; do
  name=$(basename "$plan" .yaml)
  steps=$(step_count "$plan") media=$(media_count "$plan")
  before=$(created) served_before=$(served)
  timeout 300 "$bin" run "$plan" -j 16 --out "out/$name" --json > "$name.out" 2> "$name.err"; rc=$?
  [ "$rc" -eq 0 ] || fail "$name: run exited $rc"
  run=$(tail -n 1 "$name.out" | jq -r '.run')
  check_run "$name" "$run" 0
  [ "$n_arts" -eq "$media" ] || fail "$name: $n_arts artifacts, the plan makes $media"
  [ $(($(created) - before)) -eq "$steps" ] || fail "$name: $(($(created) - before)) projects for $steps steps"
  [ $(($(served) - served_before)) -eq "$media" ] || fail "$name: $(($(served) - served_before)) downloads for $media artifacts"
  eval "run_${name//-/_}=$run"
  echo "ok: $name: $steps steps, one project each, $n_arts artifacts with their provenance"
  total_arts=$((total_arts + n_arts))
done
[ "$(stats | jq '[.downloads[] | select(. != 1)] | length')" -eq 0 ] || fail "an artifact was downloaded twice"
[ "$(stats | jq '.downloads | length')" -eq "$total_arts" ] || fail "downloads: $(stats | jq -c .downloads)"
[ "$(step_count samples/local-lookbook.yaml)" -ge 200 ] || fail "the lookbook has fewer than 200 steps"
echo "ok: $total_arts artifacts, each downloaded once"

# --- The step cache: an unchanged plan costs nothing; reseed runs a step and its dependants.
before=$(created) served_before=$(served)
timeout 60 "$bin" run samples/local-trailer.yaml --out out/trailer-again --json > again.out 2> again.err || fail "second run failed"
run_again=$(tail -n 1 again.out | jq -r '.run')
[ "$(created)" -eq "$before" ] || fail "a second run of an unchanged plan created $(($(created) - before)) projects"
[ "$(served)" -eq "$served_before" ] || fail "a second run of an unchanged plan downloaded again"
[ "$(grep -c ': cached (project ' again.err)" -eq 7 ] || fail "not every step said it was cached: $(cat again.err)"
check_run again "$run_again" 7
echo "ok: a second run of local-trailer created 0 projects, downloaded nothing, 7 steps cached"

before=$(created)
timeout 60 "$bin" reseed "$run_local_trailer" --step keyart --out out/trailer-reseed --json > reseed.out 2> reseed.err ||
  fail "reseed --step keyart failed"
[ $(($(created) - before)) -eq 3 ] || fail "reseed --step keyart created $(($(created) - before)) projects, not 3 (keyart, flythrough, closing)"
check_run reseed "$(tail -n 1 reseed.out | jq -r '.run')" 4
# In the lookbook, look-03 feeds its 9 shots, 3 strips, sheet-03, chapter-1, volume-1, the cover
# and the reel: 18 projects; the other 217 steps come from the cache.
before=$(created)
timeout 300 "$bin" reseed "$run_local_lookbook" --step look-03=99 --out out/lookbook-reseed --json > reseed2.out 2> reseed2.err ||
  fail "reseed --step look-03 failed"
[ $(($(created) - before)) -eq 18 ] || fail "reseed --step look-03 created $(($(created) - before)) projects, not 18"
check_run reseed2 "$(tail -n 1 reseed2.out | jq -r '.run')" 217
echo "ok: reseed creates projects for the named step and its dependants only (3 of 7, 18 of 235)"

# --- estimate asks the estimate routes; --offline does not.
"$bin" estimate samples/local-trailer.yaml --json > est.json 2> est.err || fail "estimate failed"
jq -e '[.steps[] | select(.quoteTokens > 0 and .quoteUsd > 0 and .tokenType == "spark")] | length == 7' est.json > /dev/null ||
  fail "estimate: $(cat est.json)"
quoted=$(jq '.totalTokens.spark' est.json)
jq -e --argjson q "$quoted" '[.steps[].quoteTokens] | add - $q | fabs < 1e-9' est.json > /dev/null || fail "estimate total: $(cat est.json)"
# The same figures run stored with the first run of this plan.
jq -e --argjson q "$quoted" '[.steps[].quoteTokens] | add - $q | fabs < 1e-9' <("$bin" status "$run_local_trailer" --json) > /dev/null ||
  fail "estimate and run quote differently"
"$bin" estimate samples/local-trailer.yaml > est.txt 2> est.err || fail "estimate (text) failed"
grep -qE '^total: .*spark.*USD' est.txt || fail "estimate shows no total in tokens and USD: $(cat est.txt)"
requests=$(stats | jq '[.requests | to_entries[] | select(.key | test("estimate")) | .value[]] | add')
SOGNI_API_BASE_URL=http://127.0.0.1:1 "$bin" estimate samples/local-trailer.yaml --offline > off.txt 2> off.err || fail "estimate --offline failed"
grep -q 'priced at run time' off.txt || fail "estimate --offline: $(cat off.txt)"
[ "$(stats | jq '[.requests | to_entries[] | select(.key | test("estimate")) | .value[]] | add')" -eq "$requests" ] ||
  fail "estimate --offline asked the estimate routes"
echo "ok: estimate shows each step's quote in tokens and USD and the total; --offline stays offline"

# --- Budgets: refused before any project or run exists.
before=$(created) stored=$(runs_stored)
low=$(jq -n "$quoted / 2")
"$bin" run samples/local-trailer.yaml --no-cache --max-tokens "$low" --out out/gate > gate.out 2> gate.err; rc=$?
[ "$rc" -eq 5 ] || fail "a --max-tokens below the quote exited $rc, not 5"
grep -q 'is over --max-tokens' gate.err || fail "the gate's message: $(cat gate.err)"
set_balance 0.001
"$bin" run samples/local-trailer.yaml --no-cache --out out/gate > short.out 2> short.err; rc=$?
set_balance 1000
[ "$rc" -eq 3 ] || fail "a short balance exited $rc, not 3"
grep -q 'the account holds 0.0010 spark tokens' short.err || fail "the balance message: $(cat short.err)"
[ "$(created)" -eq "$before" ] || fail "a refused run created projects"
[ "$(runs_stored)" -eq "$stored" ] || fail "a refused run was stored"
echo "ok: --max-tokens below the quote exits 5, a short balance exits 3, nothing created"

# The plan's own ceiling, budget.max_tokens: estimate and run exit 5; a --max-tokens above it
# does not lift it.
sed 's/^  token_type: spark .*/  token_type: spark\n  max_tokens: '"$low"'/' samples/local-trailer.yaml > samples/local-trailer-capped.yaml
grep -q "max_tokens: $low" samples/local-trailer-capped.yaml || fail "could not write the capped plan"
"$bin" estimate samples/local-trailer-capped.yaml > capped-est.out 2> capped-est.err; rc=$?
[ "$rc" -eq 5 ] || fail "estimate over budget.max_tokens exited $rc, not 5"
grep -q "^budget: max_tokens $low (over by " capped-est.out || fail "estimate: $(cat capped-est.out)"
"$bin" run samples/local-trailer-capped.yaml --no-cache --max-tokens 1000 --out out/capped > capped.out 2> capped.err; rc=$?
[ "$rc" -eq 5 ] || fail "a quote over budget.max_tokens exited $rc, not 5"
grep -q "over the plan's budget.max_tokens" capped.err || fail "the gate's message: $(cat capped.err)"
rm samples/local-trailer-capped.yaml
[ "$(created)" -eq "$before" ] && [ "$(runs_stored)" -eq "$stored" ] || fail "a plan over its budget.max_tokens created something"
echo "ok: a quote over the plan's budget.max_tokens: estimate and run exit 5, nothing created"

# --- Hostile: --max-tokens that is not a number of tokens.
for v in nan -1 1e400 "" inf 0x10 " 5" 12abc; do
  "$bin" run samples/local-trailer.yaml --no-cache --max-tokens "$v" --out out/garbage > garbage.out 2> garbage.err; rc=$?
  [ "$rc" -eq 2 ] || fail "--max-tokens '$v' exited $rc, not 2"
done
[ "$(created)" -eq "$before" ] && [ "$(runs_stored)" -eq "$stored" ] || fail "a refused --max-tokens created something"
echo "ok: --max-tokens nan, -1, 1e400, empty, inf, 0x10, ' 5', 12abc exit 2"

# --- Hostile: an unknown key in a project step.
cat > typo.yaml <<'PLAN'
version: 1
name: typo
execution: local
steps:
  - id: still
    project:
      type: image
      modelId: flux1-schnell-fp8
      positivePromt: a lamp
PLAN
"$bin" run typo.yaml > typo.out 2> typo.err; rc=$?
[ "$rc" -eq 2 ] || fail "a plan with an unknown project key exited $rc"
grep -q "typo.yaml:9:7: error: .*positivePromt" typo.err || fail "the unknown key's message: $(cat typo.err)"
grep -q "positivePrompt" typo.err || fail "no 'did you mean' hint: $(cat typo.err)"
[ "$(created)" -eq "$before" ] && [ "$(runs_stored)" -eq "$stored" ] || fail "an invalid plan created something"
echo "ok: an unknown project key exits 2 at its line, nothing created"

# --- Hostile: a media file changed between run and resume. --detach -j 1 sends the first step
# only; the logo (used by poster and reveal) then changes on disk: resume refuses to send it
# (exit 6, naming the file), and no project is ever made from it. Restored, the run completes,
# one project per step.
cp -r samples remix && before=$(created)
timeout 60 "$bin" run remix/local-remix.yaml --detach -j 1 --no-cache --out out/remix-changed > changed.out 2> changed.err ||
  fail "run --detach failed: $(cat changed.err)"
run_changed=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' changed.err)
cp remix/media/logo.png logo.orig && printf 'x' >> remix/media/logo.png
timeout 60 "$bin" resume "$run_changed" > resumed.out 2> resumed.err; rc=$?
[ "$rc" -eq 6 ] || fail "resume after the logo changed exited $rc, not 6"
grep -q "remix/media/logo.png changed since the run was created.*restore it" resumed.err ||
  fail "the message does not name the changed file: $(cat resumed.err)"
"$bin" status "$run_changed" --json > changed.status
jq -e '[.steps[] | select(.step == "poster" or .step == "reveal") | .projectId] == [null, null]' changed.status > /dev/null ||
  fail "a project was made with the changed file: $(jq -c '.steps' changed.status)"
cp logo.orig remix/media/logo.png
timeout 60 "$bin" resume "$run_changed" > resumed2.out 2> resumed2.err || fail "resume with the logo restored failed"
check_run changed "$run_changed" 0
[ $(($(created) - before)) -eq 4 ] || fail "$(($(created) - before)) projects for the 4 steps of the remix"
echo "ok: a media file changed before resume is refused (exit 6) and never sent; restored, the run completes"

# --- Hostile: a damaged stored spec. Each variant: resume exits 6 (local state) and sends nothing.
timeout 60 "$bin" run samples/local-trailer.yaml --detach -j 1 --no-cache --out out/damaged > damaged.out 2> damaged.err ||
  fail "run --detach failed"
run_damaged=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' damaged.err)
good=$(sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "SELECT spec FROM run_specs WHERE run_id = '$run_damaged'")
i=0
for damage in '"steps": 5' '{"steps": []}' '{"steps": [{"id": "a"}]}' \
    "$(echo "$good" | jq -c '.steps[1].deps = [99]')" "$(echo "$good" | jq -c '.steps[0].deps = [0]')" \
    "$(echo "$good" | jq -c '.steps[2].deps = [3] | .steps[3].deps = [2]')" "$(echo "$good" | jq -c '.steps[0].params = "x"')" \
    "$(echo "$good" | jq -c '.steps[0].artifactCount = -1')" "$(echo "$good" | jq -c '.steps[0].bindings[0].sourceStep = "nope"')" \
    "$(echo "$good" | jq -c 'del(.steps[0].id)')" 'not json'; do
  i=$((i + 1))
  sq=${damage//\'/\'\'}
  sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "PRAGMA ignore_check_constraints = 1; UPDATE run_specs SET spec = '$sq' WHERE run_id = '$run_damaged'" ||
    fail "could not damage the spec"
  before=$(created)
  timeout 60 "$bin" resume "$run_damaged" > "damage$i.out" 2> "damage$i.err"; rc=$?
  [ "$rc" -eq 6 ] || fail "resume with damaged spec #$i ($damage) exited $rc, not 6: $(cat "damage$i.err")"
  [ "$(created)" -eq "$before" ] || fail "damaged spec #$i: a project was sent"
done
# The spec's row gone altogether: a local run with nothing to execute.
sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "DELETE FROM run_specs WHERE run_id = '$run_damaged'" || fail "could not delete the spec"
before=$(created)
timeout 60 "$bin" resume "$run_damaged" > damage-gone.out 2> damage-gone.err; rc=$?
[ "$rc" -eq 6 ] || fail "resume of a local run without its spec exited $rc, not 6: $(cat damage-gone.err)"
[ "$(created)" -eq "$before" ] || fail "a local run without its spec sent a project"
i=$((i + 1))
sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "INSERT INTO run_specs (run_id, spec) VALUES ('$run_damaged', '${good//\'/\'\'}')"
timeout 60 "$bin" resume "$run_damaged" > damaged-fixed.out 2> damaged-fixed.err || fail "resume with the spec restored failed"
echo "ok: $i kinds of damaged spec exit 6 and send nothing; the restored spec resumes"

# --- Hostile: a cached file edited on disk is not used: that step runs again, the rest is cached.
# Every run of the trailer so far holds a sting (the first, the cached copies, the damaged one's):
# each is edited, so that no intact copy is left to take.
for f in out/*/sting/0.wav; do printf 'edited' >> "$f"; done
edited=$(sha256sum out/local-trailer/sting/0.wav | cut -d' ' -f1)
before=$(created)
timeout 60 "$bin" run samples/local-trailer.yaml --out out/trailer-edited --json > edited.out 2> edited.err || fail "run after an edit failed"
[ $(($(created) - before)) -eq 1 ] || fail "an edited cached file: $(($(created) - before)) projects, not 1 (sting)"
grep -q 'step sting: cached' edited.err && fail "the edited file was taken from the cache"
[ "$(sha256sum out/trailer-edited/sting/0.wav | cut -d' ' -f1)" != "$edited" ] || fail "the edited sting was copied"
check_run edited "$(tail -n 1 edited.out | jq -r '.run')" 6
echo "ok: a cached file edited on disk is not used; that step ran again, 6 came from the cache"

# --- Hostile: two runs share one --out. The second never overwrites the first's files or
# provenance; what it cannot save fails with exit 1 and says what to do.
timeout 60 "$bin" run samples/local-remix.yaml --out out/shared > shared1.out 2> shared1.err || fail "first run into out/shared failed"
sums=$(cd out/shared && find . -type f ! -name '.*' | sort | xargs sha256sum)
timeout 60 "$bin" run samples/local-remix.yaml --no-cache --out out/shared > shared2.out 2> shared2.err; rc=$?
[ "$rc" -eq 1 ] || fail "a second run into the same --out exited $rc, not 1"
grep -q 'exists with other content' shared2.err || fail "the message: $(tail -n 5 shared2.err)"
grep -q 'sogni-flow artifacts ' shared2.err || fail "the message says nothing about what to do: $(tail -n 5 shared2.err)"
[ "$(cd out/shared && find . -type f ! -name '.*' | sort | xargs sha256sum)" = "$sums" ] || fail "the first run's files changed"
echo "ok: a second run into a shared --out left the first run's files alone and exited 1"

# --- Hostile: a video below its model's minimum width behind a paid image step. `validate` said
# valid; `run` paid for the image, then aborted (exit 134), and so did every resume.
cat > refused.yaml <<'YAML'
version: 1
name: refused
execution: local
steps:
  - id: still
    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: a kettle, seed: 1}
  - id: clip
    project:
      type: video
      modelId: wan_v2.2-14b-fp8_t2v_lightx2v
      positivePrompt: it moves
      duration: 1
      width: 256
      height: 256
      seed: 5
YAML
"$bin" validate refused.yaml > refused.val 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "validate of a refused request exited $rc, not 2"
grep -q "refused.yaml:9:7: error: step 'clip': its project request cannot be made: Video width must greater or equal 480" refused.val ||
  fail "validate does not say where and why: $(cat refused.val)"
before=$(curl -s "$url/_sandbox/stats" | jq '.projectsCreated')
runs=$(sqlite3 .sogni-flow/state.db "SELECT count(*) FROM runs")
timeout 60 "$bin" run refused.yaml > refused.out 2> refused.err; rc=$?
[ "$rc" -eq 2 ] || fail "run of a refused request exited $rc, not 2: $(tail -n 3 refused.err)"
[ "$(curl -s "$url/_sandbox/stats" | jq '.projectsCreated')" = "$before" ] || fail "a project was sent for a plan the API refuses"
[ "$(sqlite3 .sogni-flow/state.db "SELECT count(*) FROM runs")" = "$runs" ] || fail "a run was stored for a plan the API refuses"
echo "ok: a request the API would refuse is found by validate and run refuses it before paying anything"
echo "PASS"
