/**
 * The alert rules on their own, with in-memory stores: a mailbox failing longer than the
 * configured time gets one notice per failure episode through both channels; a short failure,
 * a disabled mailbox or a suspended tenant gets none; a failing channel does not stop the other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../shared/logging';
import { runAlerts, thresholdOf, type AlertDependencies, type AlertEvent } from '../../shared/alerts/alerts';
import type { MailToSend } from '../../shared/consent/mailer';
import type { AlertNoticeRecord } from '../../shared/storage/alert-notices-repository';
import type { GroupRecord, MailboxRecord, TenantRecord } from '../../shared/storage';

const HOUR = 3600_000;
const now = new Date('2026-12-03T12:00:00Z');

async function* each<T>(items: readonly T[]): AsyncIterableIterator<T> {
  for (const item of items) yield item;
}

function world(options: { mailboxes: MailboxRecord[]; tenantStatus?: TenantRecord['status']; failEvents?: boolean }) {
  const tenant = { id: 't1', displayName: 'Contoso', entraTenantId: '00000000-0000-4000-8000-0000000000d1', entraTenantBoundBy: 'operator', status: options.tenantStatus ?? 'active', createdAt: '', updatedAt: '', etag: '' } as unknown as TenantRecord & { etag: string };
  const group = { tenantId: 't1', id: 'g1', name: 'Field staff', externalId: 'x', mailboxAccessType: 'impersonation', ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx', folders: ['mail'], pollIntervalMinutes: 5, initialSync: { kind: 'all' }, enabled: true, delivery: { kind: 'webhook', url: 'https://erp.contoso.com/hook' }, createdAt: '', updatedAt: '' } as unknown as GroupRecord;
  const mails: MailToSend[] = [];
  const events: AlertEvent[] = [];
  const notices = new Map<string, AlertNoticeRecord>();
  const audit: { action: string; details: unknown }[] = [];
  const deps: AlertDependencies = {
    tenants: { list: () => each([tenant]) as never },
    groups: { list: () => each([group]) as never },
    mailboxes: { list: () => each(options.mailboxes) as never },
    consents: { findSettings: async () => ({ tenantId: 't1', senderMailbox: 'dispatch@contoso.com', alertContacts: ['admin@contoso.com'], emailInvitations: false, emailReauthentication: false, updatedAt: '', etag: '' }) },
    audit: { append: async (entry) => (audit.push({ action: entry.action, details: entry.details }), { ...entry, id: '1', at: '' }) as never },
    notices: { wasSent: async (_t, key) => notices.has(key), recordSent: async (record) => void notices.set(record.noticeKey, record) },
    mailer: { send: async (mail) => void mails.push(mail) },
    sendEvent: async (_group, event) => {
      if (options.failEvents) return { ok: false, code: 'HttpStatus', message: '500' } as never;
      events.push(event);
      return { ok: true } as never;
    },
    persistentFailureAfterInMs: 4 * HOUR,
    now: () => now,
  };
  return { deps, mails, events, notices, audit };
}

function mailbox(address: string, overrides: Partial<MailboxRecord>): MailboxRecord {
  return { tenantId: 't1', groupId: 'g1', smtpAddress: address, enabled: true, status: 'error', lastError: { code: 'AuthenticationFailed', message: 'Exchange refused the credentials', at: now.toISOString() }, counts: { created: 0, updated: 0, deleted: 0 }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '', ...overrides };
}

test('a mailbox failing longer than the setting gets one notice per episode, by email and event; short failures and disabled mailboxes none', async () => {
  const longFailure = mailbox('bob@contoso.com', { lastSuccessfulSyncAt: new Date(now.getTime() - 5 * HOUR).toISOString() });
  const shortFailure = mailbox('carol@contoso.com', { lastSuccessfulSyncAt: new Date(now.getTime() - 1 * HOUR).toISOString() });
  const disabled = mailbox('dave@contoso.com', { enabled: false });
  const healthy = mailbox('erin@contoso.com', { status: 'ok' });
  const { deps, mails, events, audit } = world({ mailboxes: [longFailure, shortFailure, disabled, healthy] });
  const first = await runAlerts(deps);
  assert.equal(first.mailboxNotices, 1);
  assert.deepEqual(mails.map((m) => [m.to, m.senderMailbox]), [['admin@contoso.com', 'dispatch@contoso.com']]);
  assert.match(mails[0]!.html, /bob@contoso\.com.*failed to sync for 5 hour/);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.type, 'mailboxFailing');
  assert.deepEqual(audit.map((a) => a.action), ['alert.mailboxFailing']);
  await runAlerts(deps);
  assert.equal(mails.length, 1, 'the same episode is not notified twice');
});

test('a new failure episode (a success in between) is notified again; a suspended tenant is skipped', async () => {
  const { deps, mails } = world({ mailboxes: [mailbox('bob@contoso.com', { lastSuccessfulSyncAt: new Date(now.getTime() - 5 * HOUR).toISOString() })] });
  await runAlerts(deps);
  const later = world({ mailboxes: [mailbox('bob@contoso.com', { lastSuccessfulSyncAt: new Date(now.getTime() - 4.5 * HOUR).toISOString() })] });
  const replayed = { ...later.deps, notices: deps.notices };
  await runAlerts(replayed);
  assert.equal(mails.length + later.mails.length, 2);
  const suspended = world({ mailboxes: [mailbox('bob@contoso.com', {})], tenantStatus: 'suspended' });
  assert.equal((await runAlerts(suspended.deps)).mailboxNotices, 0);
});

test('a failing event channel still emails, records the failure in the audit and does not retry every hour', async () => {
  const { deps, mails, audit } = world({ mailboxes: [mailbox('bob@contoso.com', {})], failEvents: true });
  const summary = await runAlerts(deps);
  assert.equal(summary.eventFailures, 1);
  assert.equal(mails.length, 1);
  assert.match(JSON.stringify(audit[0]!.details), /failed: HttpStatus/);
  await runAlerts(deps);
  assert.equal(mails.length, 1);
});

test('thresholds: 30, 14, 7 days and expired', () => {
  const at = (days: number) => thresholdOf(new Date(now.getTime() + days * 24 * HOUR), now);
  assert.deepEqual([at(31), at(30), at(15), at(14), at(8), at(7), at(1), at(0), at(-3)], [undefined, '30days', '30days', '14days', '14days', '7days', '7days', 'expired', 'expired']);
});

test('the connector app\'s own expiring secret goes to the operator (an error line, once per threshold), never to customers', async () => {
  const lines: string[] = [];
  const { deps, mails, events } = world({ mailboxes: [] });
  const withSecret: AlertDependencies = { ...deps, connectorSecretExpiry: async () => new Date(now.getTime() + 5 * 24 * HOUR), log: createLogger({}, (level, line) => void lines.push(`${level} ${line}`)) };
  await runAlerts(withSecret);
  await runAlerts(withSecret);
  const notices = lines.filter((line) => line.includes("connector app's client secret"));
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /^error .*expires soon/);
  assert.equal(mails.length, 0);
  assert.equal(events.length, 0);
});
