import { test, expect, Page } from './csp';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';

// Runs after dashboard.spec.ts on the same server: the admin account exists.
test.describe.configure({ mode: 'serial' });

const admin = { email: 'admin@example.com', password: 'correct horse battery' };
// Screenshots for the README go to docs/screenshots only when asked for
// (HOOKRELAY_SCREENSHOTS=1), so that a test run leaves the checkout unchanged.
const shots = process.env.HOOKRELAY_SCREENSHOTS
  ? path.resolve(__dirname, '..', '..', 'docs', 'screenshots')
  : path.resolve(__dirname, '..', '..', 'target', 'e2e-screenshots');

// An in-test webhook receiver recording the JSON it gets.
const received: Array<Record<string, unknown>> = [];
let receiver: http.Server;
let receiverUrl = '';
// the receiver's answers come this much later
let receiverDelayMs = 0;

test.beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        // not JSON: ignored
      }
      setTimeout(() => {
        res.writeHead(200);
        res.end('ok');
      }, receiverDelayMs);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
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

let appUrl = '';

test('an app gets a webhook integration: test, save, disable, enable', async ({ page }) => {
  await logIn(page);
  await page.getByLabel('App name').fill('Hooks e2e');
  await page.getByRole('button', { name: 'Create app' }).click();
  await expect(page).toHaveURL(/\/apps\/\d+$/);
  appUrl = new URL(page.url()).pathname;
  await expect(page.getByText('No integrations yet.')).toBeVisible();

  await page.getByRole('link', { name: 'Add Integration' }).click();
  await expect(page.getByRole('heading', { name: 'Add Integration' })).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'add-integration.png'), fullPage: true });
  await page.getByRole('link', { name: 'Webhook', exact: true }).click();
  await hydrated(page);
  await page.getByLabel('Webhook URL').fill(receiverUrl);
  // the event type filter narrows the checkboxes as you type, and Enter does not submit
  const filter = page.getByLabel('Find event types');
  await expect(filter).toBeVisible();
  await filter.fill('REACTION');
  await filter.press('Enter');
  await expect(page.getByLabel('reaction.new', { exact: true })).toBeVisible();
  await expect(page.getByLabel('message.new', { exact: true })).toBeHidden();
  await filter.fill('no-such-event');
  await expect(page.getByText('No event type matches.')).toBeVisible();
  await filter.fill('');
  await expect(page.getByText('No event type matches.')).toBeHidden();
  await expect(page).toHaveURL(/type=webhook$/);
  await page.getByLabel('message.new', { exact: true }).check();
  // while the check runs, the button says so (the receiver answers slowly to see it)
  receiverDelayMs = 1500;
  // Clicked and read from within the page: Playwright's own click() and locators wait for the
  // form's navigation, by when the next page has replaced this one.
  const during = await page.getByTestId('test-button').evaluate(
    (b: HTMLButtonElement) =>
      new Promise<{ busy: string | null; shown: string }>((resolve) => {
        b.click();
        setTimeout(() => {
          const shown = Array.from(b.querySelectorAll('span'))
            .filter((s) => !s.hidden)
            .map((s) => s.textContent || '')
            .join('');
          resolve({ busy: b.getAttribute('aria-busy'), shown });
        }, 200);
      }),
  );
  expect(during).toEqual({ busy: 'true', shown: 'Testing…' });
  receiverDelayMs = 0;
  const report = page.getByTestId('check-report');
  await expect(report).toContainText('Test passed');
  await expect(report).toContainText('POST a signed test event');
  // the form kept what was typed
  await expect(page.getByLabel('Webhook URL')).toHaveValue(receiverUrl);
  await expect(page.getByLabel('message.new', { exact: true })).toBeChecked();
  await page.screenshot({ path: path.join(shots, 'webhook-test.png'), fullPage: true });

  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));
  const row = page.getByRole('table', { name: 'Integrations' }).getByRole('row').nth(1);
  await expect(row).toContainText(receiverUrl);
  await expect(row).toContainText('message.new');
  await expect(row).toContainText('Enabled');

  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('Disabled');
  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row).toContainText('Enabled');
});

test('Test SQS shows the emulator answer for a missing queue and a wrong key', async ({ page }) => {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  test.skip(!endpoint, 'needs the AWS emulator (scripts/test.sh starts it)');
  await logIn(page);
  await page.goto(`${appUrl}/hooks/new?type=sqs`);
  await hydrated(page);
  await page.getByLabel('Queue URL').fill(`${endpoint}/000000000000/no-such-queue-e2e`);
  await page.getByLabel('Access key and secret').check();
  await page.getByLabel('Access key id').fill('test');
  await page.getByLabel('Secret access key').fill('test');
  await page.getByRole('button', { name: 'Test SQS' }).click();
  const report = page.getByTestId('check-report');
  await expect(report).toContainText('Test failed');
  await expect(report).toContainText('does not exist');
  await page.screenshot({ path: path.join(shots, 'sqs-test.png'), fullPage: true });

  await page.getByLabel('Access key id').fill('AKIAWRONG00000000000');
  await page.getByLabel('Secret access key').fill('whatever');
  await page.getByRole('button', { name: 'Test SQS' }).click();
  await expect(report).toContainText('the access key is not valid');
});

test('the test event shows in the delivery log, and the integration is deleted after confirming', async ({ page }) => {
  await logIn(page);
  await page.goto(appUrl);
  await page.getByRole('link', { name: 'Delivery log' }).click();
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByRole('status')).toHaveText('Test event sent.');
  await expect(async () => {
    await page.reload();
    const row = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').nth(1);
    await expect(row).toContainText('hookrelay.test', { timeout: 500 });
    await expect(row).toContainText('delivered', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  expect(received.some((e) => e.type === 'hookrelay.test')).toBe(true);
  await page.screenshot({ path: path.join(shots, 'delivery-log.png'), fullPage: true });

  // the list's health: the delivery shows in the counts and the sparkline
  await page.goto(appUrl);
  const row = page.getByRole('table', { name: 'Integrations' }).getByRole('row').nth(1);
  await expect(row).toContainText('1 delivered · 0 failed · 0 pending');
  await expect(row).toContainText('Last success');
  await expect(row.getByRole('img', { name: /Last hour in 5-minute steps: 1 delivered, 0 failed/ })).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'integrations.png'), fullPage: true });

  await page.goto(appUrl);
  await page.getByRole('link', { name: 'Delete', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Delete integration' })).toBeVisible();
  await page.getByLabel('Yes, delete this integration').check();
  await page.getByRole('button', { name: 'Delete integration' }).click();
  await expect(page).toHaveURL(new RegExp(`${appUrl}$`));
  await expect(page.getByText('No integrations yet.')).toBeVisible();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a webhook integration is added, tested and saved', async ({ page }) => {
    await page.goto('/login');
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL(/\/apps$/);
    await page.goto(`${appUrl}/hooks/new`);
    await page.getByRole('link', { name: 'Webhook', exact: true }).click();
    await page.getByLabel('Webhook URL').fill('not a url');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.locator('#err-target')).toBeVisible();
    await expect(page.getByLabel('Webhook URL')).toHaveValue('not a url');

    await page.getByLabel('Webhook URL').fill(receiverUrl);
    await page.getByRole('button', { name: 'Test webhook' }).click();
    await expect(page.getByTestId('check-report')).toContainText('Test passed');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${appUrl}$`));
    await expect(page.getByRole('table', { name: 'Integrations' })).toContainText(receiverUrl);
  });
});
