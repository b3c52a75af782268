import { test, expect, Page } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';

// The AWS integrations end to end: SQS, SNS and Kinesis forms tested against the emulator and
// saved, the credential and dead-letter-queue answers, edit keeping the secret, a test event
// read back from the emulator's queue, disable stopping deliveries, and a refused webhook
// redelivered after it is fixed. Runs after dashboard.spec.ts (the admin account exists).
test.describe.configure({ mode: 'serial' });

const admin = { email: 'admin@example.com', password: 'correct horse battery' };
const endpoint = process.env.AWS_ENDPOINT_URL;
const shots = process.env.HOOKRELAY_SCREENSHOTS
  ? path.resolve(__dirname, '..', '..', 'docs', 'screenshots')
  : path.resolve(__dirname, '..', '..', 'target', 'e2e-screenshots');
const unique = Date.now().toString(36);

/** end2end/aws.py (boto3 against the emulator); returns its JSON answer. */
function aws(...args: string[]): any {
  const out = execFileSync(process.env.E2E_PYTHON || 'python3', [path.join(__dirname, '..', 'aws.py'), ...args], {
    env: process.env,
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

async function logIn(page: Page) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/apps$/);
}

let appUrl = '';
let queue: { url: string } = { url: '' };

test.beforeAll(() => {
  fs.mkdirSync(shots, { recursive: true });
});

test.beforeEach(() => {
  test.skip(!endpoint, 'needs the AWS emulator (scripts/test.sh starts it and exports AWS_ENDPOINT_URL)');
});

/** Fills the SQS form with keys auth and presses Test SQS; returns the report. */
async function testSqs(page: Page, url: string, key: string, secret: string) {
  await page.getByLabel('Queue URL').fill(url);
  await page.getByLabel('Access key and secret').check();
  await page.getByLabel('Access key id').fill(key);
  await page.getByLabel('Secret access key').fill(secret);
  await page.getByRole('button', { name: 'Test SQS' }).click();
  return page.getByTestId('check-report');
}

test('SQS with keys: Test SQS passes, Save lists it; a wrong secret and a missing DLQ are explained', async ({ page }) => {
  await logIn(page);
  await page.getByLabel('App name').fill(`AWS e2e ${unique}`);
  await page.getByRole('button', { name: 'Create app' }).click();
  await expect(page).toHaveURL(/\/apps\/\d+$/);
  appUrl = new URL(page.url()).pathname;

  // a queue without a dead-letter queue: the test passes, with the hint
  const bare = aws('queue', `e2e-bare-${unique}`);
  await page.goto(`${appUrl}/hooks/new?type=sqs`);
  let report = await testSqs(page, bare.url, 'test', 'test');
  await expect(report).toContainText('Test passed');
  await expect(report).toContainText('Set up a dead-letter queue');

  // a real IAM key with a wrong secret
  const user = aws('user', 'sqs:*');
  report = await testSqs(page, bare.url, user.key, 'not-the-secret-0000000000000000000000000');
  await expect(report).toContainText('Test failed');
  await expect(report).toContainText('the secret does not match the access key');
  // the same key with its secret passes
  report = await testSqs(page, bare.url, user.key, user.secret);
  await expect(report).toContainText('Test passed');

  // the queue that is saved has a dead-letter queue: no hint
  queue = aws('queue', `e2e-${unique}`, '--dlq');
  report = await testSqs(page, queue.url, 'test', 'test-secret-for-e2e-1234');
  await expect(report).toContainText('Test passed');
  await expect(report).not.toContainText('dead-letter');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));
  const row = page.getByRole('table', { name: 'Integrations' }).getByRole('row', { name: /Amazon SQS/ });
  await expect(row).toContainText(queue.url);
  await expect(row).toContainText('Enabled');
});

test('SNS and Kinesis: tested against the emulator and saved', async ({ page }) => {
  await logIn(page);
  const topic = aws('topic', `e2e-${unique}`);
  await page.goto(`${appUrl}/hooks/new?type=sns`);
  await page.getByLabel('Topic ARN').fill(topic.arn);
  await page.getByLabel('Access key id').fill('test');
  await page.getByLabel('Secret access key').fill('test');
  await page.getByRole('button', { name: 'Test SNS' }).click();
  await expect(page.getByTestId('check-report')).toContainText('Test passed');
  await page.screenshot({ path: path.join(shots, 'sns-test.png'), fullPage: true });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));

  const stream = aws('stream', `e2e-${unique}`);
  await page.goto(`${appUrl}/hooks/new?type=kinesis`);
  await page.getByLabel('Stream ARN').fill(stream.arn);
  await page.getByLabel('Access key id').fill('test');
  await page.getByLabel('Secret access key').fill('test');
  await page.getByLabel('ChannelMessage', { exact: true }).check();
  await page.getByRole('button', { name: 'Test Kinesis' }).click();
  await expect(page.getByTestId('check-report')).toContainText('Test passed');
  await page.screenshot({ path: path.join(shots, 'kinesis-test.png'), fullPage: true });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));

  const list = page.getByRole('table', { name: 'Integrations' });
  await expect(list.getByRole('row', { name: /Amazon SNS/ })).toContainText(topic.arn);
  await expect(list.getByRole('row', { name: /Amazon Kinesis/ })).toContainText(stream.arn);
});

test('edit keeps the secret: the masked form still tests and saves', async ({ page }) => {
  await logIn(page);
  await page.goto(appUrl);
  const row = page.getByRole('table', { name: 'Integrations' }).getByRole('row', { name: /Amazon SQS/ });
  await row.getByRole('link', { name: 'Edit' }).click();
  await expect(page.getByRole('heading', { name: 'Edit Amazon SQS' })).toBeVisible();
  const secret = page.getByLabel('Secret access key');
  await expect(secret).toHaveValue(/^\*+1234$/);
  await page.getByLabel('message.new', { exact: true }).check();
  await page.getByRole('button', { name: 'Test SQS' }).click();
  await expect(page.getByTestId('check-report')).toContainText('Test passed');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));
  await expect(row).toContainText('message.new');
});

test('a test event reaches the queue and shows delivered; disabled, the queue gets nothing', async ({ page }) => {
  await logIn(page);
  await page.goto(`${appUrl}/deliveries`);
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByRole('status')).toHaveText('Test event sent.');
  await expect(async () => {
    await page.reload();
    const rows = page.getByRole('table', { name: 'Deliveries' }).getByRole('row', { name: /Amazon SQS/ });
    await expect(rows.first()).toContainText('delivered', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  const got = aws('receive', queue.url, '--seconds', '5');
  // deliveries carry the event id (the Test SQS checks above left messages without it)
  const deliveries = got.filter((m: any) => m.attributes['X-Hookrelay-Event-Id']);
  expect(deliveries).toHaveLength(1);
  expect(deliveries[0].event.type).toBe('hookrelay.test');
  expect(deliveries[0].attributes['X-Hookrelay-Event-Id']).toBe(deliveries[0].event.id);

  await page.goto(appUrl);
  const row = page.getByRole('table', { name: 'Integrations' }).getByRole('row', { name: /Amazon SQS/ });
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('Disabled');
  await page.goto(`${appUrl}/deliveries`);
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByRole('status')).toHaveText('Test event sent.');
  // the other integrations still get it
  await expect(async () => {
    await page.reload();
    const sns = page.getByRole('table', { name: 'Deliveries' }).getByRole('row', { name: /Amazon SNS/ });
    await expect(sns).toHaveCount(2, { timeout: 500 });
    await expect(sns.first()).toContainText('delivered', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  expect(aws('receive', queue.url, '--seconds', '3')).toHaveLength(0);
  const sqsRows = page.getByRole('table', { name: 'Deliveries' }).getByRole('row', { name: /Amazon SQS/ });
  await expect(sqsRows).toHaveCount(1);
});

test('a refused webhook delivery is failed in the log; after fixing the receiver, Redeliver delivers it', async ({ page }) => {
  let status = 400;
  const bodies: string[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    await logIn(page);
    await page.goto(`${appUrl}/hooks/new?type=webhook`);
    await page.getByLabel('Webhook URL').fill(url);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${appUrl}$`));

    await page.goto(`${appUrl}/deliveries`);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    const failed = page.getByRole('table', { name: 'Deliveries' }).getByRole('row', { name: /Webhook/ });
    await expect(async () => {
      await page.reload();
      await expect(failed).toHaveCount(1, { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await expect(failed).toContainText('the endpoint answered HTTP 400');
    await expect(failed.getByRole('cell').nth(4)).toHaveText('1');

    status = 200;
    await failed.getByRole('button', { name: 'Redeliver' }).click();
    await expect(page.getByRole('status')).toHaveText('1 deliveries queued again.');
    await page.getByLabel('Status').selectOption('delivered');
    await page.getByRole('button', { name: 'Filter' }).click();
    const delivered = page.getByRole('table', { name: 'Deliveries' }).getByRole('row', { name: /Webhook/ });
    await expect(async () => {
      await page.reload();
      await expect(delivered).toHaveCount(1, { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    // redelivery starts a fresh round of attempts; the receiver saw both sends
    await expect(delivered.getByRole('cell').nth(4)).toHaveText('1');
    expect(bodies).toHaveLength(2);
    expect(JSON.parse(bodies[1]).type).toBe('hookrelay.test');
  } finally {
    receiver.close();
  }
});
