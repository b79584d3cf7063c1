#!/usr/bin/env bash
# The fault-proxy matrix: scenarios x seeds, each the real binary (`run`, then `resume` until the
# run has ended) through the fault proxy (tests/support/fault_proxy.h) against `sogni-flow
# sandbox` on 127.0.0.1. For every run of every case:
#   * the stored events equal the sandbox's authoritative log, record by record (none lost,
#     none twice, same order): `events RUN --json` against GET /_sandbox/events/{id};
#   * the final stored status is the sandbox's;
#   * one workflow per run (a re-sent start reuses its Idempotency-Key);
#   * every artifact done and downloaded whole exactly once (/_sandbox/stats `downloads`; a
#     download cut short by the proxy is not a delivery: the proxy resets the upstream too).
# Usage: fault_matrix.sh BIN FAULT_PROXY [SEEDS [SCENARIO_REGEX]]
#   SEEDS: seeds per scenario (default 2: the short form in `make test`; `make soak` runs more).
# Prints one line per case and the totals; exits 1 on the first problem, naming the case, the
# seed and the proxy script, so `fault_matrix.sh BIN PROXY 1 '^name$'` with that seed replays it.
set -u
. "$(dirname "$0")/lib.sh"
proxy_bin=$(realpath "$2")
test_setup "$1"
seeds=${3:-2}
filter=${4:-.}
require curl jq timeout
export SOGNI_API_KEY=k-matrix

# name|sandbox step-ms|plans|proxy script
scenarios=(
  # Defect 1 (the lost tail): every stream attempt is answered 503 with Retry-After, the catch-up
  # GET .../events finds nothing yet, and the GET of the workflow is answered only once the
  # workflow has ended. The events produced meanwhile must still be fetched.
  "lost_tail|300|one|stream status 503 retry_after=1; workflow[1] hold until=ended"
  # The same with stream attempts that get no answer at all (reset before any byte).
  "lost_tail_reset|300|one|stream drop forward=0; workflow[1] hold until=ended"
  # ... and with the reads of the log failing at first: a read that failed is no read to the end.
  "lost_tail_log_fails|300|one|stream status 503 retry_after=0; workflow[1] hold until=ended; events[1-6] status 503 retry_after=0"
  "stream_503|20|one|stream[1-2] status 503 retry_after=0-1; stream status 503 retry_after=0-1 p=0.5; events status 503 retry_after=0 p=0.3"
  "stream_reset|20|one|stream[1] reset after=0-3000; stream reset after=0-3000 p=0.5"
  "stream_truncate|20|one|stream[1] truncate after=0-3000; stream truncate after=0-3000 p=0.5"
  "stream_drip|20|one|stream drip bytes=1-16 ms=0-2; events drip bytes=8-64 ms=0-1"
  "stream_stall|20|one|stream[1] stall ms=100-1200; stream[2] stall ms=100-800 after=0-2000; stream stall ms=100-800 after=0-4000 p=0.5"
  "stale_reads|40|one|workflow[1] late until=ended; workflow late until=ended p=0.3; workflow hold ms=0-400 p=0.3; events[1] late ms=50-600; events late ms=50-600 p=0.5"
  "start_lost|20|one|start[1] drop; start status 503 retry_after=0 p=0.3; post drop p=0.3"
  "media|20|one|media[1] reset after=0-20000; media reset after=0-20000 p=0.3; media truncate after=0-20000 p=0.2; media status 503 retry_after=0 p=0.1; media drip bytes=512-4096 ms=0-1 p=0.2"
  "chaos_j2|20|two|start status 503 retry_after=0 p=0.2; stream reset after=0-4000 p=0.3; stream truncate after=0-4000 p=0.2; stream status 503 retry_after=0-1 p=0.2; events status 503 retry_after=0 p=0.2; events late ms=0-300 p=0.2; workflow late until=ended p=0.2; workflow hold ms=0-300 p=0.2; media reset after=0-30000 p=0.3; * drip bytes=64-512 ms=0-1 p=0.2"
)

for name in one two; do two_step_plan "$name"; done


cases=0 runs_total=0 events_total=0 downloads_total=0
declare -A fired_total=()
current_step=""
for entry in "${scenarios[@]}"; do
  IFS='|' read -r name step_ms plans script <<< "$entry"
  [[ "$name" =~ $filter ]] || continue
  if [ "$step_ms" != "$current_step" ]; then
    [ -n "$sandbox_pid" ] && { kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null; sandbox_pid=""; }
    start_sandbox "$SOGNI_API_KEY" --step-ms "$step_ms"
    current_step=$step_ms
  fi
  plan_args=(one.yaml)
  [ "$plans" = two ] && plan_args=(one.yaml two.yaml -j 2)
  for seed in $(seq 1 "$seeds"); do
    c="$name-$seed"
    # Only this case's files stay in view (fail prints the tail of every *.err and *.log here).
    mkdir -p earlier && mv -- *-*.err *-*.out *-*.log *-*.stored *-*.events earlier/ 2>/dev/null
    why() { echo "case $c (seed $seed, script: $script): $*"; }
    curl -fsS -d "" "$url/_sandbox/reset" > /dev/null || fail "$(why "cannot reset the sandbox")"
    start_fault_proxy "$proxy_bin" "$c.proxy.log" --seed "$seed" --script "$script"
    export SOGNI_FLOW_STATE_DIR="$work/state-$c"
    t0=$(date +%s.%N)
    timeout 300 "$bin" run "${plan_args[@]}" --api-url "$purl" --out "out-$c" --json > "$c.run.out" 2> "$c.run.err"
    rc=$?
    case "$rc" in 0|1|4) ;; *) fail "$(why "run exited $rc")" ;; esac
    mapfile -t run_ids < <(tail -n 1 "$c.run.out" | jq -r '.runs[].run')
    [ "${#run_ids[@]}" -ge 1 ] || fail "$(why "no runs in the summary: $(tail -n 1 "$c.run.out")")"
    for run in "${run_ids[@]}"; do
      for attempt in $(seq 1 10); do
        st=$("$bin" status "$run" --json | jq -r '.status')
        missing=$("$bin" artifacts "$run" --json --no-download 2>/dev/null | jq -s '[.[] | select(.state != "done")] | length')
        case "$st" in completed|failed|cancelled|partial_failure) [ "$missing" -eq 0 ] && break ;; esac
        timeout 300 "$bin" resume "$run" --api-url "$purl" >> "$c.resume.out" 2>> "$c.resume.err"
      done
      status=$("$bin" status "$run" --json)
      wid=$(echo "$status" | jq -r '.workflowId')
      log=$(curl -fsS "$url/_sandbox/events/$wid") || fail "$(why "$run: the sandbox has no workflow $wid")"
      [ "$(echo "$status" | jq -r '.status')" = "$(echo "$log" | jq -r '.status')" ] ||
        fail "$(why "$run: stored status $(echo "$status" | jq -r '.status'), the sandbox's $(echo "$log" | jq -r '.status')")"
      "$bin" events "$run" --json | jq -c -S . > "$c.$run.stored"
      echo "$log" | jq -c -S '.events[]' > "$c.$run.events"
      cmp -s "$c.$run.stored" "$c.$run.events" ||
        fail "$(why "$run: stored events differ from the sandbox log: $(wc -l < "$c.$run.stored") stored, $(wc -l < "$c.$run.events") in the log")"
      [ "$("$bin" artifacts "$run" --json --no-download 2>/dev/null | jq -s '[.[] | select(.state != "done")] | length')" -eq 0 ] ||
        fail "$(why "$run: an artifact is not done")"
      events_total=$((events_total + $(wc -l < "$c.$run.events")))
    done
    # Each artifact reached the runner whole exactly once: by one whole download, or by the one
    # Range request that completed an interrupted one (resumedDownloads); nothing else was fetched.
    stats=$(curl -fsS "$url/_sandbox/stats")
    ids=$(for run in "${run_ids[@]}"; do "$bin" artifacts "$run" --json --no-download 2>/dev/null; done | jq -s -c '[.[].id]')
    artifacts=$(echo "$ids" | jq 'length')
    [ "$(echo "$stats" | jq '.workflowsCreated')" -eq "${#run_ids[@]}" ] ||
      fail "$(why "$(echo "$stats" | jq '.workflowsCreated') workflows created for ${#run_ids[@]} runs")"
    deliveries=$(echo "$stats" | jq -c --argjson ids "$ids" \
      '[$ids[] as $a | {($a): ((.downloads[$a] // 0) + (.resumedDownloads[$a] // 0))}] | add // {}')
    [ "$(echo "$deliveries" | jq '[.[] | select(. != 1)] | length')" -eq 0 ] ||
      fail "$(why "an artifact was not delivered exactly once: $deliveries; $(echo "$stats" | jq -c '{downloads, resumedDownloads}')")"
    [ "$(echo "$stats" | jq --argjson ids "$ids" '[(.downloads + .resumedDownloads) | keys[] | select(. as $k | $ids | index($k) | not)] | length')" -eq 0 ] ||
      fail "$(why "media downloaded that no run stored: $(echo "$stats" | jq -c '{downloads, resumedDownloads}')")"
    pstats=$(curl -fsS "$purl/_proxy/stats")
    stop_fault_proxy
    fired=$(echo "$pstats" | jq -c '.faults')
    while IFS='=' read -r k v; do
      [ -n "$k" ] && fired_total[$k]=$(( ${fired_total[$k]:-0} + v ))
    done < <(echo "$pstats" | jq -r '.faults | to_entries[] | "\(.key)=\(.value)"')
    echo "ok: $c: ${#run_ids[@]} run(s), run exit $rc, $artifacts artifacts, $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s; faults $fired"
    cases=$((cases + 1)) runs_total=$((runs_total + ${#run_ids[@]})) downloads_total=$((downloads_total + artifacts))
  done
done
[ "$cases" -gt 0 ] || fail "no scenario matches $filter"
summary=""
for k in $(printf '%s\n' "${!fired_total[@]}" | sort); do summary+=" $k=${fired_total[$k]}"; done
echo "faults carried out:$summary"
echo "ok: fault matrix: $cases cases, $runs_total runs, $events_total events, $downloads_total downloads; 0 lost or duplicated events, 0 duplicate downloads, 0 double starts"
