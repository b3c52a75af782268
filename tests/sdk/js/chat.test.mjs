// Hookrelay's Stream-compatible chat source driven by the official JS server SDK (npm
// stream-chat 9.53.0): users, channels, members and messages, and the channel state the SDK
// keeps (channel.data, channel.state.members, channel.state.messages) after each call.
//
// Run through tests/sdk/run.sh (`node --test` in this directory). These tests use the third
// app, HOOKRELAY_CHAT_API_KEY / HOOKRELAY_CHAT_API_SECRET, which has no hooks: node runs
// sdk.test.mjs in parallel with this file, and the chat events fired here must not reach the
// hooks it sets on the other two apps. Every test uses its own users and channels (uuid).
// The events themselves are checked by tests/sdk/python/test_chat.py (parse_sqs, verify_webhook).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { StreamChat } from 'stream-chat';

const TIMEOUT = { timeout: 30_000 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/sdk/run.sh`);
  return value;
}

const uid = () => randomUUID().replace(/-/g, '').slice(0, 12);

/** A new client of the chat app (a new instance: its own activeChannels and state). */
function makeClient() {
  return new StreamChat(env('HOOKRELAY_CHAT_API_KEY'), env('HOOKRELAY_CHAT_API_SECRET'), {
    baseURL: env('HOOKRELAY_URL').replace(/\/+$/, ''),
    timeout: 10_000,
  });
}

/** Three fresh users of this test, upserted: { alice, bob, carol } -> ids. */
async function makeUsers(client) {
  const tag = uid();
  const ids = { alice: `alice-${tag}`, bob: `bob-${tag}`, carol: `carol-${tag}` };
  await client.upsertUsers(Object.entries(ids).map(([name, id]) => ({ id, name })));
  return ids;
}

/** Checks a rejected SDK call: HTTP status and Stream error code. */
function apiError(status, code, messageIncludes) {
  return (err) => {
    assert.equal(err.status, status, `HTTP ${err.status}: ${err.message}`);
    assert.equal(err.code, code, err.message);
    if (messageIncludes) assert.ok(err.message.includes(messageIncludes), err.message);
    return true;
  };
}

const memberKeys = (channel) => Object.keys(channel.state.members).sort();
const sorted = (...ids) => [...ids].sort();
const messageIds = (channel) => channel.state.messages.map((m) => m.id);
const findMessage = (channel, id) => channel.state.messages.find((m) => m.id === id);

/** The channel as a new client sees it after a query (nothing cached from earlier calls). */
async function freshState(type, id, createdById) {
  const channel = makeClient().channel(type, id, { created_by_id: createdById });
  await channel.query();
  return channel;
}

// ------------------------------------------------------------------------------------------
// users

test('upsertUsers and partialUpdateUser return flat users', TIMEOUT, async () => {
  const client = makeClient();
  const alice = `alice-${uid()}`;
  const resp = await client.upsertUsers([{ id: alice, name: 'Alice', favorite_color: 'blue' }]);
  assert.equal(typeof resp.duration, 'string');
  const user = resp.users[alice];
  assert.equal(user.id, alice);
  assert.equal(user.name, 'Alice');
  assert.equal(user.favorite_color, 'blue');
  assert.equal(user.role, 'user');
  assert.match(user.created_at, RFC3339);

  const partial = await client.partialUpdateUser({
    id: alice,
    set: { mood: 'happy' },
    unset: ['favorite_color'],
  });
  assert.equal(partial.users[alice].mood, 'happy');
  assert.equal(partial.users[alice].favorite_color, undefined);
  assert.equal(partial.users[alice].name, 'Alice');
});

// ------------------------------------------------------------------------------------------
// channels

test('create a channel with an id: channel.data and state', TIMEOUT, async () => {
  const client = makeClient();
  const { alice, bob } = await makeUsers(client);
  const id = `js-${uid()}`;
  const channel = client.channel('messaging', id, {
    members: [alice, bob],
    created_by_id: alice,
    color: 'red',
  });
  const resp = await channel.create();
  assert.equal(resp.channel.id, id);
  assert.equal(resp.channel.cid, `messaging:${id}`);
  assert.ok(Array.isArray(resp.pinned_messages) && Array.isArray(resp.read), JSON.stringify(resp));
  assert.equal(resp.watcher_count, 0);

  assert.equal(channel.id, id);
  assert.equal(channel.cid, `messaging:${id}`);
  assert.equal(channel.data.cid, `messaging:${id}`);
  assert.equal(channel.data.type, 'messaging');
  assert.equal(channel.data.created_by.id, alice);
  assert.equal(channel.data.member_count, 2);
  assert.equal(channel.data.color, 'red');
  assert.match(channel.data.created_at, RFC3339);
  assert.deepEqual(memberKeys(channel), sorted(alice, bob));
  assert.equal(channel.state.members[alice].user.id, alice);
  assert.deepEqual(channel.state.messages, []);

  // querying the existing channel (with other data) changes nothing
  const other = makeClient().channel('messaging', id, {
    members: [bob],
    created_by_id: bob,
    color: 'green',
  });
  await other.query();
  assert.equal(other.data.created_by.id, alice);
  assert.equal(other.data.color, 'red');
  assert.equal(other.data.created_at, channel.data.created_at);
  assert.deepEqual(memberKeys(other), sorted(alice, bob));
});

test('create a channel without an id: the server picks it', TIMEOUT, async () => {
  const client = makeClient();
  const { alice, bob, carol } = await makeUsers(client);

  // by members (the SDK's distinct-channel form)
  const byMembers = client.channel('messaging', { members: [alice, bob], created_by_id: alice });
  assert.equal(byMembers.id, undefined);
  const resp = await byMembers.create();
  assert.ok(typeof byMembers.id === 'string' && byMembers.id.length > 0, `id ${byMembers.id}`);
  assert.equal(resp.channel.id, byMembers.id);
  assert.equal(byMembers.cid, `messaging:${byMembers.id}`);
  assert.equal(resp.channel.cid, byMembers.cid);
  assert.equal(byMembers.data.cid, byMembers.cid);
  assert.deepEqual(memberKeys(byMembers), sorted(alice, bob));

  // with a null id (other members: another channel)
  const unnamed = client.channel('messaging', null, {
    members: [alice, carol],
    created_by_id: carol,
    topic: 'nameless',
  });
  await unnamed.create();
  assert.ok(unnamed.id, 'no id picked');
  assert.notEqual(unnamed.id, byMembers.id);
  assert.equal(unnamed.cid, `messaging:${unnamed.id}`);
  assert.equal(unnamed.data.topic, 'nameless');
  assert.deepEqual(memberKeys(unnamed), sorted(alice, carol));

  // the picked id is a working channel
  const sent = await byMembers.sendMessage({ text: 'in a server-named channel', user_id: bob });
  assert.equal(sent.message.cid, byMembers.cid);
  await byMembers.query();
  assert.deepEqual(messageIds(byMembers), [sent.message.id]);
});

test('a channel without created_by_id or with an unknown member is rejected', TIMEOUT, async () => {
  const client = makeClient();
  const { alice } = await makeUsers(client);
  await assert.rejects(
    client.channel('messaging', `js-${uid()}`, { members: [alice] }).create(),
    apiError(400, 4, 'created_by'),
  );
  await assert.rejects(
    client
      .channel('messaging', `js-${uid()}`, { members: [alice, `ghost-${uid()}`], created_by_id: alice })
      .create(),
    apiError(400, 4),
  );
});

test('addMembers and removeMembers: channel.data and state.members', TIMEOUT, async () => {
  const client = makeClient();
  const { alice, bob, carol } = await makeUsers(client);
  const channel = client.channel('messaging', `js-${uid()}`, {
    members: [alice, bob],
    created_by_id: alice,
  });
  await channel.create();

  let resp = await channel.addMembers([carol]);
  assert.deepEqual(resp.members.map((m) => m.user_id).sort(), sorted(alice, bob, carol));
  assert.equal(channel.data.member_count, 3);
  await channel.query();
  assert.deepEqual(memberKeys(channel), sorted(alice, bob, carol));

  resp = await channel.removeMembers([bob]);
  assert.deepEqual(resp.members.map((m) => m.user_id).sort(), sorted(alice, carol));
  assert.equal(channel.data.member_count, 2);
  // the query sends the channel's creation data (members alice and bob): it must not re-add bob
  await channel.query();
  assert.deepEqual(memberKeys(channel), sorted(alice, carol));
  assert.equal(channel.data.member_count, 2);

  // object form, with an announcement message
  resp = await channel.addMembers([{ user_id: bob }], { text: 'welcome back', user_id: alice });
  assert.equal(resp.message.text, 'welcome back');
  assert.equal(channel.data.member_count, 3);
  await channel.query();
  assert.deepEqual(memberKeys(channel), sorted(alice, bob, carol));
  assert.deepEqual(
    channel.state.messages.map((m) => m.text),
    ['welcome back'],
  );
});

test('update, updatePartial and delete a channel: channel.data', TIMEOUT, async () => {
  const client = makeClient();
  const { alice, bob } = await makeUsers(client);
  const id = `js-${uid()}`;
  const channel = client.channel('messaging', id, {
    members: [alice, bob],
    created_by_id: alice,
    color: 'red',
  });
  await channel.create();
  await channel.sendMessage({ text: 'before the delete', user_id: alice });

  let resp = await channel.update({ color: 'blue', topic: 'rust' });
  assert.equal(resp.channel.color, 'blue');
  assert.equal(channel.data.color, 'blue');
  assert.equal(channel.data.topic, 'rust');
  assert.equal(channel.data.cid, `messaging:${id}`);

  resp = await channel.updatePartial({ set: { topic: 'sdk' }, unset: ['color'] });
  assert.equal(resp.channel.topic, 'sdk');
  assert.equal(channel.data.topic, 'sdk');
  assert.equal(channel.data.color, undefined);
  await channel.query();
  assert.equal(channel.data.topic, 'sdk');
  assert.equal(channel.data.color, undefined);
  assert.deepEqual(memberKeys(channel), sorted(alice, bob));

  resp = await channel.delete();
  assert.equal(resp.channel.cid, `messaging:${id}`);
  assert.match(resp.channel.deleted_at, RFC3339);

  // gone: a new query creates it again, without the old members and messages
  const again = makeClient().channel('messaging', id, { members: [bob], created_by_id: bob });
  await again.create();
  assert.equal(again.data.created_by.id, bob);
  assert.equal(again.data.topic, undefined);
  assert.deepEqual(memberKeys(again), [bob]);
  assert.deepEqual(again.state.messages, []);
});

// ------------------------------------------------------------------------------------------
// messages

test('send, update, partially update and delete messages: state.messages', TIMEOUT, async () => {
  const client = makeClient();
  const { alice, bob } = await makeUsers(client);
  const id = `js-${uid()}`;
  const channel = client.channel('messaging', id, { members: [alice, bob], created_by_id: alice });
  await channel.create();

  const sent = await channel.sendMessage({ text: 'hello', user_id: alice, mood: 'sunny' });
  const mid = sent.message.id;
  assert.ok(typeof mid === 'string' && mid.length > 0);
  assert.equal(sent.message.text, 'hello');
  assert.equal(sent.message.type, 'regular');
  assert.equal(sent.message.user.id, alice);
  assert.equal(sent.message.cid, `messaging:${id}`);
  assert.equal(sent.message.mood, 'sunny');
  assert.equal(typeof sent.duration, 'string');
  await channel.query();
  assert.deepEqual(messageIds(channel), [mid]);
  assert.equal(findMessage(channel, mid).text, 'hello');
  assert.equal(findMessage(channel, mid).user.id, alice);
  assert.ok(findMessage(channel, mid).created_at instanceof Date, 'the SDK parsed created_at');

  // a client-chosen id, then the same id again
  const ownId = `msg-${uid()}`;
  const own = await channel.sendMessage({ id: ownId, text: 'mine', user_id: bob });
  assert.equal(own.message.id, ownId);
  await assert.rejects(
    channel.sendMessage({ id: ownId, text: 'again', user_id: bob }),
    apiError(400, 4),
  );
  await channel.query();
  assert.deepEqual(messageIds(channel), [mid, ownId]);

  // updateMessage
  const updated = await client.updateMessage({ id: mid, text: 'hello, edited', tone: 'warm' }, alice);
  assert.equal(updated.message.text, 'hello, edited');
  assert.equal(updated.message.tone, 'warm');
  await channel.query();
  assert.equal(findMessage(channel, mid).text, 'hello, edited');
  assert.equal(findMessage(channel, mid).tone, 'warm');

  // partialUpdateMessage merges
  const partial = await client.partialUpdateMessage(
    mid,
    { set: { awesome: true }, unset: ['tone'] },
    alice,
  );
  assert.equal(partial.message.awesome, true);
  assert.equal(partial.message.text, 'hello, edited');
  assert.equal(partial.message.tone, undefined);
  const afterPartial = await freshState('messaging', id, alice);
  assert.equal(findMessage(afterPartial, mid).awesome, true);
  assert.equal(findMessage(afterPartial, mid).tone, undefined);

  // soft delete
  const soft = await client.deleteMessage(mid);
  assert.equal(soft.message.id, mid);
  assert.equal(soft.message.type, 'deleted');
  assert.match(soft.message.deleted_at, RFC3339);

  // hard delete: the id is unknown afterwards
  const hard = await client.deleteMessage(ownId, true);
  assert.equal(hard.message.id, ownId);
  assert.match(hard.message.deleted_at, RFC3339);
  const afterHard = await freshState('messaging', id, alice);
  assert.ok(!messageIds(afterHard).includes(ownId), `hard-deleted ${ownId} still listed`);
  await assert.rejects(client.deleteMessage(ownId, true), apiError(404, 16));
  await assert.rejects(
    client.partialUpdateMessage(ownId, { set: { awesome: false } }, alice),
    apiError(404, 16),
  );
  await assert.rejects(
    client.updateMessage({ id: ownId, text: 'resurrected' }, alice),
    apiError(404, 16),
  );
});

test('sending to an unknown channel or as an unknown user is rejected', TIMEOUT, async () => {
  const client = makeClient();
  const { alice } = await makeUsers(client);
  await assert.rejects(
    client.channel('messaging', `nope-${uid()}`).sendMessage({ text: 'anyone?', user_id: alice }),
    apiError(404, 16),
  );

  const channel = client.channel('messaging', `js-${uid()}`, {
    members: [alice],
    created_by_id: alice,
  });
  await channel.create();
  await assert.rejects(
    channel.sendMessage({ text: 'who am I', user_id: `ghost-${uid()}` }),
    apiError(400, 4, 'user'),
  );
  await channel.query();
  assert.deepEqual(channel.state.messages, [], 'a rejected message is not stored');
});
