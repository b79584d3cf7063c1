#!/usr/bin/env bash
# Batch files through the binary, against the sandbox on loopback:
#   1. a batch of 3 server plans x a 4-combination matrix, plus a local plan over 2 CSV rows (14
#      runs), killed with SIGKILL in the middle of `batch run`; the same command again completes it
#      with exactly one workflow per server run and one project per local run; `check` says ok;
#   2. a second `batch run` creates nothing and says so; `batch status` says skip for each run;
#   3. a plan changed since: only its runs run again;
#   4. an invalid batch (a param value its plan refuses, a missing plan) exits 2 at file:line:col
#      and sends nothing; `validate` checks a batch with every run it makes;
#   5. cron safety: two `batch run` of one batch at once: the second exits 6 naming the first and
#      starts nothing; the first killed with SIGKILL is found stale and taken over, with a notice;
#      `batch run -q` of a finished batch prints nothing;
#   6. `batch cancel` cancels the unfinished runs of a batch another process drives; that process
#      ends them cancelled (exit 1), and `batch status` then says they would run again;
#   7. what an outside attack found: two batch runs started at once pay once; SOGNI_FLOW_PARAM_*
#      does not change a finished batch; --max-tokens and the balance hold for the batch's local
#      runs together; a run left in a killed in-process sandbox is started again, not stuck;
#   8. two plan files that send the same request are two works (not "the same work"); and a batch
#      against a sandbox answering 503 with Retry-After, slowly, with duplicated and reordered event
#      and socket frames, killed after 2 s, then run twice at once, still pays once per run;
#   9. `batch resume` after a SIGKILL finishes the runs that were started, stores and pays for no
#      new one, and says which it left to `batch run`.
#
#   batch.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require jq curl sqlite3

key=batch-key
start_sandbox "$key" --step-ms 150
export SOGNI_API_KEY=$key SOGNI_API_BASE_URL=$url
stats() { curl -fsS "$url/_sandbox/stats"; }
workflows() { stats | jq .workflowsCreated; }
projects() { stats | jq .projectsCreated; }

mkdir plans
for n in shot teaser banner; do
  cat > "plans/$n.yaml" <<EOF
version: 1
name: $n
params:
  product: {type: string}
  size: {type: enum, values: [square, wide], default: square}
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: "a \${params.product} $n, \${params.size}", seed: 7}}
EOF
done
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
printf 'product\nkettle\n"toaster, deluxe"\n' > rows.csv
cat > nightly.batch.yaml <<'EOF'
version: 1
kind: batch
name: nightly
concurrency: 3
entries:
  - plan: plans/shot.yaml
    matrix: {product: [kettle, toaster], size: [square, wide]}
  - plan: plans/teaser.yaml
    matrix: {product: [kettle, toaster], size: [square, wide]}
  - plan: plans/banner.yaml
    matrix: {product: [kettle, toaster], size: [square, wide]}
  - plan: plans/local.yaml
    rows: rows.csv
EOF
"$bin" validate nightly.batch.yaml 2> validate.err || fail "validate of the batch exited $?: $(cat validate.err)"
grep -q "nightly.batch.yaml: valid batch 'nightly' (14 runs of 4 plans)" validate.err || fail "validate said: $(cat validate.err)"

# --- 1. SIGKILL in the middle, then the same command ----------------------------------------------
"$bin" batch run nightly.batch.yaml > run1.out 2> run1.err &
pid=$!
bg_pids+=("$pid")
for _ in $(seq 1 300); do [ "$(workflows)" -ge 4 ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
started=$(workflows)
[ "$started" -ge 1 ] && [ "$started" -lt 12 ] || fail "the kill did not land in the middle: $started workflows were started"
"$bin" batch run nightly.batch.yaml > run2.out 2> run2.err || fail "the batch run after the kill exited $?"
grep -q "^nightly: resume " run2.err || fail "the second batch run resumed nothing: $(grep '^nightly:' run2.err)"
[ "$(workflows)" -eq 12 ] || fail "$(workflows) workflows for 12 server runs after a kill and a second run"
[ "$(projects)" -eq 2 ] || fail "$(projects) projects for 2 local runs"
[ "$(sqlite3 .sogni-flow/state.db "SELECT count(*) FROM batch_runs WHERE batch = 'nightly'")" -eq 14 ] ||
  fail "the state holds $(sqlite3 .sogni-flow/state.db "SELECT count(*) FROM batch_runs") batch runs, expected 14"
"$bin" status --json | jq -s -e 'length == 14 and all(.status == "completed")' > /dev/null ||
  fail "not every run completed: $("$bin" status --json | jq -c '[.run, .status]')"
"$bin" check > check.out 2>&1 || fail "check after the kill: $(cat check.out)"

# --- 2. nothing new the next time ------------------------------------------------------------------
before=$(workflows)
"$bin" batch run nightly.batch.yaml > run3.out 2> run3.err || fail "the third batch run exited $?"
grep -q "^nightly: nothing to do: all 14 runs completed, unchanged" run3.err || fail "no 'nothing to do': $(tail -3 run3.err)"
[ "$(workflows)" -eq "$before" ] && [ "$(projects)" -eq 2 ] || fail "a batch with every run completed started something"
"$bin" batch status nightly.batch.yaml --json > status.json || fail "batch status exited $?"
jq -s -e 'length == 14 and all(.decision == "skip")' status.json > /dev/null || fail "batch status: $(cat status.json)"

# --- 3. a changed plan runs again, alone ----------------------------------------------------------
sed -i 's/seed: 7/seed: 8/' plans/banner.yaml
"$bin" batch run nightly.batch.yaml > run4.out 2> run4.err || fail "the batch run after a change exited $?"
[ "$(workflows)" -eq $((before + 4)) ] || fail "a changed plan of 4 runs started $(( $(workflows) - before )) workflows"
[ "$(grep -c '^nightly: run banner\[.*(plan or params changed since r-' run4.err)" -eq 4 ] || fail "the changed runs were not said: $(grep '^nightly:' run4.err)"
[ "$(grep -c '^nightly: skip ' run4.err)" -eq 10 ] || fail "the unchanged runs were not skipped"

# --- 4. invalid batches send nothing ----------------------------------------------------------------
before=$(workflows)
sed 's/size: \[square, wide\]}$/size: [square, tall]}/' nightly.batch.yaml > tall.batch.yaml
"$bin" batch run tall.batch.yaml > /dev/null 2> tall.err
rc=$?
[ "$rc" -eq 2 ] || fail "a batch with a value its plan refuses: exit $rc, expected 2"
grep -q "nothing was started" tall.err || fail "no 'nothing was started': $(tail -3 tall.err)"
"$bin" validate tall.batch.yaml > /dev/null 2> tall-validate.err
[ $? -eq 2 ] || fail "validate of the bad batch did not exit 2"
grep -q "^tall.batch.yaml:[0-9]*:[0-9]*: note: run 'shot\[product=kettle,size=tall\]' of this batch is invalid" tall-validate.err ||
  fail "validate does not name the run: $(cat tall-validate.err)"
printf 'version: 1\nkind: batch\nname: gone\nentries:\n  - plan: plans/none.yaml\n' > gone.batch.yaml
"$bin" batch run gone.batch.yaml > /dev/null 2> gone.err
rc=$?
[ "$rc" -eq 2 ] || fail "a batch naming a missing plan: exit $rc, expected 2"
grep -q "^gone.batch.yaml:5:11: error: no plan file 'plans/none.yaml'" gone.err || fail "no position: $(cat gone.err)"
[ "$(workflows)" -eq "$before" ] || fail "an invalid batch started a workflow"

printf 'version: 1\nkind: batch\nname: spelled\nentries:\n  - {plan: plans/shot.yaml, rows: [{product: kettle}, {product: kettle, size: square}]}\n' > spelled.batch.yaml
before=$(workflows)
"$bin" batch run spelled.batch.yaml > /dev/null 2> spelled.err
rc=$?
[ "$rc" -eq 2 ] || fail "one work written two ways (a default spelled out): batch run exited $rc, expected 2"
grep -q "are the same work" spelled.err || fail "the same work twice was not said: $(tail -2 spelled.err)"
"$bin" validate spelled.batch.yaml > /dev/null 2> spelled-validate.err
[ $? -eq 2 ] && grep -q "is the same work as run" spelled-validate.err || fail "validate did not refuse the same work twice: $(cat spelled-validate.err)"
[ "$(workflows)" -eq "$before" ] || fail "the same work twice started workflows"
mkdir -p elsewhere/plans
cp plans/shot.yaml elsewhere/plans/shot.yaml
sed -i 's/seed: 7/seed: 9/' elsewhere/plans/shot.yaml
printf 'version: 1\nkind: batch\nname: nightly\nentries:\n  - plan: plans/shot.yaml\n    matrix: {product: [kettle, toaster], size: [square, wide]}\n' > elsewhere/nightly.batch.yaml
"$bin" batch run elsewhere/nightly.batch.yaml > /dev/null 2> shared-name.err
rc=$?
[ "$rc" -eq 2 ] || fail "a second batch file of the name 'nightly' in this state directory: exit $rc, expected 2"
grep -q "two batch files share the name 'nightly'" shared-name.err || fail "the shared name was not said: $(tail -2 shared-name.err)"
[ "$(workflows)" -eq "$before" ] || fail "a batch file sharing another's name started workflows"

# --- 5. one batch run of a batch at a time ---------------------------------------------------------
sed 's/^name: nightly$/name: overlap/' nightly.batch.yaml > overlap.batch.yaml
before=$(workflows)
"$bin" batch run overlap.batch.yaml --state-dir lockstate > first.out 2> first.err &
first=$!
bg_pids+=("$first")
for _ in $(seq 1 300); do [ "$(workflows)" -gt "$before" ] && break; sleep 0.05; done
"$bin" batch run overlap.batch.yaml --state-dir lockstate > second.out 2> second.err
rc=$?
[ "$rc" -eq 6 ] || fail "a second batch run of a running batch: exit $rc, expected 6"
grep -q "batch 'overlap' is driven by pid $first on host " second.err || fail "the refusal does not name the holder: $(cat second.err)"
grep -q "^overlap: run \|^run r-" second.err && fail "the refused batch run said it started something: $(cat second.err)"
kill -KILL "$first"
wait "$first" 2>/dev/null
"$bin" batch run overlap.batch.yaml --state-dir lockstate > third.out 2> third.err || fail "the batch run after its holder was killed exited $?"
grep -q "pid $first on host .* died while driving batch 'overlap'" third.err || fail "the stale holder was not said: $(head -3 third.err)"
[ "$(workflows)" -eq $((before + 12)) ] || fail "the overlapping batch runs started $(( $(workflows) - before )) workflows for 12 server runs"
"$bin" batch run overlap.batch.yaml --state-dir lockstate -q > quiet.out 2> quiet.err || fail "batch run -q exited $?"
[ ! -s quiet.err ] && [ ! -s quiet.out ] || fail "batch run -q of a finished batch printed: $(cat quiet.err quiet.out)"

# --- 6. batch cancel ------------------------------------------------------------------------------
sed 's/^name: nightly$/name: cancelled/' nightly.batch.yaml > cancelled.batch.yaml
before=$(workflows)
"$bin" batch run cancelled.batch.yaml -j 12 --state-dir cstate > cancel-run.out 2> cancel-run.err &
driver=$!
bg_pids+=("$driver")
for _ in $(seq 1 300); do [ "$(workflows)" -ge $((before + 12)) ] && break; sleep 0.05; done
"$bin" batch cancel cancelled.batch.yaml --state-dir cstate > cancel.out 2> cancel.err || fail "batch cancel exited $?: $(tail -3 cancel.err)"
wait "$driver"
rc=$?
[ "$rc" -eq 1 ] || fail "the batch run whose runs were cancelled exited $rc, expected 1: $(tail -5 cancel-run.err)"
cancelled=$("$bin" status --json --state-dir cstate | jq -s '[.[] | select(.status == "cancelled")] | length')
[ "$cancelled" -ge 1 ] || fail "no run ended cancelled: $("$bin" status --json --state-dir cstate | jq -c '[.run, .status]')"
"$bin" batch status cancelled.batch.yaml --state-dir cstate --json > cstatus.json || fail "batch status after the cancel exited $?"
[ "$(jq -s '[.[] | select(.decision == "run" and (.why | endswith("cancelled")))] | length' cstatus.json)" -eq "$cancelled" ] ||
  fail "batch status does not say the cancelled runs would run again: $(cat cstatus.json)"
"$bin" batch cancel cancelled.batch.yaml --state-dir cstate > /dev/null 2> cancel2.err || fail "a second batch cancel exited $?"

# --- 7. what an outside attack found ---------------------------------------------------------------
sed 's/^name: nightly$/name: together/' nightly.batch.yaml > together.batch.yaml
before=$(workflows)
"$bin" batch run together.batch.yaml --state-dir tstate > t1.out 2> t1.err &
t1=$!
"$bin" batch run together.batch.yaml --state-dir tstate > t2.out 2> t2.err &
t2=$!
bg_pids+=("$t1" "$t2")
wait "$t1"; r1=$?
wait "$t2"; r2=$?
[ $((r1 == 6 || r2 == 6 || (r1 == 0 && r2 == 0))) -eq 1 ] || fail "two batch runs at once exited $r1 and $r2"
[ "$(workflows)" -eq $((before + 12)) ] || fail "two batch runs at once started $(( $(workflows) - before )) workflows for 12 runs"
printf 'version: 1\nkind: batch\nname: quoted\nentries:\n  - plan: plans/local.yaml\n    matrix: {product: [cup, saucer]}\n' > quoted.batch.yaml
"$bin" batch run quoted.batch.yaml --state-dir qstate --max-tokens 0 > /dev/null 2> q0.err
one=$(sed -n 's/.*: quoted \([0-9.]*\) spark tokens.*/\1/p' q0.err | head -1)
[ -n "$one" ] || fail "no quote to gate with: $(cat q0.err)"
ceiling=$(awk -v q="$one" 'BEGIN { printf "%.4f", q * 1.5 }')
before=$(projects)
"$bin" batch run quoted.batch.yaml --state-dir qstate --max-tokens "$ceiling" > /dev/null 2> q1.err
rc=$?
[ "$rc" -eq 5 ] || fail "two local runs quoted over --max-tokens together: exit $rc, expected 5: $(tail -2 q1.err)"
grep -q "quoted at .* spark tokens together, over --max-tokens" q1.err || fail "the batch total was not said: $(tail -2 q1.err)"
[ "$(projects)" -eq "$before" ] || fail "a batch refused by its total sent projects"
"$bin" batch run quoted.batch.yaml --state-dir q2state -q > q2.out 2> q2.err || fail "batch run -q of local runs exited $?: $(cat q2.err)"
[ ! -s q2.err ] || fail "batch run -q of local runs printed: $(head -3 q2.err)"
printf 'version: 1\nkind: batch\nname: inproc\nentries:\n  - plan: plans/shot.yaml\n    matrix: {product: [a, b, c, d]}\n' > inproc.batch.yaml
"$bin" batch run inproc.batch.yaml --sandbox --state-dir istate > i1.out 2> i1.err &
i1=$!
bg_pids+=("$i1")
for _ in $(seq 1 200); do grep -q "^run r-" i1.err 2>/dev/null && break; sleep 0.02; done
kill -KILL "$i1"; wait "$i1" 2>/dev/null
"$bin" batch run inproc.batch.yaml --sandbox --state-dir istate > i2.out 2> i2.err || fail "a batch left in a killed in-process sandbox could not finish: exit $?: $(tail -3 i2.err)"
"$bin" batch status inproc.batch.yaml --state-dir istate --json | jq -s -e 'all(.decision == "skip")' > /dev/null ||
  fail "after a second --sandbox batch run, not every run completed"
# Its plan's size param keeps its default in the batch: a variable left in a shell must not change it.
SOGNI_FLOW_PARAM_size=wide "$bin" batch status inproc.batch.yaml --state-dir istate --json > env-status.json ||
  fail "batch status with a param variable exited $?"
jq -s -e 'length == 4 and all(.decision == "skip")' env-status.json > /dev/null ||
  fail "SOGNI_FLOW_PARAM_size changed a finished batch: $(jq -c 'select(.decision != "skip")' env-status.json | head -2)"

# --- 8. two identical plans; a faulty server -----------------------------------------------------
mkdir -p twins/plans
for n in left right; do
  printf 'version: 1\nname: twin\nparams:\n  product: {type: string}\nsteps:\n  - {id: still, toolName: generate_image, arguments: {prompt: "a ${params.product}"}}\n' > "twins/plans/$n.yaml"
done
printf 'version: 1\nkind: batch\nname: twins\nentries:\n  - {plan: plans/left.yaml, matrix: {product: [a]}}\n  - {plan: plans/right.yaml, matrix: {product: [a]}}\n' > twins/t.batch.yaml
"$bin" batch status twins/t.batch.yaml --state-dir twinstate --json > twins.json 2> twins.err ||
  fail "two plan files sending one request were taken for the same work: $(cat twins.err)"
[ "$(jq -s length twins.json)" -eq 2 ] || fail "batch status of the twins: $(cat twins.json)"
faulty_log=faulty.log
"$bin" sandbox --port 0 --api-key "$key" --step-ms 30 \
  --faults http_5xx=0.3,retry_after=1,sse_duplicate=0.2,sse_reorder=0.2,slow_ms=40,socket_duplicate=0.2,socket_reorder=0.2 \
  > "$faulty_log" 2>&1 &
faulty_pid=$!
bg_pids+=("$faulty_pid")
furl=$(await_listening "$faulty_log" "$faulty_pid")
[ -n "$furl" ] || fail "the faulty sandbox did not start"
printf 'version: 1\nkind: batch\nname: faulty\nconcurrency: 4\nentries:\n  - {plan: plans/shot.yaml, matrix: {product: [a, b, c]}}\n  - {plan: plans/teaser.yaml, matrix: {product: [a, b, c]}}\n  - {plan: plans/local.yaml, matrix: {product: [x, y]}}\n' > faulty.batch.yaml
SOGNI_API_BASE_URL=$furl "$bin" batch run faulty.batch.yaml --state-dir fstate > f1.out 2> f1.err &
f1=$!
bg_pids+=("$f1")
sleep 2
kill -KILL "$f1" 2>/dev/null; wait "$f1" 2>/dev/null
SOGNI_API_BASE_URL=$furl "$bin" batch run faulty.batch.yaml --state-dir fstate > f2.out 2> f2.err &
f2=$!
bg_pids+=("$f2")
sleep 0.3
SOGNI_API_BASE_URL=$furl "$bin" batch run faulty.batch.yaml --state-dir fstate > f3.out 2> f3.err
r3=$?
wait "$f2"; r2=$?
[ "$r2" -eq 0 ] || fail "the batch run after the kill, against a faulty server, exited $r2: $(tail -3 f2.err)"
[ "$r3" -eq 6 ] || [ "$r3" -eq 0 ] || fail "the batch run beside it exited $r3: $(tail -3 f3.err)"
fstats=$(curl -fsS "$furl/_sandbox/stats")
[ "$(jq .workflowsCreated <<< "$fstats")" -eq 6 ] && [ "$(jq .projectsCreated <<< "$fstats")" -eq 2 ] ||
  fail "against a faulty server: $(jq -c '{workflowsCreated, projectsCreated}' <<< "$fstats") for 6 server runs and 2 local"
"$bin" status --json --state-dir fstate | jq -s -e 'length == 8 and all(.status == "completed")' > /dev/null ||
  fail "against a faulty server not every run completed"
"$bin" check --state-dir fstate > fcheck.out 2>&1 || fail "check after the faulty batch: $(cat fcheck.out)"

# --- 9. batch resume finishes what was started, and starts nothing ------------------------------------
# A batch run killed while it follows its 14 runs (all stored, some not sent yet), and a run added
# to the batch file since: batch resume pays once for each stored run, and leaves the new one.
export SOGNI_FLOW_STATE_DIR="$work/resume-state"
w0=$(workflows); p0=$(projects)
"$bin" batch run nightly.batch.yaml -j 1 > r1.out 2> r1.err &
pid=$!
bg_pids+=("$pid")
for _ in $(seq 1 300); do [ "$(workflows)" -ge $((w0 + 2)) ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ "$(workflows)" -lt $((w0 + 12)) ] || fail "the kill before batch resume did not land in the middle"
cp nightly.batch.yaml grown.batch.yaml
printf '  - {plan: plans/shot.yaml, params: {product: lamp}}\n' >> grown.batch.yaml
"$bin" batch resume grown.batch.yaml > resume.out 2> resume.err || fail "batch resume exited $?: $(tail -3 resume.err)"
[ "$(workflows)" -eq $((w0 + 12)) ] && [ "$(projects)" -eq $((p0 + 2)) ] ||
  fail "batch resume made $(( $(workflows) - w0 )) workflows and $(( $(projects) - p0 )) projects for 12 and 2 stored runs"
grep -q "^nightly: resume " resume.err || fail "batch resume resumed nothing: $(grep '^nightly:' resume.err | head -3)"
grep -q "^nightly: leave shot\[product=lamp\] (no run yet; left to batch run" resume.err || fail "batch resume did not say what it left: $(grep '^nightly: leave' resume.err)"
[ "$(sqlite3 "$SOGNI_FLOW_STATE_DIR/state.db" "SELECT count(*) FROM batch_runs")" -eq 14 ] || fail "batch resume stored a new run"
"$bin" status --json | jq -s -e 'length == 14 and all(.status == "completed")' > /dev/null || fail "batch resume left a run unfinished"
"$bin" batch resume grown.batch.yaml -q > resume2.out 2> resume2.err || fail "a second batch resume exited $?"
[ ! -s resume2.err ] || fail "batch resume -q with nothing to resume printed: $(cat resume2.err)"
"$bin" batch run grown.batch.yaml -q > rest.out 2> rest.err || fail "batch run after batch resume exited $?: $(cat rest.err)"
[ "$(workflows)" -eq $((w0 + 13)) ] || fail "batch run after batch resume did not start the one left"
unset SOGNI_FLOW_STATE_DIR

echo "PASS batch: 14 runs survive a SIGKILL with one workflow or project each; a second run creates nothing; a changed plan runs alone; invalid batches send nothing; a second batch run at once exits 6, a killed holder is taken over; batch cancel; a faulty server pays once"
