#!/usr/bin/env bash
# Local execution through the binary: a generated plan of STEPS independent image steps
# (`execution: local`) run with `sogni-flow run PLAN -j JOBS` against a sandbox started as a
# separate process with --step-ms 0 (loopback only). Reports the runner's own CPU (user + sys, from
# GNU time, so the sandbox's work is not in it) per step, its peak RSS and the wall time, with
# PASS or MISS against the targets: under 2 ms CPU per step and under 100 MB.
# The run must complete with one saved file per step, each downloaded once (the sandbox's stats),
# or the benchmark exits 1. Needs GNU time and jq.
#   bench/local_bench.sh BIN [STEPS (1000)] [JOBS (64)]     (RUNS=3: runs, verdict on the median)
set -euo pipefail
bin=$(realpath "$1")
steps=${2:-1000}
jobs=${3:-64}
work=$(mktemp -d)
sandbox_pid=""
cleanup() {
  [ -n "$sandbox_pid" ] && { kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$work"

# The plan: STEPS image projects, no step depending on another, each with its own prompt and seed
# (so that no two share a cache key).
{
  echo 'version: 1'
  echo "name: local-bench-$steps"
  echo 'execution: local'
  echo 'steps:'
  for i in $(seq 1 "$steps"); do
    printf '  - {id: s%05d, project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: "bench still %d",' "$i" "$i"
    printf ' steps: 4, width: 512, height: 512, seed: %d}}\n' "$i"
  done
} > plan.yaml

key=local-bench-key  # a key for this sandbox only, passed through the environment
"$bin" sandbox --port 0 --api-key "$key" --step-ms 0 --balance 100000000 > sandbox.log 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 600); do grep -q "listening on" sandbox.log 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' sandbox.log)
case "$url" in http://127.0.0.1:*) ;; *) echo "the sandbox did not start on loopback"; cat sandbox.log; exit 1 ;; esac

# RUNS runs (3 by default), each into a state directory and --out of its own; nothing is deleted
# until the benchmark exits, so that no run pays for the clean-up of the one before it (on a
# filesystem such as ext4 without a journal, creating files right after thousands were freed
# costs more: docs/performance.md). The verdict is on the median run.
runs=${RUNS:-3}
[[ "$runs" =~ ^[1-9]$ ]] || { echo "RUNS must be 1 to 9, not '$runs'"; exit 1; }
results=()
for i in $(seq 1 "$runs"); do
  # GNU time reports the usage of what it waited for, `timeout` and the runner under it; the
  # bound keeps `make bench` ending should the run hang.
  rc=0
  SOGNI_API_KEY=$key /usr/bin/time -f '%U %S %e %M' -o "time$i.txt" timeout -k 10 900 \
    "$bin" run plan.yaml -j "$jobs" --api-url "$url" --state-dir "state$i" --out "out$i" > "run$i.out" 2> "run$i.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "run $i exited $rc$([ "$rc" -eq 124 ] && echo ' (still running after 900 s)')"; tail -20 "run$i.err"; exit 1
  fi
  files=$(find "out$i" -name '*.png' | wc -l)
  stats=$(curl -fsS "$url/_sandbox/stats")
  downloads=$(jq '[.downloads[]] | length' <<<"$stats")
  twice=$(jq '[.downloads[] | select(. != 1)] | length' <<<"$stats")
  if [ "$files" -ne "$steps" ] || [ "$downloads" -ne $((steps * i)) ] || [ "$twice" -ne 0 ]; then
    echo "run $i: expected $steps files, each downloaded once: $files files, $downloads downloaded in all, $twice more than once"
    exit 1
  fi
  read -r user sys wall rss_kb < "time$i.txt"
  results+=("$(awk -v u="$user" -v s="$sys" -v w="$wall" -v kb="$rss_kb" -v n="$steps" 'BEGIN {
    printf "%.3f %.2f %.2f %.2f %.1f %.1f", (u + s) * 1000 / n, u, s, u + s, w, kb / 1024 }')")
done

printf '%s\n' "${results[@]}" | sort -n | awk -v n="$steps" -v j="$jobs" -v runs="$runs" '
  { ms[NR] = $1; line[NR] = $0; mb = ($6 > mb ? $6 : mb) }
  END {
    for (r = 1; r <= NR; ++r) {
      split(line[r], f, " ")
      printf "  %d steps at -j %d: wall %.1f s; runner CPU %.2f s (user %.2f, sys %.2f) = %.2f ms/step; peak RSS %.1f MB\n",
             n, j, f[5], f[4], f[2], f[3], f[1], f[6]
    }
    med = ms[int((NR + 1) / 2)]
    printf "  median of %d runs: %.2f ms/step (spread %.2f-%.2f); peak RSS at most %.1f MB\n", runs, med, ms[1], ms[NR], mb
    printf "  target < 2 ms CPU per step (median): %s; target < 100 MB RSS: %s\n", med < 2 ? "PASS" : "MISS", mb < 100 ? "PASS" : "MISS"
  }'
