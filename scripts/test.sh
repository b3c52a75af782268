#!/usr/bin/env bash
# Every test: installs what is missing (wasm32 target, wasm-bindgen-cli, chromium, node
# modules, the AWS emulator's venv), then runs cargo fmt --check, clippy, the unit and
# integration tests (against the AWS emulator), the official SDK suites, the OpenAPI contract
# (schemathesis), the Chime compatibility suite (boto3, AWS CLI) and the Playwright suite
# against the release build. Ends with one summary
# line: "summary: N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

START=$(date +%s)
PASSED=0
FAILED=0
FAILED_STEPS=()
SUMMARY_PRINTED=""
# Whatever happens, stop the emulator and end with a summary line (an unexpected exit counts
# as a failure).
on_exit() {
  local rc=$?
  stop_emulator
  if [ -z "$SUMMARY_PRINTED" ]; then
    log "the test command stopped unexpectedly (exit code $rc)"
    echo "summary: $PASSED passed, $((FAILED + 1)) failed"
  fi
}
trap on_exit EXIT

step_failed() { FAILED_STEPS+=("$1"); log "FAILED: $1"; }

# Adds the counts from cargo's "test result:" lines and Playwright's "N passed/failed" lines.
count_results() {
  local counts
  counts=$(awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
                END { print p + 0, f + 0 }' "$1")
  PASSED=$((PASSED + ${counts% *}))
  FAILED=$((FAILED + ${counts#* }))
}

ensure_rust

log "cargo fmt --check"
cargo fmt --all -- --check || step_failed "cargo fmt"

log "cargo clippy (all features, all targets)"
cargo clippy --quiet --all-features --all-targets -- -D warnings || step_failed "clippy"

# Unit and integration tests, in the release profile so that the binary they build is the
# one the end-to-end suite drives (one compile of the dependencies, not two).
start_emulator
ensure_postgres
# Built first on its own, so that the log's times tell the build from the run.
log "building the tests (release)"
cargo test --release --features ssr --no-run --quiet || step_failed "building the tests"
log "cargo test (unit + integration, against the AWS emulator)"
set +e
cargo test --release --features ssr 2>&1 | tee target/cargo-test.log
rc=${PIPESTATUS[0]}
set -e
count_results target/cargo-test.log
[ "$rc" = 0 ] || step_failed "cargo test"

# The integration suite again on PostgreSQL: every test app gets a fresh database. The
# process-level tests that are SQLite-only (CLI data directories, the single-instance crash and
# outage runs, the disk floor on a small SQLite filesystem, the metrics listener of a spawned
# binary) and the multi-instance test (PostgreSQL already) ran above.
log "cargo test (integration suite on PostgreSQL)"
set +e
HOOKRELAY_TEST_BACKEND=postgres cargo test --release --features ssr --test integration -- \
  --skip instances:: --skip resilience:: --skip cli:: \
  --skip robustness::ingest_stops_before_the_disk_is_full --skip robustness::metrics_listen 2>&1 | tee target/cargo-test-pg.log
rc=${PIPESTATUS[0]}
set -e
count_results target/cargo-test-pg.log
[ "$rc" = 0 ] || step_failed "cargo test on PostgreSQL"

[ -x target/release/hookrelay ] || build_server

# Runs one end-to-end suite (tests/NAME/run.sh) against the release binary with the venv's
# python in NAME_PYTHON, and adds the counts of its last "NAME summary: N passed, N failed" line
# (none: one failure).
run_suite() {
  local name=$1 step=$2 counts rc
  set +e
  env HOOKRELAY_BIN="$ROOT/target/release/hookrelay" "${name^^}_PYTHON=$TOOLS_VENV/bin/python" ROOT="$ROOT" \
    bash "tests/$name/run.sh" 2>&1 | tee "target/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  counts=$(sed -nE "s/^$name summary: ([0-9]+) passed, ([0-9]+) failed\$/\\1 \\2/p" "target/$name.log" | tail -n1)
  [ -n "$counts" ] || counts="0 1"
  PASSED=$((PASSED + ${counts% *}))
  FAILED=$((FAILED + ${counts#* }))
  [ "$rc" = 0 ] || step_failed "$step"
}

log "official SDK suites (Python and JS stream-chat) against the release binary"
ensure_sdk_tools
run_suite sdk "SDK suites"

log "OpenAPI contract: schemathesis over every operation of /openapi.json"
ensure_openapi_tools
run_suite openapi "OpenAPI contract (schemathesis)"

log "Chime compatibility: boto3 chime-sdk-messaging and the AWS CLI against the release binary"
ensure_chime_tools
run_suite chime "Chime compatibility (boto3, AWS CLI)"

log "Playwright end-to-end tests"
build_site
# The browser bundle's budget (issue 7): at most 400 KB gzip.
wasm_gzip=$(gzip -9c target/site/pkg/hookrelay_bg.wasm | wc -c)
if [ "$wasm_gzip" -le $((400 * 1024)) ]; then
  log "wasm budget: $wasm_gzip bytes gzip, within 400 KB"
  PASSED=$((PASSED + 1))
else
  step_failed "wasm budget: $wasm_gzip bytes gzip, over 400 KB"
fi
ensure_chromium
ensure_node_modules
E2E_PORT=$(free_port)
export E2E_PORT
export E2E_PYTHON="$TOOLS_VENV/bin/python"  # boto3 for end2end/aws.py (ensure_sdk_tools)
set +e
(cd end2end && npx playwright test --reporter=list) 2>&1 | tee target/e2e.log
rc=${PIPESTATUS[0]}
set -e
p=$(grep -Eo '^ +[0-9]+ passed' target/e2e.log | grep -Eo '[0-9]+' | tail -n1 || true)
f=$(grep -Eo '^ +[0-9]+ failed' target/e2e.log | grep -Eo '[0-9]+' | tail -n1 || true)
PASSED=$((PASSED + ${p:-0}))
FAILED=$((FAILED + ${f:-0}))
[ "$rc" = 0 ] || step_failed "playwright"

ELAPSED=$(( $(date +%s) - START ))
log "test command took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  log "failed steps: ${FAILED_STEPS[*]}"
  [ "$FAILED" -gt 0 ] || FAILED=${#FAILED_STEPS[@]}
fi
SUMMARY_PRINTED=1
echo "summary: $PASSED passed, $FAILED failed"
[ ${#FAILED_STEPS[@]} -eq 0 ]
