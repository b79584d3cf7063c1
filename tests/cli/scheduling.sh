#!/usr/bin/env bash
# The scheduling examples of docs/scheduling.md, read from the page and run against the sandbox
# on loopback, so that the page stays true:
#   1. each crontab line's command (its directory /srv/renders made a fixture here) exits 0, and
#      the first one leaves every run of the batch completed;
#   2. the systemd service's ExecStart, run in its WorkingDirectory, exits 0; the timer's
#      OnCalendar parses (with systemd-analyze, when the machine has it);
#   3. the GitHub Actions workflow's `run:` steps of each job in order (the install step skipped:
#      the binary under test is on PATH), the nightly job with its secret as SOGNI_API_KEY and a
#      fresh state directory (a runner's), each exits 0, and the estimate reaches the summary.
#
#   scheduling.sh BIN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
src=$(realpath "$2")
test_setup "$1"
require jq curl
page=$src/docs/scheduling.md
[ -f "$page" ] || fail "no $page"

key=scheduling-key
start_sandbox "$key" --step-ms 0
export SOGNI_API_BASE_URL=$url
unset SOGNI_API_KEY SOGNI_FLOW_STATE_DIR
mkdir -p bin renders/plans
ln -s "$bin" bin/sogni-flow
export PATH=$work/bin:$PATH
renders=$work/renders
for n in shot teaser; do
  cat > "renders/plans/$n.yaml" <<EOF
version: 1
name: $n
params:
  product: {type: string, default: kettle}
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: "a \${params.product} $n", seed: 5}}
EOF
done
cat > renders/nightly.batch.yaml <<'EOF'
version: 1
kind: batch
name: nightly
entries:
  - plan: plans/shot.yaml
    matrix: {product: [kettle, lamp]}
  - plan: plans/teaser.yaml
EOF
printf '%s' "$key" > renders/sogni.key
chmod 600 renders/sogni.key

# block INFO N: the Nth fenced block of the page whose info string is INFO (1-based).
block() {
  awk -v info="$1" -v want="$2" '
    /^```/ { if (inb) { inb = 0; next } if ($0 == "```" info) { n++; if (n == want) inb = 1 } next }
    inb { print }' "$page"
}
here() { sed -e "s#/srv/renders#$renders#g" -e "s#/usr/bin/sogni-flow#$bin#g"; }

# --- 1. cron -------------------------------------------------------------------------------------
cron=$(block crontab 1)
[ -n "$cron" ] || fail "docs/scheduling.md has no crontab block"
n=0
while IFS= read -r line; do
  case "$line" in '#'*|'') continue ;; esac
  cmd=$(awk '{ for (i = 6; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "") }' <<< "$line" | here)
  n=$((n + 1))
  (cd "$work" && bash -c "$cmd") > "cron$n.out" 2> "cron$n.err" || fail "crontab line $n exited $?: $cmd"
done <<< "$cron"
[ "$n" -ge 2 ] || fail "only $n crontab lines"
(cd renders && "$bin" status --json) | jq -s -e 'length == 3 and all(.status == "completed")' > /dev/null ||
  fail "the cron batch did not complete its 3 runs: $(cd renders && "$bin" status --json)"

# --- 2. systemd ----------------------------------------------------------------------------------
service=$(block ini 1 | here)
timer=$(block ini 2)
wd=$(sed -n 's/^WorkingDirectory=//p' <<< "$service")
exec_start=$(sed -n 's/^ExecStart=//p' <<< "$service")
[ -n "$wd" ] && [ -n "$exec_start" ] || fail "the service has no WorkingDirectory or ExecStart"
grep -q '^Type=oneshot$' <<< "$service" || fail "the service is not Type=oneshot"
(cd "$wd" && bash -c "$exec_start") > systemd.out 2> systemd.err || fail "ExecStart exited $?: $exec_start"
[ ! -s systemd.err ] || fail "ExecStart with -q printed: $(cat systemd.err)"
calendar=$(sed -n 's/^OnCalendar=//p' <<< "$timer")
[ -n "$calendar" ] || fail "the timer has no OnCalendar"
if command -v systemd-analyze > /dev/null; then
  systemd-analyze calendar "$calendar" > /dev/null 2>&1 || fail "OnCalendar=$calendar does not parse"
fi
grep -q '^WantedBy=timers.target$' <<< "$timer" || fail "the timer is not wanted by timers.target"

# --- 3. GitHub Actions ---------------------------------------------------------------------------
workflow=$(block yaml 1)
grep -q '^  pull_request:' <<< "$workflow" && grep -q '^  schedule:' <<< "$workflow" || fail "the workflow lacks its triggers"
grep -q 'SOGNI_API_KEY: \${{ secrets.SOGNI_API_KEY }}' <<< "$workflow" || fail "the nightly job does not take the key from a secret"
# job NAME: its run: lines, in order.
job_runs() {
  awk -v job="$1" '
    /^  [a-z][a-z0-9_-]*:$/ { injob = ($1 == job ":") }
    injob && /^ +run: / { sub(/^ +run: /, ""); print }' <<< "$workflow"
}
summary=$work/summary.md
: > "$summary"
for job in check nightly; do
  steps=$(job_runs "$job")
  [ -n "$steps" ] || fail "the workflow has no steps in job $job"
  state=$work/runner-$job  # each job's runner starts with nothing
  i=0
  while IFS= read -r step; do
    case "$step" in *apt-get*) continue ;; esac  # installing: the binary under test is on PATH
    i=$((i + 1))
    if [ "$job" = nightly ]; then secret=$key; else secret=""; fi
    (cd renders && env GITHUB_STEP_SUMMARY="$summary" SOGNI_FLOW_STATE_DIR="$state" ${secret:+SOGNI_API_KEY=$secret} \
      bash -c "$step") > "gh-$job-$i.out" 2> "gh-$job-$i.err" || fail "job $job, step '$step' exited $?: $(tail -3 "gh-$job-$i.err")"
  done <<< "$steps"
done
grep -q "total" "$summary" || fail "the estimate did not reach the summary: $(cat "$summary")"
(cd renders && SOGNI_FLOW_STATE_DIR=$work/runner-nightly "$bin" status --json) | jq -s -e 'length == 3 and all(.status == "completed")' > /dev/null ||
  fail "the nightly job did not complete its 3 runs"

echo "PASS scheduling: $n crontab lines, the systemd service and timer, and the GitHub Actions jobs of docs/scheduling.md run against the sandbox"
