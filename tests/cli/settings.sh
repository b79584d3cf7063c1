#!/usr/bin/env bash
# Settings files through the binary (cli/settings.h), against the sandbox on loopback:
#   1. a project file (sogni-flow.yaml at a repository's top) puts the state, the runs' folders and
#      the endpoint where it says, from any folder below it; `status` from elsewhere in the tree
#      finds the same runs; `config --show-origin` names each value's file:line:col;
#   2. precedence: the variable beats the project file, which beats the user file; the flag beats all;
#   3. a broken file stops every command (exit 2, file:line:col, nothing stored or sent) but --help;
#   4. a project file may not point the key at another host; a user file may, and a refused endpoint
#      is named by its file:line:col; a bad jobs value is named by where it came from.
#
#   settings.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require jq

key=settings-key
start_sandbox "$key" --step-ms 0
export SOGNI_API_KEY=$key
unset SOGNI_FLOW_STATE_DIR SOGNI_FLOW_OUT_DIR SOGNI_API_BASE_URL SOGNI_FLOW_JOBS
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME/.config/sogni-flow" repo/plans/night repo/elsewhere
(cd repo/plans/night && two_step_plan lamp)

# --- 1. a project file, used from below it ---------------------------------------------------------
cat > repo/sogni-flow.yaml <<EOF
# the repository's settings
state_dir: .state
out_dir: renders
api_url: $url
jobs: 2
EOF
(cd repo/plans/night && "$bin" run lamp.yaml > ../../../run1.out 2> ../../../run1.err) || fail "run with the project file's settings exited $?"
[ -f repo/.state/state.db ] || fail "the state is not where the project file says (repo/.state)"
[ ! -e repo/plans/night/.sogni-flow ] || fail "a state directory was made in the current folder"
run1=$(sed -n 's/^run \(r-[0-9a-z-]*\) .*/\1/p' run1.err | head -1)
[ -n "$run1" ] || fail "no run id in: $(cat run1.err)"
files=$(find "repo/renders/$run1" -type f ! -name '*.json' | wc -l)
[ "$files" -ge 2 ] || fail "the run's files are not in repo/renders/$run1 ($files files)"
(cd repo/elsewhere && "$bin" status --json) > status1.json || fail "status from elsewhere in the tree exited $?"
[ "$(jq -r .run status1.json)" = "$run1" ] || fail "status from repo/elsewhere does not see $run1: $(cat status1.json)"
(cd repo/elsewhere && "$bin" config --show-origin) > origin.out || fail "config --show-origin exited $?"
grep -q "^state_dir $work/repo/.state  *$work/repo/sogni-flow.yaml:2:12\$" origin.out || fail "state_dir's origin: $(cat origin.out)"
grep -q "^out_dir   $work/repo/renders  *$work/repo/sogni-flow.yaml:3:10\$" origin.out || fail "out_dir's origin: $(cat origin.out)"
grep -q "^jobs      2  *$work/repo/sogni-flow.yaml:5:7\$" origin.out || fail "jobs' origin: $(cat origin.out)"
grep -q "^project file: $work/repo/sogni-flow.yaml\$" origin.out || fail "the project file is not named: $(cat origin.out)"
[ "$(cd repo && "$bin" config state_dir)" = "$work/repo/.state" ] || fail "config state_dir does not print the value alone"

# --- 2. precedence ------------------------------------------------------------------------------
echo "out_dir: /nonexistent/user-renders" > "$HOME/.config/sogni-flow/config.yaml"
[ "$(cd repo && "$bin" config out_dir)" = "$work/repo/renders" ] || fail "the user file beat the project file"
[ "$(cd "$work" && "$bin" config out_dir)" = "/nonexistent/user-renders" ] || fail "the user file is not used outside the project"
[ "$(cd repo && SOGNI_FLOW_OUT_DIR=envdir "$bin" config out_dir)" = "envdir" ] || fail "the variable did not beat the project file"
(cd repo/plans/night && SOGNI_FLOW_STATE_DIR=$work/env-state "$bin" run lamp.yaml > ../../../run2.out 2> ../../../run2.err) ||
  fail "run with SOGNI_FLOW_STATE_DIR exited $?"
[ -f env-state/state.db ] || fail "SOGNI_FLOW_STATE_DIR did not beat the project file"
(cd repo/plans/night && "$bin" run lamp.yaml --state-dir "$work/flag-state" --out "$work/flag-out" > ../../../run3.out 2> ../../../run3.err) ||
  fail "run with --state-dir exited $?"
[ -f flag-state/state.db ] && [ -d flag-out ] || fail "the flags did not beat the settings"
runs_in_project=$(cd repo && "$bin" status --json | jq -s length)
[ "$runs_in_project" -eq 1 ] || fail "the project's state holds $runs_in_project runs, expected 1"
rm "$HOME/.config/sogni-flow/config.yaml"

# --- 3. a broken file stops everything but --help ----------------------------------------------
cp repo/sogni-flow.yaml good.yaml
printf 'state_dir: .state\nstat_dir: x\n' > repo/sogni-flow.yaml
before=$(curl -fsS "$url/_sandbox/stats" | jq .workflowsCreated)
(cd repo/plans/night && "$bin" run lamp.yaml > ../../../bad.out 2> ../../../bad.err)
rc=$?
[ "$rc" -eq 2 ] || fail "a broken project file: run exited $rc, expected 2"
grep -q "^$work/repo/sogni-flow.yaml:2:1: error: unknown setting 'stat_dir'" bad.err || fail "no file:line:col: $(cat bad.err)"
grep -q "hint: did you mean 'state_dir'?" bad.err || fail "no hint: $(cat bad.err)"
after=$(curl -fsS "$url/_sandbox/stats" | jq .workflowsCreated)
[ "$before" = "$after" ] || fail "a run with a broken settings file sent a workflow"
(cd repo && "$bin" status > /dev/null 2>&1)
[ $? -eq 2 ] || fail "status ran with a broken settings file"
(cd repo && "$bin" run --help > /dev/null 2>&1) || fail "run --help failed with a broken settings file"
(cd repo && "$bin" config > /dev/null 2> config-bad.err)
[ $? -eq 2 ] || fail "config with a broken file did not exit 2"

# --- 4. where the key may go; bad jobs ----------------------------------------------------------
printf 'api_url: https://collector.example\n' > repo/sogni-flow.yaml
(cd repo/plans/night && "$bin" run lamp.yaml > /dev/null 2> ../../../evil.err)
rc=$?
[ "$rc" -eq 2 ] || fail "a project file pointing the key at another host: exit $rc, expected 2"
grep -q "sogni-flow.yaml:1:10: error: a project file may point api_url only at" evil.err || fail "no refusal: $(cat evil.err)"
rm repo/sogni-flow.yaml
echo "api_url: http://renders.example.org:8080" > "$HOME/.config/sogni-flow/config.yaml"
(cd repo/plans/night && "$bin" run lamp.yaml > /dev/null 2> ../../../plain.err)
rc=$?
[ "$rc" -eq 7 ] || fail "plain http to a remote host from the user file: exit $rc, expected 7"
grep -q "config.yaml:1:10: api_url: refusing plain http:// to renders.example.org" plain.err || fail "the refusal does not name the file: $(cat plain.err)"
rm "$HOME/.config/sogni-flow/config.yaml"
(cd repo/plans/night && SOGNI_API_BASE_URL=$url SOGNI_FLOW_JOBS=lots "$bin" run lamp.yaml > /dev/null 2> ../../../jobs.err)
rc=$?
[ "$rc" -eq 2 ] || fail "SOGNI_FLOW_JOBS=lots: exit $rc, expected 2"
grep -q "SOGNI_FLOW_JOBS wants a number from 1 to 10000, not 'lots'" jobs.err || fail "the jobs error does not name the variable: $(cat jobs.err)"

echo "PASS settings files: project, user, variables and flags in their order; broken and hostile files refused"
