import { test, expect, Page } from './csp';

// One server, one fresh database for the whole run: these steps build on each other.
test.describe.configure({ mode: 'serial' });

const admin = { email: 'admin@example.com', password: 'correct horse battery' };

/** Waits until the wasm bundle has hydrated the page (the app marks <body> when done). */
async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Submits the login form and waits until the server has answered this very submission. */
async function logIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  const answered = page.waitForResponse(
    (r) => r.url().includes('/_sfn/login') && r.request().postData()?.includes(encodeURIComponent(email)) === true,
  );
  await page.getByRole('button', { name: 'Log in' }).click();
  await answered;
}

test('a fresh install sends every page to the first-run form', async ({ page }) => {
  await page.goto('/apps');
  await expect(page).toHaveURL(/\/setup$/);
  await page.goto('/login');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole('heading', { name: 'Create the admin account' })).toBeVisible();
});

test('first run: mismatched passwords are refused, then the admin account is created', async ({ page }) => {
  await page.goto('/setup');
  await hydrated(page);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByLabel('Repeat the password').fill('something else');
  await page.getByRole('button', { name: 'Create the admin account' }).click();
  await expect(page.getByRole('alert')).toHaveText('The two passwords are not the same.');

  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByLabel('Repeat the password').fill(admin.password);
  // hydrated: the form is sent by the wasm bundle (fetch), not as a page load
  const request = page.waitForRequest('**/_sfn/setup');
  await page.getByRole('button', { name: 'Create the admin account' }).click();
  expect((await request).resourceType()).toBe('fetch');
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.getByRole('heading', { name: 'Apps' })).toBeVisible();
  await expect(page.getByText(admin.email)).toBeVisible();

  // the first-run form is gone once an admin exists
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/apps$/);
});

test('logging out ends the session and an unauthenticated visit is sent to login', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, admin.email, admin.password);
  await expect(page).toHaveURL(/\/apps$/);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.goto('/apps/1');
  await expect(page).toHaveURL(/\/login\?next=%2Fapps%2F1$/);
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
});

test('a wrong password and an unknown email get the same answer', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, admin.email, 'wrong password');
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password');
  await expect(page).toHaveURL(/\/login\?error=invalid_login$/);
  // start from a clean page so the second message cannot be the first one still showing
  await page.goto('/login');
  await hydrated(page);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await logIn(page, 'nobody@example.com', admin.password);
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password');
});

test('log in, create an app, see its key, reveal its secret', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, admin.email, admin.password);
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.getByText('No apps yet')).toBeVisible();

  await page.getByLabel('App name').fill('Chat production');
  await page.getByRole('button', { name: 'Create app' }).click();
  await expect(page.getByRole('heading', { name: 'Chat production' })).toBeVisible();
  const key = await page.getByTestId('api-key').textContent();
  expect(key).toMatch(/^[a-z0-9]{12}$/);
  await expect(page.getByRole('heading', { name: 'Webhook & Event Configuration' })).toBeVisible();
  await expect(page.getByTestId('api-secret')).toHaveCount(0);

  await page.getByRole('link', { name: 'Reveal secret' }).click();
  await expect(page.getByTestId('api-secret')).toHaveText(/^[A-Za-z0-9]{48}$/);
  await page.getByRole('link', { name: 'Hide' }).click();
  await expect(page.getByTestId('api-secret')).toHaveCount(0);

  await page.getByRole('link', { name: 'Apps', exact: true }).first().click();
  const row = page.getByRole('row', { name: /Chat production/ });
  await expect(row).toContainText(key!);

  // a second app with the same name (any case) is refused with a clear message
  await page.getByLabel('App name').fill('chat PRODUCTION');
  await page.getByRole('button', { name: 'Create app' }).click();
  await expect(page.getByRole('alert')).toHaveText('An app with this name already exists.');
  await expect(page.getByRole('row', { name: /Chat production/i })).toHaveCount(1);
});

test('the app page rotates its secret under a CSP that the hydrated page satisfies', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, admin.email, admin.password);
  await page.getByRole('link', { name: 'Chat production' }).click();
  const response = await page.goto(page.url() + '?reveal=1');
  const headers = response!.headers();
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['content-security-policy']).toMatch(/'nonce-[A-Za-z0-9_-]{22}'/);
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['cache-control']).toBe('no-store');
  await hydrated(page);
  const before = await page.getByTestId('api-secret').textContent();

  await page.getByLabel('Rotate the secret; the old one').selectOption('1h');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await expect(page.getByTestId('rotated')).toHaveText('The secret was rotated; the previous one works 1 more hour.');
  const after = await page.getByTestId('api-secret').textContent();
  expect(after).toMatch(/^[A-Za-z0-9]{48}$/);
  expect(after).not.toBe(before);
});

test('an administrator adds a member who sees only the app given to them', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, admin.email, admin.password);
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Email').fill('member@example.com');
  await page.getByLabel('Password').fill('member password');
  await page.getByLabel('App ids (members; comma-separated)').fill('1');
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByTestId('user-row')).toHaveCount(2);
  await page.getByRole('button', { name: 'Log out' }).click();

  await page.goto('/login');
  await hydrated(page);
  await logIn(page, 'member@example.com', 'member password');
  await expect(page).toHaveURL(/\/apps$/);
  await expect(page.getByRole('row', { name: /Chat production/ })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
  // another app, or one that does not exist: the same 404
  const other = await page.goto('/apps/999');
  expect(other!.status()).toBe(404);
  await page.getByRole('button', { name: 'Log out' }).click();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('login and app creation work as plain HTML forms', async ({ page }) => {
    await page.goto('/apps');
    await expect(page).toHaveURL(/\/login\?next=%2Fapps$/);
    await logIn(page, admin.email, 'not the password');
    await expect(page.getByRole('alert')).toHaveText('Invalid email or password');

    const request = page.waitForRequest('**/_sfn/login');
    await logIn(page, admin.email, admin.password);
    expect((await request).resourceType()).toBe('document');
    await expect(page).toHaveURL(/\/apps$/);
    await expect(page.getByRole('row', { name: /Chat production/ })).toBeVisible();

    await page.getByLabel('App name').fill('Support desk');
    await page.getByRole('button', { name: 'Create app' }).click();
    await expect(page.getByRole('heading', { name: 'Support desk' })).toBeVisible();
    await expect(page.getByTestId('api-key')).toHaveText(/^[a-z0-9]{12}$/);
    await expect(page.getByTestId('app-instance-arn')).toHaveText(
      /^arn:aws:chime:us-east-1:000000000000:app-instance\/[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
  });
});
