"""Hookrelay against the official Stream Chat Python server SDK (PyPI stream-chat 4.33.0).

Run through tests/sdk/run.sh, which starts a fresh Hookrelay server with two apps and exports:

    HOOKRELAY_URL, HOOKRELAY_API_KEY, HOOKRELAY_API_SECRET,
    HOOKRELAY_OTHER_API_KEY, HOOKRELAY_OTHER_API_SECRET,
    AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (the AWS emulator)

Every test starts from `event_hooks: []` (the `client` fixture) and creates the AWS resources
it needs in the emulator (queues, topics, IAM users) with boto3.

The emulator does not verify the secret of its root key `test`, so wrong-secret and
missing-permission cases use IAM users created here, whose signatures and policies it checks.
"""

import json
import os
import re
import time
import uuid
from datetime import datetime, timezone

import boto3
import pytest
from botocore.config import Config
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException

AWS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue"
AWS_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sns-topic"
NON_SQS_URL = "https://foobar.com/123456789012/MyQueue"
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


# --------------------------------------------------------------------------------------------
# helpers


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through tests/sdk/run.sh")
    return value


def uid() -> str:
    return uuid.uuid4().hex[:12]


def long_key() -> str:
    """A 20-character AWS-style access key id (longer than 8: masked as ****<last 4>)."""
    return "AKIA" + uuid.uuid4().hex[:16].upper()


def long_secret() -> str:
    """A 40-character secret (longer than 8: masked as ****<last 4>)."""
    return (uuid.uuid4().hex + uuid.uuid4().hex)[:40]


def mask(secret: str) -> str:
    """The mask Hookrelay returns for a stored key or secret."""
    return "****" + secret[-4:] if len(secret) > 8 else "****"


def assert_masked(shown, sent: str) -> None:
    assert shown != sent, "a secret came back unmasked"
    assert shown == mask(sent), f"mask of {sent!r}: expected {mask(sent)!r}, got {shown!r}"
    if len(sent) > 8:
        assert shown.endswith(sent[-4:])


def parse_time(value: str) -> datetime:
    assert isinstance(value, str) and RFC3339.match(value), f"not RFC3339: {value!r}"
    value = value.replace("Z", "+00:00")
    # trim fractional seconds to microseconds (servers may send nanoseconds)
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    return datetime.fromisoformat(value)


def get_hooks(client: StreamChat) -> list:
    hooks = client.get_app_settings()["app"]["event_hooks"]
    assert isinstance(hooks, list)
    return hooks


def only_of_type(hooks: list, hook_type: str) -> dict:
    found = [h for h in hooks if h.get("hook_type") == hook_type]
    assert len(found) == 1, f"expected one {hook_type} hook, got {hooks}"
    return found[0]


def api_error(excinfo, status: int, code: int) -> StreamAPIException:
    err = excinfo.value
    assert err.status_code == status, f"HTTP {err.status_code}: {err.response_text}"
    assert err.json_response, f"not Stream error JSON: {err.response_text}"
    assert err.error_code == code, err.response_text
    return err


def webhook(url_suffix: str = "", **extra) -> dict:
    hook = {
        "hook_type": "webhook",
        "enabled": True,
        "event_types": ["message.new"],
        "webhook_url": f"https://hooks.example.com/{url_suffix or uid()}",
    }
    hook.update(extra)
    return hook


def drain(sqs, queue_url: str, first_wait: int = 2) -> list:
    """Receives and deletes every message in the queue; returns their bodies."""
    bodies = []
    wait = first_wait
    while True:
        got = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        ).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        wait = 0


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def server() -> dict:
    return {
        "url": env("HOOKRELAY_URL").rstrip("/"),
        "key": env("HOOKRELAY_API_KEY"),
        "secret": env("HOOKRELAY_API_SECRET"),
        "other_key": env("HOOKRELAY_OTHER_API_KEY"),
        "other_secret": env("HOOKRELAY_OTHER_API_SECRET"),
    }


@pytest.fixture
def client(server) -> StreamChat:
    """The main app's client; every test starts with no hooks."""
    c = StreamChat(server["key"], server["secret"], base_url=server["url"])
    c.update_app_settings(event_hooks=[])
    return c


@pytest.fixture
def other_client(server) -> StreamChat:
    """The second app's client; starts with no hooks too."""
    c = StreamChat(server["other_key"], server["other_secret"], base_url=server["url"])
    c.update_app_settings(event_hooks=[])
    return c


class Aws:
    def __init__(self) -> None:
        self.endpoint = env("AWS_ENDPOINT_URL").rstrip("/")
        self.region = os.environ.get("AWS_REGION") or "us-east-1"
        self.root_key = env("AWS_ACCESS_KEY_ID")
        self.root_secret = env("AWS_SECRET_ACCESS_KEY")
        self.sqs = self.client("sqs")
        self.sns = self.client("sns")
        self.iam = self.client("iam")

    def client(self, service: str, key: str = None, secret: str = None):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=key or self.root_key,
            aws_secret_access_key=secret or self.root_secret,
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=10),
        )


@pytest.fixture(scope="session")
def aws() -> Aws:
    return Aws()


@pytest.fixture
def queue(aws):
    """A fresh emulator queue URL (http://127.0.0.1:PORT/000000000000/NAME)."""
    url = aws.sqs.create_queue(QueueName=f"sdk-py-{uid()}")["QueueUrl"]
    yield url
    try:
        aws.sqs.delete_queue(QueueUrl=url)
    except Exception:
        pass


@pytest.fixture
def topic(aws):
    """A fresh emulator topic with a queue subscribed to it: (topic ARN, queue URL)."""
    arn = aws.sns.create_topic(Name=f"sdk-py-{uid()}")["TopicArn"]
    url = aws.sqs.create_queue(QueueName=f"sdk-py-sub-{uid()}")["QueueUrl"]
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
    aws.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    yield arn, url
    for cleanup in (
        lambda: aws.sns.delete_topic(TopicArn=arn),
        lambda: aws.sqs.delete_queue(QueueUrl=url),
    ):
        try:
            cleanup()
        except Exception:
            pass


@pytest.fixture
def iam_user(aws):
    """Factory: an IAM user allowed `actions`; returns (access key id, secret access key)."""
    created = []

    def make(actions):
        name = f"sdk-py-{uid()}"
        aws.iam.create_user(UserName=name)
        created.append(name)
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
        }
        aws.iam.put_user_policy(
            UserName=name, PolicyName="sdk-tests", PolicyDocument=json.dumps(policy)
        )
        key = aws.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    yield make
    for name in created:
        try:
            for k in aws.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                aws.iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
            aws.iam.delete_user_policy(UserName=name, PolicyName="sdk-tests")
            aws.iam.delete_user(UserName=name)
        except Exception:
            pass


def wrong_secret(secret: str) -> str:
    return ("X" if secret[0] != "X" else "Y") + secret[1:]


# --------------------------------------------------------------------------------------------
# GET /app


def test_get_app_settings_returns_event_hooks_as_a_list(client):
    resp = client.get_app_settings()
    assert resp.status_code() == 200
    assert isinstance(resp["duration"], str)
    app = resp["app"]
    assert isinstance(app["event_hooks"], list)
    assert app["event_hooks"] == []
    # the SDK docs do len(response["app"]["event_hooks"])
    assert len(app["event_hooks"]) == 0


def test_rate_limit_headers_are_read_by_the_sdk(client):
    before = time.time()
    resp = client.get_app_settings()
    rl = resp.rate_limit()
    assert rl is not None, f"no lowercase x-ratelimit-* headers: {resp.headers()}"
    assert rl.limit > 0
    assert 0 <= rl.remaining <= rl.limit
    assert rl.reset.timestamp() >= before - 1
    assert client.update_app_settings(event_hooks=[]).rate_limit() is not None


def test_base_url_with_trailing_slash_sends_double_slash_paths_that_work(server):
    c = StreamChat(server["key"], server["secret"], base_url=server["url"] + "/")
    assert c.base_url.endswith("/")
    assert c.update_app_settings(event_hooks=[webhook()])  # PATCH //app
    hooks = c.get_app_settings()["app"]["event_hooks"]  # GET //app
    assert [h["hook_type"] for h in hooks] == ["webhook"]
    resp = c.check_sqs("key", "secret", NON_SQS_URL)  # POST //check_sqs
    assert resp["status"] == "error"
    c.update_app_settings(event_hooks=[])


# --------------------------------------------------------------------------------------------
# PATCH /app event_hooks


def test_add_every_hook_type_and_read_it_back(client, queue):
    sqs_key, sqs_secret = long_key(), long_secret()
    sns_key, sns_secret = long_key(), long_secret()
    kin_key, kin_secret = long_key(), long_secret()
    kinesis_arn = f"arn:aws:kinesis:us-east-1:000000000000:stream/sdk-py-{uid()}"
    sent = [
        {
            "hook_type": "webhook",
            "enabled": True,
            "event_types": ["message.new", "channel.created"],
            "webhook_url": "https://hooks.example.com/webhook",
        },
        {
            "hook_type": "sqs",
            "enabled": True,
            "event_types": ["message.new"],
            "sqs_queue_url": queue,
            "sqs_region": "us-east-1",
            "sqs_auth_type": "keys",
            "sqs_key": sqs_key,
            "sqs_secret": sqs_secret,
        },
        {
            "hook_type": "sns",
            "enabled": False,
            "event_types": [],
            "sns_topic_arn": AWS_TOPIC_ARN,
            "sns_region": "us-east-1",
            "sns_auth_type": "keys",
            "sns_key": sns_key,
            "sns_secret": sns_secret,
        },
        {
            "hook_type": "kinesis",
            "enabled": True,
            "event_types": ["message.new", "member.added"],
            "product": "chat",
            "kinesis_stream_arn": kinesis_arn,
            "kinesis_region": "us-east-1",
            "kinesis_auth_type": "keys",
            "kinesis_key": kin_key,
            "kinesis_secret": kin_secret,
            "kinesis_data_types": ["ChannelMessage", "Channel"],
        },
        {
            "hook_type": "pending_message",
            "enabled": True,
            "webhook_url": "https://hooks.example.com/pending",
            "timeout_ms": 10000,
            "callback": {"mode": "CALLBACK_MODE_REST"},
        },
    ]
    resp = client.update_app_settings(event_hooks=sent)
    assert resp.status_code() == 200
    assert isinstance(resp["duration"], str)

    hooks = get_hooks(client)
    assert len(hooks) == 5
    assert sorted(h["hook_type"] for h in hooks) == [
        "kinesis",
        "pending_message",
        "sns",
        "sqs",
        "webhook",
    ]
    ids = [h["id"] for h in hooks]
    assert len(set(ids)) == 5
    for h in hooks:
        uuid.UUID(h["id"])  # generated ids are UUIDs
        assert isinstance(h["enabled"], bool)
        assert isinstance(h["event_types"], list)
        assert isinstance(h["product"], str)
        created, updated = parse_time(h["created_at"]), parse_time(h["updated_at"])
        assert updated >= created
        # no secret is ever returned in clear
        for field, value in h.items():
            if (field.endswith("_key") or field.endswith("_secret")) and value:
                assert isinstance(value, str) and value.startswith("****"), (field, value)

    wh = only_of_type(hooks, "webhook")
    assert wh["webhook_url"] == "https://hooks.example.com/webhook"
    assert wh["event_types"] == ["message.new", "channel.created"]
    assert wh["enabled"] is True
    assert wh["product"] == "all"  # the documented default

    sqs = only_of_type(hooks, "sqs")
    assert sqs["sqs_queue_url"] == queue
    assert sqs["sqs_region"] == "us-east-1"
    assert sqs["sqs_auth_type"] == "keys"
    assert sqs["event_types"] == ["message.new"]
    assert_masked(sqs["sqs_key"], sqs_key)
    assert_masked(sqs["sqs_secret"], sqs_secret)

    sns = only_of_type(hooks, "sns")
    assert sns["sns_topic_arn"] == AWS_TOPIC_ARN
    assert sns["sns_region"] == "us-east-1"
    assert sns["sns_auth_type"] == "keys"
    assert sns["enabled"] is False
    assert sns["event_types"] == []
    assert_masked(sns["sns_key"], sns_key)
    assert_masked(sns["sns_secret"], sns_secret)

    kin = only_of_type(hooks, "kinesis")
    assert kin["kinesis_stream_arn"] == kinesis_arn
    assert kin["kinesis_region"] == "us-east-1"
    assert kin["kinesis_auth_type"] == "keys"
    assert kin["kinesis_data_types"] == ["ChannelMessage", "Channel"]
    assert kin["event_types"] == ["message.new", "member.added"]
    assert kin["product"] == "chat"
    assert_masked(kin["kinesis_key"], kin_key)
    assert_masked(kin["kinesis_secret"], kin_secret)

    pm = only_of_type(hooks, "pending_message")
    assert pm["webhook_url"] == "https://hooks.example.com/pending"
    assert pm["timeout_ms"] == 10000
    assert pm["callback"]["mode"] == "CALLBACK_MODE_REST"
    assert isinstance(pm["event_types"], list)


@pytest.mark.parametrize(
    "secret, expected",
    [
        ("abc", "****"),
        ("12345678", "****"),  # exactly 8: fully masked
        ("123456789", "****6789"),  # 9: last 4 shown
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "****EKEY"),
    ],
)
def test_secret_mask_length_rule(client, secret, expected):
    client.update_app_settings(
        event_hooks=[
            {
                "hook_type": "sqs",
                "enabled": True,
                "sqs_queue_url": AWS_QUEUE_URL,
                "sqs_region": "us-east-1",
                "sqs_auth_type": "keys",
                "sqs_key": secret,
                "sqs_secret": secret,
            }
        ]
    )
    (hook,) = get_hooks(client)
    assert hook["sqs_key"] == expected
    assert hook["sqs_secret"] == expected


def test_sqs_hook_auth_types_and_aws_queue_url(client):
    role_arn = "arn:aws:iam::123456789012:role/stream-sqs"
    client.update_app_settings(
        event_hooks=[
            {
                "hook_type": "sqs",
                "enabled": True,
                "event_types": ["message.new"],
                "sqs_queue_url": AWS_QUEUE_URL,
                "sqs_region": "us-east-1",
                "sqs_auth_type": "resource",
            },
            {
                "hook_type": "sqs",
                "enabled": True,
                "event_types": ["message.new"],
                "sqs_queue_url": AWS_QUEUE_URL,
                "sqs_region": "us-east-1",
                "sqs_auth_type": "role",
                "sqs_role_arn": role_arn,
            },
        ]
    )
    hooks = get_hooks(client)
    assert sorted(h["sqs_auth_type"] for h in hooks) == ["resource", "role"]
    for h in hooks:
        assert h["sqs_queue_url"] == AWS_QUEUE_URL
    role = [h for h in hooks if h["sqs_auth_type"] == "role"][0]
    assert role["sqs_role_arn"] == role_arn  # an ARN is not a secret


def test_masked_hooks_sent_back_keep_the_stored_secrets(client):
    sqs_key, sqs_secret = long_key(), long_secret()
    sns_key, sns_secret = long_key(), long_secret()
    kin_key, kin_secret = long_key(), long_secret()
    client.update_app_settings(
        event_hooks=[
            webhook("round-trip"),
            {
                "hook_type": "sqs",
                "enabled": True,
                "event_types": ["message.new"],
                "sqs_queue_url": AWS_QUEUE_URL,
                "sqs_region": "us-east-1",
                "sqs_auth_type": "keys",
                "sqs_key": sqs_key,
                "sqs_secret": sqs_secret,
            },
            {
                "hook_type": "sns",
                "enabled": True,
                "event_types": ["message.new"],
                "sns_topic_arn": AWS_TOPIC_ARN,
                "sns_region": "us-east-1",
                "sns_auth_type": "keys",
                "sns_key": sns_key,
                "sns_secret": sns_secret,
            },
            {
                "hook_type": "kinesis",
                "enabled": True,
                "event_types": ["message.new"],
                "kinesis_stream_arn": "arn:aws:kinesis:us-east-1:000000000000:stream/rt",
                "kinesis_region": "us-east-1",
                "kinesis_auth_type": "keys",
                "kinesis_key": kin_key,
                "kinesis_secret": kin_secret,
                "kinesis_data_types": ["ChannelMessage"],
            },
        ]
    )
    first = get_hooks(client)
    assert len(first) == 4

    # GET -> PATCH the very same objects back (masks, ids, timestamps and all).
    # The masks are exactly 8 characters, so a server that stored a mask as the secret
    # would show "****" from then on, not "****" + the last 4.
    client.update_app_settings(event_hooks=first)
    second = get_hooks(client)
    assert {h["id"] for h in second} == {h["id"] for h in first}
    by_id = {h["id"]: h for h in second}
    for h in first:
        again = by_id[h["id"]]
        for field in h:
            if field.endswith("_key") or field.endswith("_secret"):
                assert again[field] == h[field], (h["hook_type"], field)
    assert_masked(only_of_type(second, "sqs")["sqs_key"], sqs_key)
    assert_masked(only_of_type(second, "sqs")["sqs_secret"], sqs_secret)
    assert_masked(only_of_type(second, "sns")["sns_secret"], sns_secret)
    assert_masked(only_of_type(second, "kinesis")["kinesis_secret"], kin_secret)

    # change only `enabled` on the sqs hook, sending the masks back
    changed = []
    for h in second:
        h = dict(h)
        if h["hook_type"] == "sqs":
            h["enabled"] = False
        changed.append(h)
    client.update_app_settings(event_hooks=changed)
    third = get_hooks(client)
    sqs = only_of_type(third, "sqs")
    assert sqs["enabled"] is False
    assert sqs["sqs_key"] == mask(sqs_key)
    assert sqs["sqs_secret"] == mask(sqs_secret)

    # omitting the secret fields for an existing id keeps them too
    stripped = []
    for h in third:
        h = {
            k: v
            for k, v in h.items()
            if not (k.endswith("_key") or k.endswith("_secret"))
        }
        stripped.append(h)
    client.update_app_settings(event_hooks=stripped)
    fourth = get_hooks(client)
    assert only_of_type(fourth, "sqs")["sqs_key"] == mask(sqs_key)
    assert only_of_type(fourth, "sqs")["sqs_secret"] == mask(sqs_secret)
    assert only_of_type(fourth, "sns")["sns_key"] == mask(sns_key)
    assert only_of_type(fourth, "sns")["sns_secret"] == mask(sns_secret)
    assert only_of_type(fourth, "kinesis")["kinesis_key"] == mask(kin_key)
    assert only_of_type(fourth, "kinesis")["kinesis_secret"] == mask(kin_secret)


def test_update_a_hook_by_id(client):
    client.update_app_settings(event_hooks=[webhook("update", event_types=["message.new"])])
    (before,) = get_hooks(client)

    updated = dict(before)
    updated["event_types"] = ["message.new", "channel.created", "member.added"]
    updated["webhook_url"] = "https://hooks.example.com/updated"
    client.update_app_settings(event_hooks=[updated])

    hooks = get_hooks(client)
    assert len(hooks) == 1
    (after,) = hooks
    assert after["id"] == before["id"]
    assert after["event_types"] == ["message.new", "channel.created", "member.added"]
    assert after["webhook_url"] == "https://hooks.example.com/updated"
    assert parse_time(after["created_at"]) == parse_time(before["created_at"])
    assert parse_time(after["updated_at"]) >= parse_time(before["updated_at"])


def test_hooks_left_out_of_the_array_are_deleted(client):
    client.update_app_settings(event_hooks=[webhook("keep"), webhook("drop")])
    hooks = get_hooks(client)
    assert len(hooks) == 2
    keep = [h for h in hooks if h["webhook_url"].endswith("/keep")][0]

    client.update_app_settings(event_hooks=[keep])
    hooks = get_hooks(client)
    assert [h["id"] for h in hooks] == [keep["id"]]
    assert hooks[0]["webhook_url"] == "https://hooks.example.com/keep"


def test_an_empty_array_clears_every_hook(client):
    client.update_app_settings(
        event_hooks=[
            webhook(),
            webhook(),
            {
                "hook_type": "pending_message",
                "enabled": True,
                "webhook_url": "https://hooks.example.com/pending",
                "timeout_ms": 5000,
                "callback": {"mode": "CALLBACK_MODE_REST"},
            },
        ]
    )
    assert len(get_hooks(client)) == 3
    client.update_app_settings(event_hooks=[])
    resp = client.get_app_settings()
    assert resp["app"]["event_hooks"] == []


def test_a_patch_without_event_hooks_leaves_them_alone(client):
    client.update_app_settings(event_hooks=[webhook("stay"), webhook("stay-too")])
    before = get_hooks(client)
    client.update_app_settings(enable_hook_payload_compression=False)
    client.update_app_settings(webhook_events=["message.new"])
    after = get_hooks(client)
    assert sorted(after, key=lambda h: h["id"]) == sorted(before, key=lambda h: h["id"])


def test_an_invalid_hook_fails_the_whole_patch(client):
    client.update_app_settings(event_hooks=[webhook("original")])
    before = get_hooks(client)
    changed = dict(before[0])
    changed["webhook_url"] = "https://hooks.example.com/changed"
    changed["event_types"] = ["channel.created"]
    with pytest.raises(StreamAPIException) as excinfo:
        client.update_app_settings(
            event_hooks=[
                changed,
                {
                    "hook_type": "sqs",
                    "enabled": True,
                    "event_types": ["message.new"],
                    "sqs_queue_url": NON_SQS_URL,
                    "sqs_region": "us-east-1",
                    "sqs_auth_type": "keys",
                    "sqs_key": long_key(),
                    "sqs_secret": long_secret(),
                },
                webhook("new"),
            ]
        )
    err = api_error(excinfo, 400, 4)
    assert "event_hooks[1].sqs_queue_url" in err.error_message
    assert get_hooks(client) == before


def test_an_unknown_event_type_is_rejected(client):
    client.update_app_settings(event_hooks=[webhook("existing")])
    before = get_hooks(client)
    with pytest.raises(StreamAPIException) as excinfo:
        client.update_app_settings(
            event_hooks=before + [webhook(event_types=["message.new", "message.exploded"])]
        )
    api_error(excinfo, 400, 4)
    assert get_hooks(client) == before


def test_an_unknown_hook_type_is_rejected(client):
    with pytest.raises(StreamAPIException) as excinfo:
        client.update_app_settings(
            event_hooks=[
                {
                    "hook_type": "carrier_pigeon",
                    "enabled": True,
                    "event_types": ["message.new"],
                }
            ]
        )
    api_error(excinfo, 400, 4)
    assert get_hooks(client) == []


def test_at_most_two_pending_message_hooks(client):
    def pending(n):
        return {
            "hook_type": "pending_message",
            "enabled": True,
            "webhook_url": f"https://hooks.example.com/pending-{n}",
            "timeout_ms": 1000 * n,
            "callback": {"mode": "CALLBACK_MODE_REST"},
        }

    client.update_app_settings(event_hooks=[pending(1), pending(2)])
    before = get_hooks(client)
    assert len(before) == 2
    with pytest.raises(StreamAPIException) as excinfo:
        client.update_app_settings(event_hooks=before + [pending(3)])
    api_error(excinfo, 400, 4)
    assert get_hooks(client) == before


def test_unknown_and_read_only_keys_are_ignored(client):
    hook = webhook("extras")
    hook["some_future_field"] = {"nested": True}
    hook["sns_event_based_message_group_id_enabled"] = False
    hook["created_at"] = "0001-01-01T00:00:00Z"  # what the Go SDK sends
    client.update_app_settings(
        event_hooks=[hook],
        totally_unknown_setting="x",
        name="",
        suspended=False,
        channel_configs=None,
        policies=None,
    )
    (stored,) = get_hooks(client)
    assert stored["webhook_url"] == "https://hooks.example.com/extras"
    assert parse_time(stored["created_at"]).year > 2000


def test_legacy_flat_fields_round_trip_with_masked_secrets(client):
    sqs_key, sqs_secret = long_key(), long_secret()
    sns_key, sns_secret = long_key(), long_secret()
    client.update_app_settings(
        webhook_url="https://hooks.example.com/legacy",
        webhook_events=["message.new", "channel.created"],
        sqs_url=AWS_QUEUE_URL,
        sqs_key=sqs_key,
        sqs_secret=sqs_secret,
        sns_topic_arn=AWS_TOPIC_ARN,
        sns_key=sns_key,
        sns_secret=sns_secret,
        enable_hook_payload_compression=True,
    )
    app = client.get_app_settings()["app"]
    assert app["webhook_url"] == "https://hooks.example.com/legacy"
    assert app["webhook_events"] == ["message.new", "channel.created"]
    assert app["sqs_url"] == AWS_QUEUE_URL
    assert_masked(app["sqs_key"], sqs_key)
    assert_masked(app["sqs_secret"], sqs_secret)
    assert app["sns_topic_arn"] == AWS_TOPIC_ARN
    assert_masked(app["sns_key"], sns_key)
    assert_masked(app["sns_secret"], sns_secret)
    assert app["enable_hook_payload_compression"] is True
    assert app["event_hooks"] == []

    client.update_app_settings(enable_hook_payload_compression=False)
    app = client.get_app_settings()["app"]
    assert app["enable_hook_payload_compression"] is False
    assert app["webhook_url"] == "https://hooks.example.com/legacy"
    assert app["sqs_key"] == mask(sqs_key)


# --------------------------------------------------------------------------------------------
# POST /check_sqs, /check_sns


def check_ok(resp) -> None:
    assert resp.status_code() == 201
    assert resp["status"] == "ok", resp
    assert "error" not in resp, resp
    assert isinstance(resp["duration"], str)


def check_error(resp, *needles: str) -> str:
    assert resp.status_code() == 201
    assert resp["status"] == "error", resp
    assert isinstance(resp["error"], str) and resp["error"], resp
    assert isinstance(resp.get("data"), dict), resp
    for needle in needles:
        assert needle in resp["error"], resp
    return resp["error"]


def test_check_sqs_ok_sends_one_test_message(client, aws, queue):
    resp = client.check_sqs(sqs_key="test", sqs_secret="test", sqs_url=queue)
    check_ok(resp)
    bodies = drain(aws.sqs, queue)
    assert len(bodies) == 1, bodies


def test_check_sqs_ok_with_an_iam_user(client, aws, queue, iam_user):
    key, secret = iam_user(["sqs:*"])
    check_ok(client.check_sqs(sqs_key=key, sqs_secret=secret, sqs_url=queue))
    assert len(drain(aws.sqs, queue)) == 1


def test_check_sqs_rejects_a_non_sqs_url(client):
    check_error(client.check_sqs("key", "secret", NON_SQS_URL), "invalid SQS url")


def test_check_sqs_with_a_wrong_secret_fails(client, aws, queue, iam_user):
    key, secret = iam_user(["sqs:*"])
    resp = client.check_sqs(sqs_key=key, sqs_secret=wrong_secret(secret), sqs_url=queue)
    error = check_error(resp)
    assert re.search(r"signature|credential", error, re.I), error
    assert drain(aws.sqs, queue, first_wait=0) == []


def test_check_sqs_without_send_permission_names_it(client, aws, queue, iam_user):
    key, secret = iam_user(["sqs:GetQueueAttributes"])
    resp = client.check_sqs(sqs_key=key, sqs_secret=secret, sqs_url=queue)
    check_error(resp, "sqs:SendMessage")
    assert drain(aws.sqs, queue, first_wait=0) == []


def test_check_sqs_without_arguments_uses_the_stored_settings(client, aws, queue):
    client.update_app_settings(sqs_url=queue, sqs_key="test", sqs_secret="test")
    resp = client.check_sqs()  # sends {"sqs_key": null, "sqs_secret": null, "sqs_url": null}
    check_ok(resp)
    assert len(drain(aws.sqs, queue)) == 1


def test_check_sqs_without_arguments_uses_the_stored_credentials(client, aws, iam_user, queue):
    key, secret = iam_user(["sqs:*"])
    client.update_app_settings(sqs_url=queue, sqs_key=key, sqs_secret=wrong_secret(secret))
    error = check_error(client.check_sqs())
    assert re.search(r"signature|credential", error, re.I), error
    assert drain(aws.sqs, queue, first_wait=0) == []
    # the stored secret is what is used: store the right one and the same call passes
    client.update_app_settings(sqs_key=key, sqs_secret=secret)
    check_ok(client.check_sqs())
    assert len(drain(aws.sqs, queue)) == 1


def test_check_sns_ok_publishes_a_test_message(client, aws, topic):
    arn, subscribed_queue = topic
    resp = client.check_sns(sns_key="test", sns_secret="test", sns_topic_arn=arn)
    check_ok(resp)
    bodies = drain(aws.sqs, subscribed_queue)
    assert len(bodies) == 1, bodies
    assert json.loads(bodies[0])["TopicArn"] == arn


def test_check_sns_without_arguments_uses_the_stored_settings(client, aws, topic):
    arn, subscribed_queue = topic
    client.update_app_settings(sns_topic_arn=arn, sns_key="test", sns_secret="test")
    check_ok(client.check_sns())
    assert len(drain(aws.sqs, subscribed_queue)) == 1


def test_check_sns_with_an_unknown_key_fails_to_publish(client, topic):
    arn, _ = topic
    check_error(client.check_sns("key", "secret", arn), "publishing the message failed.")


def test_check_sns_with_a_wrong_secret_fails_to_publish(client, aws, topic, iam_user):
    arn, subscribed_queue = topic
    key, secret = iam_user(["sns:*"])
    resp = client.check_sns(sns_key=key, sns_secret=wrong_secret(secret), sns_topic_arn=arn)
    check_error(resp, "publishing the message failed.")
    assert drain(aws.sqs, subscribed_queue, first_wait=0) == []


def test_check_sns_upstream_sdk_example(client):
    # stream-chat-python's own test: a well-formed ARN with made-up credentials
    resp = client.check_sns("key", "secret", AWS_TOPIC_ARN)
    check_error(resp, "publishing the message failed.")


# --------------------------------------------------------------------------------------------
# authentication and isolation


def test_a_wrong_api_key_is_error_code_2(server):
    c = StreamChat("no-such-key", server["secret"], base_url=server["url"])
    with pytest.raises(StreamAPIException) as excinfo:
        c.get_app_settings()
    api_error(excinfo, 401, 2)


def test_a_wrong_api_secret_is_error_code_5(server):
    c = StreamChat(server["key"], "not-the-secret-" + uuid.uuid4().hex, base_url=server["url"])
    with pytest.raises(StreamAPIException) as excinfo:
        c.get_app_settings()
    api_error(excinfo, 401, 5)
    with pytest.raises(StreamAPIException) as excinfo:
        c.update_app_settings(event_hooks=[])
    api_error(excinfo, 401, 5)


def test_the_other_apps_secret_is_not_accepted(server):
    c = StreamChat(server["key"], server["other_secret"], base_url=server["url"])
    with pytest.raises(StreamAPIException) as excinfo:
        c.get_app_settings()
    api_error(excinfo, 401, 5)


def test_apps_never_see_each_others_hooks(client, other_client):
    client.update_app_settings(event_hooks=[webhook("app-a-" + uid())])
    (a_hook,) = get_hooks(client)
    assert get_hooks(other_client) == []

    other_client.update_app_settings(event_hooks=[webhook("app-b-" + uid())])
    (b_hook,) = get_hooks(other_client)
    assert b_hook["id"] != a_hook["id"]
    assert get_hooks(client) == [a_hook]

    # the other app sending app A's hook id must not touch app A's hook
    hijack = dict(a_hook)
    hijack["webhook_url"] = "https://hooks.example.com/hijacked"
    try:
        other_client.update_app_settings(event_hooks=[hijack])
    except StreamAPIException as e:
        assert 400 <= e.status_code < 500, e.response_text
    assert get_hooks(client) == [a_hook]

    # clearing the other app leaves app A alone
    other_client.update_app_settings(event_hooks=[])
    assert get_hooks(client) == [a_hook]
