/**
 * What happens when a delegated user's sign-in stops working (invalid_grant after a password
 * change or revocation, MFA/conditional access requiring interaction, consent revoked): the
 * user and their linked mailbox are marked needsReauthentication with the reason, which
 * pauses that mailbox's sync; on the first failure only, and when the tenant enabled it, the
 * user gets an email with a fresh sign-in link. Signing in again clears the marks (sign-in.ts).
 */
import type { ReauthenticationEvent } from '../auth/delegated-token';
import { PreconditionFailedError } from '../storage';
import type { ConsentDependencies } from './consent-dependencies';
import { issueInvitation } from './invitations';

const SYSTEM_ACTOR = { objectId: 'system', name: 'Exchange Connector' };

export type ReauthenticationHandler = (event: ReauthenticationEvent) => Promise<void>;

export function createReauthenticationHandler(deps: () => Promise<ConsentDependencies> | ConsentDependencies): ReauthenticationHandler {
  return async (event) => handleReauthenticationRequired(await deps(), event);
}

async function markUser(deps: ConsentDependencies, event: ReauthenticationEvent): Promise<{ firstFailure: boolean; groupId?: string; mailbox?: string }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const user = event.userObjectId ? await deps.users.find(event.tenantId, event.userObjectId) : event.mailbox ? await deps.users.findByMailbox(event.tenantId, event.mailbox) : undefined;
    if (!user) return { firstFailure: false };
    const link = user.link ? { groupId: user.link.groupId, mailbox: user.link.mailbox } : {};
    if (user.status === 'needsReauthentication') return { firstFailure: false, ...link };
    const { etag, ...rest } = user;
    const at = deps.now().toISOString();
    try {
      await deps.users.replace({ ...rest, status: 'needsReauthentication', lastError: { code: event.reason, message: event.message, at }, updatedAt: at }, etag);
      return { firstFailure: true, ...link };
    } catch (error: unknown) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
  return { firstFailure: false };
}

async function pauseMailbox(deps: ConsentDependencies, tenantId: string, groupId: string, mailbox: string, message: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await deps.mailboxes.find(tenantId, groupId, mailbox);
    if (!current || current.status === 'needsReauthentication') return;
    const { etag, ...rest } = current;
    const at = deps.now().toISOString();
    try {
      await deps.mailboxes.replace({ ...rest, status: 'needsReauthentication', lastError: { code: 'ReauthenticationRequired', message, at }, updatedAt: at }, etag);
      return;
    } catch (error: unknown) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
}

export async function handleReauthenticationRequired(deps: ConsentDependencies, event: ReauthenticationEvent): Promise<void> {
  const marked = await markUser(deps, event);
  const groupId = marked.groupId;
  const mailbox = marked.mailbox ?? event.mailbox;
  if (groupId && mailbox) await pauseMailbox(deps, event.tenantId, groupId, mailbox, event.message);
  if (!marked.firstFailure || !groupId || !mailbox) return;
  await deps.audit.append(
    { tenantId: event.tenantId, actor: SYSTEM_ACTOR, action: 'delegatedUser.reauthenticationRequired', target: `/tenants/${event.tenantId}/groups/${groupId}/mailboxes/${mailbox}`, details: { reason: event.reason, message: event.message } },
    deps.now(),
  );
  const settings = await deps.consents.findSettings(event.tenantId);
  if (!settings?.emailReauthentication) return;
  const tenant = await deps.tenants.find(event.tenantId);
  const group = await deps.groups.find(event.tenantId, groupId);
  if (!tenant || !group) return;
  await issueInvitation(deps, tenant, group, mailbox, { purpose: 'reauthentication', createdBy: SYSTEM_ACTOR, email: { reason: event.message } });
}
