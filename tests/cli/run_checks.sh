# What the run-level binary tests check of a finished run; sourced by tests/cli/*.sh after lib.sh.
# Needs $bin, $url (the sandbox), $key (its API key) and a `fail` function.
#   five_step_plan        prints a 5-step plan (image, audio, two videos, a stitch) with dependencies
#   now_ms                milliseconds since the epoch
#   run_id_in STATE_DIR   the id of the one run stored there, or ""
#   final_state DIR RUN   checks run RUN of state dir DIR/state against the sandbox and the files
#                         on disk, then writes DIR/final (its state without ids or timing: what
#                         must equal an uninterrupted run's) and appends its workflow id to
#                         ./workflows and its artifact ids to ./remote_artifacts
#   check_deliveries STATS  checks the sandbox's /_sandbox/stats answer STATS against
#                         ./remote_artifacts: each artifact delivered to its end exactly once,
#                         nothing else delivered

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

# Each artifact of ./remote_artifacts reached its end exactly once, and nothing else was sent.
# The sandbox counts a delivery from byte 0 under `downloads` and a Range request that finished
# an interrupted one under `resumedDownloads`; a run killed in the middle of a body and resumed
# has its artifact under the second only, which is one delivery, not none.
check_deliveries() {
  local bad
  bad=$(jq -r --rawfile expected remote_artifacts '
    ($expected | split("\n") | map(select(length > 0))) as $ids
    | (.downloads // {}) as $d | (.resumedDownloads // {}) as $r
    | (($ids + ($d | keys) + ($r | keys)) | unique[]) as $id
    | (($d[$id] // 0) + ($r[$id] // 0)) as $n
    | if ($ids | index($id)) == null then "\($id) was sent, and is no run'"'"'s artifact"
      elif $n != 1 then "\($id) was sent \($n) times (\($d[$id] // 0) from byte 0, \($r[$id] // 0) finished by a Range request)"
      else empty end' <<<"$1") || fail "the sandbox's stats are not JSON"
  [ -z "$bad" ] || fail "deliveries: $(head -n 5 <<<"$bad" | tr '\n' ';')"
}

# The run stored in state dir $1 (at most one): its id, or "".
# (No jq: the soak calls this per episode. status --json starts each line with the run's id.)
run_id_in() {
  local s
  s=$("$bin" status --state-dir "$1" --json 2>/dev/null)
  [[ $s =~ ^\{\"run\":\"([^\"]+)\" ]] && echo "${BASH_REMATCH[1]}"
  return 0
}

# The final state of run $2 in trial dir $1, in a form that does not depend on ids or timing:
# status, events (sequence, type, status, step), artifacts (step, index, kind, state, size, path
# relative to the out dir). Also checks the files against the store and the sandbox's log.
# (Few processes on purpose: the crash soak calls this thousands of times, and a process costs
# more than the checks; one jq program makes every comparison and prints tagged lines:
# E an error, H an artifact to HEAD, A an artifact id, F a line of the final state.)
final_state() {
  local dir=$1 run=$2 st wid out tag a b c errors=() heads=()
  st=$("$bin" status "$run" --state-dir "$dir/state" --json) || fail "$dir: status $run failed"
  "$bin" events "$run" --state-dir "$dir/state" --json > "$dir/events.stored" || fail "$dir: events $run failed"
  "$bin" artifacts "$run" --state-dir "$dir/state" --no-download --json > "$dir/artifacts.json" 2>/dev/null ||
    fail "$dir: artifacts $run failed: $(cat "$dir/artifacts.json")"
  # The workflow id and the out dir from the status, the artifact paths from the store.
  { read -r wid; read -r out; mapfile -t paths; } < <(jq -rn --argjson st "$st" \
    '$st.workflowId, $st.outDir, (inputs | .path)' "$dir/artifacts.json") || fail "$dir: status or artifacts not JSON"
  [ -n "$wid" ] && [ "$wid" != null ] || fail "$dir: run $run has no workflow id: $st"
  curl -sf "$url/_sandbox/events/$wid" > "$dir/events.sandbox" || fail "$dir: GET /_sandbox/events/$wid failed"
  curl -sf -H "api-key: $key" "$url/v1/creative-agent/workflows/$wid" > "$dir/workflow.json" ||
    fail "$dir: GET workflow $wid failed"
  # What is on disk: every file under the out dir with its size, and each artifact's sha256.
  find "$out" -type f -printf '%p\t%s\n' > "$dir/disk.tsv"
  : > "$dir/disk.sha256"
  [ "${#paths[@]}" -eq 0 ] || sha256sum -- "${paths[@]}" > "$dir/disk.sha256" 2>/dev/null
  local prov=() p
  for p in "${paths[@]}"; do [ -f "$p.provenance.json" ] && prov+=("$p.provenance.json"); done
  while IFS=$'\t' read -r tag a b c; do
    case $tag in
      E) errors+=("$a") ;;
      H) heads+=("$a"$'\t'"$b"$'\t'"$c") ;;
      A) echo "$a" >> remote_artifacts ;;
      F) printf '%s\n' "$a" >> "$dir/final.new" ;;
    esac
  done < <(: > "$dir/final.new"; jq -rn --argjson st "$st" --arg run "$run" --arg out "$out" \
      --slurpfile stored "$dir/events.stored" --slurpfile sandbox "$dir/events.sandbox" \
      --slurpfile arts "$dir/artifacts.json" --slurpfile wf "$dir/workflow.json" \
      --rawfile disk "$dir/disk.tsv" --rawfile sums "$dir/disk.sha256" -f "$run_checks_jq" "${prov[@]}" ||
    printf 'E\ta provenance file or an answer is not JSON\n')
  [ "${#errors[@]}" -eq 0 ] || fail "$dir: $(printf '%s; ' "${errors[@]}")"
  # (FAST_CHECKS=1, the crash soak: skipped; the sha256 of each file against the store stays, and
  # the sandbox's download counts are checked at the end.) HEAD: not a download, so the sandbox's
  # download counts still count only the runner's.
  local id u size len
  [ "${FAST_CHECKS:-0}" = 1 ] || for p in "${heads[@]}"; do
    IFS=$'\t' read -r id u size <<<"$p"
    len=$(curl -sfI "$u" | tr -d '\r' | sed -n 's/^Content-Length: //Ip')
    [ "$len" = "$size" ] || fail "$dir: artifact $id: the sandbox serves $len bytes, the store says $size"
  done
  mv "$dir/final.new" "$dir/final"
  echo "$wid" >> workflows
  echo "$st" > "$dir/status.json"
}
run_checks_jq=$(realpath "$(dirname "${BASH_SOURCE[0]}")/run_checks.jq")
