#!/usr/bin/env bash
# Runs the official @sogni-ai/sogni-client SDK, unchanged, against `sogni-flow sandbox`.
#
#   tests/conformance/run.sh [path/to/sogni-flow]     (default: $SOGNI_FLOW_BIN)
#
# Starts the sandbox on 127.0.0.1 with a free port and two random API keys, waits for its
# "listening on" line, runs `node --test` over tests/conformance/*.test.mjs, and stops the sandbox
# with SIGTERM on exit. Exits with node's status. Every JSON record, event, artifact, error and
# template the tests received is left in $CAPTURE_DIR (a new temp dir unless set) for schema checks.
# Needs tests/conformance/node_modules (scripts/setup installs it). Talks only to 127.0.0.1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${SOGNI_FLOW_BIN:-}}
[ -n "$bin" ] || { echo "usage: $0 path/to/sogni-flow (or set SOGNI_FLOW_BIN)" >&2; exit 2; }
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
[ -x "$bin" ] || { echo "conformance: $bin is not an executable" >&2; exit 2; }
[ -d "$here/node_modules/@sogni-ai/sogni-client" ] ||
  { echo "conformance: $here/node_modules is missing; run scripts/setup" >&2; exit 2; }

step_ms=${SANDBOX_STEP_MS:-20}
suite_timeout=${CONFORMANCE_TIMEOUT_S:-300}

work=$(mktemp -d "${TMPDIR:-/tmp}/sogni-conformance.XXXXXX")
if [ -z "${CAPTURE_DIR:-}" ]; then CAPTURE_DIR="$work/capture"; fi
mkdir -p "$CAPTURE_DIR"
CAPTURE_DIR=$(cd "$CAPTURE_DIR" && pwd)

key1=$(openssl rand -hex 16)
key2=$(openssl rand -hex 16)

sandbox_pid=""
stop_sandbox() {
  local status=$?
  if [ -n "$sandbox_pid" ] && kill -0 "$sandbox_pid" 2>/dev/null; then
    kill -TERM "$sandbox_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$sandbox_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$sandbox_pid" 2>/dev/null; then
      echo "conformance: the sandbox ignored SIGTERM for 5 s; killing it" >&2
      kill -KILL "$sandbox_pid" 2>/dev/null || true
    fi
    wait "$sandbox_pid" 2>/dev/null || true
  fi
  # Keep the captures; drop the sandbox logs unless something failed.
  if [ "$status" -eq 0 ]; then
    rm -f "$work/sandbox.out" "$work/sandbox.err"
    rmdir "$work" 2>/dev/null || true
  fi
  exit "$status"
}
trap stop_sandbox EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

"$bin" sandbox --host 127.0.0.1 --port 0 --api-key "$key1" --api-key "$key2" \
  --step-ms "$step_ms" --cost-approval pause ${SANDBOX_SEED:+--seed "$SANDBOX_SEED"} \
  >"$work/sandbox.out" 2>"$work/sandbox.err" </dev/null &
sandbox_pid=$!

# Up to 60 s: `make test` compiles the sanitizer builds beside this suite on two cores.
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's#^sogni-flow sandbox listening on \(http://127\.0\.0\.1:[0-9][0-9]*\)[[:space:]]*$#\1#p' \
    "$work/sandbox.out" | head -n 1)
  [ -n "$url" ] && break
  if ! kill -0 "$sandbox_pid" 2>/dev/null; then
    echo "conformance: the sandbox exited before listening" >&2
    cat "$work/sandbox.err" "$work/sandbox.out" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "conformance: no 'sogni-flow sandbox listening on http://127.0.0.1:PORT' line within 60 s" >&2
  cat "$work/sandbox.out" "$work/sandbox.err" >&2
  exit 1
fi
grep -q '^export SOGNI_API_BASE_URL=' "$work/sandbox.out" ||
  echo "conformance: warning: the sandbox printed no 'export SOGNI_API_BASE_URL=...' line" >&2

export SANDBOX_URL="$url" SANDBOX_API_KEY="$key1" SANDBOX_API_KEY_2="$key2" CAPTURE_DIR
export SOGNI_FLOW_BIN="$bin"  # body.test.mjs asks the binary for its start bodies (run --dry-run)
echo "conformance: sandbox at $SANDBOX_URL (pid $sandbox_pid); captures in $CAPTURE_DIR" >&2

cd "$here/../.."
status=0
timeout --kill-after=10 "$suite_timeout" \
  node --test --test-concurrency=1 --test-force-exit --test-timeout=60000 \
  tests/conformance/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "conformance: node exited $status; sandbox logs: $work/sandbox.out $work/sandbox.err" >&2
fi
exit "$status"
