#!/usr/bin/env bash
# Fuzzes the REST API against its own OpenAPI document (GET /openapi.json) with schemathesis:
# every operation, with a real app's credentials, checking that no answer is a 5xx and none
# contradicts the document (status codes, content types, response schemas).
#
# Expects in the environment (set by scripts/test.sh):
#   HOOKRELAY_BIN          the hookrelay release binary
#   AWS_ENDPOINT_URL       the AWS emulator, already running (the /check_sqs|sns|kinesis calls go there)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION   the emulator's credentials
#   OPENAPI_PYTHON         a python with schemathesis (tests/openapi/requirements.txt) installed
#   ROOT                   the repository root
# Optional: OPENAPI_MAX_EXAMPLES (default 300) test cases per operation and phase,
#           OPENAPI_SEED (default: random; the run prints the seed it used),
#           OPENAPI_KEEP=1 keeps the work dir (server log, JUnit report, HAR of every request).
#
# It starts `hookrelay serve` on a free 127.0.0.1 port with a fresh data dir and one app, and
# ends with one line: "openapi summary: N passed, N failed" (one test per operation). Nothing
# leaves this machine: the server's HTTP clients get a dead proxy for every host but the
# loopback one, so a generated webhook URL fails at once instead of reaching the network.
set -euo pipefail

log() { printf '\033[1;34m==>\033[0m [openapi] %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m [openapi] %s\n' "$*" >&2; exit 1; }

for var in HOOKRELAY_BIN AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION OPENAPI_PYTHON ROOT; do
  [ -n "${!var:-}" ] || die "$var is not set"
done
[ -x "$HOOKRELAY_BIN" ] || die "HOOKRELAY_BIN is not executable: $HOOKRELAY_BIN"
SCHEMATHESIS="$(dirname "$OPENAPI_PYTHON")/schemathesis"
[ -x "$SCHEMATHESIS" ] || die "schemathesis is not installed next to $OPENAPI_PYTHON"
unset HOOKRELAY_DATABASE_URL HOOKRELAY_MASTER_KEY HOOKRELAY_DATA_DIR HOOKRELAY_LISTEN

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hookrelay-openapi.XXXXXX")
DATA_DIR="$WORK/data"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""

cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ] && [ -s "$SERVER_LOG" ]; then
    log "last lines of the server log ($SERVER_LOG):"
    tail -n 40 "$SERVER_LOG" >&2 || true
  fi
  if [ "$rc" = 0 ] && [ -z "${OPENAPI_KEEP:-}" ]; then rm -rf "$WORK"; else log "logs and reports kept in $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$("$OPENAPI_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

# --- an app and its server token -----------------------------------------------------------
APP_JSON=$("$HOOKRELAY_BIN" app create --name "OpenAPI fuzz" --data-dir "$DATA_DIR" 2>>"$SERVER_LOG") ||
  die "hookrelay app create failed"
read -r HOOKRELAY_API_KEY HOOKRELAY_JWT < <("$OPENAPI_PYTHON" - "$APP_JSON" <<'PY'
import base64, hashlib, hmac, json, sys

app = json.loads(sys.argv[1])
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
# the token Stream's server SDKs send: HS256 over {"server": true} with the app's secret
signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(b'{"server":true}')
sig = hmac.new(app["api_secret"].encode(), signing_input.encode(), hashlib.sha256).digest()
print(app["api_key"], signing_input + "." + b64(sig))
PY
)
export HOOKRELAY_API_KEY HOOKRELAY_JWT

# --- the server ------------------------------------------------------------------------------
log "starting hookrelay on 127.0.0.1:$PORT (data in $DATA_DIR)"
(
  cd "$ROOT"
  # a dead proxy for every host but this one's: nothing the fuzzer invents reaches the network
  export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9
  export http_proxy=$HTTP_PROXY https_proxy=$HTTPS_PROXY all_proxy=$ALL_PROXY
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  exec "$HOOKRELAY_BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA_DIR" --allow-private-targets
) >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"

deadline=$((SECONDS + 30))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz" || true)" = 200 ]; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "hookrelay serve exited"
  [ "$SECONDS" -lt "$deadline" ] || die "hookrelay did not answer GET /healthz with 200 within 30 s"
  sleep 0.2
done
log "hookrelay is up at $URL"

# --- schemathesis ----------------------------------------------------------------------------
# The credentials go to the document's security schemes by name (all three on every call).
cat >"$WORK/schemathesis.toml" <<'TOML'
[auth.openapi.api_key]
api_key = "${HOOKRELAY_API_KEY}"

[auth.openapi.jwt]
api_key = "${HOOKRELAY_JWT}"

[auth.openapi.stream_auth_type]
api_key = "jwt"
TOML

SEED=${OPENAPI_SEED:-$RANDOM$RANDOM}
log "schemathesis over every operation (seed $SEED, ${OPENAPI_MAX_EXAMPLES:-300} examples per operation and phase)"
st_rc=0
(cd "$WORK" && "$SCHEMATHESIS" --config-file "$WORK/schemathesis.toml" --no-color run "$URL/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth \
  --phases examples,coverage,fuzzing \
  --max-examples "${OPENAPI_MAX_EXAMPLES:-300}" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  --report junit,har --report-junit-path "$WORK/junit.xml" --report-har-path "$WORK/requests.har") 2>&1 | tee "$WORK/schemathesis.log" || st_rc=${PIPESTATUS[0]}

# One test per operation: passed unless it has a failure or an error.
[ -s "$WORK/junit.xml" ] || die "schemathesis wrote no report (exit code $st_rc)"
read -r passed failed < <("$OPENAPI_PYTHON" - "$WORK/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
passed = failed = 0
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is None:
        passed += 1
print(passed, failed)
PY
)
if [ "$st_rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
if [ "$passed" = 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "openapi summary: $passed passed, $failed failed"
[ "$st_rc" = 0 ] && [ "$failed" = 0 ]
