#!/usr/bin/env bash
# ctest entry: the official SDK against the sandbox (run.sh), then every captured record against
# the official protocol schemas (sflow_record_check).
#   tests/conformance/ctest.sh SOGNI_FLOW_BIN RECORD_CHECK_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
capture=$(mktemp -d "${TMPDIR:-/tmp}/sogni-capture.XXXXXX")
trap 'rm -rf "$capture"' EXIT
CAPTURE_DIR="$capture" "$here/run.sh" "$1"
"$2" "$capture"
