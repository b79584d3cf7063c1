#!/usr/bin/env bash
# Damaged state (issue 8, defect 12), through the binary:
#   1. rows that break the schema's CHECKs (a status no run has, an event that is not JSON): every
#      command exits 6 saying what to do, and no line of --json output is invalid;
#   2. bytes flipped at SEEDS x 2 random offsets of a cleanly closed state.db: status, events,
#      resume and check each exit 0, 2 or 6 (never a crash), print only valid JSON, and every
#      exit 6 says what to do;
#   3. a damaged log (state.db-wal): refused with exit 6 before SQLite drops its transactions;
#      the way the message gives (move the log aside, recover) gets the run back and resume
#      finishes it;
#   4. a truncated log: the run is rolled back silently (SQLite cannot tell), and recover gets it
#      back from the server.
#   state_damage.sh BIN [SEEDS]
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
seeds=${2:-30}
require jq sqlite3 iconv
start_sandbox k-damage --step-ms 0
export SOGNI_API_KEY=k-damage

cat > plan.yaml <<'PLAN'
version: 1
name: damaged
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a lamp}}
  - id: clip
    toolName: generate_video
    arguments: {prompt: orbit, duration: 3}
    dependsOn: [{sourceStepId: keyframe, targetArgument: referenceImageIndices, mediaType: image, transform: image_index}]
PLAN

"$bin" run plan.yaml --api-url "$url" --state-dir clean > run.out 2> run.err || fail "the first run exited $?"
run_id=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' run.err | head -1)
[ ! -e clean/state.db-wal ] || fail "a clean close leaves no log"

# Every line of $1 is one valid JSON value in valid UTF-8.
json_lines() {
  local line
  iconv -f UTF-8 -t UTF-8 "$1" > /dev/null 2>&1 || return 1
  while IFS= read -r line; do printf '%s' "$line" | jq -e . > /dev/null 2>&1 || return 1; done < "$1"
}

# Runs `sogni-flow ARGS...` on state DIR as case NAME; checks the exit code is one of CODES, that
# stdout is valid JSON lines when the command was given --json, and that an exit 6 says what to do.
probe() {
  local name=$1 codes=$2 dir=$3
  shift 3
  "$bin" "$@" --state-dir "$dir" > "$name.out" 2> "$name.err"
  local rc=$?
  case " $codes " in *" $rc "*) ;; *) fail "$name: sogni-flow $* exited $rc (expected one of $codes): $(head -2 "$name.err")" ;; esac
  case " $* " in *" --json "*) json_lines "$name.out" || fail "$name: sogni-flow $* printed a line that is not JSON" ;; esac
  if [ "$rc" -eq 6 ] && ! grep -q "sogni-flow check\|sogni-flow recover\|keep a copy\|upgrade\|writing command\|try again" "$name.err" "$name.out"; then
    fail "$name: exit 6 without saying what to do: $(head -1 "$name.err")"
  fi
  last_rc=$rc
}

probe clean-check "0" clean check --json
[ "$(jq -r .ok clean-check.out)" = true ] || fail "check of a clean state: $(cat clean-check.out)"

# 1. Rows that break the CHECKs, written behind the schema's back.
# `events` reads the run, its steps and its events: damage elsewhere does not concern it.
for damage in "UPDATE runs SET status = 'complXted'" "UPDATE steps SET artifact_count = -1" \
              "UPDATE artifacts SET size = -5" "UPDATE runs SET account = 'NOT-A-FINGERPRINT'"; do
  rm -rf bad-row
  cp -a clean bad-row
  sqlite3 bad-row/state.db "PRAGMA ignore_check_constraints=ON; $damage;" || fail "sqlite3 could not write: $damage"
  for cmd in "status" "status --json" "check" "resume $run_id --api-url $url"; do
    probe bad-row "6" bad-row $cmd
  done
  case "$damage" in *artifacts*) events_codes="0 6" ;; *) events_codes="6" ;; esac
  probe bad-row-events "$events_codes" bad-row events "$run_id" --json
  grep -q "is damaged\|problems in" bad-row.err || fail "$damage: no word of damage: $(cat bad-row.err)"
done
cp -a clean bad-event
# Event 3's JSON broken in place (same length, so its chunk, store/event_chunks.h, still frames).
sqlite3 bad-event/state.db "UPDATE event_chunks SET body = replace(body, '\"sequence\":3,', '\"sequence\":3;');" ||
  fail "sqlite3 could not write the bad event"
probe bad-event-events "6" bad-event events "$run_id" --json
[ ! -s bad-event-events.out ] || fail "events printed something from a damaged log: $(head -c 200 bad-event-events.out)"
grep -q "event_chunks row '[0-9]*': event [0-9]* (sequence 3): json is not a JSON object" bad-event-events.err || fail "the damage is not named: $(cat bad-event-events.err)"
probe bad-event-check "6" bad-event check --json
[ "$(jq -r .ok bad-event-check.out)" = false ] || fail "check did not find the bad event"

# 1b. Damage the page-level checks miss, at fixed places: a changed byte in the schema's text
#     (a column renamed: every statement of ours fails to prepare) and in a key of the runs table
#     (its index no longer finds the row).
patch() {  # FILE NEEDLE DELTA XOR: xor the byte DELTA bytes into the first NEEDLE (or after it: -1 = its last)
  python3 - "$@" <<'PY' || fail "patch $*: needle not found"
import sys
p, needle, delta, x = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4])
b = bytearray(open(p, 'rb').read())
i = b.find(needle)
if i < 0: sys.exit(1)
i += len(needle) - 1 if delta < 0 else delta
b[i] ^= x
open(p, 'wb').write(b)
PY
}
for kind in schema key; do
  d=bad-$kind
  rm -rf "$d"
  cp -a clean "$d"
  case $kind in
    schema) patch "$d/state.db" "plan_name      TEXT NOT NULL" 2 $(( 0x61 ^ 0x58 )) ;;  # plan_name -> plXn_name
    key) patch "$d/state.db" "$run_id" -1 1 ;;
  esac
  for cmd in "status" "status --json" "status $run_id" "events $run_id --json" "resume --all" "artifacts $run_id" "check"; do
    probe "$d" "6" "$d" $cmd
    grep -q "damaged\|problems in" "$d.err" || fail "$kind damage, $cmd: no word of damage: $(head -2 "$d.err")"
    grep -q "sogni-flow check" "$d.err" "$d.out" || [ "$cmd" = check ] ||
      fail "$kind damage, $cmd: no hint to run check: $(head -2 "$d.err")"
  done
done

# 2. Bytes flipped at random offsets, a seeded loop.
flip() {  # FILE OFFSET: xor the byte there with a random non-zero value
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $(( (b ^ (1 + RANDOM % 255)) & 255 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
size=$(stat -c %s clean/state.db)
sixes=0
for seed in $(seq 1 "$seeds"); do
  RANDOM=$seed
  d=flip$seed
  rm -rf "$d"
  cp -a clean "$d"
  offsets="$(( RANDOM * 32768 % size + RANDOM % size )) $(( (RANDOM * 32768 + RANDOM) % size ))"
  for off in $offsets; do flip "$d/state.db" $(( off % size )); done
  probe "$d-status" "0 6" "$d" status --json
  probe "$d-events" "0 2 6" "$d" events "$run_id" --json
  probe "$d-check" "0 6" "$d" check --json
  [ "$last_rc" -eq 6 ] && sixes=$((sixes + 1))
  probe "$d-resume" "0 1 2 6" "$d" resume "$run_id" --api-url "$url"
done
[ "$sixes" -gt 0 ] || fail "no flip of $seeds was found by check: the loop tests nothing"

# 3. A damaged log: SIGKILL a run mid-way (its transactions are in the log), flip a byte of the
#    first frame: every later commit would be dropped.
"$bin" sandbox --port 0 --api-key k-damage --step-ms 400 > slow.log 2>&1 &
bg_pids+=("$!")
slow=$(await_listening slow.log "$!")
[ -n "$slow" ] || fail "the slow sandbox did not start"
"$bin" run plan.yaml --api-url "$slow" --state-dir killed > killed.out 2> killed.err &
k_pid=$!
bg_pids+=("$k_pid")
for _ in $(seq 1 200); do grep -q ": running" killed.err 2>/dev/null && break; sleep 0.05; done
kill -KILL "$k_pid"
wait "$k_pid" 2>/dev/null
k_run=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' killed.err | head -1)
workflow=$(sed -n 's/.*started workflow \([^ ]*\).*/\1/p' killed.err | head -1)
[ -s killed/state.db-wal ] || fail "the killed run left no log"
cp -a killed torn
flip torn/state.db-wal $((32 + 24 + 100))
for cmd in "status" "events $k_run --json" "check" "resume $k_run --api-url $slow"; do
  probe torn-wal "6" torn $cmd
done
grep -q "state.db-wal is damaged at byte 32" torn-wal.err || fail "the damaged log is not named: $(cat torn-wal.err)"
grep -q "move .*state.db-wal aside" torn-wal.err || fail "no way out offered: $(cat torn-wal.err)"
mv torn/state.db-wal torn/state.db-wal.damaged
rm -f torn/state.db-shm
probe torn-status "0" torn status
grep -q "$k_run" torn-status.out && fail "the run survived a log whose first frame is damaged?"
probe torn-recover "0" torn recover --api-url "$slow"
grep -q "^$workflow " torn-recover.out || fail "recover does not list the lost workflow $workflow: $(cat torn-recover.out)"
probe torn-recover2 "0" torn recover "$workflow" --api-url "$slow"
new_run=$(sed -n 's/.* as run \(r-[^;]*\);.*/\1/p' torn-recover2.err)
[ -n "$new_run" ] || fail "recover did not name the new run: $(cat torn-recover2.err)"
probe torn-resume "0" torn resume "$new_run" --api-url "$slow"
line=$("$bin" status "$new_run" --state-dir torn)
case "$line" in *" completed "*"artifacts 2/2"*) ;; *) fail "the recovered run after resume: $line" ;; esac
events=$("$bin" events "$new_run" --state-dir torn --json | wc -l)
server=$(curl -sf "$slow/_sandbox/events/$workflow" | jq '.events | length')
[ "$events" -eq "$server" ] || fail "the recovered run has $events events, the server $server"
probe torn-recover3 "0" torn recover --api-url "$slow"
grep -q "$workflow" torn-recover3.out && fail "a recovered workflow is still listed as unknown"

# 4. A truncated log: SQLite keeps the whole transactions before the cut, silently.
cp -a killed cut
truncate -s 32 cut/state.db-wal
probe cut-status "0" cut status
probe cut-check "0" cut check
probe cut-recover "0" cut recover --all --api-url "$slow"
grep -q "recovered workflow $workflow " cut-recover.err || fail "recover --all did not take $workflow: $(cat cut-recover.err)"
echo "ok: CHECK damage and $seeds seeded flips ($sixes found by check) exit 0/2/6 with valid JSON; a damaged log refused; lost runs recovered from the server"
