# What the run-level binary tests check of a finished run; sourced by tests/cli/*.sh after lib.sh.
# Needs $bin, $url (the sandbox), $key (its API key) and a `fail` function.
#   five_step_plan        prints a 5-step plan (image, audio, two videos, a stitch) with dependencies
#   now_ms                milliseconds since the epoch
#   run_id_in STATE_DIR   the id of the one run stored there, or ""
#   final_state DIR RUN   checks run RUN of state dir DIR/state against the sandbox and the files
#                         on disk, then writes DIR/final (its state without ids or timing: what
#                         must equal an uninterrupted run's) and appends its workflow id to
#                         ./workflows and its artifact ids to ./remote_artifacts

five_step_plan() {
  cat <<'PLAN'
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
}

now_ms() { date +%s%3N; }

# The run stored in state dir $1 (at most one): its id, or "".
run_id_in() { "$bin" status --state-dir "$1" --json 2>/dev/null | jq -r '.run' | head -n 1; }

# The final state of run $2 in trial dir $1, in a form that does not depend on ids or timing:
# status, events (sequence, type, status, step), artifacts (step, index, kind, state, size, path
# relative to the out dir). Also checks the files against the store and the sandbox's log.
final_state() {
  local dir=$1 run=$2 st wid out status events ok
  # (Few processes on purpose: the crash soak calls this thousands of times; each jq is a process.)
  st=$("$bin" status "$run" --state-dir "$dir/state" --json) || fail "$dir: status $run failed"
  IFS=$'\t' read -r wid out status events ok < <(jq -r \
    '[.workflowId, .outDir, .status, .events, (.artifacts == .artifactsDone and .artifacts > 0)] | @tsv' <<<"$st")
  [ "$status" = completed ] || fail "$dir: run $run is not completed: $st"
  [ "$ok" = true ] || fail "$dir: artifacts not all done: $st"
  # The stored events are exactly the sandbox's authoritative log, in order, nothing twice.
  "$bin" events "$run" --state-dir "$dir/state" --json | jq -cS . > "$dir/events.stored" || fail "$dir: events $run failed"
  curl -sf "$url/_sandbox/events/$wid" | jq -cS '.events[]' > "$dir/events.sandbox" ||
    fail "$dir: GET /_sandbox/events/$wid failed"
  cmp -s "$dir/events.stored" "$dir/events.sandbox" ||
    fail "$dir: stored events differ from the sandbox's log: $(diff "$dir/events.stored" "$dir/events.sandbox" | head -n 5)"
  [ "$events" -eq "$(wc -l < "$dir/events.sandbox")" ] || fail "$dir: status counts other events than stored"
  # Every artifact is done, on disk, with the size and sha256 the store has; nothing else on disk.
  "$bin" artifacts "$run" --state-dir "$dir/state" --no-download --json > "$dir/artifacts.json" 2>/dev/null ||
    fail "$dir: artifacts $run failed: $(cat "$dir/artifacts.json")"
  jq -r '[.path, .size, .sha256, .state, .id] | @tsv' "$dir/artifacts.json" > "$dir/artifacts.tsv"
  cut -f4 "$dir/artifacts.tsv" | grep -qv '^done$' && fail "$dir: an artifact is not done"
  local paths=() n
  mapfile -t paths < <(cut -f1 "$dir/artifacts.tsv")
  n=${#paths[@]}
  [ "$n" -gt 0 ] || fail "$dir: no artifacts stored"
  local p
  for p in "${paths[@]}"; do
    [ -f "$p" ] || fail "$dir: artifact file $p is missing"
    [ -f "$p.provenance.json" ] || fail "$dir: $p.provenance.json is missing"
  done
  # What is on disk, in the store's order: path, size, sha256; and what each provenance file says.
  paste <(printf '%s\n' "${paths[@]}") <(stat -c %s "${paths[@]}") \
    <(sha256sum "${paths[@]}" | cut -d' ' -f1) > "$dir/artifacts.disk"
  cmp -s <(cut -f1-3 "$dir/artifacts.tsv") "$dir/artifacts.disk" ||
    fail "$dir: files differ from the store (path, size, sha256): $(diff <(cut -f1-3 "$dir/artifacts.tsv") "$dir/artifacts.disk" | head -n 4)"
  # The provenance file beside each names this run and these bytes.
  local prov=()
  for p in "${paths[@]}"; do prov+=("$p.provenance.json"); done
  jq -r --arg run "$run" '[.run == $run, .size, .sha256] | @tsv' "${prov[@]}" > "$dir/provenance.tsv" 2>/dev/null ||
    fail "$dir: a provenance file is not JSON"
  cmp -s <(awk -F'\t' '{print "true\t" $2 "\t" $3}' "$dir/artifacts.tsv") "$dir/provenance.tsv" ||
    fail "$dir: a provenance file does not match the store: $(paste "$dir/artifacts.tsv" "$dir/provenance.tsv" | head -n 3)"
  [ "$(find "$out" -type f | wc -l)" -eq $((2 * n)) ] ||
    fail "$dir: $out holds other files than the $n artifacts and their provenance: $(find "$out" -type f | sort | tr '\n' ' ')"
  [ "$(find "$out" -name '*.part*' | wc -l)" -eq 0 ] || fail "$dir: temp files left in $out"
  # The stored artifacts are the workflow's, each as big as the sandbox serves it (HEAD: not a
  # download, so the sandbox's download counts still count only the runner's).
  curl -sf -H "api-key: $key" "$url/v1/creative-agent/workflows/$wid" | jq -r '.data.workflow.artifacts[] | [.id, .url] | @tsv' \
    > "$dir/artifacts.server" || fail "$dir: GET workflow $wid failed"
  cut -f5 "$dir/artifacts.tsv" | sort > "$dir/artifacts.ids"
  [ "$(cut -f1 "$dir/artifacts.server" | sort)" = "$(cat "$dir/artifacts.ids")" ] ||
    fail "$dir: stored artifacts are not the workflow's"
  local id u len
  # (FAST_CHECKS=1, the crash soak: skipped; the sha256 of each file against the store stays, and
  # the sandbox's download counts are checked at the end.)
  [ "${FAST_CHECKS:-0}" = 1 ] || while IFS=$'\t' read -r id u; do
    len=$(curl -sfI "$u" | tr -d '\r' | sed -n 's/^Content-Length: //Ip')
    [ "$len" = "$(jq -r --arg id "$id" 'select(.id == $id) | .size' "$dir/artifacts.json")" ] ||
      fail "$dir: artifact $id: the sandbox serves $len bytes, the store says otherwise"
  done < "$dir/artifacts.server"
  # Across runs: the same layout; bytes too where the plan fixes the seed (only generate_image
  # takes one: the sandbox draws the others' per workflow).
  { jq -c '{status, events, cursor, artifacts, artifactsDone}' <<<"$st"
    jq -c '{sequence, type, status, stepId}' "$dir/events.stored"
    jq -c --arg out "$out/" '{step, index, kind, state, path: (.path | ltrimstr($out))}
      + (if .step == "keyframe" then {size, sha256} else {} end)' "$dir/artifacts.json"; } > "$dir/final"
  cat "$dir/artifacts.ids" >> remote_artifacts
  echo "$wid" >> workflows
  echo "$st" > "$dir/status.json"
}

