/**
 * Invitations for users of delegated groups: each has a short, unguessable code (80 random
 * bits), an expiry and a link to the sign-in start endpoint. Only a digest of the code is
 * stored. The product can email the invitation from the tenant's sender mailbox.
 */
import { createHash, randomInt } from 'node:crypto';
import { verifiedEntraTenant } from '../admin/tenant-binding';
import { HttpProblem, validationProblem } from '../http/problem';
import type { GroupRecord, TenantRecord } from '../storage';
import type { InvitationPurpose, InvitationRecord } from '../storage/invitations-repository';
import type { ConsentDependencies } from './consent-dependencies';
import { signInStartUrl } from './redirect-uris';

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 16;

/** XXXX-XXXX-XXXX-XXXX from an alphabet without look-alikes (0/O, 1/I). */
export function newInvitationCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code.match(/.{4}/g)!.join('-');
}

/** Upper-cases and drops separators; undefined when it cannot be a code. */
export function normaliseInvitationCode(code: string | null | undefined): string | undefined {
  const compact = (code ?? '').toUpperCase().replace(/[\s-]/g, '');
  return compact.length === CODE_LENGTH && [...compact].every((c) => CODE_ALPHABET.includes(c)) ? compact : undefined;
}

export function invitationIdOf(normalisedCode: string): string {
  return createHash('sha256').update(`invitation:${normalisedCode}`).digest('hex').slice(0, 40);
}

export interface CreateInvitationsInput {
  readonly mailboxes: readonly string[];
  readonly expiresInHours?: number;
  /** Send the invitation by email from the tenant's sender mailbox (needs consent settings). */
  readonly sendEmail?: boolean;
  /** Shown in the email as the person inviting. */
  readonly adminName?: string;
  /** Added to the email text. */
  readonly message?: string;
}

export interface IssuedInvitation {
  readonly record: InvitationRecord;
  readonly code: string;
  readonly link: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function invitationEmailHtml(options: { link: string; code: string; expiresAt: string; purpose: InvitationPurpose; adminName?: string; message?: string; reason?: string }): string {
  const intro =
    options.purpose === 'reauthentication'
      ? `<p>Your mailbox connection needs you to sign in again${options.reason ? ` (${escapeHtml(options.reason)})` : ''}. Until you do, syncing of your mailbox is paused.</p>`
      : `<p>${options.adminName ? escapeHtml(options.adminName) : 'Your administrator'} invites you to connect your mailbox.</p>`;
  return `${intro}${options.message ? `<p>${escapeHtml(options.message)}</p>` : ''}<p><a href="${escapeHtml(options.link)}">Sign in with your work account</a></p><p>Or open ${escapeHtml(options.link)}<br/>Invitation code: ${escapeHtml(options.code)}. The link expires ${escapeHtml(options.expiresAt)}.</p>`;
}

/** Creates one invitation (and emails it when asked and configured); returns the code once. */
export async function issueInvitation(
  deps: ConsentDependencies,
  tenant: TenantRecord,
  group: GroupRecord,
  mailbox: string,
  options: { purpose: InvitationPurpose; createdBy: { objectId: string; name: string }; expiresInHours?: number; email?: { adminName?: string; message?: string; reason?: string } },
): Promise<IssuedInvitation> {
  const code = newInvitationCode();
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + (options.expiresInHours ?? deps.invitationLifetimeInHours) * 3600_000).toISOString();
  let record: InvitationRecord = {
    tenantId: tenant.id,
    id: invitationIdOf(normaliseInvitationCode(code)!),
    groupId: group.id,
    mailbox: mailbox.toLowerCase(),
    purpose: options.purpose,
    status: 'pending',
    createdAt: now.toISOString(),
    expiresAt,
    createdBy: options.createdBy,
  };
  const link = signInStartUrl(deps.publicBaseUrl, tenant.id, code);
  const created = await deps.invitations.create(record);
  if (options.email) {
    const emailOutcome = await emailInvitation(deps, tenant, record, { link, code, ...options.email });
    const { etag } = created;
    record = { ...record, email: emailOutcome };
    await deps.invitations.replace(record, etag);
  }
  return { record, code, link };
}

async function emailInvitation(
  deps: ConsentDependencies,
  tenant: TenantRecord,
  invitation: InvitationRecord,
  content: { link: string; code: string; adminName?: string; message?: string; reason?: string },
): Promise<{ sentAt?: string; error?: string }> {
  const settings = await deps.consents.findSettings(tenant.id);
  if (!settings?.senderMailbox) return { error: 'No sender mailbox is configured (PUT .../consent-settings).' };
  const entraTenantId = verifiedEntraTenant(tenant);
  if (!entraTenantId) return { error: "The tenant's Entra tenant is not verified yet: an administrator of the organisation must grant admin consent first (POST .../consent)." };
  try {
    const subject = invitation.purpose === 'reauthentication' ? 'Please sign in again to keep your mailbox connected' : (settings.invitationSubject ?? 'Connect your mailbox');
    await deps.mailer.send({
      entraTenantId,
      senderMailbox: settings.senderMailbox,
      to: invitation.mailbox,
      subject,
      html: invitationEmailHtml({ ...content, expiresAt: invitation.expiresAt, purpose: invitation.purpose, message: content.message ?? settings.invitationMessage }),
    });
    return { sentAt: deps.now().toISOString() };
  } catch (error: unknown) {
    const code = (error as { code?: unknown }).code;
    return { error: `${typeof code === 'string' ? code + ': ' : ''}${error instanceof Error ? error.message : String(error)}`.slice(0, 500) };
  }
}

/** The admin operation: invitations for mailboxes of a delegated group. */
export async function createInvitations(
  deps: ConsentDependencies,
  tenant: TenantRecord,
  group: GroupRecord,
  createdBy: { objectId: string; name: string },
  input: CreateInvitationsInput,
): Promise<IssuedInvitation[]> {
  if (group.mailboxAccessType !== 'delegated') {
    throw new HttpProblem(409, 'GroupNotDelegated', 'Not a delegated group', 'Invitations are for groups whose mailboxAccessType is delegated.');
  }
  const addresses = [...new Set(input.mailboxes.map((m) => m.toLowerCase()))];
  const missing: string[] = [];
  for (const address of addresses) if (!(await deps.mailboxes.find(tenant.id, group.id, address))) missing.push(address);
  if (missing.length > 0) {
    throw validationProblem(missing.map((address) => ({ pointer: `/mailboxes/${input.mailboxes.findIndex((m) => m.toLowerCase() === address)}`, detail: `${address} is not a mailbox of the group` })));
  }
  const issued: IssuedInvitation[] = [];
  for (const address of addresses) {
    issued.push(
      await issueInvitation(deps, tenant, group, address, {
        purpose: 'signIn',
        createdBy,
        ...(input.expiresInHours ? { expiresInHours: input.expiresInHours } : {}),
        ...(input.sendEmail ? { email: { adminName: input.adminName ?? createdBy.name, ...(input.message ? { message: input.message } : {}) } } : {}),
      }),
    );
  }
  await deps.audit.append(
    { tenantId: tenant.id, actor: createdBy, action: 'invitations.created', target: `/tenants/${tenant.id}/groups/${group.id}/invitations`, details: { count: issued.length, mailboxes: addresses.join(','), emailed: input.sendEmail ?? false } },
    deps.now(),
  );
  return issued;
}

export type InvitationState = 'pending' | 'accepted' | 'revoked' | 'expired';

export function invitationState(record: InvitationRecord, now: Date): InvitationState {
  if (record.status === 'pending' && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
  return record.status;
}
