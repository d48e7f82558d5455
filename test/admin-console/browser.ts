/**
 * Real Chromium for the admin console tests, driven by playwright-core (Debian's chromium: the
 * Playwright browser download cannot work here). One browser per test file, one context per
 * signed-in person. Without a Chromium the tests are skipped with one line saying how to get one.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** CHROMIUM_PATH, else a Chromium in the usual places, else undefined. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

export const SKIP_MESSAGE = 'admin console browser tests skipped: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH to a Chromium binary)';

export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export const WIDE = { width: 1280, height: 900 } as const;
export const NARROW = { width: 390, height: 844 } as const;

export async function newContext(browser: Browser, viewport: { width: number; height: number } = WIDE): Promise<BrowserContext> {
  // The local identity provider's certificate is self-signed (test certificate in .dev/certs).
  return browser.newContext({ viewport, ignoreHTTPSErrors: true, locale: 'en-GB', timezoneId: 'UTC' });
}

/** Signs in through the identity provider's login page, by keyboard, as a person would. */
export async function signIn(page: Page, consoleUrl: string, user: { upn: string; password: string }): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('User name').fill(user.upn);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL((url) => url.href.startsWith(consoleUrl));
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

let axeSource: string | undefined;

/** axe-core in the page; fails on any serious or critical violation, naming each. */
export async function assertAccessible(page: Page, screen: string): Promise<void> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) stays in force.
  await page.evaluate(axeSource);
  // A string: this file is compiled without the DOM library; it runs in the page.
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((result) =>
    result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 3) })))`)) as { id: string; impact: string; help: string; targets: string[] }[];
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${screen}: axe found serious or critical violations`);
}

/** No horizontal scrolling of the page itself (tables scroll inside their own box). */
export async function assertFitsWidth(page: Page, screen: string): Promise<void> {
  const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  assert.ok(overflow <= 1, `${screen}: the page scrolls sideways by ${overflow}px`);
}

export function screenshotDir(root: string): string {
  const dir = process.env.CONSOLE_SCREENSHOT_DIR ?? join(root, 'test-results', 'admin-console');
  mkdirSync(dir, { recursive: true });
  return dir;
}
