// Hookrelay against the official Stream Chat JS server SDK (npm stream-chat 9.53.0).
//
// Run through tests/sdk/run.sh (`node --test` in this directory). It starts a fresh Hookrelay
// server with two apps, pre-creates AWS resources in the emulator and exports:
//
//   HOOKRELAY_URL, HOOKRELAY_API_KEY, HOOKRELAY_API_SECRET,
//   HOOKRELAY_OTHER_API_KEY, HOOKRELAY_OTHER_API_SECRET,
//   SDK_QUEUE_URL        an emulator SQS queue (root credentials test/test can send to it)
//   SDK_TOPIC_ARN        an emulator SNS topic
//   SDK_TOPIC_QUEUE_URL  a queue subscribed to SDK_TOPIC_ARN (to see what check_sns published)
//   SDK_PYTHON, AWS_*    used to read those queues with boto3 (this package has no AWS SDK)
//
// Every test starts from `event_hooks: []`. The tests in this file run one after another.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { StreamChat } from 'stream-chat';

const TIMEOUT = { timeout: 30_000 };
const AWS_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue';
const AWS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:sns-topic';
const NON_SQS_URL = 'https://foobar.com/123456789012/MyQueue';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/sdk/run.sh`);
  return value;
}

const baseURL = () => env('HOOKRELAY_URL').replace(/\/+$/, '');

function makeClient(key, secret, url = baseURL()) {
  // the SDK's default 3 s timeout on purpose: checks must answer well within it
  return new StreamChat(key, secret, { baseURL: url });
}

/** The main app's client, with every hook removed. */
async function freshClient() {
  const client = makeClient(env('HOOKRELAY_API_KEY'), env('HOOKRELAY_API_SECRET'));
  await client.updateAppSettings({ event_hooks: [] });
  return client;
}

/** The second app's client, with every hook removed. */
async function freshOtherClient() {
  const client = makeClient(env('HOOKRELAY_OTHER_API_KEY'), env('HOOKRELAY_OTHER_API_SECRET'));
  await client.updateAppSettings({ event_hooks: [] });
  return client;
}

const uid = () => randomUUID().replace(/-/g, '').slice(0, 12);
const longKey = () => 'AKIA' + randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
const longSecret = () => (randomUUID() + randomUUID()).replace(/-/g, '').slice(0, 40);
const mask = (secret) => (secret.length > 8 ? '****' + secret.slice(-4) : '****');
const isSecretField = (field) => field.endsWith('_key') || field.endsWith('_secret');

function assertMasked(shown, sent) {
  assert.notEqual(shown, sent, 'a secret came back unmasked');
  assert.equal(shown, mask(sent));
  if (sent.length > 8) assert.ok(shown.endsWith(sent.slice(-4)));
}

async function getHooks(client) {
  const resp = await client.getAppSettings();
  assert.ok(Array.isArray(resp.app.event_hooks), 'event_hooks is not an array');
  return resp.app.event_hooks;
}

function onlyOfType(hooks, type) {
  const found = hooks.filter((h) => h.hook_type === type);
  assert.equal(found.length, 1, `expected one ${type} hook in ${JSON.stringify(hooks)}`);
  return found[0];
}

const byId = (hooks) => [...hooks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

function webhook(suffix = uid(), extra = {}) {
  return {
    hook_type: 'webhook',
    enabled: true,
    event_types: ['message.new'],
    webhook_url: `https://hooks.example.com/${suffix}`,
    ...extra,
  };
}

function sqsHook(extra = {}) {
  return {
    hook_type: 'sqs',
    enabled: true,
    event_types: ['message.new'],
    sqs_queue_url: AWS_QUEUE_URL,
    sqs_region: 'us-east-1',
    sqs_auth_type: 'keys',
    sqs_key: longKey(),
    sqs_secret: longSecret(),
    ...extra,
  };
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

// Receives and deletes every message of an emulator queue (through boto3 in SDK_PYTHON).
const DRAIN_PY = `
import json, os, sys, boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                   region_name=os.environ.get("AWS_REGION") or "us-east-1",
                   aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                   aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
url, wait, bodies = sys.argv[1], int(sys.argv[2]), []
while True:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
    if not got:
        break
    for m in got:
        bodies.append(m["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    wait = 0
print(json.dumps(bodies))
`;

function drain(queueUrl, firstWait = 2) {
  const out = execFileSync(env('SDK_PYTHON'), ['-c', DRAIN_PY, queueUrl, String(firstWait)], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return JSON.parse(out);
}

function checkOk(resp) {
  assert.equal(resp.status, 'ok', JSON.stringify(resp));
  assert.equal(resp.error, undefined, JSON.stringify(resp));
  assert.equal(typeof resp.duration, 'string');
}

function checkError(resp, includes) {
  assert.equal(resp.status, 'error', JSON.stringify(resp));
  assert.equal(typeof resp.error, 'string');
  assert.ok(resp.error.length > 0);
  assert.ok(
    resp.data !== null && typeof resp.data === 'object' && !Array.isArray(resp.data),
    `data must be an object: ${JSON.stringify(resp)}`,
  );
  if (includes) assert.ok(resp.error.includes(includes), resp.error);
  return resp.error;
}

// ------------------------------------------------------------------------------------------
// GET /app, GET /hook/events

test('getAppSettings returns event_hooks as an array', TIMEOUT, async () => {
  const client = await freshClient();
  const resp = await client.getAppSettings();
  assert.equal(typeof resp.duration, 'string');
  assert.ok(Array.isArray(resp.app.event_hooks));
  assert.deepEqual(resp.app.event_hooks, []);
});

test('getHookEvents lists the subscribable events', TIMEOUT, async () => {
  const client = await freshClient();
  const resp = await client.getHookEvents();
  assert.ok(Array.isArray(resp.events), JSON.stringify(resp));
  assert.ok(resp.events.length > 0);
  for (const e of resp.events) {
    assert.equal(typeof e.name, 'string');
    assert.equal(typeof e.description, 'string');
    assert.ok(Array.isArray(e.products), JSON.stringify(e));
  }
  const names = resp.events.map((e) => e.name);
  for (const name of ['message.new', 'channel.created', 'member.added']) {
    assert.ok(names.includes(name), `${name} missing from ${names}`);
  }
  assert.equal(new Set(names).size, names.length, 'duplicate event names');
});

// ------------------------------------------------------------------------------------------
// PATCH /app event_hooks

test('every hook type is stored and read back with masked secrets', TIMEOUT, async () => {
  const client = await freshClient();
  const queueUrl = env('SDK_QUEUE_URL');
  const s = {
    sqsKey: longKey(),
    sqsSecret: longSecret(),
    snsKey: longKey(),
    snsSecret: longSecret(),
    kinKey: longKey(),
    kinSecret: longSecret(),
  };
  const kinesisArn = `arn:aws:kinesis:us-east-1:000000000000:stream/sdk-js-${uid()}`;
  const resp = await client.updateAppSettings({
    event_hooks: [
      webhook('webhook', { event_types: ['message.new', 'channel.created'] }),
      sqsHook({ sqs_queue_url: queueUrl, sqs_key: s.sqsKey, sqs_secret: s.sqsSecret }),
      {
        hook_type: 'sns',
        enabled: false,
        event_types: [],
        sns_topic_arn: AWS_TOPIC_ARN,
        sns_region: 'us-east-1',
        sns_auth_type: 'keys',
        sns_key: s.snsKey,
        sns_secret: s.snsSecret,
      },
      {
        hook_type: 'kinesis',
        enabled: true,
        event_types: ['message.new', 'member.added'],
        product: 'chat',
        kinesis_stream_arn: kinesisArn,
        kinesis_region: 'us-east-1',
        kinesis_auth_type: 'keys',
        kinesis_key: s.kinKey,
        kinesis_secret: s.kinSecret,
        kinesis_data_types: ['ChannelMessage', 'Channel'],
      },
      {
        hook_type: 'pending_message',
        enabled: true,
        webhook_url: 'https://hooks.example.com/pending',
        timeout_ms: 10000,
        callback: { mode: 'CALLBACK_MODE_REST' },
      },
    ],
  });
  assert.equal(typeof resp.duration, 'string');

  const hooks = await getHooks(client);
  assert.equal(hooks.length, 5);
  assert.deepEqual(hooks.map((h) => h.hook_type).sort(), [
    'kinesis',
    'pending_message',
    'sns',
    'sqs',
    'webhook',
  ]);
  assert.equal(new Set(hooks.map((h) => h.id)).size, 5);
  for (const h of hooks) {
    assert.match(h.id, UUID);
    assert.equal(typeof h.enabled, 'boolean');
    assert.ok(Array.isArray(h.event_types));
    assert.equal(typeof h.product, 'string');
    assert.match(h.created_at, RFC3339);
    assert.match(h.updated_at, RFC3339);
    assert.ok(Date.parse(h.updated_at) >= Date.parse(h.created_at));
    for (const [field, value] of Object.entries(h)) {
      if (isSecretField(field) && value) assert.ok(String(value).startsWith('****'), field);
    }
  }

  const wh = onlyOfType(hooks, 'webhook');
  assert.equal(wh.webhook_url, 'https://hooks.example.com/webhook');
  assert.deepEqual(wh.event_types, ['message.new', 'channel.created']);
  assert.equal(wh.product, 'all');

  const sqs = onlyOfType(hooks, 'sqs');
  assert.equal(sqs.sqs_queue_url, queueUrl);
  assert.equal(sqs.sqs_region, 'us-east-1');
  assert.equal(sqs.sqs_auth_type, 'keys');
  assertMasked(sqs.sqs_key, s.sqsKey);
  assertMasked(sqs.sqs_secret, s.sqsSecret);

  const sns = onlyOfType(hooks, 'sns');
  assert.equal(sns.sns_topic_arn, AWS_TOPIC_ARN);
  assert.equal(sns.enabled, false);
  assert.deepEqual(sns.event_types, []);
  assertMasked(sns.sns_key, s.snsKey);
  assertMasked(sns.sns_secret, s.snsSecret);

  const kin = onlyOfType(hooks, 'kinesis');
  assert.equal(kin.kinesis_stream_arn, kinesisArn);
  assert.equal(kin.kinesis_region, 'us-east-1');
  assert.equal(kin.kinesis_auth_type, 'keys');
  assert.deepEqual(kin.kinesis_data_types, ['ChannelMessage', 'Channel']);
  assert.equal(kin.product, 'chat');
  assertMasked(kin.kinesis_key, s.kinKey);
  assertMasked(kin.kinesis_secret, s.kinSecret);

  const pm = onlyOfType(hooks, 'pending_message');
  assert.equal(pm.webhook_url, 'https://hooks.example.com/pending');
  assert.equal(pm.timeout_ms, 10000);
  assert.equal(pm.callback.mode, 'CALLBACK_MODE_REST');
});

test('masked hooks sent back unchanged keep their stored secrets', TIMEOUT, async () => {
  const client = await freshClient();
  const sqsKey = longKey();
  const sqsSecret = longSecret();
  const snsSecret = longSecret();
  await client.updateAppSettings({
    event_hooks: [
      webhook('round-trip'),
      sqsHook({ sqs_key: sqsKey, sqs_secret: sqsSecret }),
      {
        hook_type: 'sns',
        enabled: true,
        event_types: ['message.new'],
        sns_topic_arn: AWS_TOPIC_ARN,
        sns_region: 'us-east-1',
        sns_auth_type: 'keys',
        sns_key: longKey(),
        sns_secret: snsSecret,
      },
    ],
  });
  const first = await getHooks(client);

  // The masks are 8 characters: a server that stored a mask as the secret would show "****".
  await client.updateAppSettings({ event_hooks: first });
  const second = await getHooks(client);
  assert.deepEqual(
    second.map((h) => h.id).sort(),
    first.map((h) => h.id).sort(),
  );
  for (const h of first) {
    const again = second.find((x) => x.id === h.id);
    for (const field of Object.keys(h).filter(isSecretField)) {
      assert.equal(again[field], h[field], `${h.hook_type}.${field}`);
    }
  }
  assertMasked(onlyOfType(second, 'sqs').sqs_key, sqsKey);
  assertMasked(onlyOfType(second, 'sqs').sqs_secret, sqsSecret);
  assertMasked(onlyOfType(second, 'sns').sns_secret, snsSecret);

  // change only `enabled`
  await client.updateAppSettings({
    event_hooks: second.map((h) => (h.hook_type === 'sqs' ? { ...h, enabled: false } : h)),
  });
  const third = await getHooks(client);
  const sqs = onlyOfType(third, 'sqs');
  assert.equal(sqs.enabled, false);
  assert.equal(sqs.sqs_key, mask(sqsKey));
  assert.equal(sqs.sqs_secret, mask(sqsSecret));
  assert.equal(onlyOfType(third, 'sns').sns_secret, mask(snsSecret));
});

test('a hook is updated by id', TIMEOUT, async () => {
  const client = await freshClient();
  await client.updateAppSettings({ event_hooks: [webhook('update')] });
  const [before] = await getHooks(client);

  await client.updateAppSettings({
    event_hooks: [{ ...before, event_types: ['message.new', 'channel.created', 'member.added'] }],
  });
  const hooks = await getHooks(client);
  assert.equal(hooks.length, 1);
  const [after] = hooks;
  assert.equal(after.id, before.id);
  assert.deepEqual(after.event_types, ['message.new', 'channel.created', 'member.added']);
  assert.equal(after.webhook_url, before.webhook_url);
  assert.equal(Date.parse(after.created_at), Date.parse(before.created_at));
  assert.ok(Date.parse(after.updated_at) >= Date.parse(before.updated_at));
});

test('hooks left out of the array are deleted', TIMEOUT, async () => {
  const client = await freshClient();
  await client.updateAppSettings({ event_hooks: [webhook('keep'), webhook('drop')] });
  const hooks = await getHooks(client);
  assert.equal(hooks.length, 2);
  const keep = hooks.find((h) => h.webhook_url.endsWith('/keep'));

  await client.updateAppSettings({ event_hooks: [keep] });
  const after = await getHooks(client);
  assert.deepEqual(
    after.map((h) => h.id),
    [keep.id],
  );
});

test('an empty array clears every hook', TIMEOUT, async () => {
  const client = await freshClient();
  await client.updateAppSettings({ event_hooks: [webhook(), sqsHook(), webhook()] });
  assert.equal((await getHooks(client)).length, 3);
  await client.updateAppSettings({ event_hooks: [] });
  const resp = await client.getAppSettings();
  assert.deepEqual(resp.app.event_hooks, []);
});

test('a patch without event_hooks leaves the hooks alone', TIMEOUT, async () => {
  const client = await freshClient();
  await client.updateAppSettings({ event_hooks: [webhook('stay'), sqsHook()] });
  const before = await getHooks(client);
  await client.updateAppSettings({ enable_hook_payload_compression: false });
  await client.updateAppSettings({ webhook_events: ['message.new'] });
  assert.deepEqual(byId(await getHooks(client)), byId(before));
});

test('explicit_event_hooks_deletion deletes only the hooks marked delete', TIMEOUT, async () => {
  const client = await freshClient();
  await client.updateAppSettings({ event_hooks: [webhook('a'), webhook('b'), webhook('c')] });
  const hooks = await getHooks(client);
  const [a, b, c] = ['a', 'b', 'c'].map((n) => hooks.find((h) => h.webhook_url.endsWith('/' + n)));

  await client.updateAppSettings({
    explicit_event_hooks_deletion: true,
    event_hooks: [{ id: b.id, delete: true }],
  });
  let after = await getHooks(client);
  assert.deepEqual(byId(after), byId([a, c]));

  // an existing id updates that hook; omitted hooks still stay
  await client.updateAppSettings({
    explicit_event_hooks_deletion: true,
    event_hooks: [{ ...a, event_types: ['channel.created'] }],
  });
  after = await getHooks(client);
  assert.equal(after.length, 2);
  assert.deepEqual(after.find((h) => h.id === a.id).event_types, ['channel.created']);
  assert.deepEqual(
    after.find((h) => h.id === c.id),
    c,
  );

  // an id that does not exist yet creates a hook with that id
  const newId = randomUUID();
  await client.updateAppSettings({
    explicit_event_hooks_deletion: true,
    event_hooks: [{ id: newId, ...webhook('d') }],
  });
  after = await getHooks(client);
  assert.deepEqual(after.map((h) => h.id).sort(), [a.id, c.id, newId].sort());

  // without the flag, the same single-hook array deletes the others
  const d = after.find((h) => h.id === newId);
  await client.updateAppSettings({ event_hooks: [d] });
  assert.deepEqual(
    (await getHooks(client)).map((h) => h.id),
    [newId],
  );
});

test('an invalid hook fails the whole patch with error code 4', TIMEOUT, async () => {
  const client = await freshClient();
  await client.updateAppSettings({ event_hooks: [webhook('original')] });
  const before = await getHooks(client);
  await assert.rejects(
    client.updateAppSettings({
      event_hooks: [
        { ...before[0], webhook_url: 'https://hooks.example.com/changed' },
        sqsHook({ sqs_queue_url: NON_SQS_URL }),
        webhook('new'),
      ],
    }),
    apiError(400, 4, 'event_hooks[1].sqs_queue_url'),
  );
  assert.deepEqual(await getHooks(client), before);
});

test('an unknown event type is rejected with HTTP 400', TIMEOUT, async () => {
  const client = await freshClient();
  await client.updateAppSettings({ event_hooks: [webhook('existing')] });
  const before = await getHooks(client);
  await assert.rejects(
    client.updateAppSettings({
      event_hooks: [...before, webhook('x', { event_types: ['message.new', 'message.exploded'] })],
    }),
    apiError(400, 4),
  );
  assert.deepEqual(await getHooks(client), before);
});

// ------------------------------------------------------------------------------------------
// POST /check_sqs, /check_sns

test('testSQSSettings ok sends one test message to the queue', TIMEOUT, async () => {
  const client = await freshClient();
  const queueUrl = env('SDK_QUEUE_URL');
  drain(queueUrl, 0);
  const resp = await client.testSQSSettings({
    sqs_url: queueUrl,
    sqs_key: 'test',
    sqs_secret: 'test',
  });
  checkOk(resp);
  assert.equal(drain(queueUrl).length, 1);
});

test('testSQSSettings rejects a non-SQS url', TIMEOUT, async () => {
  const client = await freshClient();
  const resp = await client.testSQSSettings({
    sqs_url: NON_SQS_URL,
    sqs_key: 'key',
    sqs_secret: 'secret',
  });
  checkError(resp, 'invalid SQS url');
});

test('testSQSSettings() without data uses the stored sqs settings', TIMEOUT, async () => {
  const client = await freshClient();
  const queueUrl = env('SDK_QUEUE_URL');
  drain(queueUrl, 0);
  await client.updateAppSettings({ sqs_url: queueUrl, sqs_key: 'test', sqs_secret: 'test' });
  checkOk(await client.testSQSSettings()); // sends {}
  assert.equal(drain(queueUrl).length, 1);
});

test('testSNSSettings ok publishes one test message', TIMEOUT, async () => {
  const client = await freshClient();
  const topicArn = env('SDK_TOPIC_ARN');
  const subscribed = env('SDK_TOPIC_QUEUE_URL');
  drain(subscribed, 0);
  const resp = await client.testSNSSettings({
    sns_topic_arn: topicArn,
    sns_key: 'test',
    sns_secret: 'test',
  });
  checkOk(resp);
  const bodies = drain(subscribed);
  assert.equal(bodies.length, 1);
  assert.equal(JSON.parse(bodies[0]).TopicArn, topicArn);
});

test('testSNSSettings() without data uses the stored sns settings', TIMEOUT, async () => {
  const client = await freshClient();
  const topicArn = env('SDK_TOPIC_ARN');
  const subscribed = env('SDK_TOPIC_QUEUE_URL');
  drain(subscribed, 0);
  await client.updateAppSettings({ sns_topic_arn: topicArn, sns_key: 'test', sns_secret: 'test' });
  checkOk(await client.testSNSSettings());
  assert.equal(drain(subscribed).length, 1);
});

test('testSNSSettings with bad credentials fails to publish', TIMEOUT, async () => {
  const client = await freshClient();
  for (const arn of [env('SDK_TOPIC_ARN'), AWS_TOPIC_ARN]) {
    const resp = await client.testSNSSettings({
      sns_topic_arn: arn,
      sns_key: 'key',
      sns_secret: 'secret',
    });
    checkError(resp, 'publishing the message failed.');
  }
});

// ------------------------------------------------------------------------------------------
// authentication and isolation

test('a wrong api key is rejected with 401 and error code 2', TIMEOUT, async () => {
  const client = makeClient('no-such-key', env('HOOKRELAY_API_SECRET'));
  await assert.rejects(client.getAppSettings(), apiError(401, 2));
});

test('a wrong api secret is rejected with 401 and error code 5', TIMEOUT, async () => {
  const client = makeClient(env('HOOKRELAY_API_KEY'), 'not-the-secret-' + uid());
  await assert.rejects(client.getAppSettings(), apiError(401, 5));
  await assert.rejects(client.updateAppSettings({ event_hooks: [] }), apiError(401, 5));
  await assert.rejects(client.testSQSSettings(), apiError(401, 5));
});

test('apps never see each other’s hooks', TIMEOUT, async () => {
  const client = await freshClient();
  const other = await freshOtherClient();
  await client.updateAppSettings({ event_hooks: [webhook('app-a-' + uid())] });
  const [aHook] = await getHooks(client);
  assert.deepEqual(await getHooks(other), []);

  await other.updateAppSettings({ event_hooks: [webhook('app-b-' + uid())] });
  const [bHook] = await getHooks(other);
  assert.notEqual(bHook.id, aHook.id);
  assert.deepEqual(await getHooks(client), [aHook]);

  // the other app deleting "a's" hook id explicitly must not touch app A
  try {
    await other.updateAppSettings({
      explicit_event_hooks_deletion: true,
      event_hooks: [{ id: aHook.id, delete: true }],
    });
  } catch (err) {
    assert.ok(err.status >= 400 && err.status < 500, err.message);
  }
  assert.deepEqual(await getHooks(client), [aHook]);

  await other.updateAppSettings({ event_hooks: [] });
  assert.deepEqual(await getHooks(client), [aHook]);
});
