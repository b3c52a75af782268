#!/usr/bin/env bash
# Runs the Amazon Chime SDK Messaging compatibility suite (tests/chime/test_chime.py): the
# streaming-configuration API driven by unmodified boto3 (`chime-sdk-messaging`) and the AWS CLI
# v1, the configurations seen as Kinesis hooks through the Stream API, and the Chime-shaped
# Kinesis records read back from the AWS emulator.
#
# Expects in the environment (set by scripts/test.sh):
#   HOOKRELAY_BIN          the hookrelay release binary
#   AWS_ENDPOINT_URL       the AWS emulator (ministack), already running: the server delivers
#                          its Kinesis records there, the suite reads them back from it
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION   the emulator's credentials
#   CHIME_PYTHON           a python with tests/chime/requirements.txt installed (and `aws` next to it)
#   ROOT                   the repository root
# Optional: CHIME_KEEP=1 keeps the work dir (server log, JUnit report) even when all passed.
#
# It starts `hookrelay serve` on a free 127.0.0.1 port with a fresh data dir and two apps
# (`hookrelay app create`), exports for pytest
#   CHIME_URL, CHIME_API_KEY, CHIME_API_SECRET, CHIME_APP_ARN,
#   CHIME_OTHER_API_KEY, CHIME_OTHER_API_SECRET, CHIME_OTHER_APP_ARN, CHIME_AWS_CLI,
#   AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING (= CHIME_URL, while AWS_ENDPOINT_URL stays the emulator)
# and ends with one line: "chime summary: N passed, N failed" (one per pytest test case).
# The server plumbing (work dir, apps, serve, cleanup) is tests/lib/server.sh.
set -euo pipefail

SUITE=chime
# shellcheck source=../lib/server.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"

need_env HOOKRELAY_BIN AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION CHIME_PYTHON ROOT
need_executable HOOKRELAY_BIN
need_command CHIME_PYTHON
CHIME_AWS_CLI="$(dirname "$(command -v "$CHIME_PYTHON")")/aws"
[ -x "$CHIME_AWS_CLI" ] || die "the AWS CLI is not installed next to $CHIME_PYTHON (tests/chime/requirements.txt)"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION CHIME_AWS_CLI HOOKRELAY_BIN

# Settings that would point the server or the clients elsewhere, or change the apps' ARNs.
unset HOOKRELAY_DATABASE_URL HOOKRELAY_MASTER_KEY HOOKRELAY_DATA_DIR HOOKRELAY_LISTEN
unset HOOKRELAY_CHIME_REGION HOOKRELAY_CHIME_ACCOUNT
unset AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING AWS_ENDPOINT_URL_KINESIS AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
unset AWS_PROFILE AWS_SESSION_TOKEN

suite_workdir "logs and reports"

# --- two apps (the second one's ARN is the Forbidden case) ----------------------------------
create_app APP_JSON "Chime tests"
create_app OTHER_JSON "Chime tests other"
CHIME_API_KEY=$(app_field api_key <<<"$APP_JSON")
CHIME_API_SECRET=$(app_field api_secret <<<"$APP_JSON")
CHIME_APP_ARN=$(app_field app_instance_arn <<<"$APP_JSON") || die "app create printed no app_instance_arn"
CHIME_OTHER_API_KEY=$(app_field api_key <<<"$OTHER_JSON")
CHIME_OTHER_API_SECRET=$(app_field api_secret <<<"$OTHER_JSON")
CHIME_OTHER_APP_ARN=$(app_field app_instance_arn <<<"$OTHER_JSON") || die "app create printed no app_instance_arn"
export CHIME_API_KEY CHIME_API_SECRET CHIME_APP_ARN CHIME_OTHER_API_KEY CHIME_OTHER_API_SECRET CHIME_OTHER_APP_ARN

# --- the server (with the emulator's AWS settings: its Kinesis deliveries go there) ---------
start_server
export CHIME_URL="$SERVER_URL"
wait_healthy

# --- the suite ------------------------------------------------------------------------------
# The AWS CLI finds Hookrelay through the Chime-specific variable, which wins over
# AWS_ENDPOINT_URL (still the emulator's, for the Kinesis reads). Only pytest gets it.
log "pytest tests/chime (boto3 chime-sdk-messaging, $("$CHIME_AWS_CLI" --version 2>&1 | awk '{print $1}'))"
py_rc=0
(cd "$ROOT" && AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING="$CHIME_URL" PYTHONDONTWRITEBYTECODE=1 \
  "$CHIME_PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$WORK/junit.xml" -o junit_family=xunit2 \
  tests/chime) 2>&1 | tee "$WORK/pytest.log" || py_rc=${PIPESTATUS[0]}

[ -s "$WORK/junit.xml" ] || { echo "chime summary: 0 passed, 1 failed"; die "pytest wrote no report (exit code $py_rc)"; }
read -r passed failed < <("$CHIME_PYTHON" - "$WORK/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

passed = failed = 0
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is None:
        passed += 1
print(passed, failed)
PY
)
if [ "$py_rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
if [ "$passed" = 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "chime summary: $passed passed, $failed failed"
[ "$py_rc" = 0 ] && [ "$failed" = 0 ]
