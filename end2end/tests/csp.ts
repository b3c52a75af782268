// Every test of the run fails if the browser reports a Content-Security-Policy violation:
// the dashboard's CSP (a nonce for its one inline script, no inline styles) must hold for the
// hydrated app, on every page the suites visit.
import { test as base, expect } from '@playwright/test';

export * from '@playwright/test';

export const test = base.extend<{ cspGuard: void }>({
  cspGuard: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on('console', (msg) => {
        if (/Content[- ]Security[- ]Policy/i.test(msg.text())) violations.push(`${page.url()}: ${msg.text()}`);
      });
      await use();
      expect(violations, 'CSP violations').toEqual([]);
    },
    { auto: true },
  ],
});
