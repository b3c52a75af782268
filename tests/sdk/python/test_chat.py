"""Hookrelay's Stream-compatible chat source driven by the official Python SDK (PyPI stream-chat
4.33.0), and the events it fires read back with the SDK's own decoders (parse_sqs,
verify_webhook).

Run through tests/sdk/run.sh (see test_sdk.py for the environment). These tests use the main
app (HOOKRELAY_API_KEY): the `client` fixture puts its hooks back to `event_hooks: []` before and
after each test, and every test uses its own users and channels (uuid), so the chat data of one
test never meets another's.
"""

import http.server
import os
import re
import threading
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException

WAIT_SECONDS = 20
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
CHAT_EVENT_TYPES = [
    "message.new",
    "message.updated",
    "message.deleted",
    "member.added",
    "member.removed",
    "channel.created",
    "channel.updated",
    "channel.deleted",
    "user.updated",
]


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through tests/sdk/run.sh")
    return value


def uid() -> str:
    return uuid.uuid4().hex[:12]


def assert_time(value) -> None:
    assert isinstance(value, str) and RFC3339.match(value), f"not RFC 3339: {value!r}"


def api_error(excinfo, status: int, code: int, *needles: str) -> StreamAPIException:
    err = excinfo.value
    assert err.status_code == status, f"HTTP {err.status_code}: {err.response_text}"
    assert err.json_response, f"not Stream error JSON: {err.response_text}"
    assert err.error_code == code, err.response_text
    for needle in needles:
        assert needle in err.error_message, err.response_text
    return err


def member_ids(members: list) -> list:
    return sorted(m["user_id"] for m in members)


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture
def client():
    """The main app's client, with no hooks before and after the test."""
    c = StreamChat(
        env("HOOKRELAY_API_KEY"),
        env("HOOKRELAY_API_SECRET"),
        base_url=env("HOOKRELAY_URL").rstrip("/"),
    )
    c.update_app_settings(event_hooks=[])
    yield c
    c.update_app_settings(event_hooks=[])


@pytest.fixture
def names():
    """Three fresh user ids: alice, bob and carol of this test."""
    tag = uid()
    return {"alice": f"alice-{tag}", "bob": f"bob-{tag}", "carol": f"carol-{tag}"}


@pytest.fixture
def users(client, names):
    """The three users, upserted (with no hooks configured)."""
    client.upsert_users([{"id": i, "name": n.title()} for n, i in names.items()])
    return names


@pytest.fixture(scope="module")
def sqs():
    return boto3.client(
        "sqs",
        endpoint_url=env("AWS_ENDPOINT_URL").rstrip("/"),
        region_name=os.environ.get("AWS_REGION") or "us-east-1",
        aws_access_key_id=env("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env("AWS_SECRET_ACCESS_KEY"),
        config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=10),
    )


@pytest.fixture
def queue(sqs):
    url = sqs.create_queue(QueueName=f"sdk-py-chat-{uid()}")["QueueUrl"]
    yield url
    try:
        sqs.delete_queue(QueueUrl=url)
    except Exception:
        pass


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
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/chat-hook"
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


def receive_events(client: StreamChat, sqs, queue_url: str, n: int) -> list:
    """Receives (and deletes) n messages, then checks for 2 s that no more come; returns them
    decoded with the SDK's parse_sqs, each checked against its event-type attribute."""
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
    assert len(got) >= n, f"{len(got)} of {n} messages: {[m['Body'][:60] for m in got]}"
    extra = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    got += extra.get("Messages", [])
    events = []
    for m in got:
        event = client.parse_sqs(m["Body"])
        assert isinstance(event, dict), event
        attrs = m.get("MessageAttributes", {})
        if "X-Hookrelay-Event-Type" in attrs:
            assert attrs["X-Hookrelay-Event-Type"]["StringValue"] == event["type"], attrs
        events.append(event)
    assert len(events) == n, f"expected {n} events, got {sorted(e['type'] for e in events)}"
    return events


def of_type(events: list, event_type: str) -> list:
    return [e for e in events if e["type"] == event_type]


# --------------------------------------------------------------------------------------------
# users


def test_upsert_users_and_partial_update(client, names):
    alice, bob = names["alice"], names["bob"]
    resp = client.upsert_users(
        [
            {"id": alice, "name": "Alice", "favorite_color": "blue"},
            {"id": bob, "role": "admin"},
        ]
    )
    assert resp.status_code() == 201
    assert isinstance(resp["duration"], str)
    assert set(resp["users"]) == {alice, bob}
    a = resp["users"][alice]
    assert a["id"] == alice and a["name"] == "Alice"
    assert a["favorite_color"] == "blue", "custom fields are flat"
    assert a["role"] == "user"
    assert a["banned"] is False
    assert_time(a["created_at"])
    assert_time(a["updated_at"])
    assert resp["users"][bob]["role"] == "admin"

    resp = client.update_user_partial(
        {"id": alice, "set": {"mood": "happy"}, "unset": ["favorite_color"]}
    )
    assert resp.status_code() == 200
    a = resp["users"][alice]
    assert a["mood"] == "happy"
    assert "favorite_color" not in a
    assert a["name"] == "Alice", "fields left out of set/unset are kept"

    # a second upsert replaces the user's data
    resp = client.upsert_user({"id": alice, "name": "Alice B."})
    assert resp["users"][alice]["name"] == "Alice B."
    assert "mood" not in resp["users"][alice]


def test_partial_update_of_an_unknown_user_is_an_api_error(client):
    with pytest.raises(StreamAPIException) as e:
        client.update_user_partial({"id": f"ghost-{uid()}", "set": {"x": 1}})
    api_error(e, 404, 16)


# --------------------------------------------------------------------------------------------
# channels


def test_create_a_channel_with_an_id_and_members(client, users):
    alice, bob = users["alice"], users["bob"]
    channel_id = f"py-{uid()}"
    ch = client.channel("messaging", channel_id, {"members": [alice, bob], "color": "red"})
    resp = ch.create(alice)
    assert resp.status_code() == 201
    c = resp["channel"]
    assert c["id"] == channel_id and c["type"] == "messaging"
    assert c["cid"] == f"messaging:{channel_id}" == ch.cid
    assert c["created_by"]["id"] == alice
    assert c["member_count"] == 2
    assert c["color"] == "red", "custom fields are flat"
    assert c["frozen"] is False and c["disabled"] is False
    assert isinstance(c["config"], dict)
    assert_time(c["created_at"])
    assert member_ids(resp["members"]) == sorted([alice, bob])
    for m in resp["members"]:
        assert m["user"]["id"] == m["user_id"]
    assert resp["messages"] == []
    assert resp["pinned_messages"] == []
    assert isinstance(resp["read"], list)
    assert resp["watcher_count"] == 0
    assert isinstance(resp["duration"], str)

    # querying the existing channel changes nothing
    again = client.channel("messaging", channel_id, {"members": [alice], "color": "green"})
    resp2 = again.create(bob)
    assert resp2["channel"]["created_at"] == c["created_at"]
    assert resp2["channel"]["created_by"]["id"] == alice
    assert resp2["channel"]["color"] == "red"
    assert member_ids(resp2["members"]) == sorted([alice, bob])


def test_create_a_channel_without_an_id_the_server_picks_it(client, users):
    alice, bob = users["alice"], users["bob"]
    ch = client.channel("messaging", None, {"members": [alice, bob]})
    resp = ch.create(alice)
    picked = resp["channel"]["id"]
    assert isinstance(picked, str) and picked
    assert ch.id == picked
    assert resp["channel"]["cid"] == f"messaging:{picked}" == ch.cid
    assert member_ids(resp["members"]) == sorted([alice, bob])
    # the picked id is a working channel
    sent = ch.send_message({"text": "in a server-named channel"}, bob)
    assert sent["message"]["cid"] == ch.cid


def test_a_channel_query_without_created_by_is_rejected(client, users):
    ch = client.channel("messaging", f"py-{uid()}", {"members": [users["alice"]]})
    with pytest.raises(StreamAPIException) as e:
        ch.query()
    api_error(e, 400, 4, "created_by")


def test_a_channel_with_an_unknown_member_is_rejected(client, users):
    ghost = f"ghost-{uid()}"
    ch = client.channel("messaging", f"py-{uid()}", {"members": [users["alice"], ghost]})
    with pytest.raises(StreamAPIException) as e:
        ch.create(users["alice"])
    api_error(e, 400, 4)


def test_add_and_remove_members(client, users):
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    ch = client.channel("messaging", f"py-{uid()}", {"members": [alice, bob]})
    ch.create(alice)

    resp = ch.add_members([carol])
    assert resp.status_code() == 201
    assert len(resp["members"]) == 3
    assert member_ids(resp["members"]) == sorted([alice, bob, carol])
    assert resp["channel"]["member_count"] == 3

    resp = ch.remove_members([bob])
    assert len(resp["members"]) == 2
    assert member_ids(resp["members"]) == sorted([alice, carol])
    assert resp["channel"]["member_count"] == 2

    # object form, with a message announcing it
    resp = ch.add_members([{"user_id": bob}], message={"text": "welcome back", "user_id": alice})
    assert member_ids(resp["members"]) == sorted([alice, bob, carol])
    assert resp["message"]["text"] == "welcome back"
    state = client.channel("messaging", ch.id).create(alice)
    assert [m["text"] for m in state["messages"]] == ["welcome back"]
    assert member_ids(state["members"]) == sorted([alice, bob, carol])


def test_channel_update_partial_update_and_delete(client, users):
    alice, bob = users["alice"], users["bob"]
    channel_id = f"py-{uid()}"
    ch = client.channel("messaging", channel_id, {"members": [alice, bob], "color": "red"})
    ch.create(alice)
    ch.send_message({"text": "before the delete"}, alice)

    resp = ch.update({"color": "blue", "topic": "rust"})
    assert resp.status_code() == 201
    assert resp["channel"]["color"] == "blue" and resp["channel"]["topic"] == "rust"
    assert member_ids(resp["members"]) == sorted([alice, bob])

    resp = ch.update_partial(to_set={"topic": "sdk"}, to_unset=["color"])
    assert resp.status_code() == 200
    assert resp["channel"]["topic"] == "sdk"
    assert "color" not in resp["channel"]
    assert member_ids(resp["members"]) == sorted([alice, bob])

    resp = ch.delete()
    assert resp.status_code() == 200
    assert resp["channel"]["cid"] == f"messaging:{channel_id}"
    assert_time(resp["channel"]["deleted_at"])

    # the channel is gone: a new query creates it again, empty
    again = client.channel("messaging", channel_id, {"members": [bob]}).create(bob)
    assert again["messages"] == []
    assert member_ids(again["members"]) == [bob]
    assert again["channel"]["created_by"]["id"] == bob
    assert "topic" not in again["channel"]


# --------------------------------------------------------------------------------------------
# messages


def test_send_update_partially_update_and_delete_messages(client, users):
    alice, bob = users["alice"], users["bob"]
    ch = client.channel("messaging", f"py-{uid()}", {"members": [alice, bob]})
    ch.create(alice)

    sent = ch.send_message({"text": "hello", "mood": "sunny"}, alice, skip_push=True)
    assert sent.status_code() == 201
    m = sent["message"]
    mid = m["id"]
    assert isinstance(mid, str) and mid
    assert m["text"] == "hello" and m["type"] == "regular"
    assert m["user"]["id"] == alice and m["cid"] == ch.cid
    assert m["mood"] == "sunny", "custom fields are flat"
    for key in ("attachments", "latest_reactions", "own_reactions", "mentioned_users"):
        assert m[key] == [], key
    assert m["reply_count"] == 0
    assert_time(m["created_at"])

    # a client-chosen id is kept; sending it twice is bad input
    own_id = f"msg-{uid()}"
    sent2 = ch.send_message({"id": own_id, "text": "mine"}, bob)
    assert sent2["message"]["id"] == own_id
    with pytest.raises(StreamAPIException) as e:
        ch.send_message({"id": own_id, "text": "again"}, bob)
    api_error(e, 400, 4)

    # update_message replaces text and custom fields
    resp = client.update_message({"id": mid, "text": "hello, edited", "tone": "warm", "user_id": alice})
    assert resp.status_code() == 201
    assert resp["message"]["id"] == mid
    assert resp["message"]["text"] == "hello, edited"
    assert resp["message"]["tone"] == "warm"
    assert "mood" not in resp["message"]

    # update_message_partial merges
    resp = client.update_message_partial(
        mid, {"set": {"awesome": True, "text": "partially edited"}, "unset": ["tone"]}, alice
    )
    assert resp.status_code() == 201
    assert resp["message"]["awesome"] is True
    assert resp["message"]["text"] == "partially edited"
    assert "tone" not in resp["message"]
    assert resp["message"]["user"]["id"] == alice

    state = client.channel("messaging", ch.id).create(alice)
    by_id = {x["id"]: x for x in state["messages"]}
    assert list(by_id) == [mid, own_id], "oldest first"
    assert by_id[mid]["awesome"] is True and by_id[mid]["text"] == "partially edited"

    # soft delete
    resp = client.delete_message(mid, deleted_by=alice)
    assert resp.status_code() == 200
    assert resp["message"]["id"] == mid
    assert resp["message"]["type"] == "deleted"
    assert_time(resp["message"]["deleted_at"])

    # hard delete: afterwards the id is unknown
    resp = client.delete_message(own_id, hard=True)
    assert resp["message"]["id"] == own_id
    assert_time(resp["message"]["deleted_at"])
    with pytest.raises(StreamAPIException) as e:
        client.delete_message(own_id, hard=True)
    api_error(e, 404, 16)
    with pytest.raises(StreamAPIException) as e:
        client.update_message_partial(own_id, {"set": {"awesome": False}}, alice)
    api_error(e, 404, 16)
    state = client.channel("messaging", ch.id).create(alice)
    assert own_id not in [x["id"] for x in state["messages"]]


def test_sending_to_an_unknown_channel_is_an_api_error(client, users):
    ch = client.channel("messaging", f"nope-{uid()}")
    with pytest.raises(StreamAPIException) as e:
        ch.send_message({"text": "anyone?"}, users["alice"])
    api_error(e, 404, 16)


def test_sending_as_an_unknown_user_is_an_api_error(client, users):
    ch = client.channel("messaging", f"py-{uid()}", {"members": [users["alice"]]})
    ch.create(users["alice"])
    with pytest.raises(StreamAPIException) as e:
        ch.send_message({"text": "who am I"}, f"ghost-{uid()}")
    api_error(e, 400, 4, "user")


def test_updating_an_unknown_message_is_an_api_error(client, users):
    with pytest.raises(StreamAPIException) as e:
        client.update_message({"id": f"nope-{uid()}", "text": "x", "user_id": users["alice"]})
    api_error(e, 404, 16)
    with pytest.raises(StreamAPIException) as e:
        client.delete_message(f"nope-{uid()}")
    api_error(e, 404, 16)


# --------------------------------------------------------------------------------------------
# events


def test_chat_events_reach_sqs_and_parse_with_the_sdk(client, names, sqs, queue):
    alice, bob, carol = names["alice"], names["bob"], names["carol"]
    client.update_app_settings(
        event_hooks=[
            {
                "hook_type": "sqs",
                "enabled": True,
                "event_types": CHAT_EVENT_TYPES,
                "sqs_queue_url": queue,
                "sqs_region": "us-east-1",
                "sqs_auth_type": "keys",
                "sqs_key": env("AWS_ACCESS_KEY_ID"),
                "sqs_secret": env("AWS_SECRET_ACCESS_KEY"),
            }
        ],
        enable_hook_payload_compression=False,
    )

    client.upsert_users([{"id": alice}, {"id": bob}, {"id": carol}])  # 3 user.updated
    client.update_user_partial({"id": alice, "set": {"mood": "happy"}})  # user.updated
    channel_id = f"py-ev-{uid()}"
    cid = f"messaging:{channel_id}"
    ch = client.channel("messaging", channel_id, {"members": [alice, bob], "color": "red"})
    ch.create(alice)  # channel.created
    ch.create(alice)  # an existing channel: nothing
    m1 = ch.send_message({"text": "first"}, alice)["message"]["id"]  # message.new
    client.update_message({"id": m1, "text": "first, edited", "user_id": alice})  # message.updated
    client.update_message_partial(m1, {"set": {"awesome": True}}, alice)  # message.updated
    client.delete_message(m1)  # message.deleted (soft)
    m2 = ch.send_message({"text": "second"}, bob)["message"]["id"]  # message.new
    client.delete_message(m2, hard=True)  # message.deleted (hard)
    ch.add_members([carol])  # member.added
    ch.remove_members([bob])  # member.removed
    ch.update({"color": "blue"})  # channel.updated
    ch.update_partial(to_set={"topic": "events"})  # channel.updated
    ch.delete()  # channel.deleted

    events = receive_events(client, sqs, queue, 16)
    counts = {t: len(of_type(events, t)) for t in CHAT_EVENT_TYPES}
    assert counts == {
        "message.new": 2,
        "message.updated": 2,
        "message.deleted": 2,
        "member.added": 1,
        "member.removed": 1,
        "channel.created": 1,
        "channel.updated": 2,
        "channel.deleted": 1,
        "user.updated": 4,
    }, counts

    for e in events:
        assert_time(e["created_at"])
        if e["type"] != "user.updated":
            assert e["cid"] == cid, e
            assert e["channel_type"] == "messaging" and e["channel_id"] == channel_id, e

    # user.updated: one per user, members empty
    updated = of_type(events, "user.updated")
    assert sorted(e["user"]["id"] for e in updated) == sorted([alice, alice, bob, carol])
    assert [e["user"].get("mood") for e in updated if e["user"]["id"] == alice].count("happy") == 1
    for e in updated:
        assert e["members"] == [], e

    (created,) = of_type(events, "channel.created")
    assert created["channel"]["id"] == channel_id and created["channel"]["cid"] == cid
    assert created["channel"]["created_by"]["id"] == alice
    assert created["channel"]["color"] == "red"

    # message.new: message_id and message.id are the ids the sends returned
    new = {e["message"]["id"]: e for e in of_type(events, "message.new")}
    assert set(new) == {m1, m2}
    for mid, text, author in ((m1, "first", alice), (m2, "second", bob)):
        e = new[mid]
        assert e["message_id"] == mid
        assert e["message"]["text"] == text and e["message"]["type"] == "regular"
        assert e["message"]["user"]["id"] == author and e["user"]["id"] == author
        assert e["message"]["cid"] == cid
        assert isinstance(e["watcher_count"], int)
        assert 0 < len(e["members"]) <= 50

    updates = of_type(events, "message.updated")
    assert {e["message"]["id"] for e in updates} == {m1}
    texts = sorted(e["message"]["text"] for e in updates)
    assert texts == ["first, edited", "first, edited"]
    assert any(e["message"].get("awesome") is True for e in updates)
    assert any(e.get("message_update", {}).get("old_text") == "first" for e in updates), updates

    deleted = {e["message"]["id"]: e for e in of_type(events, "message.deleted")}
    assert set(deleted) == {m1, m2}
    assert deleted[m1]["hard_delete"] is False
    assert deleted[m2]["hard_delete"] is True
    for e in deleted.values():
        assert_time(e["message"]["deleted_at"])

    (added,) = of_type(events, "member.added")
    assert added["member"]["user_id"] == carol
    assert added["channel"]["cid"] == cid
    assert "user" in added
    (removed,) = of_type(events, "member.removed")
    assert removed["member"]["user_id"] == bob
    assert removed["channel"]["cid"] == cid

    chan_updates = of_type(events, "channel.updated")
    assert any(e["channel"].get("color") == "blue" for e in chan_updates), chan_updates
    assert any(e["channel"].get("topic") == "events" for e in chan_updates), chan_updates

    (gone,) = of_type(events, "channel.deleted")
    assert gone["channel"]["cid"] == cid
    assert_time(gone["channel"]["deleted_at"])


def test_chat_events_reach_a_webhook_signed(client, users, receiver):
    alice, bob = users["alice"], users["bob"]
    client.update_app_settings(
        event_hooks=[
            {
                "hook_type": "webhook",
                "enabled": True,
                "event_types": ["message.new"],
                "webhook_url": receiver.url,
            }
        ],
        enable_hook_payload_compression=False,
    )
    ch = client.channel("messaging", f"py-wh-{uid()}", {"members": [alice, bob]})
    ch.create(alice)  # channel.created: not subscribed
    sent = ch.send_message({"text": "signed hello"}, bob)["message"]

    receiver.wait_for(1)
    time.sleep(1.5)
    assert len(receiver.requests) == 1, "only the subscribed event type is delivered"
    ((headers, body),) = receiver.requests
    signature = headers["x-signature"]
    assert client.verify_webhook(body, signature) is True
    assert client.verify_webhook(body + b" ", signature) is False
    event = client.verify_and_parse_webhook(body, signature)
    assert event["type"] == "message.new"
    assert event["cid"] == ch.cid
    assert event["message_id"] == sent["id"] == event["message"]["id"]
    assert event["message"]["text"] == "signed hello"
    assert event["user"]["id"] == bob
