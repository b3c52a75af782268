import { test, expect, Locator, Page } from './csp';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { promisify } from 'util';

// AWS integrations (SQS, SNS, Kinesis) against the emulator, and delivery through the log:
// test events, disabled hooks, retries and redelivery. Runs after dashboard.spec.ts on the same
// server (files run in name order): the admin account exists. It uses an app of its own.
// The AWS resources are made with boto3 by end2end/aws.py (E2E_PYTHON, set by scripts/test.sh).
test.describe.configure({ mode: 'serial' });

const admin = { email: 'admin@example.com', password: 'correct horse battery' };
const shots = process.env.HOOKRELAY_SCREENSHOTS
  ? path.resolve(__dirname, '..', '..', 'docs', 'screenshots')
  : path.resolve(__dirname, '..', '..', 'target', 'e2e-screenshots');

const endpoint = process.env.AWS_ENDPOINT_URL;
const needsEmulator = 'needs the AWS emulator: AWS_ENDPOINT_URL is unset (scripts/test.sh starts one)';
const python = process.env.E2E_PYTHON || 'python3';
const awsScript = path.resolve(__dirname, '..', 'aws.py');
const run = `e2e-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Runs end2end/aws.py (asynchronously: the webhook receiver below shares this event loop). */
async function aws<T>(...args: string[]): Promise<T> {
  try {
    const { stdout } = await promisify(execFile)(python, [awsScript, ...args], {
      env: process.env,
      timeout: 60_000,
    });
    return JSON.parse(stdout) as T;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`aws.py ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

type SqsMessage = {
  message_id: string;
  body: string;
  event: Record<string, unknown> | null;
  attributes: Record<string, string>;
};

/** The mask the server shows for a stored key or secret. */
function mask(secret: string): string {
  return secret.length > 8 ? `****${secret.slice(-4)}` : '****';
}

// An in-test webhook receiver. `/ok` always answers 200. `/flaky` answers `flakyStatus`, or,
// while `flakyHold` is set, holds a retry (X-Webhook-Attempt > 1) until the test releases it
// and then answers 200: the test sees the retrying state whenever the retry comes.
type Hit = { path: string; status: number; attempt: number; webhookId: string; event: Record<string, unknown> };
const hits: Hit[] = [];
let flakyStatus = 200;
let flakyHold: Promise<void> | null = null;
let receiver: http.Server;
let receiverBase = '';

test.beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const attempt = Number(req.headers['x-webhook-attempt'] || 0);
      let status = 200;
      if (req.url === '/flaky') {
        if (flakyHold && attempt > 1) {
          await flakyHold;
        } else {
          status = flakyStatus;
        }
      }
      let event: Record<string, unknown> = {};
      try {
        event = JSON.parse(body);
      } catch {
        // not JSON: recorded without an event
      }
      hits.push({ path: req.url || '', status, attempt, webhookId: String(req.headers['x-webhook-id'] || ''), event });
      res.writeHead(status);
      res.end(status === 200 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

test.afterAll(() => receiver.close());

async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

async function logIn(page: Page) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/apps$/);
}

/**
 * Clicks the form's test button and returns the report of this very click: the report shown
 * before (if any) is marked, and only an unmarked one counts.
 */
async function runCheck(page: Page, button: string): Promise<Locator> {
  await page.evaluate(() =>
    document.querySelectorAll('[data-testid="check-report"]').forEach((e) => e.setAttribute('data-stale', '1')),
  );
  await page.getByRole('button', { name: button }).click();
  const report = page.locator('[data-testid="check-report"]:not([data-stale])');
  await expect(report).toBeVisible();
  await hydrated(page);
  return report;
}

async function fillKeys(page: Page, key: string, secret: string) {
  await page.getByLabel('Access key and secret').check();
  await page.getByLabel('Access key id').fill(key);
  await page.getByLabel('Secret access key').fill(secret);
}

function integrations(page: Page): Locator {
  return page.getByRole('table', { name: 'Integrations' });
}

/** The Integrations row of `target` (exactly one). */
function hookRow(page: Page, target: string): Locator {
  return integrations(page).getByRole('row').filter({ has: page.locator('code.target', { hasText: new RegExp(`^${reEscape(target)}$`) }) });
}

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Saves the form and returns the id of the integration listed with `target`. */
async function saveAndFind(page: Page, target: string, typeLabel: string): Promise<string> {
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));
  const row = hookRow(page, target);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(typeLabel);
  await expect(row).toContainText('Enabled');
  const id = await row.getAttribute('data-hook-id');
  expect(id).toBeTruthy();
  return id as string;
}

/** Sends a test event from the delivery log; returns its id, read from the `/ok` webhook. */
async function sendTestEvent(page: Page): Promise<string> {
  const before = hits.length;
  await page.goto(`${appUrl}/deliveries`);
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByRole('status')).toHaveText('Test event sent.');
  let id = '';
  await expect(() => {
    const hit = hits.slice(before).find((h) => h.path === '/ok' && h.event.type === 'hookrelay.test');
    expect(hit, 'the test event reached the enabled webhook').toBeTruthy();
    id = String(hit!.event.id);
  }).toPass({ timeout: 10_000 });
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id;
}

/** The delivery log's row of `eventId` for `hookId` (reloaded until `check` passes). */
async function expectDelivery(
  page: Page,
  hookId: string,
  eventId: string,
  check: (row: Locator) => Promise<void>,
  timeout = 10_000,
) {
  await expect(async () => {
    await page.goto(`${appUrl}/deliveries?hook_id=${encodeURIComponent(hookId)}`);
    const row = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').filter({ hasText: eventId });
    await expect(row).toHaveCount(1, { timeout: 500 });
    await check(row);
  }).toPass({ timeout, intervals: [250, 500, 1000] });
}

function cell(row: Locator, n: number): Locator {
  return row.getByRole('cell').nth(n);
}

let appUrl = '';
let okHookId = '';
let sqs: { url: string; arn: string; dlq_url: string };
let user: { key: string; secret: string };
let sqsHookId = '';
let lastSqsEvent = '';
let flakyHookId = '';

test('an app for the AWS integrations gets a webhook that always answers', async ({ page }) => {
  await logIn(page);
  await page.getByLabel('App name').fill('AWS hooks e2e');
  await page.getByRole('button', { name: 'Create app' }).click();
  await expect(page).toHaveURL(/\/apps\/\d+$/);
  appUrl = new URL(page.url()).pathname;

  await page.goto(`${appUrl}/hooks/new?type=webhook`);
  await hydrated(page);
  await page.getByLabel('Webhook URL').fill(`${receiverBase}/ok`);
  const report = await runCheck(page, 'Test webhook');
  await expect(report).toContainText('Test passed');
  okHookId = await saveAndFind(page, `${receiverBase}/ok`, 'Webhook');
});

test('SQS with keys: Test SQS passes with the root keys and an IAM user, and the queue is listed', async ({ page }) => {
  test.skip(!endpoint, needsEmulator);
  sqs = await aws('queue', `${run}-orders`, '--dlq');
  user = await aws('user', 'sqs:GetQueueAttributes', 'sqs:SendMessage', 'sqs:SendMessageBatch');
  expect(sqs.dlq_url).toBeTruthy();

  await logIn(page);
  await page.goto(`${appUrl}/hooks/new?type=sqs`);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Add Amazon SQS' })).toBeVisible();
  await page.getByLabel('Queue URL').fill(sqs.url);
  await fillKeys(page, 'test', 'test');
  let report = await runCheck(page, 'Test SQS');
  await expect(report).toContainText('Test passed');
  await expect(report.locator('li.step.ok')).toHaveText([
    /validate the queue URL/,
    /get credentials/,
    /read the queue attributes/,
    /send a test message/,
  ]);
  // it has a dead-letter queue: no hint about one
  await expect(report).not.toContainText('dead-letter queue');
  // the form kept what was typed
  await expect(page.getByLabel('Queue URL')).toHaveValue(sqs.url);
  await expect(page.getByLabel('Access key and secret')).toBeChecked();

  // the emulator checks an IAM user's signature and policy (not the root key's secret): the
  // saved integration uses such a user, so that a lost secret would show later
  await fillKeys(page, user.key, user.secret);
  report = await runCheck(page, 'Test SQS');
  await expect(report).toContainText('Test passed');
  await expect(page.getByLabel('Access key id')).toHaveValue(user.key);

  sqsHookId = await saveAndFind(page, sqs.url, 'Amazon SQS');
  await expect(hookRow(page, sqs.url)).toContainText('All events');
});

test('a wrong secret makes Test SQS say the secret does not match', async ({ page }) => {
  test.skip(!endpoint, needsEmulator);
  await logIn(page);
  await page.goto(`${appUrl}/hooks/new?type=sqs`);
  await hydrated(page);
  await page.getByLabel('Queue URL').fill(sqs.url);
  const wrong = (user.secret[0] === 'X' ? 'Y' : 'X') + user.secret.slice(1);
  await fillKeys(page, user.key, wrong);
  const report = await runCheck(page, 'Test SQS');
  await expect(report).toContainText('Test failed');
  await expect(report.getByRole('alert')).toHaveText(
    'the secret does not match the access key (SignatureDoesNotMatch): check the secret',
  );
  await expect(report.locator('li.step.failed')).toHaveCount(1);
  await expect(report.locator('li.step.failed')).toContainText('read the queue attributes');
});

test('a queue without a dead-letter queue passes the test with a hint to add one', async ({ page }) => {
  test.skip(!endpoint, needsEmulator);
  const plain = await aws<{ url: string }>('queue', `${run}-plain`);
  await logIn(page);
  await page.goto(`${appUrl}/hooks/new?type=sqs`);
  await hydrated(page);
  await page.getByLabel('Queue URL').fill(plain.url);
  await fillKeys(page, 'test', 'test');
  const report = await runCheck(page, 'Test SQS');
  await expect(report).toContainText('Test passed');
  await expect(report.locator('ul.hints')).toContainText(
    'Set up a dead-letter queue (a redrive policy) so that messages your consumer cannot process are kept, not lost.',
  );
  // the check's test message is in the queue, base64 of a hookrelay.test event
  const messages = await aws<SqsMessage[]>('receive', plain.url, '--seconds', '3');
  expect(messages).toHaveLength(1);
  expect(messages[0].event?.type).toBe('hookrelay.test');
  expect(messages[0].attributes['X-Hookrelay-Event-Type']).toBe('hookrelay.test');
});

test('SNS and Kinesis: Test passes, Save lists them', async ({ page }) => {
  test.skip(!endpoint, needsEmulator);
  const topic = await aws<{ arn: string }>('topic', `${run}-events`);
  const stream = await aws<{ arn: string; shards: number }>('stream', `${run}-stream`);
  expect(stream.shards).toBe(1);
  await logIn(page);

  await page.goto(`${appUrl}/hooks/new?type=sns`);
  await hydrated(page);
  await page.getByLabel('Topic ARN').fill(topic.arn);
  await fillKeys(page, 'test', 'test');
  let report = await runCheck(page, 'Test SNS');
  await expect(report).toContainText('Test passed');
  await expect(report).toContainText('publish a test message');
  await expect(report.locator('ul.hints')).toContainText('no confirmed subscriptions');
  await page.screenshot({ path: path.join(shots, 'sns-test.png'), fullPage: true });
  await saveAndFind(page, topic.arn, 'Amazon SNS');

  await page.goto(`${appUrl}/hooks/new?type=kinesis`);
  await hydrated(page);
  await page.getByLabel('Stream ARN').fill(stream.arn);
  await fillKeys(page, 'test', 'test');
  // no data type ticked: both (validation fills them in)
  await expect(page.getByLabel('ChannelMessage')).not.toBeChecked();
  report = await runCheck(page, 'Test Kinesis');
  await expect(report).toContainText('Test passed');
  await expect(report).toContainText('describe the stream');
  await expect(report).toContainText('ACTIVE, 1 open shard(s)');
  await expect(report).toContainText('put a test record');
  await expect(report.locator('ul.hints')).toContainText('fewer than 2 shards');
  await page.screenshot({ path: path.join(shots, 'kinesis-test.png'), fullPage: true });
  await saveAndFind(page, stream.arn, 'Amazon Kinesis');

  await expect(hookRow(page, topic.arn)).toHaveCount(1);
  await expect(integrations(page).getByRole('row')).toHaveCount(5); // header + webhook, SQS, SNS, Kinesis
});

test('editing the SQS integration shows masked keys, keeps the secret, and Test SQS still passes', async ({ page }) => {
  test.skip(!endpoint, needsEmulator);
  await logIn(page);
  await page.goto(appUrl);
  await hookRow(page, sqs.url).getByRole('link', { name: 'Edit' }).click();
  await expect(page.getByRole('heading', { name: 'Edit Amazon SQS' })).toBeVisible();
  await hydrated(page);
  await expect(page.getByLabel('Queue URL')).toHaveValue(sqs.url);
  await expect(page.getByLabel('Access key and secret')).toBeChecked();
  await expect(page.getByLabel('Access key id')).toHaveValue(mask(user.key));
  await expect(page.getByLabel('Secret access key')).toHaveValue(mask(user.secret));
  expect(await page.content()).not.toContain(user.secret);

  await page.getByLabel('message.new', { exact: true }).check();
  await page.getByLabel('channel.created', { exact: true }).check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));
  const row = hookRow(page, sqs.url);
  await expect(row).toContainText('message.new');
  await expect(row).toContainText('channel.created');
  await expect(row).not.toContainText('All events');

  await row.getByRole('link', { name: 'Edit' }).click();
  await hydrated(page);
  await expect(page.getByLabel('message.new', { exact: true })).toBeChecked();
  await expect(page.getByLabel('channel.created', { exact: true })).toBeChecked();
  await expect(page.getByLabel('Secret access key')).toHaveValue(mask(user.secret));
  // the masked values stand for the stored ones: a lost secret fails the emulator's signature check
  const report = await runCheck(page, 'Test SQS');
  await expect(report).toContainText('Test passed');
  await expect(report).toContainText('send a test message');
  expect(new URL(page.url()).pathname).toBe(`${appUrl}/hooks/${sqsHookId}/edit`);
});

test('a test event from the delivery log is delivered to every hook, and the SQS message reads back', async ({ page }) => {
  test.skip(!endpoint, needsEmulator);
  // empty the queue of the checks' test messages
  await aws('receive', sqs.url, '--seconds', '1');
  await logIn(page);
  const eventId = await sendTestEvent(page);

  // one delivery per enabled hook (webhook, SQS, SNS, Kinesis), all delivered
  await expect(async () => {
    await page.goto(`${appUrl}/deliveries`);
    const rows = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').filter({ hasText: eventId });
    await expect(rows).toHaveCount(4, { timeout: 500 });
    for (const status of await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')))) {
      expect(status).toBe('delivered');
    }
  }).toPass({ timeout: 15_000 });
  await expectDelivery(page, sqsHookId, eventId, async (row) => {
    await expect(row).toContainText('hookrelay.test', { timeout: 500 });
    await expect(cell(row, 3)).toHaveText('delivered', { timeout: 500 });
    await expect(cell(row, 4)).toHaveText('1', { timeout: 500 });
  });

  const messages = await aws<SqsMessage[]>('receive', sqs.url, '--seconds', '10', '--event-id', eventId);
  const delivered = messages.filter((m) => m.attributes['X-Hookrelay-Event-Id'] === eventId);
  expect(delivered, `the delivery of ${eventId} in ${JSON.stringify(messages)}`).toHaveLength(1);
  const m = delivered[0];
  expect(m.attributes['X-Hookrelay-Event-Type']).toBe('hookrelay.test');
  // the body is base64 of the event JSON (compression is off)
  const event = JSON.parse(Buffer.from(m.body, 'base64').toString('utf8'));
  expect(event.type).toBe('hookrelay.test');
  expect(event.id).toBe(eventId);
  expect(String(event.message)).toContain('AWS hooks e2e');
  lastSqsEvent = eventId;
});

test('a disabled SQS integration gets no more deliveries while the enabled webhook does', async ({ page }) => {
  test.skip(!endpoint, needsEmulator);
  expect(lastSqsEvent, 'the previous test delivered to the queue').toBeTruthy();
  await logIn(page);
  await page.goto(appUrl);
  const row = hookRow(page, sqs.url);
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('Disabled');
  await expect(row.getByRole('button', { name: 'Enable' })).toBeVisible();
  // nothing left over in the queue
  await aws('receive', sqs.url, '--seconds', '1');

  const eventId = await sendTestEvent(page);
  expect(eventId).not.toBe(lastSqsEvent);
  await expectDelivery(page, okHookId, eventId, async (r) => {
    await expect(cell(r, 3)).toHaveText('delivered', { timeout: 500 });
  });
  const messages = await aws<SqsMessage[]>('receive', sqs.url, '--seconds', '4');
  expect(messages, 'messages that reached the disabled queue').toEqual([]);
  // the SQS log has the earlier delivery only
  await page.goto(`${appUrl}/deliveries?hook_id=${encodeURIComponent(sqsHookId)}`);
  const log = page.getByRole('table', { name: 'Deliveries' });
  await expect(log.getByRole('row').filter({ hasText: lastSqsEvent })).toHaveCount(1);
  await expect(log.getByRole('row').filter({ hasText: eventId })).toHaveCount(0);
});

test('a failing webhook is retried with its error shown, then delivered once it answers 200', async ({ page }) => {
  // The first retry comes within 30 s (full jitter) and there is no redelivery for a delivery
  // still being retried: the test waits for the retry. The receiver answers the first attempt
  // 500 and holds the retry until the retrying state has been seen, then answers 200.
  test.setTimeout(90_000);
  await logIn(page);
  flakyStatus = 200;
  const flakyUrl = `${receiverBase}/flaky`;
  await page.goto(`${appUrl}/hooks/new?type=webhook`);
  await hydrated(page);
  await page.getByLabel('Webhook URL').fill(flakyUrl);
  await expect(await runCheck(page, 'Test webhook')).toContainText('Test passed');
  flakyHookId = await saveAndFind(page, flakyUrl, 'Webhook');

  let release = () => {};
  flakyHold = new Promise<void>((resolve) => (release = resolve));
  flakyStatus = 500;
  try {
    const eventId = await sendTestEvent(page);
    await expect(() => {
      expect(hits.some((h) => h.path === '/flaky' && h.event.id === eventId && h.status === 500)).toBe(true);
    }).toPass({ timeout: 10_000 });
    await expectDelivery(page, flakyHookId, eventId, async (row) => {
      await expect(row).toHaveAttribute('data-status', 'retrying', { timeout: 500 });
      await expect(cell(row, 3)).toHaveText('retrying', { timeout: 500 });
      expect(Number(await cell(row, 4).innerText())).toBeGreaterThanOrEqual(1);
      await expect(cell(row, 6)).toHaveText('the endpoint answered HTTP 500 Internal Server Error', { timeout: 500 });
    });
    // no redelivery for a delivery still being retried
    const row = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').filter({ hasText: eventId });
    await expect(row.getByRole('button', { name: 'Redeliver' })).toHaveCount(0);
    // the integrations list shows the backlog and the last error
    await page.goto(appUrl);
    await expect(hookRow(page, flakyUrl)).toContainText('0 delivered · 0 failed · 1 pending');
    await expect(hookRow(page, flakyUrl)).toContainText('the endpoint answered HTTP 500');

    release();
    await expectDelivery(
      page,
      flakyHookId,
      eventId,
      async (r) => {
        await expect(cell(r, 3)).toHaveText('delivered', { timeout: 500 });
        await expect(cell(r, 4)).toHaveText('2', { timeout: 500 });
      },
      60_000,
    );
    const tries = hits.filter((h) => h.path === '/flaky' && h.event.id === eventId);
    expect(tries.map((t) => [t.attempt, t.status])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    // the same X-Webhook-Id on every attempt: the receiver's deduplication key
    expect(tries[1].webhookId).toBe(tries[0].webhookId);
    await page.goto(appUrl);
    await expect(hookRow(page, flakyUrl)).toContainText('1 delivered · 0 failed · 0 pending');
  } finally {
    release();
    flakyHold = null;
    flakyStatus = 200;
  }
});

test('a webhook refusing a delivery fails it at once; after the fix Redeliver delivers it', async ({ page }) => {
  expect(flakyHookId, 'the previous test saved the flaky webhook').toBeTruthy();
  const flakyUrl = `${receiverBase}/flaky`;
  await logIn(page);
  flakyStatus = 410; // a 4xx other than 408/429: permanent
  const eventId = await sendTestEvent(page);
  await expectDelivery(page, flakyHookId, eventId, async (row) => {
    await expect(cell(row, 3)).toHaveText('failed', { timeout: 500 });
    await expect(cell(row, 4)).toHaveText('1', { timeout: 500 });
    await expect(cell(row, 6)).toHaveText('the endpoint answered HTTP 410 Gone', { timeout: 500 });
  });
  await page.goto(appUrl);
  await expect(hookRow(page, flakyUrl)).toContainText('1 delivered · 1 failed · 0 pending');
  await expect(hookRow(page, flakyUrl)).toContainText('the endpoint answered HTTP 410 Gone');

  flakyStatus = 200;
  const before = hits.filter((h) => h.path === '/flaky' && h.event.id === eventId).length;
  await page.goto(`${appUrl}/deliveries?hook_id=${encodeURIComponent(flakyHookId)}`);
  const row = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').filter({ hasText: eventId });
  await row.getByRole('button', { name: 'Redeliver', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('1 deliveries queued again.');
  // back on the filtered log
  expect(new URL(page.url()).searchParams.get('hook_id')).toBe(flakyHookId);
  await expectDelivery(page, flakyHookId, eventId, async (r) => {
    await expect(cell(r, 3)).toHaveText('delivered', { timeout: 500 });
    await expect(cell(r, 4)).toHaveText('1', { timeout: 500 });
    await expect(r.getByRole('button', { name: 'Redeliver' })).toHaveCount(0);
  });
  const after = hits.filter((h) => h.path === '/flaky' && h.event.id === eventId);
  expect(after.length).toBe(before + 1);
  expect(after[after.length - 1]).toMatchObject({ status: 200, attempt: 1 });
  // the hour's counts are outcomes: the failure stays counted beside the redelivery's success
  await page.goto(appUrl);
  await expect(hookRow(page, flakyUrl)).toContainText('2 delivered · 1 failed · 0 pending');
  await expect(hookRow(page, flakyUrl)).toContainText('Last success');
});
