#!/usr/bin/env bash
# Ctrl-C during `run`: exit 130 with the resume command, events up to there committed with their
# cursor, the workflow left running; then `resume` takes it to the end and downloads everything.
# The real binary against its own sandbox on 127.0.0.1; stops by itself.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
start_sandbox k-interrupt --step-ms 300

cat > plan.yaml <<'PLAN'
version: 1
name: interrupted
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a lamp}}
  - id: clip
    toolName: generate_video
    arguments: {prompt: orbit, duration: 3}
    dependsOn: [{sourceStepId: keyframe, targetArgument: referenceImageIndices, mediaType: image, transform: image_index}]
PLAN

export SOGNI_API_KEY=k-interrupt
interrupt_run run 0.5 run plan.yaml --api-url "$url"
[ "$rc" -eq 130 ] || fail "run exited $rc after SIGINT, expected 130"
grep -q "resume it with: sogni-flow resume r-" run.err || fail "no resume command printed"
run_id=$(sed -n 's/.*sogni-flow resume \(r-[^ ]*\).*/\1/p' run.err | head -1)
line=$("$bin" status "$run_id")
case "$line" in *" running "*|*" queued "*) ;; *) fail "after the interrupt: $line" ;; esac
events=$(echo "$line" | sed -n 's/.*events \([0-9]*\).*/\1/p')
[ "${events:-0}" -gt 0 ] || fail "no events were committed before the interrupt: $line"

"$bin" resume "$run_id" --api-url "$url" > resume.out 2> resume.err; rc=$?
[ "$rc" -eq 0 ] || fail "resume exited $rc"
line=$("$bin" status "$run_id")
case "$line" in *" completed "*"artifacts 2/2"*) ;; *) fail "after resume: $line" ;; esac
[ "$(find sogni-out -type f ! -name '*.provenance.json' | wc -l)" -eq 2 ] || fail "expected 2 downloaded files"
for f in $(find sogni-out -type f ! -name '*.provenance.json'); do
  grep -q "\"sha256\":\"$(sha256sum "$f" | cut -d' ' -f1)\"" "$f.provenance.json" || fail "no matching provenance beside $f"
done
echo "ok: interrupted with $events events committed (exit 130), resumed to completion"
