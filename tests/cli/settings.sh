#!/usr/bin/env bash
# Settings files through the binary (cli/settings.h), against the sandbox on loopback:
#   1. a project file (sogni-flow.yaml at a repository's top) puts the state and the runs' folders
#      where it says, from any folder below it; `status` from elsewhere in the tree finds the same
#      runs; `config --show-origin` names each value's file:line:col;
#   2. precedence: the variable beats the project file, which beats the user file; the flag beats all;
#   3. a broken file stops every command (exit 2, file:line:col, nothing stored or sent) but a
#      request for help, which gets the help alone (`--out -h` is not one);
#   4. a project file may not set api_url at all; a user file may, and a refused endpoint is named by
#      its file:line:col; a bad jobs value is named by where it came from; config refuses to print
#      an endpoint no command could use;
#   5. a state directory a project file names (perhaps shipped with a repository) cannot get the key
#      sent to the endpoint one of its runs stores: resume compares the key's fingerprint with the
#      run's before sending anything there.
#
#   settings.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require jq

key=settings-key
start_sandbox "$key" --step-ms 0
export SOGNI_API_KEY=$key SOGNI_API_BASE_URL=$url
unset SOGNI_FLOW_STATE_DIR SOGNI_FLOW_OUT_DIR SOGNI_FLOW_JOBS
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME/.config/sogni-flow" repo/plans/night repo/elsewhere
(cd repo/plans/night && two_step_plan lamp)

# --- 1. a project file, used from below it ---------------------------------------------------------
cat > repo/sogni-flow.yaml <<EOF
# the repository's settings
state_dir: .state
out_dir: renders

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
(cd repo/plans/night && "$bin" run lamp.yaml --out -h > ../../../outh.out 2> ../../../outh.err)
rc=$?
[ "$rc" -eq 0 ] && grep -q '^usage: sogni-flow run' outh.out || fail "--out -h with a broken file: exit $rc, not the help alone"
[ ! -e repo/plans/night/-h ] || fail "--out -h with a broken settings file ran the plan"
(cd repo && "$bin" config > /dev/null 2> config-bad.err)
[ $? -eq 2 ] || fail "config with a broken file did not exit 2"
mkdir gone
(cd gone && rmdir ../gone && "$bin" status > /dev/null 2> ../gone.err)
rc=$?
[ "$rc" -eq 2 ] || fail "status in a removed directory: exit $rc, expected 2 (its settings file cannot be looked for)"
grep -q "the current directory cannot be read" gone.err || fail "no reason for a removed directory: $(cat gone.err)"

# --- 4. where the key may go; bad jobs ----------------------------------------------------------
printf 'api_url: http://127.0.0.1:9\n' > repo/sogni-flow.yaml  # even loopback: any local user may listen there
(cd repo/plans/night && "$bin" run lamp.yaml > /dev/null 2> ../../../evil.err)
rc=$?
[ "$rc" -eq 2 ] || fail "a project file setting api_url: exit $rc, expected 2"
grep -q "sogni-flow.yaml:1:10: error: a project file may not set api_url" evil.err || fail "no refusal: $(cat evil.err)"
rm repo/sogni-flow.yaml
(SOGNI_API_BASE_URL='https://api.sogni.ai/?token=s3cr3t' "$bin" config api_url > cfg.out 2> cfg.err)
rc=$?
[ "$rc" -eq 2 ] || fail "config api_url of an unusable endpoint: exit $rc, expected 2"
! grep -q s3cr3t cfg.out cfg.err || fail "config repeated a query that may hold a secret"
[ ! -s cfg.out ] || fail "config printed an unusable endpoint as a value: $(cat cfg.out)"
echo "api_url: http://renders.example.org:8080" > "$HOME/.config/sogni-flow/config.yaml"
(cd repo/plans/night && env -u SOGNI_API_BASE_URL "$bin" run lamp.yaml > /dev/null 2> ../../../plain.err)
rc=$?
[ "$rc" -eq 7 ] || fail "plain http to a remote host from the user file: exit $rc, expected 7"
grep -q "config.yaml:1:10: api_url: refusing plain http:// to renders.example.org" plain.err || fail "the refusal does not name the file: $(cat plain.err)"
rm "$HOME/.config/sogni-flow/config.yaml"
(cd repo/plans/night && SOGNI_API_BASE_URL=$url SOGNI_FLOW_JOBS=lots "$bin" run lamp.yaml > /dev/null 2> ../../../jobs.err)
rc=$?
[ "$rc" -eq 2 ] || fail "SOGNI_FLOW_JOBS=lots: exit $rc, expected 2"
grep -q "SOGNI_FLOW_JOBS wants a number from 1 to 10000, not 'lots'" jobs.err || fail "the jobs error does not name the variable: $(cat jobs.err)"

# --- 5. a state directory from a repository cannot send the key elsewhere ----------------------------
rm -f "$HOME/.config/sogni-flow/config.yaml"
collector_log=collector.log
"$bin" sandbox --port 0 --api-key other > "$collector_log" 2>&1 &
collector_pid=$!
bg_pids+=("$collector_pid")
curl_collector=$(await_listening "$collector_log" "$collector_pid")
[ -n "$curl_collector" ] || fail "the second sandbox did not start"
mkdir -p shipped
cp -r repo/.state shipped/.state && rm -f shipped/.state/lock
sqlite3 shipped/.state/state.db "UPDATE runs SET status = 'running', api_url = '$curl_collector', account = '0000000000000000';" ||
  fail "could not poison the copied state"
printf 'state_dir: .state\n' > shipped/sogni-flow.yaml
requests() { curl -fsS "$curl_collector/_sandbox/stats" | jq .requests; }
r1=$(requests); r2=$(requests)
(cd shipped && "$bin" resume --all > ../shipped.out 2> ../shipped.err)
r3=$(requests)
[ $((r3 - r2)) -eq $((r2 - r1)) ] || fail "resume sent $((r3 - r2 - (r2 - r1))) requests to the endpoint a shipped state directory named"
grep -q "belongs to another account" shipped.err || fail "resume did not say why it skipped the run: $(cat shipped.err)"

echo "PASS settings files: project, user, variables and flags in their order; broken and hostile files refused"
