#!/usr/bin/env bash
# Hosted-tool steps in a local plan (docs/plan-language.md section 11), through the binary:
#   - each of the six tools the SDK runs as a direct project runs against `sogni-flow sandbox` to
#     completion, on the model the SDK's routing picks, with its inputs bound from media entries
#     and from other steps; a second run creates no project;
#   - `run --dry-run` prints each tool step's jobRequest and uploads;
#   - a tool with no direct-project equivalent, and arguments a direct project cannot honour, are
#     `validate` errors at file:line:col with a hint; nothing is sent.
# Usage: local_tool_steps.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../../samples/media" && pwd)
test_setup "$1"
require curl jq timeout
export SOGNI_API_KEY=k-tool-steps-5d1e SOGNI_FLOW_STATE_DIR="$work/state"
sf() { timeout 120 "$bin" "$@"; }

mkdir media
cp "$src/logo.png" "$src/tone.wav" media/ || fail "no sample media"

cat > six.yaml <<'PLAN'
version: 1
name: six-tools
execution: local
media:
  logo: {path: media/logo.png}
  tone: {path: media/tone.wav}
steps:
  - id: still
    toolName: generate_image
    arguments: {prompt: a kettle, model: z-turbo, numberOfVariations: 2, seed: 7, width: 768, height: 768}
  - id: edited
    toolName: edit_image
    arguments: {prompt: make it blue}
    dependsOn:
      - {sourceStepId: still, sourceArtifactIndex: 1, targetArgument: sourceImageIndex, transform: image_index}
  - id: badge
    toolName: generate_image
    arguments: {prompt: a steel badge, model: z-turbo, sourceImageIndex: -1, starting_image_strength: 0.55}
  - id: clip
    toolName: generate_video
    arguments: {prompt: the kettle turns, videoModel: wan22, duration: 5}
    dependsOn:
      - {sourceStepId: edited, targetArgument: referenceImageIndices, transform: image_index}
  - id: song
    toolName: generate_music
    arguments: {prompt: a marimba sting, duration: 10, bpm: 112, timesig: 3}
  - id: dance
    toolName: sound_to_video
    arguments: {prompt: the kettle dances}
    dependsOn:
      - {sourceStepId: song, targetArgument: audioSourceIndex, transform: audio_index}
  - id: restyle
    toolName: video_to_video
    arguments: {prompt: as a watercolor, controlMode: canny}
    dependsOn:
      - {sourceStepId: clip, targetArgument: videoSourceIndex, transform: video_index}
PLAN
declare -A want=([still]=z_image_turbo_bf16 [edited]=qwen_image_edit_2511_fp8_lightning [badge]=z_image_turbo_bf16
                 [clip]=wan_v2.2-14b-fp8_i2v_lightx2v [song]=ace_step_1.5_xl_turbo
                 [dance]=ltx23-22b-fp8_a2v_distilled [restyle]=ltx23-22b-fp8_v2v_distilled)

sf validate six.yaml > v.out 2> v.err || fail "the six-tool plan does not validate: $(cat v.err)"

# The dry run: one line per step, each with the jobRequest of the project the tool maps to.
sf run six.yaml --dry-run > dry.out 2> dry.err || fail "run --dry-run exited $?: $(cat dry.err)"
[ "$(wc -l < dry.out)" -eq 7 ] || fail "the dry run printed $(wc -l < dry.out) lines, not 7"
for step in "${!want[@]}"; do
  line=$(jq -c --arg s "$step" 'select(.step == $s)' dry.out)
  [ "$(echo "$line" | jq -r '.jobRequest.keyFrames[0].modelID')" = "${want[$step]}" ] ||
    fail "dry run: step $step does not run ${want[$step]}: $line"
done
[ "$(jq -r 'select(.step == "edited") | .uploads[0] | "\(.param) \(.source)"' dry.out)" = "contextImages step:still#1" ] ||
  fail "dry run: edited does not upload still's second image as its context image"
[ "$(jq -r 'select(.step == "badge") | .uploads[0] | "\(.param) \(.source)"' dry.out)" = "startingImage media:logo" ] ||
  fail "dry run: badge does not start from the logo"
[ "$(jq -r 'select(.step == "dance") | .jobRequest.keyFrames[0].hasReferenceAudio' dry.out)" = true ] ||
  fail "dry run: dance has no reference audio"
[ "$(jq -r 'select(.step == "restyle") | .jobRequest.keyFrames[0].currentControlNetsJob[0].name' dry.out)" = canny ] ||
  fail "dry run: restyle has no canny control"

# The run, against the sandbox, to completion.
start_sandbox "$SOGNI_API_KEY"
export SOGNI_API_BASE_URL=$url
sf run six.yaml -j 3 --out out > run.out 2> run.err; rc=$?
[ "$rc" -eq 0 ] || fail "the run exited $rc"
grep -q "completed (7 of 7 steps)" run.err || fail "not every step completed"
[ "$(find out -type f ! -name '*.provenance.json' | wc -l)" -eq 8 ] || fail "out does not hold the 8 artifacts"
for step in "${!want[@]}"; do
  id=$(sed -n "s/.*step $step: project \([0-9A-F-]*\) sent/\1/p" run.err)
  [ -n "$id" ] || fail "no project was sent for step $step"
  model=$(curl -s -H "api-key: $SOGNI_API_KEY" "$url/v2/projects/$id" | jq -r '.data.project.model.id')
  [ "$model" = "${want[$step]}" ] || fail "step $step ran on $model, not ${want[$step]}"
done
# The step cache covers tool steps: an unchanged plan creates no project.
sf run six.yaml --out out > again.out 2> again.err || fail "the second run exited $?"
! grep -q "project .* sent" again.err || fail "the second run of an unchanged plan sent a project"
[ "$(grep -c ": cached (project" again.err)" -eq 7 ] || fail "the second run did not take every step from the cache"

# Refusals, at the place in the file, before anything is sent.
cat > upscale.yaml <<'PLAN'
version: 1
name: upscale-local
execution: local
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: a kettle}}
  - id: big
    toolName: upscale_image
    arguments: {}
    dependsOn: [{sourceStepId: still, targetArgument: sourceImageIndex, transform: image_index}]
PLAN
sf validate upscale.yaml > u.out 2> u.err; rc=$?
[ "$rc" -eq 2 ] || fail "validate of a local upscale_image step exited $rc"
grep -q "^upscale.yaml:7:15: error: step 'big': tool 'upscale_image' has no direct-project equivalent" u.err ||
  fail "the error does not name upscale_image at its line: $(cat u.err)"
grep -q "hint: the tools a local plan can run: generate_image, edit_image, generate_video, sound_to_video, video_to_video, generate_music" u.err ||
  fail "the hint does not name the six tools: $(cat u.err)"
sf validate upscale.yaml --json > uj.out 2> uj.err
[ "$(head -n 1 uj.out | jq -r ".diagnostics[0].code")" = execution ] || fail "the --json diagnostic is not 'execution': $(cat uj.out)"
api_requests() { curl -s "$url/_sandbox/stats" | jq -c '.requests | with_entries(select(.key | contains("_sandbox") | not))'; }
before=$(api_requests)
sf run upscale.yaml --out out > ur.out 2> ur.err; rc=$?
[ "$rc" -eq 2 ] || fail "run of a local upscale_image step exited $rc"
[ "$(api_requests)" = "$before" ] || fail "run of an invalid plan reached the API: $before / $(api_requests)"

cat > hostile.yaml <<'PLAN'
version: 1
name: hostile-local
execution: local
media:
  logo: {path: media/logo.png}
steps:
  - id: a
    toolName: edit_image
    arguments: {prompt: blue, sourceImageIndex: 0}
  - id: b
    toolName: generate_image
    arguments: {prompt: k, aspectRatio: "16:9"}
  - id: c
    toolName: video_to_video
    arguments: {prompt: w, controlMode: canny, videoModel: seedance2-mini}
    dependsOn:
      - {sourceStepId: a, targetArgument: videoSourceIndex, transform: video_index}
  - id: d
    toolName: sound_to_video
    arguments: {prompt: d}
PLAN
sf validate hostile.yaml > h.out 2> h.err; rc=$?
[ "$rc" -eq 2 ] || fail "validate of hostile tool arguments exited $rc"
grep -q "^hostile.yaml:9:49: error: step 'a': edit_image as a direct project: sourceImageIndex 0 names a result" h.err ||
  fail "a result index without a dependency is not refused at its place: $(cat h.err)"
grep -q "^hostile.yaml:12:41: error: step 'b': generate_image as a direct project: aspectRatio has no direct-project equivalent" h.err ||
  fail "aspectRatio is not refused: $(cat h.err)"
grep -q "step 'c': video_to_video as a direct project: videoModel 'seedance2-mini' has no direct project" h.err ||
  fail "a videoModel the SDK would pass over is not refused: $(cat h.err)"
grep -q "step 'd': sound_to_video as a direct project: sound_to_video needs the audio" h.err ||
  fail "sound_to_video without audio is not refused: $(cat h.err)"
echo "ok: local tool steps"
