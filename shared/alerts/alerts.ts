/**
 * Alerts that reach people. A timer (functions/alerts.ts) runs `runAlerts` hourly:
 *
 * - Credential expiry: each group credential with a recorded expiry (service-account password,
 *   client secret, certificate) gets a notice at 30, 14 and 7 days and on expiry.
 * - Persistent failure: a mailbox in error for longer than ALERT_PERSISTENT_FAILURE_MINUTES.
 *
 * Each notice goes (1) by email to the tenant's alert contacts (consent settings
 * `alertContacts`), sent from the tenant's own sender mailbox through the connector app, the
 * path invitations take, and (2) as a signed event to the group's delivery target. Each is sent
 * once (AlertNoticesRepository) and recorded in the tenant's audit. Only the tenant's own
 * contacts and its own groups' targets are ever addressed.
 *
 * The connector app's own secret belongs to the operator, not to a customer: its expiry is a
 * metric (connector.credential.days_to_expiry, alerted on in Azure Monitor) and an error log line.
 */
import { verifiedEntraTenant } from '../admin/tenant-binding';
import { randomUUID } from 'node:crypto';
import { expiryStateOf } from '../consent/credential-status';
import { escapeHtml } from '../consent/invitations';
import type { InvitationMailer } from '../consent/mailer';
import type { DeliveryOutcome } from '../delivery/delivery-outcome';
import type { Logger } from '../logging';
import type { AlertNoticesRepository } from '../storage/alert-notices-repository';
import type { ConsentsRepository } from '../storage/consents-repository';
import type { AuditRepository, GroupRecord, GroupsRepository, MailboxesRepository, MailboxRecord, TenantRecord, TenantsRepository } from '../storage';
import { recordCredentialDaysToExpiry } from '../telemetry/metrics';

const DAY_IN_MS = 24 * 3600_000;
const SYSTEM_ACTOR = { objectId: 'system', name: 'Exchange Connector alerts' };

export type CredentialThreshold = '30days' | '14days' | '7days' | 'expired';

/** The threshold reached (the nearest one), or undefined when the expiry is more than 30 days away. */
export function thresholdOf(expiresOn: Date, now: Date): CredentialThreshold | undefined {
  switch (expiryStateOf(expiresOn, now)) {
    case 'expired':
      return 'expired';
    case 'expiresWithin7Days':
      return '7days';
    case 'expiresWithin14Days':
      return '14days';
    case 'expiresWithin30Days':
      return '30days';
    default:
      return undefined;
  }
}

/** The signed event delivered to the group's target (webhook body or queue message). */
export type AlertEvent =
  | {
      readonly schemaVersion: 1;
      readonly type: 'credentialExpiring';
      readonly eventId: string;
      readonly occurredAt: string;
      readonly tenantId: string;
      readonly groupId: string;
      readonly credential: { readonly kind: string; readonly expiresOn: string; readonly daysLeft: number; readonly threshold: CredentialThreshold };
      readonly message: string;
    }
  | {
      readonly schemaVersion: 1;
      readonly type: 'mailboxFailing';
      readonly eventId: string;
      readonly occurredAt: string;
      readonly tenantId: string;
      readonly groupId: string;
      readonly mailbox: string;
      readonly failingSince: string;
      readonly error: { readonly code: string; readonly message: string };
      readonly message: string;
    };

export interface AlertDependencies {
  readonly tenants: Pick<TenantsRepository, 'list'>;
  readonly groups: Pick<GroupsRepository, 'list'>;
  readonly mailboxes: Pick<MailboxesRepository, 'list'>;
  readonly consents: Pick<ConsentsRepository, 'findSettings'>;
  readonly audit: Pick<AuditRepository, 'append'>;
  readonly notices: Pick<AlertNoticesRepository, 'wasSent' | 'recordSent'>;
  readonly mailer: InvitationMailer;
  /** Signs and sends the event to the group's delivery target (webhook or queue). */
  sendEvent(group: GroupRecord, event: AlertEvent): Promise<DeliveryOutcome>;
  /** The connector app's own client secret expiry (Key Vault attribute), when recorded. */
  readonly connectorSecretExpiry?: () => Promise<Date | undefined>;
  /** A mailbox failing longer than this gets a notice. */
  readonly persistentFailureAfterInMs: number;
  readonly now: () => Date;
  readonly log?: Logger;
}

export interface AlertRunSummary {
  readonly credentialNotices: number;
  readonly mailboxNotices: number;
  readonly emailsSent: number;
  readonly emailFailures: number;
  readonly eventsDelivered: number;
  readonly eventFailures: number;
}

interface Notice {
  readonly noticeKey: string;
  readonly kind: AlertEvent['type'];
  readonly subject: string;
  /** Plain sentences: escaped into the email, sent as is in the JSON event. */
  readonly message: string;
  readonly event: AlertEvent;
  readonly auditTarget: string;
  readonly auditDetails: Readonly<Record<string, string | number | null>>;
}

export async function runAlerts(deps: AlertDependencies): Promise<AlertRunSummary> {
  const totals = { credentialNotices: 0, mailboxNotices: 0, emailsSent: 0, emailFailures: 0, eventsDelivered: 0, eventFailures: 0 };
  await checkConnectorSecret(deps);
  for await (const tenant of deps.tenants.list()) {
    if (tenant.status !== 'active') continue;
    for await (const group of deps.groups.list(tenant.id)) {
      const notices = [...credentialNotices(tenant, group, deps.now()), ...(group.enabled ? await mailboxNotices(deps, tenant, group) : [])];
      for (const notice of notices) {
        if (await deps.notices.wasSent(tenant.id, notice.noticeKey)) continue;
        const outcome = await sendNotice(deps, tenant, group, notice);
        totals.emailsSent += outcome.emailsSent;
        totals.emailFailures += outcome.emailFailures;
        if (outcome.eventDelivered) totals.eventsDelivered++;
        else if (group.delivery) totals.eventFailures++;
        if (notice.kind === 'credentialExpiring') totals.credentialNotices++;
        else totals.mailboxNotices++;
      }
    }
  }
  return totals;
}

/** Where the operator's own notices are kept (no customer tenant has this ID: theirs are GUIDs). */
const OPERATOR_PARTITION = 'operator';

/**
 * The connector app's secret serves every tenant's consent and mail: its expiry goes to the
 * operator (an error log line per threshold, the days-to-expiry gauge the Azure alert rule
 * watches), never to customers.
 */
async function checkConnectorSecret(deps: AlertDependencies): Promise<void> {
  if (!deps.connectorSecretExpiry) return;
  let expiresOn: Date | undefined;
  try {
    expiresOn = await deps.connectorSecretExpiry();
  } catch (error) {
    deps.log?.warn('Could not read the connector app secret\'s expiry', { errorCode: (error as { code?: string }).code ?? 'Error' });
    return;
  }
  const dimensions = { tenantId: OPERATOR_PARTITION, groupId: 'connector-app', kind: 'clientSecret' };
  if (!expiresOn) return recordCredentialDaysToExpiry('connector-app', undefined, dimensions);
  const now = deps.now();
  recordCredentialDaysToExpiry('connector-app', Math.floor((expiresOn.getTime() - now.getTime()) / DAY_IN_MS), dimensions);
  const threshold = thresholdOf(expiresOn, now);
  if (!threshold) return;
  const noticeKey = `connector-app|${expiresOn.toISOString()}|${threshold}`;
  if (await deps.notices.wasSent(OPERATOR_PARTITION, noticeKey)) return;
  deps.log?.error(`The connector app's client secret ${threshold === 'expired' ? 'has expired' : 'expires soon'} (${expiresOn.toISOString()}): add a new secret to the app registration and store it in Key Vault; consent, invitations and alert emails depend on it`, { threshold });
  await deps.notices.recordSent({ tenantId: OPERATOR_PARTITION, noticeKey, kind: 'credentialExpiring', sentAt: now.toISOString(), outcome: 'logged for the operator' });
}

function credentialWord(kind: string): string {
  return kind === 'certificate' ? 'certificate' : kind === 'clientSecret' ? 'client secret' : 'service-account password';
}

function credentialNotices(tenant: TenantRecord, group: GroupRecord, now: Date): Notice[] {
  const credential = group.credential;
  if (!credential?.expiresOn) {
    if (credential) recordCredentialDaysToExpiry(credential.secretName, undefined, { tenantId: tenant.id, groupId: group.id, kind: credential.kind });
    return [];
  }
  const expiresOn = new Date(credential.expiresOn);
  if (Number.isNaN(expiresOn.getTime())) return [];
  const daysLeft = Math.floor((expiresOn.getTime() - now.getTime()) / DAY_IN_MS);
  recordCredentialDaysToExpiry(credential.secretName, daysLeft, { tenantId: tenant.id, groupId: group.id, kind: credential.kind });
  const threshold = thresholdOf(expiresOn, now);
  if (!threshold) return [];
  const what = credentialWord(credential.kind);
  const when = threshold === 'expired' ? `expired on ${expiresOn.toISOString()}` : `expires in ${Math.max(0, Math.ceil((expiresOn.getTime() - now.getTime()) / DAY_IN_MS))} day(s), on ${expiresOn.toISOString()}`;
  const message = `The ${what} of the group "${group.name}" ${when}. Store a new one with PUT /api/admin/tenants/${tenant.id}/groups/${group.id}/credentials${threshold === 'expired' ? '; until then the group cannot sync' : ' before then; the current one keeps working until it expires'}.`;
  const occurredAt = now.toISOString();
  return [
    {
      // The version is part of the key: a renewed credential starts its own 30/14/7 notices.
      noticeKey: `credential|${group.id}|${credential.secretName}|${credential.secretVersion}|${threshold}`,
      kind: 'credentialExpiring',
      subject: threshold === 'expired' ? `Action needed: a mailbox connection credential has expired` : `Action needed: a mailbox connection credential expires soon`,
      message,
      event: { schemaVersion: 1, type: 'credentialExpiring', eventId: randomUUID(), occurredAt, tenantId: tenant.id, groupId: group.id, credential: { kind: credential.kind, expiresOn: expiresOn.toISOString(), daysLeft, threshold }, message },
      auditTarget: `/tenants/${tenant.id}/groups/${group.id}/credentials`,
      auditDetails: { kind: credential.kind, threshold, expiresOn: expiresOn.toISOString(), secretVersion: credential.secretVersion },
    },
  ];
}

async function mailboxNotices(deps: AlertDependencies, tenant: TenantRecord, group: GroupRecord): Promise<Notice[]> {
  const now = deps.now();
  const notices: Notice[] = [];
  for await (const mailbox of deps.mailboxes.list(tenant.id, group.id)) {
    const notice = mailboxNotice(tenant, group, mailbox, now, deps.persistentFailureAfterInMs);
    if (notice) notices.push(notice);
  }
  return notices;
}

function mailboxNotice(tenant: TenantRecord, group: GroupRecord, mailbox: MailboxRecord, now: Date, afterInMs: number): Notice | undefined {
  if (!mailbox.enabled || mailbox.status !== 'error' || !mailbox.lastError) return undefined;
  // Failing since its last success (or since it was added, if it never synced).
  const failingSince = mailbox.lastSuccessfulSyncAt ?? mailbox.createdAt;
  if (now.getTime() - Date.parse(failingSince) < afterInMs) return undefined;
  const hours = Math.floor((now.getTime() - Date.parse(failingSince)) / 3600_000);
  const message = `The mailbox ${mailbox.smtpAddress} in the group "${group.name}" has failed to sync for ${hours} hour(s), since ${failingSince}: ${mailbox.lastError.code}: ${mailbox.lastError.message}`;
  return {
    noticeKey: `mailbox|${group.id}|${mailbox.smtpAddress}|${failingSince}`,
    kind: 'mailboxFailing',
    subject: 'Action needed: a mailbox has stopped syncing',
    message,
    event: { schemaVersion: 1, type: 'mailboxFailing', eventId: randomUUID(), occurredAt: now.toISOString(), tenantId: tenant.id, groupId: group.id, mailbox: mailbox.smtpAddress, failingSince, error: { code: mailbox.lastError.code, message: mailbox.lastError.message }, message },
    auditTarget: `/tenants/${tenant.id}/groups/${group.id}/mailboxes/${mailbox.smtpAddress}`,
    auditDetails: { errorCode: mailbox.lastError.code, failingSince },
  };
}

async function sendNotice(deps: AlertDependencies, tenant: TenantRecord, group: GroupRecord, notice: Notice): Promise<{ emailsSent: number; emailFailures: number; eventDelivered: boolean }> {
  const email = await emailContacts(deps, tenant, notice);
  let eventDelivered = false;
  let eventError: string | undefined;
  if (group.delivery) {
    try {
      const outcome = await deps.sendEvent(group, notice.event);
      eventDelivered = outcome.ok;
      if (!outcome.ok) eventError = outcome.code;
    } catch (error) {
      eventError = (error as { code?: string }).code ?? 'Error';
    }
  }
  const outcome = `email ${email.sent}/${email.recipients}${email.error ? ` (${email.error})` : ''}, event ${group.delivery ? (eventDelivered ? 'delivered' : `failed (${eventError})`) : 'no target'}`;
  // Recorded even when a channel failed: a notice that reached nobody is logged at error and the
  // operator's alert rules see it; sending it again every hour would spam the channel that works.
  await deps.notices.recordSent({ tenantId: tenant.id, noticeKey: notice.noticeKey, groupId: group.id, kind: notice.kind, sentAt: deps.now().toISOString(), outcome });
  await deps.audit.append({ tenantId: tenant.id, actor: SYSTEM_ACTOR, action: `alert.${notice.kind}`, target: notice.auditTarget, details: { ...notice.auditDetails, emailRecipients: email.recipients, emailsSent: email.sent, event: group.delivery ? (eventDelivered ? 'delivered' : `failed: ${eventError}`) : 'no target' } }, deps.now());
  const log = deps.log?.with({ tenantId: tenant.id, groupId: group.id });
  if (email.sent === 0 && !eventDelivered) log?.error('Alert notice reached nobody', { kind: notice.kind, outcome });
  else log?.info('Alert notice sent', { kind: notice.kind, outcome });
  return { emailsSent: email.sent, emailFailures: email.recipients - email.sent, eventDelivered };
}

async function emailContacts(deps: AlertDependencies, tenant: TenantRecord, notice: Notice): Promise<{ recipients: number; sent: number; error?: string }> {
  // Only this tenant's settings are read: another tenant's contacts can never be addressed.
  const settings = await deps.consents.findSettings(tenant.id);
  const contacts = settings?.alertContacts ?? [];
  if (contacts.length === 0) return { recipients: 0, sent: 0, error: 'no alertContacts configured' };
  if (!settings?.senderMailbox) return { recipients: contacts.length, sent: 0, error: 'no senderMailbox configured' };
  // Product mail goes only through the tenant's proved binding (docs/security.md), as invitations do.
  const entraTenantId = verifiedEntraTenant(tenant);
  if (!entraTenantId) return { recipients: contacts.length, sent: 0, error: 'Entra tenant not verified' };
  let sent = 0;
  let lastError: string | undefined;
  for (const to of contacts) {
    try {
      await deps.mailer.send({ entraTenantId, senderMailbox: settings.senderMailbox, to, subject: notice.subject, html: alertEmailHtml(notice.message) });
      sent++;
    } catch (error) {
      lastError = (error as { code?: string }).code ?? 'SendFailed';
    }
  }
  return { recipients: contacts.length, sent, ...(lastError ? { error: lastError } : {}) };
}

/** Every value in the notice (group names, error messages) is escaped: they may come from anyone who can name a group. */
export function alertEmailHtml(message: string): string {
  return `<p>${escapeHtml(message)}</p><p>This notice is sent once per threshold by Exchange Connector to the alert contacts of your organisation.</p>`;
}
