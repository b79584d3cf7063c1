#!/usr/bin/env bash
# The ledger (docs/ledger.md) through the binary, against the sandbox on loopback:
#   1. a batch of 3 plans x a 4-combination matrix (16 units) under budget.batch max_units 10,
#      killed with SIGKILL in the middle of `batch run`: the same command then starts only what
#      fits (7 runs, 10 units), exits 5 and lists the 5 others; again, it starts nothing; a flag
#      that raises the ceiling starts the rest; `ledger` agrees with the sandbox's workflows;
#   2. a day ceiling counts the runs of `sogni-flow run` too;
#   3. two batches under one day ceiling, started at the same instant, never cross it together,
#      also against a faulty server (503 with Retry-After, slow, duplicated and reordered frames)
#      after a SIGKILL; a --timeout or a dearer server keep their own exit code and say so;
#   4. local runs are gated in dollars at their quote, and count what they were charged;
#   5. hostile ceilings (flags and budget keys) exit 2 at file:line:col and send nothing;
#   6. a damaged ledger row is named by `ledger` and `check` and never stops a run's end; a
#      forgotten run stays spent; days are local time (TZ); `ledger`'s own usage errors.
#
#   ledger.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require jq curl sqlite3

key=ledger-key
start_sandbox "$key" --step-ms 100
export SOGNI_API_KEY=$key SOGNI_API_BASE_URL=$url
workflows() { curl -fsS "$url/_sandbox/stats" | jq .workflowsCreated; }
projects() { curl -fsS "$url/_sandbox/stats" | jq .projectsCreated; }
ledger_units() { "$bin" ledger --all "$@" --json | jq .total.units; }

mkdir plans
for n in shot teaser banner; do
  variations=1
  [ "$n" = teaser ] && variations=2  # 2 units a run
  cat > "plans/$n.yaml" <<EOF
version: 1
name: $n
params:
  product: {type: string}
  size: {type: enum, values: [square, wide], default: square}
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: "a \${params.product} $n, \${params.size}", seed: 7, numberOfVariations: $variations}}
EOF
done
cat > nightly.batch.yaml <<'EOF'
version: 1
kind: batch
name: nightly
concurrency: 3
budget:
  batch: {max_units: 10}
entries:
  - plan: plans/shot.yaml
    matrix: {product: [kettle, toaster], size: [square, wide]}
  - plan: plans/teaser.yaml
    matrix: {product: [kettle, toaster], size: [square, wide]}
  - plan: plans/banner.yaml
    matrix: {product: [kettle, toaster], size: [square, wide]}
EOF
"$bin" validate nightly.batch.yaml 2> validate.err || fail "validate of the batch exited $?: $(cat validate.err)"

# --- 1. a ceiling below the batch's total, and a SIGKILL in the middle ------------------------------
"$bin" batch run nightly.batch.yaml > run1.out 2> run1.err &
pid=$!
bg_pids+=("$pid")
for _ in $(seq 1 300); do [ "$(workflows)" -ge 2 ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
started=$(workflows)
[ "$started" -ge 1 ] && [ "$started" -lt 7 ] || fail "the kill did not land in the middle: $started workflows were started"
"$bin" batch run nightly.batch.yaml > run2.out 2> run2.err
rc=$?
[ "$rc" -eq 5 ] || fail "a batch over its ceiling exited $rc, expected 5: $(tail -8 run2.err)"
[ "$(workflows)" -eq 7 ] || fail "$(workflows) workflows under a ceiling of 10 units, expected 7 (4 shots of 1, 3 teasers of 2)"
grep -q "^nightly: 5 runs were not started: each would cross a ceiling of the ledger" run2.err ||
  fail "no table of what was left out: $(tail -8 run2.err)"
[ "$(grep -c "it would take batch 'nightly' to .*; the ceiling is 10 units (budget.batch of nightly.batch.yaml)$" run2.err)" -ge 5 ] ||
  fail "the runs left out do not say why: $(tail -8 run2.err)"
grep -q "^teaser\[product=toaster,size=wide\] *2 *\$0 *it would take" run2.err || fail "the table lacks the last teaser: $(tail -8 run2.err)"
[ "$(grep -c '^banner\[' run2.err)" -ge 4 ] || fail "the table lacks the banners"
[ "$(ledger_units)" = 10 ] || fail "the ledger counts $(ledger_units) units, the sandbox started 10"
"$bin" ledger --all --json | jq -e '.total.runs == 7 and .total.open == 0 and (.batches[0].batch == "nightly")
  and ([.runs[] | select(.charged == null)] | length == 0)' > /dev/null ||
  fail "ledger: $("$bin" ledger --all --json)"
"$bin" check > check.out 2>&1 || fail "check after the ceiling: $(cat check.out)"
"$bin" batch status nightly.batch.yaml > bstatus.out || fail "batch status exited $?"
grep -q "^budget.batch of nightly.batch.yaml: 10 of 10 units spent by the batch$" bstatus.out || fail "batch status: $(tail -3 bstatus.out)"
# Again: nothing new fits, nothing is started, and it still says so with -q.
"$bin" batch run nightly.batch.yaml -q > run3.out 2> run3.err
[ $? -eq 5 ] || fail "the batch run again did not exit 5"
[ "$(workflows)" -eq 7 ] || fail "the batch run again started $(( $(workflows) - 7 )) workflows past its ceiling"
grep -q "^nightly: 5 runs were not started" run3.err || fail "-q hid what was left out: $(cat run3.err)"
# A flag replaces the file's ceiling of its scope and measure: the rest runs.
"$bin" batch run nightly.batch.yaml --max-units 16 > run4.out 2> run4.err || fail "the batch under --max-units 16 exited $?: $(tail -5 run4.err)"
[ "$(workflows)" -eq 12 ] || fail "$(workflows) workflows after raising the ceiling, expected 12"
[ "$(ledger_units)" = 16 ] || fail "the ledger counts $(ledger_units) units for 16"
"$bin" ledger --runs > ledger.txt || fail "ledger --runs exited $?"
grep -q "^total *12 *0 *16 *\$0$" ledger.txt || fail "ledger: $(cat ledger.txt)"
grep -q "nightly: teaser\[product=kettle,size=square\] *completed *2 *\$0 *2 *\$0$" ledger.txt || fail "ledger --runs: $(cat ledger.txt)"

# Runs left out do not hide what else happened: a --timeout that stops following is exit 8 (run
# again now), not 5; with --json the runs left out and the batch's own exit code end the stream.
export SOGNI_FLOW_STATE_DIR="$work/timeout-state"
slow_url=$url; slow_pid=$sandbox_pid
start_sandbox "$key" --step-ms 3000
SOGNI_API_BASE_URL=$url "$bin" batch run nightly.batch.yaml --max-units 2 --timeout 1s --json > slow.json 2> slow.err
rc=$?
kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null
url=$slow_url; sandbox_pid=$slow_pid
[ "$rc" -eq 8 ] || fail "a batch that timed out with runs left out exited $rc, expected 8: $(tail -4 slow.err)"
grep -q "runs were not started: each would cross a ceiling" slow.err || fail "the runs left out were not said after a timeout"
tail -1 slow.json | jq -e '.event == "batch_summary" and .exitCode == 8 and .notStarted == 10 and .started == 2' > /dev/null ||
  fail "the JSON stream does not end with the batch's summary: $(tail -1 slow.json)"
[ "$(jq -s '[.[] | select(.event == "not_started")] | length' slow.json)" -eq 10 ] || fail "the JSON stream lacks the runs left out"

# A server that charges above the estimates (--price-percent 150): the ceiling bounds what is
# started at its estimates; the charges that take the day past it are said, and counted next time.
export SOGNI_FLOW_STATE_DIR="$work/price-state"
start_sandbox "$key" --step-ms 20 --price-percent 150
SOGNI_API_BASE_URL=$url "$bin" batch run nightly.batch.yaml --max-units 4/day -q > dear.out 2> dear.err
rc=$?
SOGNI_API_BASE_URL=$url "$bin" batch run nightly.batch.yaml --max-units 4/day -q > dear2.out 2> dear2.err
rc2=$?
kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null
url=$slow_url; sandbox_pid=$slow_pid
[ "$rc" -eq 5 ] || fail "a batch over a day ceiling at a dearer server exited $rc: $(tail -4 dear.err)"
grep -q "^nightly: warning: the day $(date -u +%F) now counts 6 units, past its ceiling of 4 (--max-units 4/day): charges came above their estimates$" dear.err ||
  fail "the charges past the ceiling were not said: $(grep -v '^[a-z-]*\[' dear.err | head -5)"
[ "$rc2" -eq 5 ] && grep -q "(6 units so far, 1 units this run)" dear2.err || fail "the next batch run did not count the charges: $(tail -3 dear2.err)"

# A faulty server (503 with Retry-After, slow answers, duplicated and reordered frames), a SIGKILL
# after a second, then two batch runs of two batches under one day ceiling at once: the day's
# workflows never pass the ceiling, and the ledger says what the server made.
export SOGNI_FLOW_STATE_DIR="$work/faulty-state"
start_sandbox "$key" --step-ms 30 \
  --faults http_5xx=0.3,retry_after=1,sse_duplicate=0.2,sse_reorder=0.2,slow_ms=40
for b in fa fb; do
  printf 'version: 1\nkind: batch\nname: %s\nconcurrency: 4\nbudget: {day: {max_units: 9}}\nentries:\n  - {plan: plans/shot.yaml, matrix: {product: [%s1, %s2, %s3, %s4, %s5, %s6]}}\n' \
    "$b" "$b" "$b" "$b" "$b" "$b" "$b" > "$b.batch.yaml"
done
SOGNI_API_BASE_URL=$url "$bin" batch run fa.batch.yaml > fk.out 2> fk.err &
pid=$!
bg_pids+=("$pid")
sleep 1
kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
SOGNI_API_BASE_URL=$url "$bin" batch run fa.batch.yaml > fa.out 2> fa.err &
pa=$!
SOGNI_API_BASE_URL=$url "$bin" batch run fb.batch.yaml > fb.out 2> fb.err &
pb=$!
bg_pids+=("$pa" "$pb")
wait "$pa"; ra=$?
wait "$pb"; rb=$?
made=$(curl -fsS "$url/_sandbox/stats" | jq .workflowsCreated)
kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null
url=$slow_url; sandbox_pid=$slow_pid
[ "$made" -eq 9 ] || fail "two batches under a day ceiling of 9, against a faulty server and after a SIGKILL, made $made workflows"
[ "$ra" -eq 5 ] || [ "$rb" -eq 5 ] || fail "neither batch said what it left out (exits $ra, $rb): $(tail -3 fa.err) $(tail -3 fb.err)"
"$bin" ledger --json | jq -e '.total.units == 9 and .total.open == 0' > /dev/null ||
  fail "the ledger after a faulty server: $("$bin" ledger --json | jq -c .total)"

# --- 2. a day counts every run of the state directory ----------------------------------------------
export SOGNI_FLOW_STATE_DIR="$work/day-state"
# Runs against the in-process sandbox first: they spend the sandbox's day, never the account's.
"$bin" batch run nightly.batch.yaml --sandbox --max-units 3/day > sandbox-day.out 2> sandbox-day.err
[ $? -eq 5 ] || fail "a batch over the in-process sandbox's day ceiling did not exit 5: $(tail -3 sandbox-day.err)"
"$bin" run plans/shot.yaml -p product=lamp > day-run.out 2> day-run.err || fail "run exited $?: $(tail -3 day-run.err)"
before=$(workflows)
"$bin" batch run nightly.batch.yaml --max-units 3/day > day.out 2> day.err
[ $? -eq 5 ] || fail "a batch over the day's ceiling did not exit 5: $(tail -4 day.err)"
[ $(( $(workflows) - before )) -eq 2 ] || fail "$(( $(workflows) - before )) runs under a day ceiling of 3 after a run of 1, expected 2"
grep -q "it would take the day $(date +%F) to 4 units (3 units so far, 1 units this run); the ceiling is 3 units (--max-units 3/day)" day.err ||
  fail "the day ceiling is not said: $(grep 'would take' day.err | head -2)"
"$bin" ledger --json | jq -e --arg url "$url" '.total.units == 6 and (.batches | map(.batch) | sort_by(. // "") == [null, "nightly"])
  and ([.payers[] | select(.apiUrl == $url)][0].units == 3) and ([.payers[] | select(.apiUrl == "sandbox:in-process")][0].units == 3)
  and (.payers | length == 2)' > /dev/null ||
  fail "ledger of the day: $("$bin" ledger --json | jq -c '{total, payers}')"

# --- 3. two batches under one day ceiling at the same instant -------------------------------------
export SOGNI_FLOW_STATE_DIR="$work/race-state"
for b in a b; do
  cat > "race-$b.batch.yaml" <<EOF
version: 1
kind: batch
name: race-$b
concurrency: 6
budget: {day: {max_units: 8}}
entries:
  - plan: plans/shot.yaml
    matrix: {product: [$b-1, $b-2, $b-3], size: [square, wide]}
EOF
done
before=$(workflows)
"$bin" batch run race-a.batch.yaml > race-a.out 2> race-a.err &
ra=$!
"$bin" batch run race-b.batch.yaml > race-b.out 2> race-b.err &
rb=$!
bg_pids+=("$ra" "$rb")
wait "$ra"; ca=$?
wait "$rb"; cb=$?
[ $(( $(workflows) - before )) -eq 8 ] || fail "two batches under one day ceiling of 8 started $(( $(workflows) - before )) workflows"
[ "$(ledger_units)" = 8 ] || fail "the ledger of the race counts $(ledger_units) units"
[ "$ca" -eq 5 ] || [ "$cb" -eq 5 ] || fail "neither batch of the race said what it left out (exits $ca, $cb)"

# --- 4. local runs: dollars at their quote, then what they were charged -----------------------------
export SOGNI_FLOW_STATE_DIR="$work/local-state"
cat > plans/local.yaml <<'EOF'
version: 1
name: local-still
execution: local
params:
  product: {type: string}
steps:
  - id: still
    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: "a ${params.product}", numberOfMedia: 1, seed: 3}
EOF
"$bin" estimate plans/local.yaml -p product=a --json > quote.json 2> quote.err || fail "estimate of the local plan exited $?: $(cat quote.err)"
quote=$(jq -e '.totalUsd | numbers' quote.json) || fail "the local plan's quote has no totalUsd: $(cat quote.json)"
ceiling=$(jq -n "$quote * 1.5")
printf 'version: 1\nkind: batch\nname: local\nentries:\n  - {plan: plans/local.yaml, matrix: {product: [a, b, c]}}\n' > local.batch.yaml
before=$(projects)
"$bin" batch run local.batch.yaml --max-usd "$ceiling/month" > local.out 2> local.err
[ $? -eq 5 ] || fail "local runs over a dollar ceiling did not exit 5: $(tail -4 local.err)"
[ $(( $(projects) - before )) -eq 1 ] || fail "$(( $(projects) - before )) projects under a ceiling of 1.5 quotes, expected 1"
grep -q "the ceiling is \$[0-9.]* (--max-usd [0-9.]*/month)" local.err || fail "the dollar ceiling is not said: $(tail -3 local.err)"
"$bin" ledger --json | jq -e --argjson q "$quote" '.total.runs == 1 and .runs[0].estimate.usd == $q and .runs[0].estimate.units == 0
  and .runs[0].charged != null and .runs[0].charged.units == 0 and .runs[0].charged.usd > 0' > /dev/null ||
  fail "the local run's ledger row: $("$bin" ledger --json | jq -c .runs)"

# --- 5. hostile ceilings ----------------------------------------------------------------------------
export SOGNI_FLOW_STATE_DIR="$work/hostile-state"
before=$(workflows)
for v in -1 abc 5/week 1e16 nan inf '' 5/ /day 0x10 '5/day/month' $'5\n/day'; do
  "$bin" batch run nightly.batch.yaml --max-units "$v" > /dev/null 2> flag.err
  rc=$?
  [ "$rc" -eq 2 ] || fail "--max-units '$v' exited $rc, expected 2"
  grep -q "^sogni-flow batch run: \(--max-units wants N, N/day or N/month\|option '--max-units' needs a value\)" flag.err ||
    fail "--max-units '$v': $(cat flag.err)"
done
"$bin" batch run nightly.batch.yaml --max-usd=-0.5/day > /dev/null 2> flag.err
[ $? -eq 2 ] || fail "--max-usd=-0.5/day was taken"
budget_case() {  # budget_case NAME 'BUDGET YAML' 'EXPECTED LINE:COL: MESSAGE'
  printf 'version: 1\nkind: batch\nname: b\nbudget:\n%s\nentries:\n  - {plan: plans/shot.yaml, params: {product: x}}\n' "$2" > "$1.batch.yaml"
  "$bin" batch run "$1.batch.yaml" > /dev/null 2> "$1.err"
  [ $? -eq 2 ] || fail "budget '$2' was taken"
  grep -qF "$1.batch.yaml:$3" "$1.err" || fail "budget '$2': $(cat "$1.err")"
  "$bin" validate "$1.batch.yaml" > /dev/null 2> "$1-validate.err"
  [ $? -eq 2 ] && grep -qF "$1.batch.yaml:$3" "$1-validate.err" || fail "validate of budget '$2': $(cat "$1-validate.err")"
}
budget_case week '  week: {max_units: 5}' "5:3: error: unknown key 'week' in budget"
budget_case dayz '  dayz: {max_units: 5}' "5:3: error: unknown key 'dayz' in budget"
budget_case neg '  day: {max_units: -3}' "5:20: error: budget.day.max_units must be a number from 0 to 1e15, not -3"
budget_case text '  day: {max_units: "5"}' "5:20: error: budget.day.max_units must be a number from 0 to 1e15"
budget_case nan '  month: {max_usd: .nan}' "5:20: error: "
budget_case big '  batch: {max_units: 1e400}' "5:22: error: "
budget_case units '  day: {max_unit: 5}' "5:9: error: unknown key 'max_unit' in budget.day"
budget_case empty '  day: {}' "5:8: error: budget.day must be a mapping with max_units and/or max_usd"
budget_case list '  - day' "5:3: error: 'budget' must be a mapping of batch, day and month"
[ "$(workflows)" -eq "$before" ] || fail "a hostile ceiling started a workflow"

# --- 6. damage, forgetting, local time, usage ------------------------------------------------------
export SOGNI_FLOW_STATE_DIR="$work/damage-state"
id=$("$bin" run plans/shot.yaml -p product=vase --detach 2> detach.err) || fail "run --detach exited $?: $(cat detach.err)"
id=$(printf '%s\n' "$id" | grep -o 'r-[0-9a-z-]*' | head -1)
[ -n "$id" ] || id=$(sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "SELECT id FROM runs LIMIT 1")
sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "UPDATE ledger SET steps = '[1]' WHERE run_id = '$id'"
"$bin" ledger > damaged.out 2> damaged.err
[ $? -eq 6 ] || fail "ledger of a damaged row did not exit 6"
grep -q "is damaged: the ledger row of run $id holds" damaged.err || fail "ledger of a damaged row: $(cat damaged.err)"
"$bin" check > check-damaged.out 2>&1
[ $? -ne 0 ] && grep -q "the ledger row of run '$id' holds" check-damaged.out || fail "check did not name the damaged ledger row: $(cat check-damaged.out)"
"$bin" resume "$id" > resume.out 2> resume.err || fail "a damaged ledger row stopped the run's end: resume exited $?: $(tail -3 resume.err)"
[ "$(sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "SELECT units_actual FROM ledger WHERE run_id = '$id'")" = 1.0 ] ||
  fail "the damaged row was not settled on what the run reported"
sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "UPDATE ledger SET steps = '{}' WHERE run_id = '$id'"
# Amounts the CHECKs refuse: an infinite one is refused at the write; a negative one or a day of
# escape codes, written with the CHECKs off, is damage that every command names and none spends past.
sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "UPDATE ledger SET units_actual = 1e308 * 10 WHERE run_id = '$id'" 2> /dev/null &&
  fail "an infinite amount passed the ledger's CHECK"
sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "PRAGMA ignore_check_constraints = 1; UPDATE ledger SET units_actual = -50, day = char(27) || '[2J' || '1234567' WHERE run_id = '$id'"
"$bin" ledger --all > neg.out 2> neg.err
[ $? -eq 6 ] && grep -q "is damaged" neg.err || fail "ledger of a negative amount: $(cat neg.err)"
grep -q $'\e' neg.out neg.err && fail "an escape code of a damaged row reached the terminal"
"$bin" check > check-neg.out 2>&1
[ $? -ne 0 ] && grep -q "the ledger row of run '$id' holds an amount that is negative or not finite, or a malformed day" check-neg.out ||
  fail "check did not name the damaged ledger row: $(cat check-neg.out)"
before=$(workflows)
"$bin" batch run nightly.batch.yaml > neg-run.out 2> neg-run.err
[ $? -eq 6 ] && [ "$(workflows)" -eq "$before" ] || fail "a batch ran over a damaged ledger: $(tail -3 neg-run.err)"
sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "UPDATE ledger SET units_actual = 1, day = '$(date -u +%F)' WHERE run_id = '$id'"
"$bin" forget "$id" > forget.out 2>&1 || fail "forget exited $?: $(cat forget.out)"
"$bin" ledger --json | jq -e --arg id "$id" '.total.units == 1 and .runs[0].run == $id and .runs[0].status == null' > /dev/null ||
  fail "a forgotten run is no longer spent: $("$bin" ledger --json)"
# Two processes in zones 26 hours apart file their runs under one UTC day: one day ceiling holds both.
export SOGNI_FLOW_STATE_DIR="$work/tz-state"
printf 'version: 1\nkind: batch\nname: tz-a\nbudget: {day: {max_units: 3}}\nentries:\n  - {plan: plans/shot.yaml, matrix: {product: [a1, a2]}}\n' > tz-a.batch.yaml
printf 'version: 1\nkind: batch\nname: tz-b\nbudget: {day: {max_units: 3}}\nentries:\n  - {plan: plans/shot.yaml, matrix: {product: [b1, b2]}}\n' > tz-b.batch.yaml
before=$(workflows)
TZ=Etc/GMT+12 "$bin" batch run tz-a.batch.yaml > tz-a.out 2> tz-a.err || fail "the batch in UTC-12 exited $?: $(tail -3 tz-a.err)"
TZ=Etc/GMT-14 "$bin" batch run tz-b.batch.yaml > tz-b.out 2> tz-b.err
[ $? -eq 5 ] || fail "the batch in UTC+14 was not held by the day the batch in UTC-12 spent: $(tail -3 tz-b.err)"
[ $(( $(workflows) - before )) -eq 3 ] || fail "two zones spent $(( $(workflows) - before )) units under one day ceiling of 3"
"$bin" ledger --all --json | jq -e --arg d "$(date -u +%F)" '[.runs[].day] | unique == [$d]' > /dev/null ||
  fail "the ledger's days are not the UTC day $(date -u +%F): $("$bin" ledger --all --json | jq -c '[.runs[].day]')"
for bad in "--month 2026-13" "--month 26-12" "--month x" "--all --month 2026-12" "extra"; do
  # shellcheck disable=SC2086
  "$bin" ledger $bad > /dev/null 2> usage.err
  [ $? -eq 2 ] || fail "ledger $bad did not exit 2"
done
SOGNI_FLOW_STATE_DIR="$work/none" "$bin" ledger > none.out 2> none.err || fail "ledger of no state directory exited $?"
grep -q "^no run was stored in " none.out || fail "ledger of no state directory: $(cat none.out)"
[ ! -e "$work/none" ] || fail "ledger created a state directory"

echo "PASS ledger: a ceiling below a batch's total (and a SIGKILL) starts only what fits, exits 5 and lists the rest; a day counts every run; two batches at once never cross one ceiling; dollars gate local runs; hostile ceilings exit 2; damage is named and never stops a run"
