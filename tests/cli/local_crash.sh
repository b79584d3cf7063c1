#!/usr/bin/env bash
# Crash safety of local runs (execution: local), through the binary against a sandbox process of
# its own (--data-dir, --step-ms), on the 20-step plan tests/data/local_crash/plan.yaml (fan-out,
# fan-in, image, video and audio projects, one local media file, a seed on every step):
#   1. reference: one uninterrupted run; its final state (run and step statuses, each step's
#      projects and charge, files with their sha256, provenance without ids) is the oracle;
#   2. runner kills: the run is SIGKILLed at each crash point of the local runner and of the
#      downloads (sogni-flow-crashtest, SOGNI_FLOW_CRASH_AT, at a random hit of the point) and at
#      random moments, then `resume RUN` until it ends (every third first resume killed too);
#   3. sandbox kills: the sandbox is SIGKILLed at random moments of the run and restarted from
#      its --data-dir on the same port; the runner goes on or is resumed;
#   4. socket faults (sandbox --faults): socket_drop_after, retry_storm, socket_duplicate,
#      restart_refusal, omit_result_url, result_first with socket_duplicate (a jobResult before
#      its job's jobState, and twice), socket_reorder, each on a sandbox of its own: one run each;
#   5. damage: a run killed with a project in flight, then nine edits of its rows (a step naming
#      another project, a project deleted, moved, failed, duplicated, a newer one added, a step
#      back to planned, with its project completed or not, a spec emptied): `check` reports each. After every kill of phase 2, `check` says ok.
# After every episode: the final state equals the reference's, and the sandbox shows exactly one
# project per step for the state directory's appId (GET /_sandbox/stats `projects`), every one
# completed, and each artifact's media delivered exactly once (`downloads` + `resumedDownloads`).
#
#   local_crash.sh BIN_DIR [short|soak]
# BIN_DIR holds sogni-flow and sogni-flow-crashtest. short (make test): every crash point once
# and LOCAL_CRASH_RANDOM (13) random kills (20 runner kills in all), LOCAL_CRASH_SANDBOX (3) sandbox
# kills; soak (make soak): every crash point twice, 20 random kills, 20 sandbox kills. LOCAL_CRASH_PHASES (all:
# "points random sandbox faults damage") picks phases. SEED=<n> replays the choices;
# KEEP_WORK=1 keeps the directory. LOCAL_CRASH_STEP_MS (20): the sandbox's step time.
set -u
. "$(dirname "$0")/lib.sh"
bin_dir=$(realpath "$1")
mode=${2:-short}
src=$(realpath "$(dirname "$0")/../data/local_crash")
test_setup "$bin_dir/sogni-flow"
crash_bin=$bin_dir/sogni-flow-crashtest
[ -x "$crash_bin" ] || fail "$crash_bin is missing"
require curl jq sha256sum sqlite3 timeout
SEED=${SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
if [ "$mode" = soak ]; then
  point_rounds=2 random_kills=${LOCAL_CRASH_RANDOM:-20} sandbox_kills=${LOCAL_CRASH_SANDBOX:-20}
else
  point_rounds=1 random_kills=${LOCAL_CRASH_RANDOM:-13} sandbox_kills=${LOCAL_CRASH_SANDBOX:-3}
fi
phases=${LOCAL_CRASH_PHASES:-points random sandbox faults damage}
wanted() { [[ " $phases " == *" $1 "* ]]; }
step_ms=${LOCAL_CRASH_STEP_MS:-20}
[[ "$step_ms" =~ ^[0-9]{1,4}$ ]] || fail "LOCAL_CRASH_STEP_MS must be 0 to 9999, not '$step_ms'"
echo "mode $mode, SEED=$SEED"
key=k-local-crash
export SOGNI_API_KEY=$key
cp -r "$src" plan
plan=$work/plan/plan.yaml
steps=$(grep -c '^  - id: ' "$plan")
[ "$steps" -eq 20 ] || fail "the plan has $steps steps, not 20"
t_start=$(date +%s%3N)
now_ms() { date +%s%3N; }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

fail() {  # lib.sh's, with the failing episode's logs
  echo "FAIL: $*"
  local f
  for f in "$work"/sandbox*.log "$work/${d:-ref}"/*.err; do
    [ -s "$f" ] && { echo "--- ${f#$work/}"; tail -n 25 "$f"; }
  done
  exit 1
}

# ---- the sandbox: a process of its own with a data directory, restartable on the same port
sbx_dir="" sbx_port=0 sbx_args=() sbx_starts=0
sbx_start() {  # [--faults SPEC]: a fresh sandbox (data dir sbx.N) on a free port
  sbx_starts=$((sbx_starts + 1))
  sbx_dir=$work/sbx.$sbx_starts sbx_port=0 sbx_args=("$@")
  sbx_launch
}
sbx_launch() {  # (re)starts the sandbox of $sbx_dir on $sbx_port (0: any)
  local log=$work/sandbox.$sbx_starts.log
  echo "--- start (port $sbx_port)" >> "$log"
  local from
  from=$(wc -l < "$log")
  "$bin" sandbox --port "$sbx_port" --api-key "$key" --seed 7 --step-ms "$step_ms" --data-dir "$sbx_dir" \
    "${sbx_args[@]}" >> "$log" 2>&1 &
  sandbox_pid=$!
  url=$(await_listening "$log" "$sandbox_pid" "$from")
  [ -n "$url" ] || fail "the sandbox did not start: $(tail -n 3 "$log")"
  case "$url" in http://127.0.0.1:*) ;; *) fail "the sandbox is not on loopback: $url" ;; esac
  sbx_port=${url##*:}
}
sbx_kill() { kill -KILL "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null; sandbox_pid=""; }
sbx_stop() { kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null; sandbox_pid=""; }

# ---- what a finished episode is
# The id of the one run in state dir $1, or "".
run_id_in() {
  [ -f "$1/state.db" ] || return 0
  sqlite3 -readonly "$1/state.db" "SELECT id FROM runs LIMIT 1" 2>/dev/null
}

# final_state DIR RUN: writes DIR/final, the run's end without ids or times (what must equal the
# reference's), and checks the files against the store: every artifact's file on disk has the
# stored size and sha256, and nothing but artifacts and their provenance is left in the out dir.
final_state() {
  local dir=$1 run=$2 db=$1/state/state.db out stored
  [[ "$run" =~ ^[A-Za-z0-9-]+$ ]] || fail "$dir: a strange run id '$run'"
  stored=$(sqlite3 -readonly "$db" "SELECT out_dir FROM runs WHERE id = '$run'")
  out=$stored
  [[ "$out" = /* ]] || out=$work/$out
  {
    sqlite3 -readonly -separator " " "$db" "SELECT 'run', status FROM runs WHERE id = '$run'"
    sqlite3 -readonly -separator " " "$db" "SELECT 'step', step_id, status, artifact_count, ifnull(units, '-') FROM steps
                              WHERE run_id = '$run' ORDER BY position"
    sqlite3 -readonly -separator " " "$db" "SELECT 'projects', step_id, count(*), group_concat(state), ifnull(max(charge), '-')
                              FROM projects WHERE run_id = '$run' GROUP BY step_id ORDER BY step_id"
    "$bin" artifacts "$run" --state-dir "$dir/state" --no-download --json 2>/dev/null |
      jq -r --arg out "$stored/" '"artifact \(.step) \(.index) \(.kind) \(.state) \(.path | ltrimstr($out)) \(.size) \(.sha256)"' |
      sort
    (cd "$out" && find . -type f | sort | sed 's/^/file /')
    (cd "$out" && for p in $(find . -name '*.provenance.json' | sort); do
       echo "provenance $p $(jq -cS 'del(.run, .artifactId) | .projectId |= (if type == "string" and length == 36 then "(a project id)" else . end)' "$p")"; done)
  } > "$dir/final" 2> "$dir/final.err" || fail "$dir: the final state could not be read: $(cat "$dir/final.err")"
  # The files are what the store says they are.
  local bad
  bad=$("$bin" artifacts "$run" --state-dir "$dir/state" --no-download --json 2>/dev/null |
        jq -r '"\(.sha256)  \(.path)"' | sha256sum --check --quiet 2>&1) || fail "$dir: files differ from the store: $bad"
  grep -qE '\.part|\.tmp' "$dir/final" && fail "$dir: a temporary file is left: $(grep -E '\.part|\.tmp' "$dir/final")"
  return 0
}

# check_sandbox DIR RUN [lossy]: the sandbox's view of the episode. Exactly one project per step
# for the state directory's appId (each process adds its own suffix to it), each the step's stored project, completed; each artifact's
# media delivered once. `lossy` (the sandbox was SIGKILLed): the sandbox saves its state at most
# every 200 ms, so what happened in the last moments before a kill (a project admitted and even
# finished, a delivery counted) may be missing after the restart: a step's project may be absent
# and a delivery count 0. Still, every project of the appId is a step's stored project (so no step
# paid twice: the store holds one project per step, compared with the reference) and no media is
# delivered twice.
check_sandbox() {
  local dir=$1 run=$2 lossy=${3:-} db=$1/state/state.db app stats bad
  app=$(sqlite3 -readonly "$db" "SELECT value FROM settings WHERE name = 'app_id'")
  [ -n "$app" ] || fail "$dir: no app_id stored"
  sqlite3 -readonly -json "$db" "SELECT step_id AS step, remote_id AS project FROM steps WHERE run_id = '$run'" \
    > "$dir/step_projects.json"
  "$bin" artifacts "$run" --state-dir "$dir/state" --no-download --json 2>/dev/null | jq -s . > "$dir/artifacts.json"
  stats=$(curl -sf "$url/_sandbox/stats") || fail "$dir: GET /_sandbox/stats failed"
  bad=$(jq -r --arg app "$app" --arg lossy "$lossy" --argjson steps "$steps" \
      --slurpfile sp "$dir/step_projects.json" --slurpfile arts "$dir/artifacts.json" '
    (.projects // {}) as $p | (.downloads // {}) as $d | (.resumedDownloads // {}) as $r
    | [$p | to_entries[] | select(.value.appId == $app or (.value.appId | startswith($app + "-")))] as $mine
    | ($sp[0] | map(.project)) as $stored
    | (if ($mine | length) != $steps and ($lossy == "" or ($mine | length) > $steps)
       then "the sandbox has \($mine | length) projects of this appId for \($steps) steps" else empty end),
      ($mine[] | select(.value.status != "completed") | "project \(.key) is \(.value.status)"),
      ($mine[] | select(.key as $k | $stored | index($k) | not) | "project \(.key) is no step'"'"'s project"),
      ($sp[0][] | select($lossy == "" and (.project as $k | $mine | map(.key) | index($k) | not))
        | "step \(.step): its project \(.project) is not in the sandbox"),
      ($arts[0][] | (.id | capture("^(?<p>.+)-(?<i>[0-9]+)$")) as $a
        | ($p[$a.p].media[($a.i | tonumber)] // "") as $m
        | (($d[$m] // 0) + ($r[$m] // 0)) as $n
        | if $m == "" and $lossy != "" then empty
          elif $m == "" then "artifact \(.id) has no media in the sandbox"
          elif $n > 1 or ($n == 0 and $lossy == "") then "artifact \(.id) (\($m)) was delivered \($n) times"
          else empty end)' <<<"$stats") || fail "$dir: the sandbox's stats are not what the check reads"
  [ -z "$bad" ] || fail "$dir: $(head -n 6 <<<"$bad" | tr '\n' ';')"
}

# resume_until_done DIR RUN: `resume RUN` until it exits 0 (a resume may end 4 while the sandbox
# is away); at most 6 tries.
resume_until_done() {
  local dir=$1 run=$2 try rc
  for try in 1 2 3 4 5 6; do
    timeout 120 "$bin" resume "$run" --api-url "$url" --state-dir "$dir/state" > "$dir/resume$try.out" 2> "$dir/resume$try.err"
    rc=$?
    [ "$rc" -eq 0 ] && return 0
    [ "$rc" -eq 4 ] || fail "$dir: resume $run exited $rc"
    sleep 0.2
  done
  fail "$dir: resume $run did not finish in 6 tries"
}

compare() {  # DIR: its final state equals the reference's
  cmp -s ref/final "$1/final" || fail "$1: the final state differs from the uninterrupted run: $(diff ref/final "$1/final" | head -n 8)"
}

# ---- 1. the uninterrupted run, traced: its final state and the crash points it passes
sbx_start
mkdir ref
t0=$(now_ms)
SOGNI_FLOW_CRASH_TRACE=$work/ref/trace timeout 120 "$crash_bin" run "$plan" --api-url "$url" --state-dir ref/state \
  --out ref/out > ref/run.out 2> ref/run.err || fail "the uninterrupted run exited $?"
duration=$(( $(now_ms) - t0 ))
ref_run=$(run_id_in ref/state)
[ -n "$ref_run" ] || fail "no run stored by the uninterrupted run"
final_state ref "$ref_run"
check_sandbox ref "$ref_run"
grep -q '^run completed$' ref/final || fail "the uninterrupted run did not complete: $(head -n 1 ref/final)"
[ "$(grep -c '^step .* completed ' ref/final)" -eq "$steps" ] || fail "not every step completed: $(grep '^step' ref/final)"
# The file names say what the bytes are (png, jpg, webp, mp3, wav, mp4), as the plan asks.
for f in badge/0.png still_a/0.png still_a/1.png still_c/0.webp thumb_b/0.jpg bed/0.mp3 score/0.mp3 sting/0.wav \
         mood/0.mp4 finale/0.mp4; do
  grep -q "^file ./$f$" ref/final || fail "the uninterrupted run has no $f: $(grep '^file' ref/final | grep -v provenance | tr '\n' ' ')"
done
sort ref/trace | uniq -c | awk '{print $2, $1}' > points
for p in local.project_recorded local.before_send local.sent download.fetched download.published \
         download.provenance download.marked; do
  grep -q "^$p " points || fail "the run never passed crash point $p: $(tr '\n' ' ' < points)"
done
echo "uninterrupted: ${duration} ms, $(grep -c '^artifact' ref/final) artifacts; crash points: $(awk '{printf "%s x%s ", $1, $2}' points)"

# ---- 2. the runner killed, then resumed
episodes=0
runner_episode() {  # NAME KIND ARG: KIND point (ARG "name:hit") or delay (ARG ms)
  d=$1
  local kind=$2 arg=$3 pid rc run how
  mkdir "$d"
  if [ "$kind" = point ]; then
    # (In the background: bash reports a foreground job's SIGKILL.)
    SOGNI_FLOW_CRASH_AT=$arg timeout 120 "$crash_bin" run "$plan" --api-url "$url" --state-dir "$d/state" \
      --out "$d/out" > "$d/run.out" 2> "$d/run.err" &
    wait $! 2>/dev/null
    rc=$?
    [ "$rc" -eq 137 ] || fail "$d: the run was to die at $arg, and exited $rc"
  else
    "$bin" run "$plan" --api-url "$url" --state-dir "$d/state" --out "$d/out" > "$d/run.out" 2> "$d/run.err" &
    pid=$!
    bg_pids=("$pid")
    sleep_ms "$arg"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
  fi
  run=$(run_id_in "$d/state")
  if [ -z "$run" ]; then
    echo "$d: killed before the run was stored; nothing to resume"
    [ "$kind" = delay ] || fail "$d: no run stored before crash point $arg"
    rm -rf "$d"
    return 1
  fi
  how="killed"
  [ "$rc" -eq 0 ] && how="had finished"
  # Whatever moment the kill came at, the rows it left agree with each other (`check` knows the
  # invariants resume relies on: it must not call a crash damage).
  "$bin" check --state-dir "$d/state" > "$d/check.out" 2>&1 ||
    fail "$d: check calls the state the kill left damaged: $(grep -v '^ok' "$d/check.out" | head -n 5)"
  if [ $((episodes % 3)) -eq 2 ] && [ "$rc" -ne 0 ]; then
    "$bin" resume "$run" --api-url "$url" --state-dir "$d/state" > "$d/resume0.out" 2> "$d/resume0.err" &
    pid=$!
    bg_pids=("$pid")
    sleep_ms $(( RANDOM % 800 ))
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    how="$how, its first resume killed too"
  fi
  resume_until_done "$d" "$run"
  final_state "$d" "$run"
  compare "$d"
  check_sandbox "$d" "$run"
  episodes=$((episodes + 1))
  echo "$d: $kind $arg ($how): resumed to the reference's end"
}

wanted points || point_rounds=0
wanted random || random_kills=0
wanted sandbox || sandbox_kills=0
for round in $(seq 1 "$point_rounds"); do
  while read -r name count; do
    case $name in local.*|download.*) ;; *) continue ;; esac
    hit=$(( RANDOM % count + 1 ))
    runner_episode "p$round.$name.$hit" point "$name:$hit"
  done < points
done
for i in $(seq 1 "$random_kills"); do
  until runner_episode "r$i" delay $(( RANDOM * duration / 32768 )); do :; done
done
runner_eps=$episodes
t_runner=$(now_ms)

# ---- 3. the sandbox killed and restarted from its --data-dir while the runner runs
sandbox_eps=0
for i in $(seq 1 "$sandbox_kills"); do
  d=s$i
  mkdir "$d"
  timeout 120 "$bin" run "$plan" --api-url "$url" --state-dir "$d/state" --out "$d/out" > "$d/run.out" 2> "$d/run.err" &
  pid=$!
  bg_pids=("$pid")
  delay=$(( RANDOM * duration / 32768 ))
  sleep_ms "$delay"
  sbx_kill
  down=$(( RANDOM % 1500 ))
  sleep_ms "$down"
  sbx_launch
  wait "$pid"
  rc=$?
  run=$(run_id_in "$d/state")
  [ -n "$run" ] || fail "$d: no run stored (the sandbox was killed at ${delay} ms; the run exited $rc)"
  # A dropped socket is not a failure: the run either goes on to its end, or (when a REST call
  # found the sandbox away through all its retries) stops resumable, exit 4. Nothing else.
  how="the run went on"
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 4 ] || fail "$d: the run exited $rc while the sandbox restarted (killed at ${delay} ms, down ${down} ms)"
    how="the run stopped resumable (exit 4), resumed"
    resume_until_done "$d" "$run"
  fi
  final_state "$d" "$run"
  compare "$d"
  check_sandbox "$d" "$run" lossy
  sandbox_eps=$((sandbox_eps + 1))
  echo "$d: sandbox killed at ${delay} ms, down ${down} ms ($how): the reference's end"
done
t_sandbox=$(now_ms)

# ---- 4. socket faults: each run completes, one project per step, every artifact once
sbx_stop
faults=(socket_drop_after=40 retry_storm=0.5 socket_duplicate=0.3 restart_refusal=0.5 omit_result_url=0.5
        result_first=1,socket_duplicate=1 socket_reorder=0.5)
wanted faults || faults=()
for fault in "${faults[@]}"; do
  sbx_start --faults "$fault"
  d=f.${fault%%=*}
  mkdir "$d"
  timeout 120 "$bin" run "$plan" --api-url "$url" --state-dir "$d/state" --out "$d/out" > "$d/run.out" 2> "$d/run.err" ||
    fail "$d: the run exited $?"
  run=$(run_id_in "$d/state")
  final_state "$d" "$run"
  compare "$d"
  check_sandbox "$d" "$run"
  fired=$(curl -sf "$url/_sandbox/stats" | jq -r --arg f "${fault%%=*}" '.faults[$f] // 0')
  [ "$fired" -gt 0 ] || fail "$d: the fault never fired"
  echo "$d: completed through $fired firings of $fault"
  sbx_stop
done

# ---- 5. damaged rows: `check` finds each edit that would make resume send a step twice
if wanted damage; then
  sbx_start
  SOGNI_FLOW_CRASH_AT=local.sent:1 timeout 120 "$crash_bin" run "$plan" --api-url "$url" --state-dir dmg/state \
    --out dmg/out > dmg.out 2> dmg.err &
  wait $! 2>/dev/null
  [ $? -eq 137 ] || fail "the run for the damage cases did not die at local.sent"
  "$bin" check --state-dir dmg/state > dmg.check 2>&1 || fail "check calls a crash damage: $(head -n 5 dmg.check)"
  run=$(run_id_in dmg/state)
  read -r step project < <(sqlite3 -separator " " dmg/state/state.db \
    "SELECT step_id, project_id FROM projects WHERE run_id = '$run' AND state IN ('pending', 'sent') LIMIT 1")
  [ -n "$project" ] || fail "no project in flight after the kill at local.sent"
  damage=(
    "UPDATE steps SET remote_id = 'B2C0FFEE-0000-4000-8000-000000000000' WHERE run_id = '$run' AND step_id = '$step'|is not one of its projects"
    "DELETE FROM projects WHERE project_id = '$project'|is not one of its projects"
    "UPDATE projects SET step_id = 'nope' WHERE project_id = '$project'|names step 'nope'"
    "UPDATE projects SET state = 'failed' WHERE project_id = '$project'|is failed"
    "UPDATE steps SET status = 'planned' WHERE run_id = '$run' AND step_id = '$step'|is not the project of that step in flight"
    "INSERT INTO projects SELECT 'B2C0FFEE-0000-4000-8000-000000000001', run_id, step_id, app_id, request, cache_key, 'sent', quote, quote_usd, token_type, charge, error, created_at, updated_at FROM projects WHERE project_id = '$project'|is not the project of that step in flight"
    "UPDATE run_specs SET spec = '{}' WHERE run_id = '$run'|its spec has no list of steps"
    "INSERT INTO projects SELECT 'B2C0FFEE-0000-4000-8000-000000000002', run_id, step_id, app_id, request, cache_key, 'failed', quote, quote_usd, token_type, charge, error, created_at + 1000, updated_at FROM projects WHERE project_id = '$project'|is newer"
    "UPDATE steps SET status = 'planned' WHERE run_id = '$run' AND step_id = '$step'; UPDATE projects SET state = 'completed' WHERE project_id = '$project'|is planned, but its project"
  )
  n=0
  for item in "${damage[@]}"; do
    sql=${item%%|*} want=${item#*|}
    n=$((n + 1))
    rm -rf "dmg$n" && cp -r dmg "dmg$n"
    sqlite3 "dmg$n/state/state.db" "PRAGMA foreign_keys = OFF; $sql" || fail "damage $n could not be applied: $sql"
    "$bin" check --state-dir "dmg$n/state" > "dmg$n.check" 2>&1 && fail "check says ok after: $sql"
    grep -qF -- "$want" "dmg$n.check" || fail "check after '$sql' does not say '$want': $(head -n 5 "dmg$n.check")"
  done
  echo "damage: check found all $n edits of a crashed local run's rows"
  sbx_stop
fi

t_end=$(now_ms)
echo "ok: $runner_eps runner kills ($(( (t_runner - t_start) / 1000 )) s), $sandbox_eps sandbox kills" \
  "($(( (t_sandbox - t_runner) / 1000 )) s), ${#faults[@]} socket faults ($(( (t_end - t_sandbox) / 1000 )) s): one project per step," \
  "every artifact delivered once, every end equal to the uninterrupted run's; $(( (t_end - t_start) / 1000 )) s in all"
