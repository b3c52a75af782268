#!/usr/bin/env bash
# Runs the official-SDK compatibility suites (Python stream-chat 4.33.0, JS stream-chat 9.53.0)
# against a fresh Hookrelay server.
#
# Expects in the environment (set by scripts/test.sh):
#   HOOKRELAY_BIN          the hookrelay release binary
#   AWS_ENDPOINT_URL       the AWS emulator (ministack, AUTH=true), already running
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION   the emulator's root credentials
#   SDK_PYTHON             a python with tests/sdk/requirements.txt installed
#   ROOT                   the repository root
#
# It starts `hookrelay serve` on a free 127.0.0.1 port with a fresh data dir and three apps
# (the third, HOOKRELAY_CHAT_*, is the JS chat tests' own: `node --test` runs the JS files in
# parallel and their chat events must not reach the hooks sdk.test.mjs sets), creates an SQS
# queue, an SNS topic and a queue subscribed to it for the JS suite, exports
#   HOOKRELAY_URL, HOOKRELAY_API_KEY, HOOKRELAY_API_SECRET,
#   HOOKRELAY_OTHER_API_KEY, HOOKRELAY_OTHER_API_SECRET,
#   HOOKRELAY_CHAT_API_KEY, HOOKRELAY_CHAT_API_SECRET,
#   SDK_QUEUE_URL, SDK_TOPIC_ARN, SDK_TOPIC_QUEUE_URL
# runs `pytest -q tests/sdk/python`, then `node --test` in tests/sdk/js (both, always), stops the
# server, prints "sdk summary: N passed, N failed" and exits non-zero when either suite failed.
# Optional: SDK_KEEP=1 keeps the work dir (server log, suite logs) even when all passed.
# The server plumbing (work dir, apps, serve, cleanup) is tests/lib/server.sh.
set -euo pipefail

SUITE=sdk
# shellcheck source=../lib/server.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"

need_env HOOKRELAY_BIN AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION SDK_PYTHON ROOT
need_executable HOOKRELAY_BIN
need_command SDK_PYTHON
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION SDK_PYTHON ROOT
SDK_DIR="$ROOT/tests/sdk"

# Settings that would silently point the SDKs or the server elsewhere.
unset STREAM_CHAT_URL STREAM_CHAT_TIMEOUT STREAM_LOCAL_TEST_RUN STREAM_LOCAL_TEST_HOST
unset HOOKRELAY_DATABASE_URL HOOKRELAY_MASTER_KEY HOOKRELAY_DATA_DIR HOOKRELAY_LISTEN

suite_workdir

# --- three apps ---------------------------------------------------------------------------
create_app APP_JSON "SDK tests"
create_app OTHER_JSON "SDK tests other"
create_app CHAT_JSON "SDK chat tests"
HOOKRELAY_API_KEY=$(app_field api_key <<<"$APP_JSON")
HOOKRELAY_API_SECRET=$(app_field api_secret <<<"$APP_JSON")
HOOKRELAY_OTHER_API_KEY=$(app_field api_key <<<"$OTHER_JSON")
HOOKRELAY_OTHER_API_SECRET=$(app_field api_secret <<<"$OTHER_JSON")
HOOKRELAY_CHAT_API_KEY=$(app_field api_key <<<"$CHAT_JSON")
HOOKRELAY_CHAT_API_SECRET=$(app_field api_secret <<<"$CHAT_JSON")
export HOOKRELAY_API_KEY HOOKRELAY_API_SECRET HOOKRELAY_OTHER_API_KEY HOOKRELAY_OTHER_API_SECRET
export HOOKRELAY_CHAT_API_KEY HOOKRELAY_CHAT_API_SECRET

# --- the server ---------------------------------------------------------------------------
start_server
export HOOKRELAY_URL="$SERVER_URL"
wait_healthy

# --- AWS resources for the JS suite (the Python suite creates its own with boto3) ----------
# They live as long as the emulator, which scripts/test.sh stops at the end.
AWS_OUT=$("$SDK_PYTHON" - <<'PY'
import json, os, uuid
import boto3

kw = dict(
    endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    region_name=os.environ["AWS_REGION"],
    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
)
sqs, sns = boto3.client("sqs", **kw), boto3.client("sns", **kw)
tag = uuid.uuid4().hex[:10]
queue = sqs.create_queue(QueueName=f"sdk-js-{tag}")["QueueUrl"]
topic = sns.create_topic(Name=f"sdk-js-{tag}")["TopicArn"]
sub = sqs.create_queue(QueueName=f"sdk-js-sub-{tag}")["QueueUrl"]
sub_arn = sqs.get_queue_attributes(QueueUrl=sub, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
policy = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": sub_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
    }],
}
sqs.set_queue_attributes(QueueUrl=sub, Attributes={"Policy": json.dumps(policy)})
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_arn)
print(queue, topic, sub)
PY
) || die "could not create the SQS/SNS fixtures in the emulator at $AWS_ENDPOINT_URL"
read -r SDK_QUEUE_URL SDK_TOPIC_ARN SDK_TOPIC_QUEUE_URL <<<"$AWS_OUT"
export SDK_QUEUE_URL SDK_TOPIC_ARN SDK_TOPIC_QUEUE_URL

# --- the suites ---------------------------------------------------------------------------
PASSED=0
FAILED=0

log "Python SDK suite (stream-chat 4.33.0)"
py_rc=0
(cd "$ROOT" && PYTHONDONTWRITEBYTECODE=1 "$SDK_PYTHON" -m pytest -q -p no:cacheprovider tests/sdk/python) \
  2>&1 | tee "$WORK/pytest.log" || py_rc=$?
# pytest -q ends with e.g. "2 failed, 38 passed, 1 error in 9.12s"
read -r p f < <(grep -E '^[0-9]+ (passed|failed|errors?|skipped|deselected)' "$WORK/pytest.log" | tail -n1 |
  awk '{ for (i = 2; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^(failed|error)/) f += $(i-1) } }
       END { print p + 0, f + 0 }')
PASSED=$((PASSED + p))
FAILED=$((FAILED + f))
if [ "$py_rc" != 0 ] && [ "$f" = 0 ]; then FAILED=$((FAILED + 1)); fi

log "JS SDK suite (stream-chat 9.53.0)"
js_rc=0
(
  cd "$SDK_DIR/js"
  if [ ! -d node_modules ] || [ ! -e node_modules/.package-lock.json ] ||
     [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  node --test
) 2>&1 | tee "$WORK/node.log" || js_rc=$?
# the TAP reporter prints "# pass N", the spec reporter "ℹ pass N"
p=$(grep -Eo '^(# |ℹ )pass [0-9]+' "$WORK/node.log" | tail -n1 | grep -Eo '[0-9]+' || true)
f=$(grep -Eo '^(# |ℹ )fail [0-9]+' "$WORK/node.log" | tail -n1 | grep -Eo '[0-9]+' || true)
PASSED=$((PASSED + ${p:-0}))
FAILED=$((FAILED + ${f:-0}))
if [ "$js_rc" != 0 ] && [ "${f:-0}" = 0 ]; then FAILED=$((FAILED + 1)); fi

echo "sdk summary: $PASSED passed, $FAILED failed"
[ "$py_rc" = 0 ] && [ "$js_rc" = 0 ] || { log "python rc=$py_rc, js rc=$js_rc"; exit 1; }
