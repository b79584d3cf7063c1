#!/usr/bin/env bash
# The help and the docs tell the truth about the command line, checked through the real binary.
#
#  A. `sogni-flow CMD --help`, for every command of `sogni-flow --help`: every option named in its
#     usage lines or its examples is one the command accepts (its options list, which the parser
#     builds from the same table), and every option it accepts appears in its usage lines. A run
#     id in an example has the format runs really get (r-YYYYMMDD-HHMMSS-xxxx).
#  B. README.md and docs/*.md: every `sogni-flow ...` in inline code and every synopsis in a code
#     block names a command that exists and only options that command accepts.
#  C. Every command line shown in a code block of README.md and docs/*.md, and every example of
#     every --help, runs: placeholders are replaced (PLAN -> a sample plan, RUN and run ids -> a
#     real run made first, COMMAND -> each command, SOGNI_API_KEY=... -> the test's key, --port N ->
#     --port 0), and each is run in a fixture directory (copies of samples/, the worked example of
#     plan-language.md as promo.yaml, ...) against `sogni-flow sandbox` on 127.0.0.1, with a
#     temporary state directory and HOME. None may fail as a usage error (exit 2 with a usage
#     message). Each must exit as its doc says: the code after "exit" (or "exit status") in its
#     comment, or in the output shown under a `$ ` line; 0 when the doc says nothing. A
#     `sogni-flow sandbox` line runs until it listens, then gets SIGTERM and must exit 0.
#     One exception, for want of a way to make the state it needs from outside: `approve --run`
#     is only held to "not a usage error" (the server pauses no run of a plan the local gate lets
#     through).
#
#   cli_docs_check.sh BIN SOURCE_DIR
set -u
bin=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d)
sandbox_pid=""
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
command -v jq > /dev/null || { echo "FAIL: jq is required"; exit 1; }
problems=0
problem() { echo "PROBLEM: $*"; problems=$((problems + 1)); }
usage_message='^sogni-flow( [a-z]+)?: (unknown option|unknown command|unknown action|option |give |no plan given|unexpected argument|takes no argument|.* does not apply)'

# --- A. Every command's --help --------------------------------------------------------------------
mapfile -t commands < <("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p')
[ "${#commands[@]}" -ge 12 ] || { echo "FAIL: only ${#commands[@]} commands in sogni-flow --help"; exit 1; }
# A command with actions has a help of each ("batch run --help"), checked as a command of its own.
mapfile -t actions < <("$bin" batch --help | sed -n 's/^usage: sogni-flow batch \([a-z|]*\) .*/\1/p' | tr '|' '\n' | sed 's/^/batch /')
[ "${#actions[@]}" -ge 3 ] || { echo "FAIL: only ${#actions[@]} actions in sogni-flow batch --help"; exit 1; }
helped=("${commands[@]}" "${actions[@]}")
declare -A accepts  # "CMD OPTION" -> 1
for cmd in "${helped[@]}"; do
  # shellcheck disable=SC2086  # "batch run" is two words
  "$bin" $cmd --help > "$work/help.$cmd" || problem "$cmd --help exited non-zero"
  while IFS= read -r o; do
    for name in $o; do accepts["$cmd $name"]=1; done
  done < <(sed -n '/^options:$/,/^$/p' "$work/help.$cmd" |
           sed -n 's/^  \(-[a-zA-Z]\), \(--[a-z0-9-]\+\).*/\1 \2/p; s/^      \(--[a-z0-9-]\+\).*/\1/p')
done

# The options a command line names (what precedes a pipe or a comment), as written.
options_of() {
  sed -e 's/[|#].*//' <<< "$1" | tr ' \t' '\n\n' | sed -e 's/^[[(`]*//' -e 's/[])`,.;:]*$//' -e 's/=.*//' |
    grep -E '^--?[A-Za-z][A-Za-z0-9-]*$' || true
}
# The command a line runs: the word after `sogni-flow`, past `$ ` and VAR=value words; with its
# action when it has one ("batch run").
command_of() {
  local w seen=0 cmd=""
  for w in $1; do
    if [ -n "$cmd" ]; then
      [ -f "$work/help.$cmd $w" ] && { echo "$cmd $w"; return; }
      echo "$cmd"; return
    fi
    if [ "$seen" = 1 ]; then cmd=$w; continue; fi
    [ "$w" = sogni-flow ] && seen=1
  done
  [ -n "$cmd" ] && echo "$cmd"
}

for cmd in "${helped[@]}"; do
  usage=$(sed -n '1,/^$/p' "$work/help.$cmd")
  for o in $(options_of "$(tr '|' ' ' <<< "$usage")"); do
    [ -n "${accepts["$cmd $o"]:-}" ] || problem "$cmd --help: usage names $o, which $cmd does not accept"
  done
  while read -r short long; do  # an option appears in the usage line in its long or short form
    [ "$long" = --help ] && continue
    grep -qE -- "(^|[][ |(])($long|${short:-$long})([] =|)]|$)" <<< "$usage" ||
      problem "$cmd --help: $long is accepted but missing from the usage line"
  done < <(sed -n '/^options:$/,/^$/p' "$work/help.$cmd" |
           sed -n 's/^  \(-[a-zA-Z]\), \(--[a-z0-9-]\+\).*/\1 \2/p; s/^      \(--[a-z0-9-]\+\).*/- \1/p' | sed 's/^- / /')
  while IFS= read -r line; do
    ex_cmd=$(command_of "$line")
    for o in $(options_of "$line"); do
      [ -n "${accepts["$ex_cmd $o"]:-}" ] || problem "$cmd --help: the example '$line' uses $o, which $ex_cmd does not accept"
    done
    for id in $(grep -oE '[A-Za-z0-9-]*[0-9]{8}[A-Za-z0-9-]*' <<< "$line"); do
      [[ "$id" =~ ^r-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] || problem "$cmd --help: the example '$line' shows '$id', not a run id runs get (r-YYYYMMDD-HHMMSS-xxxx)"
    done
  done < <(sed -n '/^examples\?:$/,$p' "$work/help.$cmd" | sed -n 's/^  \(\([A-Z_]*=[^ ]* \)*sogni-flow .*\)/\1/p')
done
echo "A: --help of ${#commands[@]} commands checked"

# --- A2. Every exit code a command's --help lists is in docs/diagnostics.md's table for it -------
# The table's rows are "| CODE | meaning | `cmd ...`, ... |" (or "every command"); a help's
# "exit codes:" paragraph names each code as a number after its start, a comma or a period.
table=$(sed -n '/^## 4\. Exit codes/,/^## /p' "$src/docs/diagnostics.md" | grep -E '^\| [0-9]+ \|')
[ -n "$table" ] || problem "docs/diagnostics.md: no exit-code table in section 4"
codes_checked=0
bt='`'
for cmd in "${helped[@]}"; do
  para=$(sed -n '/^exit codes\?:/,/^$/p' "$work/help.$cmd" | tr '\n' ' ')
  [ -n "$para" ] || { problem "$cmd --help lists no exit codes"; continue; }
  for code in $(grep -oE '(^exit codes?: |, |[.;] |\(|^ *)(0|1|2|3|4|5|6|7|8|130) ' <<< "$para" | grep -oE '[0-9]+ $' | sort -un); do
    codes_checked=$((codes_checked + 1))
    row=$(awk -F'|' -v c="$code" '$2 + 0 == c && $2 ~ /[0-9]/ { print $4 }' <<< "$table")
    [ -n "$row" ] || { problem "docs/diagnostics.md: no row for exit code $code, which $cmd --help lists"; continue; }
    grep -qE "every command|${bt}$cmd[$bt ]" <<< "$row" ||
      problem "docs/diagnostics.md: the row of exit code $code does not name $cmd, whose --help lists it"
  done
done
[ "$codes_checked" -ge 40 ] || problem "only $codes_checked exit codes found in the helps: the A2 parser is broken"
echo "A2: $codes_checked exit codes of the helps found in docs/diagnostics.md"

# --- B and C: the docs ---------------------------------------------------------------------------
cd "$src" || exit 1
docs=(README.md docs/*.md)
is_synopsis() { grep -qE '(^| )\[|[A-Z]{2,}\.\.\.|(^| )[a-z]+\|[a-z]' <<< "$1"; }
check_options() {  # check_options WHERE LINE [synopsis]: in a synopsis `|` separates forms, not a pipe
  local cmd o line=$2
  cmd=$(command_of "$line")
  case "$cmd" in ""|COMMAND|--help|-h|--version|help|version) return ;; esac
  [ -f "$work/help.$cmd" ] || { problem "$1: '$line' names no command of sogni-flow ($cmd)"; return; }
  [ -n "${3:-}" ] && line=$(sed -e 's/\\|/ /g' -e 's/|/ /g' <<< "$line")
  for o in $(options_of "$line"); do
    [ -n "${accepts["$cmd $o"]:-}" ] || problem "$1: '$2' uses $o, which $cmd does not accept"
  done
}
inline=0
for doc in "${docs[@]}"; do
  while IFS= read -r span; do
    inline=$((inline + 1))
    check_options "$doc" "${span//\`/}" synopsis
  done < <(grep -oE '`(\$ )?([A-Z_]+=[^ `]* )*sogni-flow [^`]*`' "$doc")
done

# Command lines of the code blocks: "DOC:LINE<US>EXPECTED<US>COMMAND" (US: the unit separator,
# \037, which no doc contains), EXPECTED "" when unsaid.
extract() {
  awk -v doc="$1" -v q="'" '
    function flush_dollar() { if (pending != "") { print pending "\037" want "\037" cmd; pending = "" } }
    /^```/ { if (inb) { flush_dollar() } inb = !inb; dollar = 0; cont = ""; next }
    !inb { next }
    /^\$ / { flush_dollar(); dollar = 1; cmd = substr($0, 3); want = ""; pending = doc ":" NR; next }
    dollar { if (match($0, /exit (status )?[0-9]+/)) { s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); if (want == "") want = s } next }
    {
      line = (cont != "" ? cont " " : "") $0
      # A line goes on after a backslash, and while a single quote is open.
      quotes = gsub(q, q, line)
      if (line ~ /\\$/ || quotes % 2 == 1) { sub(/\\$/, "", line); if (cont == "") start = NR; cont = line; next }
      first = (cont != "" ? start : NR); cont = ""
      if (line !~ /^([A-Z_]+=[^ ]* )*sogni-flow( |$)/) next
      split(line, w, " "); c = ""
      for (i = 1; i in w; i++) if (w[i] == "sogni-flow") { c = w[i + 1]; break }
      if (c ~ /:$/) next
      want = ""
      if (match(line, /#.*exit (status )?[0-9]+/)) { s = substr(line, RSTART, RLENGTH); sub(/.*exit (status )?/, "", s); want = s }
      print doc ":" first "\037" want "\037" line
    }' "$1"
}
: > "$work/lines"
for doc in "${docs[@]}"; do extract "$doc" >> "$work/lines"; done
for cmd in "${helped[@]}"; do
  sed -n '/^examples\?:$/,$p' "$work/help.$cmd" | sed -n 's/^  \(\([A-Z_]*=[^ ]* \)*sogni-flow .*\)/\1/p' |
    while IFS= read -r line; do
      want=""
      if [[ "$line" =~ \#.*exit\ (status\ )?([0-9]+) ]]; then want=${BASH_REMATCH[2]}; fi
      printf '%s\037%s\037%s\n' "$cmd --help" "$want" "$line"
    done >> "$work/lines"
done

# The fixture directory, the sandbox and the runs the lines refer to.
fx="$work/fixture"
mkdir -p "$fx/bin" "$fx/home" "$fx/nightly" "$fx/plans" "$fx/media"
ln -s "$bin" "$fx/bin/sogni-flow"
cp -r "$src/samples" "$fx/samples"
cp "$src/samples/media/logo.png" "$fx/media/logo.png"
awk '/^## 1\. A worked example/ {s = 1} s && /^```yaml/ {y = 1; next} y && /^```/ {exit} y {print}' "$src/docs/plan-language.md" > "$fx/promo.yaml"
cat > "$fx/plan.yaml" <<'PLAN'
version: 1
name: docs-plan
params:
  subject: {type: string, default: a desk lamp}
  seconds: {type: integer, default: 5, minimum: 2, maximum: 20}
budget: {max_units: 200}
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: "Product render of ${params.subject}", seed: 7}}
  - id: clip
    toolName: generate_video
    arguments: {prompt: slow orbit, videoModel: ltx23, duration: "${params.seconds}"}
    dependsOn:
      - {sourceStepId: keyframe, sourceArtifactIndex: 0, targetArgument: referenceImageIndices,
         mediaType: image, transform: image_index}
PLAN
echo 'seconds: 4' > "$fx/p.yaml"
echo 'seconds: 7' > "$fx/a.yaml"
echo '{"seconds": 11}' > "$fx/b.json"
for n in one two; do sed "s/^name: docs-plan/name: nightly-$n/" "$fx/plan.yaml" > "$fx/nightly/$n.yaml"; done
cp "$fx/plan.yaml" "$fx/plans/a.yaml"
key=k-docs-check-8c21f0
export HOME="$fx/home" SOGNI_FLOW_STATE_DIR="$work/state" SOGNI_API_KEY="$key" PATH="$fx/bin:$PATH"
(cd "$fx" && exec "$bin" sandbox --port 0 --step-ms 10 --api-key "$key") > "$work/sandbox.log" 2>&1 &
sandbox_pid=$!
# Up to 60 s: `make test` compiles the sanitizer builds beside this suite.
for _ in $(seq 1 600); do grep -q "listening on" "$work/sandbox.log" 2>/dev/null && break; kill -0 "$sandbox_pid" 2>/dev/null || break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$work/sandbox.log")
case "$url" in http://127.0.0.1:*) ;; *) echo "FAIL: the sandbox did not start on loopback: $(cat "$work/sandbox.log")"; exit 1 ;; esac
export SOGNI_API_BASE_URL=$url
(cd "$fx" && timeout 60 "$bin" run plan.yaml --out "$work/seed-out") > "$work/seed.out" 2> "$work/seed.err" ||
  { echo "FAIL: the run the docs refer to did not complete"; cat "$work/seed.err"; exit 1; }
run=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' "$work/seed.err")

ran=0
run_line() {  # run_line WHERE EXPECTED LINE
  local where=$1 want=$2 line=$3 cmd rc first pid
  cmd=$(command_of "$line")
  line=$(sed -E -e "s/(^| )SOGNI_API_KEY=\.\.\./\1SOGNI_API_KEY=$key/g" -e 's/ #.*$//' \
                -e "s/(^| )(RUN|r-[0-9]{8}-[0-9]{6}-[0-9a-f]{4})( |$)/\1$run\3/g" -e 's/(^| )PLAN( |$)/\1plan.yaml\2/g' \
                -e 's/--port [0-9]+/--port 0/' <<< "$line")
  ran=$((ran + 1))
  if [ "$cmd" = sandbox ]; then
    (cd "$fx" && exec bash -c "exec $line") > "$work/line.out" 2> "$work/line.err" &
    pid=$!
    for _ in $(seq 1 600); do grep -q "listening on" "$work/line.out" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
  elif [ "$cmd" = forget ]; then
    # It removes what the other lines refer to: it gets a copy of the state directory.
    rm -rf "$work/state-scratch" && cp -a "$work/state" "$work/state-scratch"
    (cd "$fx" && SOGNI_FLOW_STATE_DIR="$work/state-scratch" timeout 120 bash -c "set -o pipefail; $line") < /dev/null \
      > "$work/line.out" 2> "$work/line.err"
    rc=$?
  else
    (cd "$fx" && timeout 120 bash -c "set -o pipefail; $line") < /dev/null > "$work/line.out" 2> "$work/line.err"
    rc=$?
  fi
  first=$(head -n 1 "$work/line.err")
  [ "$cmd" = approve ] && cp "$work/line.out" "$work/approve.out"
  if [ "$rc" -eq 2 ] && grep -qE "$usage_message" <<< "$first"; then
    problem "$where: '$line' is a usage error: $first"
  elif [ "$cmd" = approve ] && grep -q -- '--run' <<< "$line"; then
    :  # held to "not a usage error" only (see the top of this file)
  elif [ "$rc" != "${want:-0}" ]; then
    problem "$where: '$line' exited $rc, the doc says ${want:-0} ($first)"
  fi
}
while IFS=$'\037' read -r where want line; do
  if is_synopsis "$line"; then
    check_options "$where" "$line" synopsis
    continue
  fi
  check_options "$where" "$line"
  if grep -qE '(^| )COMMAND( |$)' <<< "$line"; then
    for cmd in "${commands[@]}"; do run_line "$where" "$want" "${line//COMMAND/$cmd}"; done
  else
    run_line "$where" "$want" "$line"
  fi
done < "$work/lines"
# --- D. What the docs say about the commands themselves -------------------------------------------
# D1: no page calls a command that exists unavailable, or the side of it that runs unbuilt.
for doc in "${docs[@]}"; do
  for cmd in "${commands[@]}" "templates push"; do
    grep -nE "\`(sogni-flow )?$cmd\`[^.]*(not (yet )?available|not built|is built\b)|(not (yet )?available|not built)[^.]*\`(sogni-flow )?$cmd\`" "$doc" |
      while IFS= read -r hit; do echo "PROBLEM: $doc:${hit%%:*}: says \`$cmd\` is not available, but it is"; done
  done
done > "$work/d1"
problems=$((problems + $(wc -l < "$work/d1"))); cat "$work/d1"
# D2: the exit-code table marks no code "reserved" that a command's --help says it exits with.
used=$(cat "$work"/help.* | sed -n '/^exit codes:/,/^$/p' | grep -oE '(^|[ ,:])[0-9]{1,3}( |,|$)' | tr -dc '0-9\n ' | tr ' ' '\n' | sort -un)
while IFS="|" read -r _ code _ produced _; do
  code=$(tr -d ' ' <<< "$code")
  grep -qi reserved <<< "$produced" || continue
  grep -qx -- "$code" <<< "$used" && problem "docs/diagnostics.md: exit $code is marked reserved, but a command's --help lists it"
done < <(sed -n '/^## 4\. Exit codes/,/^## /p' docs/diagnostics.md | grep -E '^\| [0-9]+ \|')
# D3: the approval file is named after the plan file without its extension (what approve wrote
# above), so no page or --help may call it PLAN.approval.json (PLAN is the plan file itself).
approval=$(sed -n 's#^\(samples/launch-teaser\.approval\.json\)$#\1#p' "$work/approve.out" 2>/dev/null)
for f in "${docs[@]}" "$work"/help.*; do
  grep -n 'PLAN\.approval\.json' "$f" | while IFS= read -r hit; do
    echo "PROBLEM: ${f#"$work"/}:${hit%%:*}: names PLAN.approval.json; approve writes NAME.approval.json (${approval:-samples/launch-teaser.approval.json} for samples/launch-teaser.yaml)"
  done
done > "$work/d3"
problems=$((problems + $(wc -l < "$work/d3"))); cat "$work/d3"

echo "B: $inline inline command lines and $(wc -l < "$work/lines") code-block and example lines checked; C: $ran run"
echo "$problems problems"
[ "$problems" -eq 0 ]
