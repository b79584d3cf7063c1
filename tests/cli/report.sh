#!/usr/bin/env bash
# `sogni-flow report` through the binary, its pages opened in headless Chromium (Debian's
# chromium package), against the sandbox on loopback:
#   1. the report of a sample run (samples/hello-sandbox.yaml), of a local sample run
#      (samples/local-trailer.yaml: images, videos, audio) and of the sample batch
#      (samples/nightly.batch.yaml) each load with no console message at all (the pages have no
#      script: a message is a refused or missing resource), every image decodes, every video has a
#      player and its first frame, the batch's grid has one cell per run; screenshots of the three
#      are written to SHOTS (under build/) for a reviewer to look at;
#   2. a hostile run (a plan name, params and an out dir full of markup, quotes, '#', '%' and a
#      bidi control), reported with its images linked beside the page: nothing in the page runs,
#      no element has a handler, and each linked image still decodes;
#   3. a file changed since its download is not shown as the run's; -o onto a file that is not a
#      report, or onto a link, is refused and the file kept; an unknown run or batch exits 2.
#
#   report.sh BIN SHOTS
set -u
. "$(dirname "$0")/lib.sh"
samples=$(cd "$(dirname "$0")/../../samples" && pwd)
shots=$(realpath -m "$2")
test_setup "$1"
require jq curl sqlite3 chromium
mkdir -p "$shots" || fail "cannot make $shots"
rm -f "$shots"/*.png

key=report-key
start_sandbox "$key" --step-ms 20
export SOGNI_API_KEY=$key SOGNI_API_BASE_URL=$url
cp -r "$samples"/. .

# chrome_dump PAGE NAME: loads PAGE inside a harness page (same files, so it may read the
# report's document), prints what it found as JSON, and fails on any console message.
chrome() { timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$work/chrome" "$@"; }
chrome_dump() {
  local page=$1 name=$2
  cat > "harness-$name.html" <<EOF
<!DOCTYPE html><html><body><iframe id="f" src="file://$page" width="1280" height="900"></iframe><script>
window.addEventListener('load', () => {
  const d = document.getElementById('f').contentDocument;
  const all = Array.from(d.querySelectorAll('*'));
  const r = {
    images: Array.from(d.images).map(i => (i.complete ? i.naturalWidth : -1)),
    cells: d.querySelectorAll('td.cell').length, empty: d.querySelectorAll('td.empty').length,
    scripts: d.querySelectorAll('script').length,
    handlers: all.filter(e => Array.from(e.attributes).some(a => a.name.toLowerCase().startsWith('on'))).length,
    videos: d.querySelectorAll('video[controls]').length, posters: d.querySelectorAll('video[poster^="data:image/jpeg"]').length,
    audios: d.querySelectorAll('audio[controls]').length, steps: d.querySelectorAll('table.steps tbody tr').length,
    sources: all.map(e => e.getAttribute('src') || e.getAttribute('href') || '').filter(s => s && !s.startsWith('data:image/') && !s.startsWith('#')),
    text: d.body.innerText };
  document.body.setAttribute('data-result', JSON.stringify(r));
});
</script></body></html>
EOF
  chrome --allow-file-access-from-files --enable-logging=stderr --v=0 --dump-dom "file://$work/harness-$name.html" \
    > "dom-$name.html" 2> "chrome-$name.err" || fail "chromium could not load the $name report: $(tail -3 "chrome-$name.err")"
  if grep -q ':CONSOLE' "chrome-$name.err"; then fail "the $name report logs to the console: $(grep ':CONSOLE' "chrome-$name.err" | head -3)"; fi
  sed -n 's/.*data-result="\([^"]*\)".*/\1/p' "dom-$name.html" | sed 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g' > "$name.json"
  jq -e . "$name.json" > /dev/null || fail "the harness found nothing in the $name report: $(head -c 300 "dom-$name.html")"
}
# screenshot PAGE NAME: the page alone, as a reader opens it, into SHOTS/NAME.png.
screenshot() {
  chrome --enable-logging=stderr --v=0 --window-size=1280,2000 --hide-scrollbars --screenshot="$shots/$2.png" "file://$1" \
    > /dev/null 2> "shot-$2.err" || fail "no screenshot of the $2 report: $(tail -3 "shot-$2.err")"
  if grep -q ':CONSOLE' "shot-$2.err"; then fail "the $2 report logs to the console: $(grep ':CONSOLE' "shot-$2.err" | head -3)"; fi
  [ "$(head -c 8 "$shots/$2.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$shots/$2.png is not a PNG"
  [ "$(stat -c %s "$shots/$2.png")" -gt 20000 ] || fail "$shots/$2.png is nearly empty"
}

# --- 1. the sample run, a local sample run and the sample batch -----------------------------------
"$bin" run hello-sandbox.yaml > run.out 2> run.err || fail "run of the sample exited $?: $(tail -3 run.err)"
run=$("$bin" status --json | jq -r .run | head -1)
"$bin" report "$run" > report-run.out 2> report-run.err || fail "report $run exited $?: $(cat report-run.err)"
page="$work/$(cat report-run.out)"
[ "$page" = "$work/sogni-out/$run/report.html" ] || fail "the run's report went to $page"
grep -q "^report of run $run: 2 artifacts (1 images inside the page)" report-run.err || fail "report said: $(cat report-run.err)"
chrome_dump "$page" run
jq -e '(.images | length) == 1 and all(.images[]; . > 0) and .videos == 1 and .posters == 1 and .steps == 2
  and .scripts == 0 and .handlers == 0' run.json > /dev/null || fail "the run's report: $(jq -c 'del(.text)' run.json)"
jq -e '.text | contains("keyframe") and contains("generate_video") and contains("completed") and contains("units")' run.json > /dev/null ||
  fail "the run's report lacks its steps: $(jq -r .text run.json | head -20)"
screenshot "$page" run

"$bin" run local-trailer.yaml > local.out 2> local.err || fail "run of the local sample exited $?: $(tail -3 local.err)"
local_run=$("$bin" status --json | jq -r 'select(.plan | endswith("local-trailer.yaml")) | .run' | head -1)
"$bin" report "$local_run" -o local-report.html > /dev/null 2> report-local.err || fail "report of the local run exited $?: $(cat report-local.err)"
chrome_dump "$work/local-report.html" local
jq -e '(.images | length) >= 3 and all(.images[]; . > 0) and .videos >= 3 and .posters == .videos and .audios >= 2
  and .steps == 7 and .scripts == 0' local.json > /dev/null || fail "the local run's report: $(jq -c 'del(.text)' local.json)"
jq -e '.text | contains("spark") and contains("project:video")' local.json > /dev/null || fail "the local report lacks its quotes"
screenshot "$work/local-report.html" local

"$bin" batch run nightly.batch.yaml > batch.out 2> batch.err || fail "the sample batch exited $?: $(tail -3 batch.err)"
"$bin" batch report nightly.batch.yaml -o batch-report.html > /dev/null 2> report-batch.err || fail "batch report exited $?: $(cat report-batch.err)"
chrome_dump "$work/batch-report.html" batch
jq -e '.cells == 4 and .empty == 0 and (.images | length) >= 8 and all(.images[]; . > 0) and .posters == 4 and .scripts == 0' batch.json > /dev/null ||
  fail "the batch's report: $(jq -c 'del(.text)' batch.json)"
jq -e '.text | contains("subject=a ceramic pour-over kettle") and contains("seconds=3")' batch.json > /dev/null ||
  fail "the batch's grid is not its matrix: $(jq -r .text batch.json | head -12)"
"$bin" report nightly-hello -o by-name.html > /dev/null 2>&1 || fail "report by the batch's name exited $?"
screenshot "$work/batch-report.html" batch

# --- 2. a hostile run, its images linked beside the page --------------------------------------------
cat > hostile.yaml <<'EOF'
version: 1
name: x-script-alert
params:
  title: {type: string}
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: "${params.title}", seed: 4}}
EOF
odd="odd dir #1 %41 \"'><b>"
title=$'</code><script>alert(1)</script>"><img src=x onerror=alert(2)>\u202egnp.exe'
"$bin" run hostile.yaml -p "title=$title" --out "$odd" > hostile.out 2> hostile.err || fail "the hostile run exited $?: $(tail -3 hostile.err)"
hostile=$("$bin" status --json | jq -r 'select(.plan | endswith("hostile.yaml")) | .run' | head -1)
"$bin" report "$hostile" --no-inline -o "$work/pages/hostile.html" > /dev/null 2> report-hostile.err ||
  fail "report of the hostile run exited $?: $(cat report-hostile.err)"
chrome_dump "$work/pages/hostile.html" hostile
jq -e '.scripts == 0 and .handlers == 0 and (.images | length) == 1 and all(.images[]; . > 0)
  and all(.sources[]; test("^[A-Za-z0-9._~%/-]+$"))' hostile.json > /dev/null ||
  fail "the hostile run's report: $(jq -c 'del(.text)' hostile.json)"
jq -e --arg t "</code><script>alert(1)</script>" '.text | contains($t)' hostile.json > /dev/null || fail "the hostile text is not shown as text"
grep -q $'\u202e' pages/hostile.html && fail "a bidi control reached the page"
screenshot "$work/pages/hostile.html" hostile

# --- 3. changed files, refused outputs, unknown names ------------------------------------------------
# The image: one byte changed in place (same size, another sha256); the video: one byte longer.
printf 'X' | dd of="sogni-out/$run/keyframe/0.png" bs=1 seek=100 conv=notrunc status=none
printf 'x' >> "sogni-out/$run/clip/0.mp4"
"$bin" report "$run" -o changed.html > /dev/null 2> changed.err || fail "report of a changed file exited $?"
grep -q "2 not found or changed since their download" changed.err || fail "the changed files were not said: $(cat changed.err)"
[ "$(grep -o "changed since its download" changed.html | wc -l)" -eq 2 ] || fail "the page shows a changed file as the run's"
"$bin" report "$run" --no-inline -o changed-linked.html > /dev/null 2> changed-linked.err || fail "report --no-inline exited $?"
grep -q "2 not found or changed since their download" changed-linked.err || fail "a changed file linked beside the page was not caught"
printf 'notes\n<!-- sogni-flow report -->\n' > mentions.md
"$bin" report "$run" -o mentions.md > /dev/null 2>&1
[ $? -eq 2 ] && [ "$(head -1 mentions.md)" = notes ] || fail "a file that only mentions the marker was replaced"
chmod 600 changed.html
: > changed.html.tmp-999999  # left by a writer killed with SIGKILL (no such pid)
"$bin" report "$run" -o changed.html > /dev/null 2>&1 || fail "the report could not be written again"
[ "$(stat -c %a changed.html)" = 600 ] || fail "a private report came back $(stat -c %a changed.html)"
[ ! -e changed.html.tmp-999999 ] || fail "the temporary file of a killed writer was left"
echo "keep me" > notes.txt
"$bin" report "$run" -o notes.txt > /dev/null 2> notes.err
[ $? -eq 2 ] && [ "$(cat notes.txt)" = "keep me" ] || fail "-o onto a file that is not a report replaced it: $(cat notes.err)"
ln -s notes.txt link.html
"$bin" report "$run" -o link.html > /dev/null 2> link.err
[ $? -eq 7 ] && [ "$(cat notes.txt)" = "keep me" ] || fail "-o onto a link was not refused: $(cat link.err)"
"$bin" report "$run" -o changed.html > /dev/null 2>&1 || fail "a report did not replace an earlier report"
"$bin" report "$run" -o notes.txt --force > /dev/null 2>&1 && grep -q "sogni-flow report" notes.txt || fail "--force did not replace the file"
"$bin" report r-20990101-000000-abcd > /dev/null 2> unknown.err
[ $? -eq 2 ] && grep -q "no run r-20990101-000000-abcd" unknown.err || fail "an unknown run: $(cat unknown.err)"
"$bin" report no-such-batch > /dev/null 2> unknown-batch.err
[ $? -eq 2 ] && grep -q "no run id and no batch named 'no-such-batch'" unknown-batch.err || fail "an unknown batch: $(cat unknown-batch.err)"

echo "PASS report: a sample run, a local run and the sample batch load in Chromium with no console message, every image decodes, every video shows its first frame, the grid is the matrix (screenshots in $shots); hostile names run nothing; changed files and refused outputs"
