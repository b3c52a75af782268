"""Hookrelay's deliveries decoded by the official Python SDK (PyPI stream-chat 4.33.0).

Events are sent with POST /events; what reaches SQS, SNS (through a subscribed queue) and a
webhook receiver is read back with the SDK's own helpers: parse_sqs, parse_sns,
verify_webhook and verify_and_parse_webhook. Each case runs without and with
enable_hook_payload_compression.

Run through tests/sdk/run.sh (see test_sdk.py for the environment). These tests use the second
app (HOOKRELAY_OTHER_API_KEY): they set its hooks and compression and put them back to
`event_hooks: []`, compression off, when done.
"""

import base64
import gzip
import http.server
import json
import os
import threading
import time
import uuid

import boto3
import pytest
import requests
from botocore.config import Config
from stream_chat import StreamChat
from stream_chat.base.exceptions import InvalidWebhookError
from stream_chat.webhook import gunzip_payload, verify_signature

WAIT_SECONDS = 20
GZIP_MAGIC = b"\x1f\x8b"


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through tests/sdk/run.sh")
    return value


def uid() -> str:
    return uuid.uuid4().hex[:12]


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def base_url() -> str:
    return env("HOOKRELAY_URL").rstrip("/")


@pytest.fixture
def client(base_url):
    """The second app's client, with no hooks and compression off before and after."""
    c = StreamChat(
        env("HOOKRELAY_OTHER_API_KEY"), env("HOOKRELAY_OTHER_API_SECRET"), base_url=base_url
    )
    c.update_app_settings(event_hooks=[], enable_hook_payload_compression=False)
    yield c
    c.update_app_settings(event_hooks=[], enable_hook_payload_compression=False)


class Aws:
    def __init__(self) -> None:
        self.kw = dict(
            endpoint_url=env("AWS_ENDPOINT_URL").rstrip("/"),
            region_name=os.environ.get("AWS_REGION") or "us-east-1",
            aws_access_key_id=env("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=env("AWS_SECRET_ACCESS_KEY"),
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=10),
        )
        self.key = self.kw["aws_access_key_id"]
        self.secret = self.kw["aws_secret_access_key"]
        self.sqs = boto3.client("sqs", **self.kw)
        self.sns = boto3.client("sns", **self.kw)


@pytest.fixture(scope="module")
def aws() -> Aws:
    return Aws()


@pytest.fixture
def queue(aws):
    url = aws.sqs.create_queue(QueueName=f"sdk-py-deliver-{uid()}")["QueueUrl"]
    yield url
    try:
        aws.sqs.delete_queue(QueueUrl=url)
    except Exception:
        pass


def make_topic(aws, raw: bool):
    """A topic and a queue subscribed to it: (topic ARN, queue URL)."""
    arn = aws.sns.create_topic(Name=f"sdk-py-deliver-{uid()}")["TopicArn"]
    url = aws.sqs.create_queue(QueueName=f"sdk-py-deliver-sub-{uid()}")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": arn}},
            }
        ],
    }
    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    aws.sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true" if raw else "false"},
    )
    return arn, url


class WebhookReceiver:
    """An HTTP server on 127.0.0.1:0 in a thread that records (headers, body) and answers 200."""

    def __init__(self) -> None:
        self.requests = []
        received = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n: int) -> list:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.requests) < n:
            assert time.monotonic() < deadline, f"{len(self.requests)} of {n} webhook requests"
            time.sleep(0.05)
        return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


# --------------------------------------------------------------------------------------------
# helpers


def set_hooks(client: StreamChat, hooks: list, compression: bool) -> None:
    client.update_app_settings(event_hooks=hooks, enable_hook_payload_compression=compression)
    assert client.get_app_settings()["app"]["enable_hook_payload_compression"] is compression


def post_events(client: StreamChat, base_url: str, events: list) -> list:
    """POST /events as the SDKs authenticate; returns the accepted ids."""
    resp = requests.post(
        f"{base_url}/events",
        params={"api_key": client.api_key},
        json={"events": events},
        headers={"Authorization": client.auth_token, "stream-auth-type": "jwt"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    accepted = resp.json()["events"]
    assert len(accepted) == len(events), resp.text
    for a in accepted:
        assert a["deliveries"] == 1 and a["duplicate"] is False, resp.text
    return [a["id"] for a in accepted]


def new_events(n: int) -> list:
    tag = uid()
    return [
        {
            "type": "message.new",
            "cid": f"messaging:sdk-{tag}",
            "message": {"id": f"m-{tag}-{i}", "text": "hello from hookrelay " * 20},
            "n": i,
        }
        for i in range(n)
    ]


def receive(sqs, queue_url: str, n: int) -> list:
    """Receives and deletes messages until n arrived; returns them (with attributes)."""
    got = []
    deadline = time.monotonic() + WAIT_SECONDS
    while len(got) < n and time.monotonic() < deadline:
        for m in sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    assert len(got) == n, f"{len(got)} of {n} messages"
    return got


def assert_parsed(parsed: dict, sent_by_id: dict) -> str:
    """The parsed event is one that was sent, with id and created_at filled in."""
    assert isinstance(parsed, dict), parsed
    event_id = parsed["id"]
    assert event_id in sent_by_id, parsed
    sent = sent_by_id[event_id]
    assert isinstance(parsed.get("created_at"), str) and parsed["created_at"], parsed
    assert parsed == {**sent, "id": event_id, "created_at": parsed["created_at"]}
    assert parsed["type"] == "message.new"
    assert parsed["message"]["text"] == sent["message"]["text"]
    return event_id


def inner_payload(body: str, sns_envelope: bool) -> bytes:
    """The bytes inside the base64 of a message body (for the gzip magic check)."""
    if sns_envelope:
        body = json.loads(body)["Message"]
    return base64.b64decode(body)


# --------------------------------------------------------------------------------------------
# SQS


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "gzip"])
def test_sqs_deliveries_parse_with_the_sdk(client, aws, queue, base_url, compression):
    set_hooks(
        client,
        [
            {
                "hook_type": "sqs",
                "enabled": True,
                "event_types": [],
                "sqs_queue_url": queue,
                "sqs_region": "us-east-1",
                "sqs_auth_type": "keys",
                "sqs_key": aws.key,
                "sqs_secret": aws.secret,
            }
        ],
        compression,
    )
    events = new_events(12)
    ids = post_events(client, base_url, events)
    sent_by_id = dict(zip(ids, events))

    seen = set()
    for m in receive(aws.sqs, queue, len(events)):
        inner = inner_payload(m["Body"], False)
        if compression:
            assert inner[:2] == GZIP_MAGIC, inner[:16]
        else:
            assert inner[:1] == b"{", inner[:16]
        parsed = client.parse_sqs(m["Body"])
        event_id = assert_parsed(parsed, sent_by_id)
        attrs = m.get("MessageAttributes", {})
        assert attrs["X-Hookrelay-Event-Type"]["StringValue"] == "message.new", attrs
        assert attrs["X-Hookrelay-Event-Id"]["StringValue"] == event_id, attrs
        seen.add(event_id)
    assert seen == set(ids)


# --------------------------------------------------------------------------------------------
# SNS


@pytest.mark.parametrize("raw", [False, True], ids=["envelope", "raw"])
@pytest.mark.parametrize("compression", [False, True], ids=["plain", "gzip"])
def test_sns_deliveries_parse_with_the_sdk(client, aws, base_url, compression, raw):
    topic_arn, topic_queue = make_topic(aws, raw)
    set_hooks(
        client,
        [
            {
                "hook_type": "sns",
                "enabled": True,
                "event_types": ["message.new"],
                "sns_topic_arn": topic_arn,
                "sns_region": "us-east-1",
                "sns_auth_type": "keys",
                "sns_key": aws.key,
                "sns_secret": aws.secret,
            }
        ],
        compression,
    )
    events = new_events(11)
    ids = post_events(client, base_url, events)
    sent_by_id = dict(zip(ids, events))

    seen = set()
    for m in receive(aws.sqs, topic_queue, len(events)):
        body = m["Body"]
        if not raw:
            envelope = json.loads(body)
            assert envelope["Type"] == "Notification", envelope
            assert envelope["TopicArn"] == topic_arn, envelope
        inner = inner_payload(body, not raw)
        if compression:
            assert inner[:2] == GZIP_MAGIC, inner[:16]
        else:
            assert inner[:1] == b"{", inner[:16]
        parsed = client.parse_sns(body)
        seen.add(assert_parsed(parsed, sent_by_id))
    assert seen == set(ids)


# --------------------------------------------------------------------------------------------
# webhooks


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "gzip"])
def test_webhook_signature_verifies_with_the_sdk(client, receiver, base_url, compression):
    set_hooks(
        client,
        [
            {
                "hook_type": "webhook",
                "enabled": True,
                "event_types": ["message.new"],
                "webhook_url": receiver.url,
            }
        ],
        compression,
    )
    events = new_events(2)
    ids = post_events(client, base_url, events)
    sent_by_id = dict(zip(ids, events))

    seen = set()
    for headers, body in receiver.wait_for(len(events)):
        signature = headers["x-signature"]
        assert headers["x-api-key"] == client.api_key
        assert headers["x-webhook-attempt"] == "1"
        uuid.UUID(headers["x-webhook-id"])
        if compression:
            assert headers.get("content-encoding") == "gzip", headers
            assert body[:2] == GZIP_MAGIC
            inflated = gunzip_payload(body)
            assert inflated == gzip.decompress(body)
            # the signature is over the uncompressed JSON
            assert client.verify_webhook(inflated, signature) is True
            assert client.verify_webhook(body, signature) is False
        else:
            assert "content-encoding" not in headers, headers
            inflated = body
            assert client.verify_webhook(body, signature) is True
        assert verify_signature(inflated, signature, client.api_secret) is True
        parsed = client.verify_and_parse_webhook(body, signature)
        seen.add(assert_parsed(parsed, sent_by_id))

        # a changed body or another secret does not verify
        assert client.verify_webhook(inflated + b" ", signature) is False
        assert verify_signature(inflated, signature, client.api_secret + "x") is False
        with pytest.raises(InvalidWebhookError):
            client.verify_and_parse_webhook(body, "0" * 64)
    assert seen == set(ids)
    assert len(receiver.requests) == len(events), "one request per event"
