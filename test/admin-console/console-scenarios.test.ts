/**
 * The admin console in real Chromium against the local stack (identity provider, Azurite, Key
 * Vault, EWS simulator, the Functions host with the production function files), clicking like a
 * person: sign in, create a service-account group, see its connection test fail with the
 * remediation, fix the password, watch the mailboxes sync, filter "with errors", invite a
 * delegated user, replay a dead letter, and as a tenant admin find another tenant unreachable.
 * Every screen is checked with axe-core and at 1280 and 390 px; each scenario saves a screenshot.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { closeServer, listen } from '../../dev/server-lifecycle';
import { startConnectorStack, type ConnectorStack } from '../support/connector-stack';
import { freeLoopbackPort } from '../support/free-port';
import { requestJson } from '../support/http-json';
import { NARROW, SKIP_MESSAGE, WIDE, assertAccessible, assertFitsWidth, findChromium, launchChromium, newContext, screenshotDir, signIn } from './browser';

const chromiumPath = findChromium();
if (!chromiumPath) console.log(SKIP_MESSAGE);

const MASTER_KEY = 'console-test-master-key';
const SVC = 'svc@contoso.test';
const SVC_PASSWORD = 'Right-Svc-Pass1';
const HOSTILE_NAME = '<img src=x onerror="window.__xss=1">Anna';
const HOSTILE_LINK = 'javascript:window.__xss=2';
const ANNA_ITEMS = 60;

let stack: ConnectorStack;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
let consoleUrl: string;
let contosoId: string;
let fabrikamId: string;
let webhookPort: number;
let receiver: Server | undefined;
const received: string[] = [];
let shots: string;

const operator = { upn: DEMO_IDENTITY.users.operatorAdmin.upn, password: DEMO_IDENTITY.users.operatorAdmin.password };

function adminToken(): string {
  return stack.idp.control.issueAccessToken({ tenantId: DEMO_IDENTITY.operatorTenantId, audience: DEMO_IDENTITY.adminApi.audience, roles: ['Connector.Admin'], oid: DEMO_IDENTITY.users.operatorAdmin.objectId, name: 'Operator Admin', upn: operator.upn });
}

async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await requestJson(method, `${stack.host.url}/api${path}`, { headers: { authorization: `Bearer ${adminToken()}` }, body });
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as Record<string, unknown>;
}

async function shot(target: Page, name: string, options: { keepScroll?: boolean } = {}): Promise<void> {
  if (!options.keepScroll) await target.evaluate('window.scrollTo(0, 0)');
  const viewport = target.viewportSize() ?? WIDE;
  // A fixed clip keeps the images small (docs/images holds some of them).
  await target.screenshot({ path: join(shots, `${name}.png`), clip: { x: 0, y: 0, width: viewport.width, height: Math.min(viewport.height, 760) } });
}

/** Every screen: no serious axe violation, no sideways scrolling at 1280 and at 390 px. */
async function checkScreen(target: Page, screen: string): Promise<void> {
  await assertAccessible(target, screen);
  await assertFitsWidth(target, `${screen} at 1280 px`);
  await target.setViewportSize(NARROW);
  await assertFitsWidth(target, `${screen} at 390 px`);
  await assertAccessible(target, `${screen} at 390 px`);
  await target.setViewportSize(WIDE);
}

async function noScriptRan(target: Page): Promise<void> {
  assert.equal(await target.evaluate(() => (globalThis as { __xss?: unknown }).__xss), undefined, 'a hostile string ran as script');
  assert.equal(await target.locator('main img').count(), 0, 'a hostile string became an element');
  assert.equal(await target.locator('a[href^="javascript:" i]').count(), 0, 'a hostile string became a link');
}

async function invoke(name: string): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input: '' }) });
  assert.equal(response.status, 202);
}

describe('admin console in Chromium', { skip: chromiumPath ? false : SKIP_MESSAGE }, () => {
  before(async () => {
    webhookPort = await freeLoopbackPort();
    stack = await startConnectorStack({
      functions: [
        'admin-console', 'admin-ping', 'admin-tenants', 'admin-groups', 'admin-mailboxes', 'admin-consent', 'admin-credential-status',
        'admin-delegated-users', 'admin-invitations', 'admin-dead-letters', 'delivery-admin', 'sync-schedule', 'sync-mailbox', 'delivery-deliver-batch',
      ],
      publicBaseUrlIsHost: true,
      ews: {
        seed: (store) => {
          store.addOrganisation({ id: 'contoso-test', name: 'Contoso', domains: ['contoso.test'] });
          store.addMailbox({ smtpAddress: 'anna@contoso.test', displayName: 'Anna', password: 'Anna-Pass1' });
          store.addMailbox({ smtpAddress: 'ben@contoso.test', displayName: 'Ben', password: 'Ben-Pass1' });
          store.addServiceAccount({ userPrincipalName: SVC, password: SVC_PASSWORD, organisationId: 'contoso-test' });
          store.grantImpersonation({ organisationId: 'contoso-test', principal: SVC, scope: { kind: 'all' } });
          for (let i = 0; i < ANNA_ITEMS; i++) store.createItem('anna@contoso.test', { distinguished: 'inbox' }, { kind: 'message', subject: i === 0 ? HOSTILE_NAME : `Order ${1000 + i}` });
          store.createItem('ben@contoso.test', { distinguished: 'inbox' }, { kind: 'message', subject: 'Invoice 77' });
        },
      },
      extraSettings: { ADMIN_CONSOLE_CLIENT_ID: DEMO_IDENTITY.adminConsole.clientId, DELIVERY_MAX_ATTEMPTS: '1' },
      functionKeys: { masterKey: MASTER_KEY },
      queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
      shutdownGracePeriodInMs: 5_000,
    });
    consoleUrl = `${stack.settings.PUBLIC_BASE_URL}/api/admin/`;
    try {
      await seedAndLaunch();
    } catch (error) {
      // A failed start cancels every scenario; say why, with what the host logged.
      console.error('admin console scenarios: setup failed', error, stack.logs.slice(-20).join('\n'));
      throw error;
    }
  });

  async function seedAndLaunch(): Promise<void> {
    contosoId = String((await api('POST', '/admin/tenants', { displayName: 'Contoso' })).id);
    fabrikamId = String((await api('POST', '/admin/tenants', { displayName: `${HOSTILE_NAME} Fabrikam` })).id);
    const fieldStaff = await api('POST', `/admin/tenants/${contosoId}/groups`, { name: 'Field staff', externalId: 'field-staff', mailboxAccessType: 'delegated', folders: ['mail', 'calendar'] });
    await api('POST', `/admin/tenants/${contosoId}/groups/${String(fieldStaff.id)}/mailboxes`, { smtpAddress: 'dora@contoso.test', displayName: 'Dora' });
    shots = screenshotDir(stack.projectRoot);
    browser = await launchChromium(chromiumPath!);
    admin = await newContext(browser);
    page = await admin.newPage();
  }

  after(async () => {
    await browser?.close();
    if (receiver) await closeServer(receiver);
    await stack?.close();
  });

  it('1. signs in with MSAL against the local identity provider; tokens stay out of localStorage', async () => {
    const response = await page.goto(consoleUrl);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script');
    await assertAccessible(page, 'sign-in page');
    await signIn(page, consoleUrl, operator);
    await page.getByRole('heading', { name: 'Tenants' }).waitFor();
    await page.getByRole('link', { name: 'Contoso', exact: true }).waitFor();
    assert.equal(await page.getByText('Loading the Exchange Connector admin console').count(), 0, 'the loading text is replaced');
    const stored = (await page.evaluate(`({ local: Object.keys(localStorage).join(' ') + Object.values(localStorage).join(' '), session: Object.keys(sessionStorage).length })`)) as { local: string; session: number };
    assert.doesNotMatch(stored.local, /eyJ|token/i, 'no token in localStorage');
    assert.ok(stored.session > 0, 'MSAL keeps its cache in sessionStorage');
    await page.getByText(`${HOSTILE_NAME} Fabrikam`).waitFor();
    await noScriptRan(page);
    // An operator adds a customer tenant; its Entra binding waits for the customer's consent.
    await page.getByLabel('Display name').fill('Northwind');
    await page.getByRole('button', { name: 'Add tenant' }).click();
    await page.getByRole('row').filter({ hasText: 'Northwind' }).getByText('Not bound yet').waitFor();
    // The consent link goes to the customer's administrator; the tenant is bound when they consent.
    await page.getByRole('button', { name: 'Create consent link for Contoso' }).click();
    const consentLink = await page.getByRole('row').filter({ hasText: 'Contoso' }).getByRole('textbox').inputValue();
    assert.ok(consentLink.startsWith(stack.idp.url) && consentLink.includes('/adminconsent?'), consentLink);
    await checkScreen(page, 'tenants');
    await shot(page, '1-tenants');
  });

  it('2. creates a service-account group; problem+json errors show next to their fields', async () => {
    await page.getByRole('link', { name: 'Contoso', exact: true }).click();
    await page.getByRole('link', { name: 'Create group' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Head office');
    await page.getByLabel('External ID').fill('head-office');
    await page.getByLabel('EWS URL').fill('not a url');
    await page.getByRole('button', { name: 'Create group' }).click();
    // The API named each field; each message sits under its input and is announced with it.
    const logon = page.getByLabel('Logon');
    await assert.doesNotReject(() => logon.and(page.locator('[aria-invalid="true"]')).waitFor());
    const ewsError = await page.getByLabel('EWS URL').getAttribute('aria-describedby');
    assert.match(await page.locator(`[id="${ewsError!.split(' ').pop()}"]`).innerText(), /https URL/);
    await checkScreen(page, 'group form with errors');
    await shot(page, '2-group-form-errors', { keepScroll: true });

    await logon.fill(SVC);
    await page.getByLabel('Password').fill('Wrong-Pass1');
    await page.getByLabel('EWS URL').fill(stack.ews!.url);
    await page.getByLabel('Webhook URL (optional)').fill(`http://127.0.0.1:${webhookPort}/hook`);
    // Not syncing until the connection test passes (the host's every-minute timer would start it).
    await page.getByLabel('Start syncing now').uncheck();
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { name: 'Head office' }).waitFor();
    await page.getByText('head-office').waitFor();
    await page.getByText('(cannot be changed after creation)').waitFor();
    await page.getByText('Password set').waitFor();
    assert.equal(await page.getByLabel('New password').inputValue(), '', 'a credential is never shown');
    // Changing settings: errors from the PATCH sit next to their fields too.
    await page.getByText('Change settings').click();
    await page.getByLabel('Poll interval (minutes)').fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByLabel('Poll interval (minutes)').and(page.locator('[aria-invalid="true"]')).waitFor();
    await page.getByLabel('Poll interval (minutes)').fill('15');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('15 minutes').waitFor();
    await checkScreen(page, 'group settings');
    await shot(page, '2-group-created');
  });

  it('3. runs the connection test and shows the failing step with its remediation', async () => {
    await page.getByRole('link', { name: 'Mailboxes' }).click();
    await page.getByLabel('Or paste CSV').fill(`smtpAddress,displayName\nanna@contoso.test,"${HOSTILE_NAME.replaceAll('"', '""')}"\nben@contoso.test,${HOSTILE_LINK}\nghost@contoso.test,Nobody`);
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByText('3 rows: 3 created').waitFor();
    await page.getByRole('link', { name: 'Connection test' }).click();
    await page.getByRole('button', { name: 'Run connection test' }).click();
    await page.getByRole('heading', { name: /Result:\s*Failed/ }).waitFor();
    const failed = page.locator('.step-failed');
    assert.equal(await failed.count(), 1);
    assert.match(await failed.innerText(), /Authentication/);
    assert.match(await failed.locator('.remediation').innerText(), /password/i);
    await checkScreen(page, 'connection test failed');
    await page.evaluate("document.querySelector('.step-failed').scrollIntoView({ block: 'center' })");
    await shot(page, '3-connection-test-failed', { keepScroll: true });
  });

  it('4. fixes the password and the re-run passes', async () => {
    await page.getByRole('link', { name: 'Settings and credential' }).click();
    await page.getByLabel('New password').fill(SVC_PASSWORD);
    // The new password expires in 10 days: the group's page warns ahead of time.
    await page.getByLabel('Expiry (optional)').fill(new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Rotate password' }).click();
    await page.getByText('Stored. The new value is in use').waitFor();
    await page.getByRole('alert').filter({ hasText: 'Credentials need attention' }).getByText(/Head office: .*(9|10) days left/).waitFor();
    await shot(page, '4-expiry-banner');
    await page.getByRole('link', { name: 'Connection test' }).click();
    await page.getByRole('button', { name: 'Run connection test' }).click();
    await page.getByRole('heading', { name: /Result:\s*Passed/ }).waitFor();
    await shot(page, '4-connection-test-passed');
  });

  it('5. shows the mailboxes syncing with a progress bar, then their status and counts', async () => {
    // The host's timer runs on the minute; enable the group well clear of it so the test, not the
    // clock, decides when the first sync starts.
    const toNextMinute = 60_000 - (Date.now() % 60_000);
    if (toNextMinute < 15_000) await new Promise((resolve) => setTimeout(resolve, toNextMinute + 1_000));
    await page.getByRole('link', { name: 'Settings and credential' }).click();
    await page.getByText('Change settings').click();
    await page.getByLabel('Enabled', { exact: true }).check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor();
    await page.getByRole('link', { name: 'Mailboxes' }).click();
    await page.locator('progress').first().waitFor();
    assert.equal(await page.locator('progress').count(), 3, 'one progress bar per mailbox waiting for its initial sync');
    await shot(page, '5-mailboxes-initial-sync');
    await invoke('schedule-due-groups');
    // The page refreshes itself while an initial sync runs.
    const anna = page.getByRole('row').filter({ hasText: 'anna@contoso.test' });
    await anna.locator('.badge-ok').waitFor({ timeout: 30_000 });
    await page.getByRole('row').filter({ hasText: 'ghost@contoso.test' }).locator('.badge-error').waitFor({ timeout: 30_000 });
    assert.match(await anna.innerText(), new RegExp(`${ANNA_ITEMS} / 0 / 0`));
    // Which folders each mailbox syncs (#16): the group's, as none chose its own.
    assert.match(await anna.getByRole('list', { name: 'Folders of anna@contoso.test' }).innerText(), /Mail \(group default\)/);
    assert.equal(await page.locator('progress').count(), 0);
    await page.getByText(HOSTILE_NAME).waitFor();
    await page.getByText(HOSTILE_LINK).waitFor();
    await noScriptRan(page);
    await checkScreen(page, 'mailboxes');
    await page.evaluate("document.querySelector('fieldset.filter').scrollIntoView()");
    await shot(page, '5-mailboxes-synced', { keepScroll: true });
    await page.setViewportSize(NARROW);
    await page.evaluate("document.querySelector('fieldset.filter').scrollIntoView()");
    await shot(page, '5-mailboxes-390px', { keepScroll: true });
    await page.setViewportSize(WIDE);
  });

  it('6. filters "with errors" and shows the last error in words', async () => {
    await page.getByLabel('With errors').check();
    await page.getByText('1 of 3 mailboxes').waitFor();
    const row = page.getByRole('row').filter({ hasText: 'ghost@contoso.test' });
    assert.ok((await row.locator('td').nth(2).innerText()).length > 10, 'the last error is in words');
    assert.equal(await page.getByRole('row').filter({ hasText: 'anna@contoso.test' }).count(), 0);
    await page.getByLabel('Without errors').check();
    await page.getByText('2 of 3 mailboxes').waitFor();
    await page.getByLabel('With errors').check();
    await shot(page, '6-mailboxes-with-errors');
  });

  it('7. invites a delegated user without email and shows the link once', async () => {
    await page.getByRole('link', { name: 'Delegated users' }).click();
    await page.getByLabel('Mailboxes').fill('nobody@contoso.test');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    // The API points at /mailboxes/0; the message sits under the Mailboxes field.
    await page.getByLabel('Mailboxes').and(page.locator('[aria-invalid="true"]')).waitFor();
    await page.getByText('nobody@contoso.test is not a mailbox of the group').waitFor();
    await page.getByLabel('Mailboxes').fill('dora@contoso.test');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await page.getByText('1 invitation(s) created').waitFor();
    const link = await page.getByRole('textbox', { name: 'dora@contoso.test' }).inputValue();
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/api\/consent\//);
    await page.getByRole('row').filter({ hasText: 'dora@contoso.test' }).getByText('Pending').waitFor();
    await checkScreen(page, 'delegated users');
    await page.evaluate("document.querySelector('.links').scrollIntoView({ block: 'center' })");
    await shot(page, '7-delegated-invite', { keepScroll: true });
    // Resend by email: no sender mailbox is configured yet, and the table says so in words.
    await page.getByRole('button', { name: 'Resend invitation to dora@contoso.test' }).first().click();
    await page.getByRole('row').filter({ hasText: 'dora@contoso.test' }).getByText(/Not sent: No sender mailbox/).first().waitFor();
    // Delete registration data asks first, then reports what it removed.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete registration data' }).click();
    await page.getByText(/Deleted 0 users, 0 stored sign-ins and \d+ invitations/).waitFor();
    await page.getByText('No invitations.').waitFor();
  });

  it('8. shows delivery failing, rotates the signing key (shown once) and replays a dead letter', async () => {
    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    await page.getByRole('link', { name: 'Head office' }).click();
    await page.getByRole('link', { name: 'Delivery' }).click();
    // The first sync's batches could not be delivered: no signing key yet, and nothing listening.
    await page.getByText(/Failing since .*signing key/).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Rotate signing key' }).click();
    const secret = await page.getByLabel(/Signing secret/).inputValue();
    assert.ok(secret.length >= 32, 'the new signing secret is shown once');
    await page.getByText('Set (never shown again)').waitFor();
    await checkScreen(page, 'delivery');
    await shot(page, '8-delivery-signing-key');

    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        received.push(body);
        response.writeHead(204).end();
      });
    });
    await listen(receiver, webhookPort, '127.0.0.1');
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('button', { name: /Replay dead letter for anna@contoso.test/ }).waitFor({ timeout: 30_000 });
    await checkScreen(page, 'dead letters');
    await page.getByRole('button', { name: /Replay dead letter for anna@contoso.test/ }).click();
    await page.getByText('Queued for delivery again.').waitFor();
    await page.getByRole('row').filter({ hasText: 'anna@contoso.test' }).getByText(/^1, last/).waitFor();
    const deadline = Date.now() + 20_000;
    while (!received.some((b) => b.includes('anna@contoso.test')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(received.some((b) => b.includes('anna@contoso.test')), `the replayed batch reached the receiver; got ${received.length} requests; logs:\n${stack.logs.filter((l) => /deliver|dead|replay/i.test(l)).slice(-15).join('\n')}`);
    await shot(page, '8-dead-letter-replayed');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: /replay/i }).first().waitFor();
    await checkScreen(page, 'audit log');
    await shot(page, '8-audit-log');
  });

  it('9. a tenant admin sees only their tenant; another tenant is not reachable', async () => {
    const user = DEMO_IDENTITY.users.operatorTenantAdmin;
    stack.idp.control.assignAppRoles(user.upn, DEMO_IDENTITY.adminApi.audience, [`Connector.TenantAdmin.${contosoId}`]);
    const context = await newContext(browser);
    const tenantAdmin = await context.newPage();
    await signIn(tenantAdmin, consoleUrl, { upn: user.upn, password: user.password });
    await tenantAdmin.getByRole('link', { name: 'Contoso', exact: true }).waitFor();
    assert.equal(await tenantAdmin.getByText('Fabrikam').count(), 0, 'another tenant is not listed');
    await tenantAdmin.goto(`${consoleUrl}#/tenants/${fabrikamId}/groups`);
    await tenantAdmin.getByText('Tenant not found').waitFor();
    assert.equal(await tenantAdmin.getByText('Fabrikam').count(), 0);
    await checkScreen(tenantAdmin, 'tenant not found');
    await shot(tenantAdmin, '9-tenant-admin-other-tenant');
    await tenantAdmin.goto(consoleUrl);
    await tenantAdmin.getByRole('link', { name: 'Contoso', exact: true }).waitFor();
    assert.equal(await tenantAdmin.getByRole('button', { name: 'Add tenant' }).count(), 0, 'only operators add tenants');
    await tenantAdmin.getByRole('button', { name: 'Sign out' }).click();
    await tenantAdmin.getByRole('button', { name: 'Sign in' }).waitFor();
    const left = (await tenantAdmin.evaluate('Object.keys(sessionStorage).map((k) => k + "=" + sessionStorage.getItem(k)).join(" ") + " " + Object.keys(localStorage).join(" ")')) as string;
    assert.doesNotMatch(left, /eyJ|refresh|accesstoken|idtoken/i, 'signing out leaves no token behind');
    await context.close();
  });

  it('works by keyboard alone: Tab reaches the tenant link and Enter opens it', async () => {
    const context = await newContext(browser);
    const keyboard = await context.newPage();
    await keyboard.goto(consoleUrl);
    await keyboard.getByRole('button', { name: 'Sign in' }).waitFor();
    await keyboard.keyboard.press('Tab');
    assert.equal(await keyboard.evaluate('document.activeElement && document.activeElement.textContent'), 'Sign in');
    await keyboard.keyboard.press('Enter');
    await keyboard.getByLabel('User name').fill(operator.upn);
    await keyboard.keyboard.press('Tab');
    await keyboard.keyboard.type(operator.password);
    await keyboard.keyboard.press('Enter');
    await keyboard.getByRole('heading', { name: 'Tenants' }).waitFor();
    for (let i = 0; i < 12; i++) {
      await keyboard.keyboard.press('Tab');
      if ((await keyboard.evaluate('document.activeElement && document.activeElement.textContent')) === 'Contoso') break;
    }
    await keyboard.keyboard.press('Enter');
    await keyboard.getByRole('heading', { name: 'Contoso' }).waitFor();
    await context.close();
  });
});

if (process.env.CONSOLE_DOCS_IMAGES) {
  // `npm run docs:screenshots`: the images docs/admin-console.md shows, from this run.
  after(() => {
    const target = process.env.CONSOLE_DOCS_IMAGES!;
    mkdirSync(target, { recursive: true });
    for (const name of ['1-tenants', '3-connection-test-failed', '5-mailboxes-synced', '5-mailboxes-390px', '7-delegated-invite', '8-dead-letter-replayed']) {
      copyFileSync(join(shots, `${name}.png`), join(target, `admin-console-${name}.png`));
    }
  });
}

