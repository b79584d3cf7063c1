#!/usr/bin/env bash
# SIGKILL of the runner at 10 random moments of a 5-step run, each followed by `resume`: the final
# state equals an uninterrupted run, and the sandbox's stats show one workflow per run and one
# completed download per artifact.
# The real binary against its own sandbox on 127.0.0.1; stops by itself. The kill delays come from
# $RANDOM seeded with $SEED (printed), so a failure is reproduced with SEED=<n> ctest -R sigkill.
# The resume of every third trial is itself SIGKILLed once, then resumed again.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
bg_pid=""
fail() {  # lib.sh's, with the failing trial's own logs
  echo "FAIL: $*"
  for f in "$work"/sandbox.log "$work/${d:-ref}"/*.err; do
    [ -s "$f" ] && { echo "--- ${f#$work/}"; tail -n 20 "$f"; }
  done
  exit 1
}
require curl jq sha256sum timeout

SEED=${SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
echo "SEED=$SEED"
trials=10
key=k-sigkill
export SOGNI_API_KEY=$key
start_sandbox "$key" --seed 7 --step-ms 50

# Five steps, image, audio and video, with dependencies.
cat > plan.yaml <<'PLAN'
version: 1
name: sigkill
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a brass lamp on a desk, seed: 11}}
  - {id: bed, toolName: generate_music, arguments: {prompt: slow lo-fi beat, model: turbo, duration: 10, bpm: 90}}
  - id: orbit
    toolName: generate_video
    arguments: {prompt: slow orbit around the lamp, videoModel: ltx23, duration: 3}
    dependsOn: [{sourceStepId: keyframe, targetArgument: referenceImageIndices, mediaType: image, transform: image_index}]
  - id: glow
    toolName: animate_photo
    arguments: {prompt: the lamp flickers on, videoModel: ltx23, duration: 2}
    dependsOn: [{sourceStepId: keyframe, targetArgument: sourceImageIndex, mediaType: image, transform: image_index}]
  - id: final
    toolName: stitch_video
    arguments: {transition: {type: fade, durationSeconds: 0.3}}
    dependsOn:
      - {sourceStepId: orbit, targetArgument: videoIndices, mediaType: video, transform: video_index}
      - {sourceStepId: glow, targetArgument: videoIndices, mediaType: video, transform: video_index}
      - {sourceStepId: bed, targetArgument: audioIndex, mediaType: audio, transform: audio_index}
PLAN

now_ms() { date +%s%3N; }

# The run stored in state dir $1 (at most one): its id, or "".
run_id_in() { "$bin" status --state-dir "$1" --json 2>/dev/null | jq -r '.run' | head -n 1; }

# The final state of run $2 in trial dir $1, in a form that does not depend on ids or timing:
# status, events (sequence, type, status, step), artifacts (step, index, kind, state, size, path
# relative to the out dir). Also checks the files against the store and the sandbox's log.
final_state() {
  local dir=$1 run=$2 st wid out
  st=$("$bin" status "$run" --state-dir "$dir/state" --json) || fail "$dir: status $run failed"
  wid=$(jq -r .workflowId <<<"$st")
  out=$(jq -r .outDir <<<"$st")
  [ "$(jq -r .status <<<"$st")" = completed ] || fail "$dir: run $run is not completed: $st"
  [ "$(jq -r '.artifacts == .artifactsDone and .artifacts > 0' <<<"$st")" = true ] || fail "$dir: artifacts not all done: $st"
  # The stored events are exactly the sandbox's authoritative log, in order, nothing twice.
  "$bin" events "$run" --state-dir "$dir/state" --json | jq -cS . > "$dir/events.stored" || fail "$dir: events $run failed"
  curl -sf "$url/_sandbox/events/$wid" | jq -cS '.events[]' > "$dir/events.sandbox" ||
    fail "$dir: GET /_sandbox/events/$wid failed"
  cmp -s "$dir/events.stored" "$dir/events.sandbox" ||
    fail "$dir: stored events differ from the sandbox's log: $(diff "$dir/events.stored" "$dir/events.sandbox" | head -n 5)"
  [ "$(jq -r .events <<<"$st")" -eq "$(wc -l < "$dir/events.sandbox")" ] || fail "$dir: status counts other events than stored"
  # Every artifact is done, on disk, with the size and sha256 the store has; nothing else on disk.
  "$bin" artifacts "$run" --state-dir "$dir/state" --no-download --json > "$dir/artifacts.json" 2>/dev/null ||
    fail "$dir: artifacts $run failed: $(cat "$dir/artifacts.json")"
  local path size sha n=0
  while IFS=$'\t' read -r path size sha; do
    [ -f "$path" ] || fail "$dir: artifact file $path is missing"
    [ "$(stat -c %s "$path")" = "$size" ] || fail "$dir: $path has another size than stored ($size)"
    [ "$(sha256sum < "$path" | cut -d' ' -f1)" = "$sha" ] || fail "$dir: $path has another sha256 than stored"
    # The provenance file beside it names this run and these bytes.
    [ "$(jq -r --arg run "$run" --arg sha "$sha" --argjson size "$size" \
        '.run == $run and .sha256 == $sha and .size == $size' "$path.provenance.json" 2>/dev/null)" = true ] ||
      fail "$dir: $path.provenance.json is missing or does not match the store"
    n=$((n + 1))
  done < <(jq -r '[.path, .size, .sha256] | @tsv' "$dir/artifacts.json")
  [ "$(find "$out" -type f | wc -l)" -eq $((2 * n)) ] ||
    fail "$dir: $out holds other files than the $n artifacts and their provenance: $(find "$out" -type f | sort | tr '\n' ' ')"
  [ "$(find "$out" -name '*.part*' | wc -l)" -eq 0 ] || fail "$dir: temp files left in $out"
  jq -r '.state' "$dir/artifacts.json" | grep -qv '^done$' && fail "$dir: an artifact is not done"
  # The stored artifacts are the workflow's, each as big as the sandbox serves it (HEAD: not a
  # download, so the stats below still count only the runner's).
  curl -sf -H "api-key: $key" "$url/v1/creative-agent/workflows/$wid" | jq -r '.data.workflow.artifacts[] | [.id, .url] | @tsv' \
    > "$dir/artifacts.server" || fail "$dir: GET workflow $wid failed"
  [ "$(cut -f1 "$dir/artifacts.server" | sort)" = "$(jq -r .id "$dir/artifacts.json" | sort)" ] ||
    fail "$dir: stored artifacts are not the workflow's"
  local id u len
  while IFS=$'\t' read -r id u; do
    len=$(curl -sfI "$u" | tr -d '\r' | sed -n 's/^Content-Length: //Ip')
    [ "$len" = "$(jq -r --arg id "$id" 'select(.id == $id) | .size' "$dir/artifacts.json")" ] ||
      fail "$dir: artifact $id: the sandbox serves $len bytes, the store says otherwise"
  done < "$dir/artifacts.server"
  # Across runs: the same layout; bytes too where the plan fixes the seed (only generate_image
  # takes one: the sandbox draws the others' per workflow).
  jq -c --arg out "$out/" '{step, index, kind, state, path: (.path | ltrimstr($out))}
      + (if .step == "keyframe" then {size, sha256} else {} end)' "$dir/artifacts.json" > "$dir/artifacts.norm"
  { jq -c '{status, events, cursor, artifacts, artifactsDone}' <<<"$st"
    jq -c '{sequence, type, status, stepId}' "$dir/events.stored"
    cat "$dir/artifacts.norm"; } > "$dir/final"
  jq -r .id "$dir/artifacts.json" >> remote_artifacts
  echo "$wid" >> workflows
  echo "$st" > "$dir/status.json"
}

# --- the uninterrupted run
mkdir ref
t0=$(now_ms)
timeout 30 "$bin" run plan.yaml --api-url "$url" --state-dir ref/state --out ref/out > ref/run.out 2> ref/run.err ||
  fail "the uninterrupted run exited $?"
duration=$(( $(now_ms) - t0 ))
ref_run=$(run_id_in ref/state)
[ -n "$ref_run" ] || fail "no run stored by the uninterrupted run"
final_state ref "$ref_run"
runs_created=1
echo "uninterrupted: ${duration} ms, $(jq -r '"\(.events) events, \(.artifactsDone)/\(.artifacts) artifacts"' ref/status.json)"

# --- SIGKILL at random moments, then resume
before_creation=0 mid_run=0 after_end=0
dup_trials=()
for i in $(seq 1 "$trials"); do
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    [ "$attempt" -le 5 ] || fail "trial $i: killed before creation 5 times in a row"
    d=t$i.$attempt
    mkdir "$d"
    delay=$(( RANDOM * duration / 32768 ))
    "$bin" run plan.yaml --api-url "$url" --state-dir "$d/state" --out "$d/out" > "$d/run.out" 2> "$d/run.err" &
    bg_pid=$!
    bg_pids=("$bg_pid")
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -KILL "$bg_pid" 2>/dev/null
    wait "$bg_pid" 2>/dev/null; rc=$?
    bg_pid=""
    run=$(run_id_in "$d/state")
    if [ -n "$run" ]; then break; fi
    echo "trial $i: kill at ${delay} ms landed before the run was created; again"
    before_creation=$((before_creation + 1))
  done
  runs_created=$((runs_created + 1))
  at=$("$bin" status "$run" --state-dir "$d/state" --json | jq -r '"\(.status) events \(.events) artifacts \(.artifactsDone)/\(.artifacts)"')
  if [ "$rc" -eq 0 ]; then after_end=$((after_end + 1)); how="had finished"; else mid_run=$((mid_run + 1)); how="killed"; fi
  extra=""
  if [ $((i % 3)) -eq 0 ] && [ "$rc" -ne 0 ]; then
    # Kill the first resume too, a little after it starts.
    "$bin" resume "$run" --api-url "$url" --state-dir "$d/state" > "$d/resume0.out" 2> "$d/resume0.err" &
    bg_pid=$!
    bg_pids=("$bg_pid")
    delay2=$(( RANDOM % 400 ))
    sleep "0.$(printf '%03d' "$delay2")"
    kill -KILL "$bg_pid" 2>/dev/null
    wait "$bg_pid" 2>/dev/null
    bg_pid=""
    extra=", resume killed at ${delay2} ms"
  fi
  timeout 30 "$bin" resume "$run" --api-url "$url" --state-dir "$d/state" > "$d/resume.out" 2> "$d/resume.err"
  rc=$?
  [ "$rc" -eq 0 ] || fail "trial $i: resume $run exited $rc"
  final_state "$d" "$run"
  cmp -s ref/final "$d/final" || fail "trial $i: final state differs from the uninterrupted run: $(diff ref/final "$d/final" | head -n 6)"
  line="trial $i: run $how at ${delay} ms ($at)$extra; resumed: $(jq -r '"\(.events) events, \(.artifactsDone)/\(.artifacts) artifacts"' "$d/status.json")"
  echo "$line"
  # Which of this trial's artifacts the sandbox sent more than once (reported at the end).
  # (`downloads` counts whole deliveries from byte 0; a Range resume that finishes one is counted
  # apart, under resumedDownloads, and is not a second download.)
  dup=$(curl -sf "$url/_sandbox/stats" | jq -r --slurpfile ids <(jq .id "$d/artifacts.json") \
          '[.downloads | to_entries[] | select(.key as $k | $ids | index($k)) | select(.value != 1) | "\(.key) x\(.value)"] | join(", ")')
  [ -z "$dup" ] || dup_trials+=("$line: sent more than once: $dup")
done

# --- the sandbox's view: one workflow per run, one completed download per artifact
stats=$(curl -sf "$url/_sandbox/stats") || fail "GET /_sandbox/stats failed"
[ "$(jq .workflowsCreated <<<"$stats")" -eq "$runs_created" ] ||
  fail "the sandbox created $(jq .workflowsCreated <<<"$stats") workflows for $runs_created runs"
[ "$(sort -u workflows | wc -l)" -eq "$runs_created" ] || fail "two runs share a workflow"
[ "$(jq '.workflowsByIdempotencyKey | length' <<<"$stats")" -eq "$runs_created" ] ||
  fail "idempotency keys: $(jq -c .workflowsByIdempotencyKey <<<"$stats")"
[ "$(jq '[.workflowsByIdempotencyKey[] | select(. != 1)] | length' <<<"$stats")" -eq 0 ] ||
  fail "an idempotency key created more than one workflow: $(jq -c .workflowsByIdempotencyKey <<<"$stats")"
sort remote_artifacts > artifacts.expected
jq -r '.downloads | keys[]' <<<"$stats" | sort > artifacts.downloaded
cmp -s artifacts.expected artifacts.downloaded ||
  fail "downloaded objects differ from the runs' artifacts: $(diff artifacts.expected artifacts.downloaded | head -n 5)"
dups=$(jq -c '[.downloads | to_entries[] | select(.value != 1)]' <<<"$stats")
if [ "$dups" != "[]" ]; then
  printf '%s\n' "${dup_trials[@]}"
  fail "objects downloaded more than once: $dups"
fi
resumed=$(jq -r '[.resumedDownloads // {} | to_entries[] | "\(.key) x\(.value)"] | join(", ")' <<<"$stats")
echo "resumedDownloads (Range resumes that finished an interrupted download): $(jq '[.resumedDownloads // {} | .[]] | add // 0' <<<"$stats")${resumed:+ ($resumed)}"
echo "ok: $trials SIGKILLs ($mid_run mid-run, $after_end after the end, $before_creation before creation, retried)," \
  "$runs_created runs = $runs_created workflows, $(wc -l < artifacts.expected) artifacts downloaded once each"
