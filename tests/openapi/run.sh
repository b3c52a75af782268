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
# The server plumbing (work dir, app, serve, cleanup) is tests/lib/server.sh.
set -euo pipefail

SUITE=openapi
# shellcheck source=../lib/server.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"

need_env HOOKRELAY_BIN AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION OPENAPI_PYTHON ROOT
need_executable HOOKRELAY_BIN
SCHEMATHESIS="$(dirname "$OPENAPI_PYTHON")/schemathesis"
[ -x "$SCHEMATHESIS" ] || die "schemathesis is not installed next to $OPENAPI_PYTHON"
unset HOOKRELAY_DATABASE_URL HOOKRELAY_MASTER_KEY HOOKRELAY_DATA_DIR HOOKRELAY_LISTEN

suite_workdir "logs and reports"

# --- an app and its server token -----------------------------------------------------------
create_app APP_JSON "OpenAPI fuzz"
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
# a dead proxy for every host but this one's: nothing the fuzzer invents reaches the network.
# The fuzzer sends hundreds of calls with wrong credentials a minute from one address: beyond
# --auth-failure-limit they would get 429 (the brute-force brake, tested in tests/integration/
# security.rs), where its check of wrong credentials expects 401.
dead_proxy=http://127.0.0.1:9
start_server HTTP_PROXY=$dead_proxy HTTPS_PROXY=$dead_proxy ALL_PROXY=$dead_proxy \
  http_proxy=$dead_proxy https_proxy=$dead_proxy all_proxy=$dead_proxy \
  NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
  HOOKRELAY_AUTH_FAILURE_LIMIT=1000000
URL="$SERVER_URL"
wait_healthy

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
