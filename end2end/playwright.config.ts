import { defineConfig } from '@playwright/test';
import * as path from 'path';

// scripts/test.sh picks a free port, builds the release binary and the site, then runs us.
const port = Number(process.env.E2E_PORT || 3931);
const root = path.resolve(__dirname, '..');
const dataDir = path.join(root, 'target', 'e2e-data');

export default defineConfig({
  testDir: './tests',
  // The suites share one server and one database and build on each other (first run first).
  fullyParallel: false,
  workers: 1,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  retries: 0,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium: browsers cannot be downloaded on these machines.
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    command: `rm -rf "${dataDir}" && "${root}/target/release/hookrelay" serve --allow-private-targets --listen 127.0.0.1:${port} --data-dir "${dataDir}" --site-root "${root}/target/site"`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
