#!/usr/bin/env bash
# The checks of tests/cli/run_checks.sh must be able to fail: a finished run is damaged in each way
# the crash and SIGKILL harnesses exist to find (a file changed, cut or gone, a provenance file
# wrong or not JSON, a temp file left, an event lost or altered, a run or an artifact not done)
# and final_state must refuse every one, naming it; check_deliveries must refuse an artifact never
# sent, sent twice or not the runs', and accept one finished by a Range request.
#   run_checks_selftest.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_checks.sh"
test_setup "$1"
require curl jq sha256sum sqlite3
key=k-selftest
export SOGNI_API_KEY=$key
start_sandbox "$key" --seed 7 --step-ms 0
five_step_plan > plan.yaml
mkdir good
timeout 60 "$bin" run plan.yaml --api-url "$url" --state-dir good/state --out good/out > good/run.out 2> good/run.err ||
  fail "the run exited $?"
run=$(run_id_in good/state)
[ -n "$run" ] || fail "run_id_in found no run"
(final_state good "$run") > good.check 2>&1 || fail "the undamaged run fails its checks: $(cat good.check)"
[ "$(wc -l < good/final)" -gt 30 ] || fail "the final state has $(wc -l < good/final) lines"

cp -a good good.orig
checked=0
# expect DAMAGE WORDS: after the shell command DAMAGE on the run (good/, restored from good.orig
# first: the store names its own paths), final_state fails and its message contains WORDS.
expect() {
  local damage=$1 words=$2 out
  rm -rf good && cp -a good.orig good
  eval "$damage" || fail "the damage '$damage' failed"
  out=$( (final_state good "$run") 2>&1) && fail "final_state passed after: $damage"
  [[ "$out" == *"$words"* ]] || fail "after '$damage' final_state said: $(head -c 400 <<<"$out") (wanted: $words)"
  checked=$((checked + 1))
}
expect 'echo more >> good/out/bed/0.wav' 'bytes, the store says'
expect 'printf x | dd of=good/out/bed/0.wav bs=1 seek=100 conv=notrunc 2>/dev/null' 'sha256'
expect 'rm good/out/orbit/0.mp4' 'is missing'
expect 'rm good/out/orbit/0.mp4.provenance.json' 'provenance.json is missing'
expect 'echo "{" > good/out/bed/0.wav.provenance.json' 'not JSON'
expect 'sed -i "s/\"run\":\"r-/\"run\":\"x-/" good/out/bed/0.wav.provenance.json' 'does not match the store'
expect 'sed -i "s/\"size\":/\"size\":1/" good/out/final/0.mp4.provenance.json' 'does not match the store'
expect 'touch good/out/bed/0.wav.part' 'holds other files'
expect 'touch good/out/stray' 'holds other files'
# Events are stored in chunks (store/event_chunks.h): the chunk holding event 5 goes, and the
# chunk holding event 7 has a key changed in place (same length: the chunk still decodes).
expect 'sqlite3 good/state/state.db "DELETE FROM event_chunks WHERE first_sequence <= 5 AND last_sequence >= 5"' 'stored events differ'
expect "sqlite3 good/state/state.db \"UPDATE event_chunks SET body = replace(body, 'message', 'messagE') WHERE first_sequence <= 7 AND last_sequence >= 7\"" 'stored events differ'
expect "sqlite3 good/state/state.db \"UPDATE runs SET status = 'running'\"" 'is not completed'
expect "sqlite3 good/state/state.db \"UPDATE artifacts SET state = 'planned' WHERE rowid = (SELECT min(rowid) FROM artifacts)\"" "artifacts $run failed"
expect "sqlite3 good/state/state.db \"DELETE FROM artifacts WHERE rowid = (SELECT min(rowid) FROM artifacts)\"" 'holds other files'

# check_deliveries, on stats answers made up here.
printf 'a\nb\n' > remote_artifacts
deliveries() {  # $1 stats JSON, $2 "ok" or words of the failure
  local out
  if out=$( (check_deliveries "$1") 2>&1); then
    [ "$2" = ok ] || fail "check_deliveries passed $1"
  else
    [ "$2" != ok ] && [[ "$out" == *"$2"* ]] || fail "check_deliveries on $1 said: $out (wanted: $2)"
  fi
  checked=$((checked + 1))
}
deliveries '{"downloads":{"a":1,"b":1}}' ok
deliveries '{"downloads":{"a":1},"resumedDownloads":{"b":1}}' ok
deliveries '{"downloads":{"a":1}}' 'b was sent 0 times'
deliveries '{"downloads":{"a":1,"b":1,"c":1}}' 'c was sent, and is no run'
deliveries '{"downloads":{"a":1,"b":1},"resumedDownloads":{"b":1}}' 'b was sent 2 times'
deliveries '{"downloads":{"a":2,"b":1}}' 'a was sent 2 times'
deliveries 'not json' 'not JSON'
echo "ok: $checked damaged runs and stats answers refused by the run checks, the undamaged run accepted"
