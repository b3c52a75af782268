"""Hookrelay's Amazon Chime SDK Messaging streaming-configuration API against unmodified AWS
clients: boto3's `chime-sdk-messaging` client and the AWS CLI v1, plus the Chime-shaped Kinesis
records the configurations produce (read back from the AWS emulator with boto3 `kinesis`).

Run through tests/chime/run.sh, which starts a fresh Hookrelay server with two apps and exports:

    CHIME_URL                                  the server (normal listener)
    CHIME_API_KEY, CHIME_API_SECRET, CHIME_APP_ARN                 the first app
    CHIME_OTHER_API_KEY, CHIME_OTHER_API_SECRET, CHIME_OTHER_APP_ARN   the second app
    CHIME_AWS_CLI                              the `aws` executable (AWS CLI v1)
    HOOKRELAY_BIN                              the hookrelay binary (for `hookrelay app …`)
    AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION   the AWS emulator

Every test that touches the first app starts from no hooks at all (the `clean_app` fixture).
"""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ARN_RE = re.compile(
    r"^arn:aws:chime:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):app-instance/(?P<id>[0-9a-f-]{36})$"
)
# the message of the contract's message.new example
CREATED_AT = "2026-12-01T08:56:27.123456Z"


# --------------------------------------------------------------------------------------------
# helpers


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through tests/chime/run.sh")
    return value


def uid() -> str:
    return uuid.uuid4().hex[:12]


URL = os.environ.get("CHIME_URL", "")


def app(which: str = "main") -> dict:
    prefix = "CHIME_" if which == "main" else "CHIME_OTHER_"
    return {
        "key": env(prefix + "API_KEY"),
        "secret": env(prefix + "API_SECRET"),
        "arn": env(prefix + "APP_ARN"),
    }


def chime(region: str = "us-east-1", key: str | None = None, secret: str | None = None):
    """An unmodified boto3 chime-sdk-messaging client pointed at Hookrelay."""
    me = app()
    return boto3.client(
        "chime-sdk-messaging",
        endpoint_url=env("CHIME_URL"),
        region_name=region,
        aws_access_key_id=key or me["key"],
        aws_secret_access_key=secret or me["secret"],
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
    )


def kinesis():
    """boto3 kinesis against the AWS emulator."""
    return boto3.client(
        "kinesis",
        endpoint_url=env("AWS_ENDPOINT_URL"),
        region_name=env("AWS_REGION"),
        aws_access_key_id=env("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env("AWS_SECRET_ACCESS_KEY"),
    )


def fake_stream_arn(name: str | None = None) -> str:
    return f"arn:aws:kinesis:us-east-1:000000000000:stream/chime-messaging-{name or uid()}"


def new_stream() -> str:
    """A fresh one-shard stream in the emulator; its ARN."""
    k = kinesis()
    name = f"chime-messaging-{uid()}"
    k.create_stream(StreamName=name, ShardCount=1)
    deadline = time.monotonic() + 20
    while True:
        summary = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return summary["StreamARN"]
        assert time.monotonic() < deadline, f"stream {name} not ACTIVE within 20 s"
        time.sleep(0.2)


def read_records(stream_arn: str, done, timeout: float = 20.0) -> list[dict]:
    """Every record on the stream (Data parsed as JSON), polling with ListShards /
    GetShardIterator(TRIM_HORIZON) / GetRecords until `done(records)` or `timeout` seconds."""
    k = kinesis()
    name = stream_arn.split(":stream/", 1)[1]
    iterators: dict[str, str] = {}
    records: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        for shard in k.list_shards(StreamName=name)["Shards"]:
            sid = shard["ShardId"]
            if sid not in iterators:
                iterators[sid] = k.get_shard_iterator(
                    StreamName=name, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        for sid, it in list(iterators.items()):
            out = k.get_records(ShardIterator=it, Limit=1000)
            for rec in out["Records"]:
                data = rec["Data"]
                text = data.decode() if isinstance(data, (bytes, bytearray)) else data
                records.append(json.loads(text))
            if out.get("NextShardIterator"):
                iterators[sid] = out["NextShardIterator"]
        if done(records) or time.monotonic() >= deadline:
            return records
        time.sleep(0.5)


def of_type(records: list[dict], event_type: str) -> list[dict]:
    return [r for r in records if r.get("EventType") == event_type]


def payload(record: dict) -> dict:
    assert set(record) >= {"EventType", "Payload"}, f"record shape: {record}"
    assert isinstance(record["Payload"], str), f"Payload must be a JSON string: {record}"
    value = json.loads(record["Payload"])
    assert isinstance(value, dict), f"Payload is not a JSON object: {record['Payload']}"
    return value


def server_token(secret: str) -> str:
    """The token Stream's server SDKs send: HS256 over {"server": true} with the app secret."""
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(b'{"server":true}')
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def stream_api(method: str, path: str, body=None, which: str = "main"):
    """A Stream-compatible server-side call: ?api_key=KEY, the server JWT, stream-auth-type."""
    me = app(which)
    sep = "&" if "?" in path else "?"
    req = urllib.request.Request(
        f"{env('CHIME_URL')}{path}{sep}api_key={me['key']}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": server_token(me["secret"]),
            "stream-auth-type": "jwt",
            "Content-Type": "application/json",
        },
    )
    try:
        with _NO_PROXY.open(req, timeout=20) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def event_hooks(which: str = "main") -> list[dict]:
    status, body = stream_api("GET", "/app", which=which)
    assert status == 200, f"GET /app: {status} {body}"
    hooks = body["app"]["event_hooks"]
    assert isinstance(hooks, list)
    return hooks


def post_events(events: list[dict]) -> dict:
    status, body = stream_api("POST", "/events", {"events": events})
    assert status == 201, f"POST /events: {status} {body}"
    return body


def put(client, arn: str, configs: list[dict]) -> dict:
    return client.put_messaging_streaming_configurations(
        AppInstanceArn=arn, StreamingConfigurations=configs
    )


def get_configs(client, arn: str) -> list[dict]:
    resp = client.get_messaging_streaming_configurations(AppInstanceArn=arn)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    return resp["StreamingConfigurations"]


def by_type(configs: list[dict]) -> dict[str, str]:
    out = {}
    for c in configs:
        assert c["DataType"] not in out, f"DataType twice: {configs}"
        out[c["DataType"]] = c["ResourceArn"]
    return out


def expect_error(call, code: str, status: int, modeled=None) -> ClientError:
    """`call()` must fail with `code` (from the x-amzn-ErrorType header) and HTTP `status`;
    when `modeled` is given, as that modeled exception class."""
    with pytest.raises(ClientError) as info:
        call()
    err = info.value
    meta = err.response["ResponseMetadata"]
    headers = meta.get("HTTPHeaders", {})
    assert err.response["Error"]["Code"] == code, err.response
    assert meta["HTTPStatusCode"] == status, err.response
    assert "x-amzn-errortype" in headers, f"no x-amzn-ErrorType header: {headers}"
    assert headers["x-amzn-errortype"].split(":")[0] == code, headers
    if modeled is not None:
        assert isinstance(err, modeled), f"{type(err).__name__} is not {modeled.__name__}"
    return err


# --------------------------------------------------------------------------------------------
# the AWS CLI


def cli_env(endpoint_env: str | None, key: str | None = None, secret: str | None = None) -> dict:
    """A clean environment for `aws`: the app's keys, no config files, a client region other
    than the ARN's, AWS_ENDPOINT_URL still the emulator's, and the Chime-specific endpoint
    variable only when `endpoint_env` is given."""
    me = app()
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") or k == "AWS_ENDPOINT_URL"
    }
    assert e.get("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL (the emulator) must be set"
    e.update(
        AWS_ACCESS_KEY_ID=key or me["key"],
        AWS_SECRET_ACCESS_KEY=secret or me["secret"],
        AWS_DEFAULT_REGION="us-west-2",
        AWS_REGION="us-west-2",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
    )
    if endpoint_env is not None:
        e["AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING"] = endpoint_env
    return e


def aws(args: list[str], environ: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [env("CHIME_AWS_CLI"), "--output", "json", "chime-sdk-messaging", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --------------------------------------------------------------------------------------------
# hookrelay app create / list


def hookrelay(args: list[str], extra_env: dict | None = None) -> str:
    e = {k: v for k, v in os.environ.items() if not k.startswith("HOOKRELAY_")}
    e.update(extra_env or {})
    out = subprocess.run(
        [env("HOOKRELAY_BIN"), *args], env=e, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, f"hookrelay {' '.join(args)}: rc {out.returncode}\n{out.stderr}"
    return out.stdout


def test_app_create_prints_keys_and_default_app_instance_arn(tmp_path):
    created = json.loads(hookrelay(["app", "create", "--name", "Chime A", "--data-dir", str(tmp_path)]))
    assert isinstance(created["api_key"], str) and created["api_key"]
    assert isinstance(created["api_secret"], str) and created["api_secret"]
    m = ARN_RE.match(created["app_instance_arn"])
    assert m, created["app_instance_arn"]
    assert (m["region"], m["account"]) == ("us-east-1", "000000000000")
    uuid.UUID(m["id"])


def test_app_create_takes_chime_region_and_account_flags(tmp_path):
    created = json.loads(
        hookrelay(
            [
                "app", "create", "--name", "Chime flags", "--data-dir", str(tmp_path),
                "--chime-region", "eu-west-1", "--chime-account", "123456789012",
            ]
        )
    )
    m = ARN_RE.match(created["app_instance_arn"])
    assert m, created["app_instance_arn"]
    assert (m["region"], m["account"]) == ("eu-west-1", "123456789012")


def test_app_create_takes_chime_region_and_account_from_env(tmp_path):
    created = json.loads(
        hookrelay(
            ["app", "create", "--name", "Chime env", "--data-dir", str(tmp_path)],
            {"HOOKRELAY_CHIME_REGION": "ap-southeast-2", "HOOKRELAY_CHIME_ACCOUNT": "210987654321"},
        )
    )
    m = ARN_RE.match(created["app_instance_arn"])
    assert m, created["app_instance_arn"]
    assert (m["region"], m["account"]) == ("ap-southeast-2", "210987654321")


def test_app_list_prints_each_apps_app_instance_arn(tmp_path):
    data = ["--data-dir", str(tmp_path)]
    one = json.loads(hookrelay(["app", "create", "--name", "List one", *data]))
    two = json.loads(hookrelay(["app", "create", "--name", "List two", *data]))
    assert one["app_instance_arn"] != two["app_instance_arn"]
    listed = json.loads(hookrelay(["app", "list", *data]))
    arns = {a["api_key"]: a.get("app_instance_arn") for a in listed}
    assert arns.get(one["api_key"]) == one["app_instance_arn"], listed
    assert arns.get(two["api_key"]) == two["app_instance_arn"], listed
    # the same apps under another region and account: same app-instance ids
    elsewhere = json.loads(
        hookrelay(["app", "list", *data, "--chime-region", "eu-west-1", "--chime-account", "123456789012"])
    )
    for a in elsewhere:
        m = ARN_RE.match(a.get("app_instance_arn", ""))
        assert m and (m["region"], m["account"]) == ("eu-west-1", "123456789012"), a
        assert a["app_instance_arn"].rsplit("/", 1)[1] == arns[a["api_key"]].rsplit("/", 1)[1]


def test_suite_apps_have_distinct_well_formed_arns():
    a, b = app(), app("other")
    for arn in (a["arn"], b["arn"]):
        m = ARN_RE.match(arn)
        assert m and (m["region"], m["account"]) == ("us-east-1", "000000000000"), arn
    assert a["arn"] != b["arn"]


# --------------------------------------------------------------------------------------------
# Put / Get / Delete with boto3


@pytest.fixture
def clean_app():
    """The first app with no hooks at all, before and after the test."""
    status, body = stream_api("PATCH", "/app", {"event_hooks": []})
    assert status == 200, f"PATCH /app: {status} {body}"
    assert event_hooks() == []
    yield app()
    stream_api("PATCH", "/app", {"event_hooks": []})


def test_put_echoes_the_configuration_and_get_returns_it(clean_app):
    c = chime()
    arn = fake_stream_arn()
    sent = [{"DataType": "ChannelMessage", "ResourceArn": arn}]
    resp = put(c, clean_app["arn"], sent)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["StreamingConfigurations"] == sent
    assert get_configs(c, clean_app["arn"]) == sent


def test_put_two_configurations_in_one_call(clean_app):
    c = chime()
    msg, chan = fake_stream_arn(), fake_stream_arn()
    sent = [
        {"DataType": "ChannelMessage", "ResourceArn": msg},
        {"DataType": "Channel", "ResourceArn": chan},
    ]
    resp = put(c, clean_app["arn"], sent)
    assert resp["StreamingConfigurations"] == sent
    assert by_type(get_configs(c, clean_app["arn"])) == {"ChannelMessage": msg, "Channel": chan}


def test_put_merges_by_data_type(clean_app):
    c = chime()
    s1, s2, s3 = fake_stream_arn(), fake_stream_arn(), fake_stream_arn()
    put(c, clean_app["arn"], [{"DataType": "ChannelMessage", "ResourceArn": s1}])
    resp = put(c, clean_app["arn"], [{"DataType": "Channel", "ResourceArn": s2}])
    # the answer echoes only what this call gave
    assert resp["StreamingConfigurations"] == [{"DataType": "Channel", "ResourceArn": s2}]
    assert by_type(get_configs(c, clean_app["arn"])) == {"ChannelMessage": s1, "Channel": s2}
    # replacing one data type's stream leaves the other alone
    put(c, clean_app["arn"], [{"DataType": "ChannelMessage", "ResourceArn": s3}])
    assert by_type(get_configs(c, clean_app["arn"])) == {"ChannelMessage": s3, "Channel": s2}


def test_get_with_nothing_configured_raises_not_found(clean_app):
    c = chime()
    expect_error(
        lambda: c.get_messaging_streaming_configurations(AppInstanceArn=clean_app["arn"]),
        "NotFoundException", 404, c.exceptions.NotFoundException,
    )


def test_delete_answers_204_and_is_idempotent(clean_app):
    c = chime()
    put(c, clean_app["arn"], [{"DataType": "Channel", "ResourceArn": fake_stream_arn()}])
    assert len(get_configs(c, clean_app["arn"])) == 1
    for _ in range(2):  # the second time there is nothing to delete: still 204
        resp = c.delete_messaging_streaming_configurations(AppInstanceArn=clean_app["arn"])
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(
        lambda: c.get_messaging_streaming_configurations(AppInstanceArn=clean_app["arn"]),
        "NotFoundException", 404, c.exceptions.NotFoundException,
    )


def test_any_client_region_signs_for_the_app(clean_app):
    arn = fake_stream_arn()
    sent = [{"DataType": "ChannelMessage", "ResourceArn": arn}]
    assert put(chime("us-west-2"), clean_app["arn"], sent)["StreamingConfigurations"] == sent
    assert get_configs(chime("ap-southeast-2"), clean_app["arn"]) == sent
    resp = chime("eu-central-1").delete_messaging_streaming_configurations(
        AppInstanceArn=clean_app["arn"]
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_configurations_belong_to_one_app(clean_app):
    put(chime(), clean_app["arn"], [{"DataType": "ChannelMessage", "ResourceArn": fake_stream_arn()}])
    other = app("other")
    oc = chime(key=other["key"], secret=other["secret"])
    expect_error(
        lambda: oc.get_messaging_streaming_configurations(AppInstanceArn=other["arn"]),
        "NotFoundException", 404, oc.exceptions.NotFoundException,
    )
    assert [h for h in event_hooks("other") if h["hook_type"] == "kinesis"] == []


# --------------------------------------------------------------------------------------------
# a configuration is the app's Kinesis hook


def test_put_configuration_is_a_kinesis_hook_in_get_app(clean_app):
    arn = fake_stream_arn()
    put(chime(), clean_app["arn"], [{"DataType": "ChannelMessage", "ResourceArn": arn}])
    kinesis_hooks = [h for h in event_hooks() if h["hook_type"] == "kinesis"]
    assert len(kinesis_hooks) == 1, kinesis_hooks
    hook = kinesis_hooks[0]
    assert hook["kinesis_stream_arn"] == arn
    assert hook["kinesis_data_types"] == ["ChannelMessage"]
    assert hook.get("enabled", True) is True


def test_kinesis_hook_added_with_patch_app_shows_in_get(clean_app):
    arn = fake_stream_arn()
    status, body = stream_api(
        "PATCH",
        "/app",
        {"event_hooks": [{"hook_type": "kinesis", "kinesis_stream_arn": arn, "kinesis_data_types": ["Channel"]}]},
    )
    assert status == 200, f"PATCH /app: {status} {body}"
    assert get_configs(chime(), clean_app["arn"]) == [{"DataType": "Channel", "ResourceArn": arn}]


def test_delete_removes_kinesis_hooks_and_keeps_the_others(clean_app):
    webhook = {"hook_type": "webhook", "webhook_url": "https://hooks.example.com/chime-suite"}
    status, body = stream_api("PATCH", "/app", {"event_hooks": [webhook]})
    assert status == 200, f"PATCH /app: {status} {body}"
    c = chime()
    put(c, clean_app["arn"], [{"DataType": "ChannelMessage", "ResourceArn": fake_stream_arn()}])
    assert sorted(h["hook_type"] for h in event_hooks()) == ["kinesis", "webhook"]
    c.delete_messaging_streaming_configurations(AppInstanceArn=clean_app["arn"])
    hooks = event_hooks()
    assert [h["hook_type"] for h in hooks] == ["webhook"], hooks
    assert hooks[0]["webhook_url"] == webhook["webhook_url"]


# --------------------------------------------------------------------------------------------
# errors


def test_another_apps_arn_is_forbidden(clean_app):
    c = chime()
    other_arn = app("other")["arn"]
    configs = [{"DataType": "Channel", "ResourceArn": fake_stream_arn()}]
    for call in (
        lambda: put(c, other_arn, configs),
        lambda: c.get_messaging_streaming_configurations(AppInstanceArn=other_arn),
        lambda: c.delete_messaging_streaming_configurations(AppInstanceArn=other_arn),
    ):
        expect_error(call, "ForbiddenException", 403, c.exceptions.ForbiddenException)
    # nothing reached the other app
    assert [h for h in event_hooks("other") if h["hook_type"] == "kinesis"] == []


def test_made_up_arn_is_forbidden(clean_app):
    c = chime()
    own = clean_app["arn"]
    made_up = [
        f"arn:aws:chime:us-east-1:000000000000:app-instance/{uuid.uuid4()}",
        own.replace(":000000000000:", ":111111111111:"),  # own id, another account
        own.replace(":us-east-1:", ":eu-west-1:"),  # own id, another region
    ]
    for arn in made_up:
        assert arn != own
        expect_error(
            lambda: put(c, arn, [{"DataType": "Channel", "ResourceArn": fake_stream_arn()}]),
            "ForbiddenException", 403, c.exceptions.ForbiddenException,
        )
        expect_error(
            lambda: c.get_messaging_streaming_configurations(AppInstanceArn=arn),
            "ForbiddenException", 403, c.exceptions.ForbiddenException,
        )
    assert event_hooks() == []


def bad_request(c, arn: str, configs: list[dict], field: str) -> None:
    err = expect_error(
        lambda: put(c, arn, configs), "BadRequestException", 400, c.exceptions.BadRequestException
    )
    message = err.response["Error"].get("Message", "")
    assert field in message, f"message does not name {field}: {message!r}"


def test_bogus_data_type_is_bad_request_naming_the_field(clean_app):
    c = chime()
    kept = [{"DataType": "Channel", "ResourceArn": fake_stream_arn()}]
    put(c, clean_app["arn"], kept)
    bad_request(
        c, clean_app["arn"], [{"DataType": "Bogus", "ResourceArn": fake_stream_arn()}],
        "StreamingConfigurations[0].DataType",
    )
    bad_request(
        c, clean_app["arn"],
        [{"DataType": "Channel", "ResourceArn": fake_stream_arn()},
         {"DataType": "Bogus", "ResourceArn": fake_stream_arn()}],
        "StreamingConfigurations[1].DataType",
    )
    assert get_configs(c, clean_app["arn"]) == kept  # a refused Put changes nothing


def test_duplicate_data_type_is_bad_request(clean_app):
    c = chime()
    bad_request(
        c, clean_app["arn"],
        [{"DataType": "ChannelMessage", "ResourceArn": fake_stream_arn()},
         {"DataType": "ChannelMessage", "ResourceArn": fake_stream_arn()}],
        "DataType",
    )
    expect_error(
        lambda: c.get_messaging_streaming_configurations(AppInstanceArn=clean_app["arn"]),
        "NotFoundException", 404, c.exceptions.NotFoundException,
    )


def test_non_kinesis_resource_arn_is_bad_request(clean_app):
    c = chime()
    bad_request(
        c, clean_app["arn"],
        [{"DataType": "ChannelMessage", "ResourceArn": "arn:aws:sqs:us-east-1:000000000000:chime-queue"}],
        "StreamingConfigurations[0].ResourceArn",
    )
    assert event_hooks() == []


def test_unknown_access_key_is_unrecognized_client(clean_app):
    c = chime(key="AKIA" + uid().upper() + "ZZZZ", secret="not-a-secret-of-any-app")
    expect_error(
        lambda: c.get_messaging_streaming_configurations(AppInstanceArn=clean_app["arn"]),
        "UnrecognizedClientException", 403,
    )
    expect_error(
        lambda: put(c, clean_app["arn"], [{"DataType": "Channel", "ResourceArn": fake_stream_arn()}]),
        "UnrecognizedClientException", 403,
    )
    assert event_hooks() == []


def test_wrong_secret_is_invalid_signature(clean_app):
    c = chime(secret=clean_app["secret"] + "x")
    expect_error(
        lambda: put(c, clean_app["arn"], [{"DataType": "Channel", "ResourceArn": fake_stream_arn()}]),
        "InvalidSignatureException", 403,
    )
    expect_error(
        lambda: c.delete_messaging_streaming_configurations(AppInstanceArn=clean_app["arn"]),
        "InvalidSignatureException", 403,
    )
    assert event_hooks() == []


# --------------------------------------------------------------------------------------------
# the AWS CLI v1, unmodified


def test_cli_put_get_delete_with_endpoint_url_flag(clean_app):
    e = cli_env(None)
    msg, chan = fake_stream_arn(), fake_stream_arn()
    ep = ["--endpoint-url", env("CHIME_URL")]
    out = aws(
        ["put-messaging-streaming-configurations", *ep, "--app-instance-arn", clean_app["arn"],
         "--streaming-configurations", f"DataType=ChannelMessage,ResourceArn={msg}",
         f"DataType=Channel,ResourceArn={chan}"],
        e,
    )
    assert out.returncode == 0, out.stderr
    assert by_type(json.loads(out.stdout)["StreamingConfigurations"]) == {"ChannelMessage": msg, "Channel": chan}

    out = aws(["get-messaging-streaming-configurations", *ep, "--app-instance-arn", clean_app["arn"]], e)
    assert out.returncode == 0, out.stderr
    assert by_type(json.loads(out.stdout)["StreamingConfigurations"]) == {"ChannelMessage": msg, "Channel": chan}

    out = aws(["delete-messaging-streaming-configurations", *ep, "--app-instance-arn", clean_app["arn"]], e)
    assert out.returncode == 0, out.stderr
    out = aws(["get-messaging-streaming-configurations", *ep, "--app-instance-arn", clean_app["arn"]], e)
    assert out.returncode != 0
    assert "NotFoundException" in out.stderr, out.stderr


def test_cli_chime_endpoint_variable_wins_over_aws_endpoint_url(clean_app):
    arn = fake_stream_arn()
    put(chime(), clean_app["arn"], [{"DataType": "Channel", "ResourceArn": arn}])
    args = ["get-messaging-streaming-configurations", "--app-instance-arn", clean_app["arn"]]
    # AWS_ENDPOINT_URL = the emulator, AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING = Hookrelay
    out = aws(args, cli_env(env("CHIME_URL")))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["StreamingConfigurations"] == [{"DataType": "Channel", "ResourceArn": arn}]
    # control: without the Chime-specific variable the call goes to the emulator instead
    out = aws(args, cli_env(None))
    assert arn not in out.stdout


def test_cli_reports_modeled_errors(clean_app):
    e = cli_env(env("CHIME_URL"))
    out = aws(
        ["put-messaging-streaming-configurations", "--app-instance-arn", app("other")["arn"],
         "--streaming-configurations", f"DataType=Channel,ResourceArn={fake_stream_arn()}"],
        e,
    )
    assert out.returncode != 0
    assert "ForbiddenException" in out.stderr, out.stderr
    out = aws(
        ["put-messaging-streaming-configurations", "--app-instance-arn", clean_app["arn"],
         "--streaming-configurations", f"DataType=Bogus,ResourceArn={fake_stream_arn()}"],
        e,
    )
    assert out.returncode != 0
    assert "BadRequestException" in out.stderr, out.stderr
    assert "StreamingConfigurations[0].DataType" in out.stderr, out.stderr
    out = aws(
        ["get-messaging-streaming-configurations", "--app-instance-arn", clean_app["arn"]],
        cli_env(env("CHIME_URL"), secret=clean_app["secret"] + "x"),
    )
    assert out.returncode != 0
    assert "InvalidSignatureException" in out.stderr, out.stderr


# --------------------------------------------------------------------------------------------
# delivery: Chime-shaped records on the configured Kinesis stream


def message(mid: str, text: str, **extra) -> dict:
    return {
        "id": mid,
        "text": text,
        "user": {"id": "alice", "name": "Alice"},
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
        **extra,
    }


def channel_event(event_type: str, **fields) -> dict:
    return {
        "type": event_type,
        "cid": "messaging:general",
        "channel_type": "messaging",
        "channel_id": "general",
        **fields,
    }


def contains_pair(value, key: str, wanted) -> bool:
    if isinstance(value, dict):
        return any(k == key and v == wanted or contains_pair(v, key, wanted) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_pair(v, key, wanted) for v in value)
    return False


def test_message_new_is_streamed_as_create_channel_message(clean_app):
    stream = new_stream()
    put(chime(), clean_app["arn"], [{"DataType": "ChannelMessage", "ResourceArn": stream}])
    post_events([
        channel_event(
            "message.new",
            message=message("m1", "hello", priority="high"),
            user={"id": "alice"},
        )
    ])
    records = read_records(stream, lambda r: of_type(r, "CREATE_CHANNEL_MESSAGE"))
    created = of_type(records, "CREATE_CHANNEL_MESSAGE")
    assert len(created) == 1, f"records on the stream: {records}"
    p = payload(created[0])
    arn = clean_app["arn"]
    assert p["ChannelArn"] == f"{arn}/channel/messaging:general"
    assert p["MessageId"] == "m1"
    assert p["Content"] == "hello"
    assert p["Sender"]["Arn"] == f"{arn}/user/alice"
    assert p["Sender"]["Name"] == "Alice"
    assert p["Type"] == "STANDARD"
    assert p["Persistence"] == "PERSISTENT"
    assert p["CreatedTimestamp"] == "2026-12-01T08:56:27.123Z"
    assert isinstance(p["Metadata"], str), p
    metadata = json.loads(p["Metadata"])
    assert contains_pair(metadata, "priority", "high"), p["Metadata"]


def test_message_deleted_soft_is_redact_and_hard_is_delete(clean_app):
    stream = new_stream()
    put(chime(), clean_app["arn"], [{"DataType": "ChannelMessage", "ResourceArn": stream}])
    deleted_at = "2026-12-01T09:00:00.000Z"
    post_events([
        channel_event("message.deleted", hard_delete=False, user={"id": "alice"},
                      message=message("m-soft", "soft", deleted_at=deleted_at)),
        channel_event("message.deleted", hard_delete=True, user={"id": "alice"},
                      message=message("m-hard", "hard", deleted_at=deleted_at)),
    ])
    records = read_records(
        stream,
        lambda r: of_type(r, "REDACT_CHANNEL_MESSAGE") and of_type(r, "DELETE_CHANNEL_MESSAGE"),
    )
    redacted = of_type(records, "REDACT_CHANNEL_MESSAGE")
    deleted = of_type(records, "DELETE_CHANNEL_MESSAGE")
    assert [payload(r)["MessageId"] for r in redacted] == ["m-soft"], records
    assert [payload(r)["MessageId"] for r in deleted] == ["m-hard"], records
    for r in redacted + deleted:
        assert payload(r)["ChannelArn"] == f"{clean_app['arn']}/channel/messaging:general"


def test_member_added_is_create_channel_membership(clean_app):
    stream = new_stream()
    put(chime(), clean_app["arn"], [{"DataType": "Channel", "ResourceArn": stream}])
    post_events([channel_event("member.added", member={"user": {"id": "bob"}})])
    records = read_records(stream, lambda r: of_type(r, "CREATE_CHANNEL_MEMBERSHIP"))
    added = of_type(records, "CREATE_CHANNEL_MEMBERSHIP")
    assert len(added) == 1, f"records on the stream: {records}"
    membership = payload(added[0])["ChannelMembership"]
    assert membership["Member"]["Arn"] == f"{clean_app['arn']}/user/bob"


def test_only_configured_data_types_are_streamed(clean_app):
    stream = new_stream()
    put(chime(), clean_app["arn"], [{"DataType": "Channel", "ResourceArn": stream}])
    # the message first, in a request of its own: by the time the membership record is on
    # the stream, a message record would have been too
    post_events([channel_event("message.new", message=message("m-x", "not streamed"), user={"id": "alice"})])
    post_events([channel_event("member.added", member={"user": {"id": "carol"}})])
    records = read_records(stream, lambda r: of_type(r, "CREATE_CHANNEL_MEMBERSHIP"))
    assert len(of_type(records, "CREATE_CHANNEL_MEMBERSHIP")) == 1, f"records: {records}"
    records = read_records(stream, lambda r: False, timeout=3)  # 3 s more for stragglers
    assert [r for r in records if r.get("EventType", "").endswith("_CHANNEL_MESSAGE")] == [], records
