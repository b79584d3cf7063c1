#!/usr/bin/env bash
# Local execution through the binary: a generated plan of STEPS independent image steps
# (`execution: local`) run with `sogni-flow run PLAN -j JOBS` against a sandbox started as a
# separate process with --step-ms 0 (loopback only). Reports the runner's own CPU (user + sys, from
# GNU time, so the sandbox's work is not in it) per step, its peak RSS and the wall time, with
# PASS or MISS against the targets: under 2 ms CPU per step and under 100 MB.
# The run must complete with one saved file per step, each downloaded once (the sandbox's stats),
# or the benchmark exits 1. Needs GNU time and jq.
#   bench/local_bench.sh BIN [STEPS (1000)] [JOBS (64)]
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
for _ in $(seq 1 100); do grep -q "listening on" sandbox.log && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' sandbox.log)
case "$url" in http://127.0.0.1:*) ;; *) echo "the sandbox did not start on loopback"; cat sandbox.log; exit 1 ;; esac

# GNU time reports the usage of what it waited for, `timeout` and the runner under it; the bound
# keeps `make bench` ending should the run hang.
rc=0
SOGNI_API_KEY=$key /usr/bin/time -f '%U %S %e %M' -o time.txt timeout -k 10 900 \
  "$bin" run plan.yaml -j "$jobs" --api-url "$url" --state-dir state --out out > run.out 2> run.err || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "the run exited $rc$([ "$rc" -eq 124 ] && echo ' (still running after 900 s)')"; tail -20 run.err; exit 1
fi
files=$(find out -name '*.png' | wc -l)
stats=$(curl -fsS "$url/_sandbox/stats")
downloads=$(jq '[.downloads[]] | length' <<<"$stats")
twice=$(jq '[.downloads[] | select(. != 1)] | length' <<<"$stats")
if [ "$files" -ne "$steps" ] || [ "$downloads" -ne "$steps" ] || [ "$twice" -ne 0 ]; then
  echo "expected $steps files, each downloaded once: $files files, $downloads downloaded, $twice more than once"
  exit 1
fi

read -r user sys wall rss_kb < time.txt
awk -v u="$user" -v s="$sys" -v w="$wall" -v kb="$rss_kb" -v n="$steps" -v j="$jobs" 'BEGIN {
  ms = (u + s) * 1000 / n; mb = kb / 1024
  printf "  %d steps at -j %d: wall %.1f s; runner CPU %.2f s (user %.2f, sys %.2f) = %.2f ms/step; peak RSS %.1f MB\n",
         n, j, w, u + s, u, s, ms, mb
  printf "  target < 2 ms CPU per step: %s; target < 100 MB RSS: %s\n", ms < 2 ? "PASS" : "MISS", mb < 100 ? "PASS" : "MISS"
}'
