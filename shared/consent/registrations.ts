/**
 * Admin views of delegated users (all / with errors / without errors), linking a user to a
 * mailbox and the item kinds to sync, and deleting every stored registration of a tenant.
 */
import { HttpProblem } from '../http/problem';
import type { SyncFolderKind } from '../storage';
import type { DelegatedUserRecord } from '../storage/delegated-users-repository';
import type { ConsentDependencies } from './consent-dependencies';
import { invitationState } from './invitations';
import type { InvitationState } from './invitations';

export type DelegatedUserFilter = 'all' | 'errors' | 'ok';

export interface DelegatedUserView {
  readonly userObjectId: string;
  readonly userPrincipalName: string;
  readonly displayName?: string;
  readonly entraTenantId: string;
  readonly status: DelegatedUserRecord['status'];
  readonly link?: { readonly groupId: string; readonly mailbox: string; readonly folders?: readonly SyncFolderKind[] };
  readonly error?: { readonly code: string; readonly message: string; readonly at: string };
  readonly signedInAt: string;
  readonly updatedAt: string;
}

export function delegatedUserView(user: DelegatedUserRecord): DelegatedUserView {
  return {
    userObjectId: user.userObjectId,
    userPrincipalName: user.userPrincipalName,
    ...(user.displayName ? { displayName: user.displayName } : {}),
    entraTenantId: user.entraTenantId,
    status: user.status,
    ...(user.link ? { link: { ...user.link } } : {}),
    ...(user.lastError ? { error: { ...user.lastError } } : {}),
    signedInAt: user.signedInAt,
    updatedAt: user.updatedAt,
  };
}

export async function listDelegatedUsers(deps: ConsentDependencies, tenantId: string, filter: DelegatedUserFilter): Promise<DelegatedUserView[]> {
  const views: DelegatedUserView[] = [];
  for await (const user of deps.users.list(tenantId)) {
    const failing = user.status !== 'active';
    if (filter === 'all' || (filter === 'errors') === failing) views.push(delegatedUserView(user));
  }
  return views;
}

/** Links a signed-in user to a mailbox of a delegated group (and optionally the item kinds to sync). */
export async function linkDelegatedUser(
  deps: ConsentDependencies,
  actor: { objectId: string; name: string },
  tenantId: string,
  groupId: string,
  mailbox: string,
  input: { userObjectId: string; folders?: readonly SyncFolderKind[] },
): Promise<DelegatedUserView> {
  const group = await deps.groups.find(tenantId, groupId);
  if (!group) throw new HttpProblem(404, 'GroupNotFound', 'Group not found', 'No group with this ID exists in the tenant.');
  if (group.mailboxAccessType !== 'delegated') throw new HttpProblem(409, 'GroupNotDelegated', 'Not a delegated group', 'Only mailboxes of delegated groups are linked to signed-in users.');
  if (!(await deps.mailboxes.find(tenantId, groupId, mailbox))) throw new HttpProblem(404, 'MailboxNotFound', 'Mailbox not found', 'No mailbox with this address exists in the group.');
  const user = await deps.users.find(tenantId, input.userObjectId);
  if (!user) throw new HttpProblem(404, 'DelegatedUserNotFound', 'User not found', 'No user with this object ID has signed in for the tenant.');
  const holder = await deps.users.findByMailbox(tenantId, mailbox);
  if (holder && holder.userObjectId !== user.userObjectId) {
    throw new HttpProblem(409, 'MailboxAlreadyLinked', 'Mailbox already linked', `The mailbox is linked to ${holder.userPrincipalName}; unlink it first.`);
  }
  const { etag, ...rest } = user;
  const updated = await deps.users.replace({ ...rest, link: { groupId, mailbox: mailbox.toLowerCase(), ...(input.folders ? { folders: [...input.folders] } : {}) }, updatedAt: deps.now().toISOString() }, etag);
  await deps.audit.append({ tenantId, actor, action: 'delegatedUser.linked', target: `/tenants/${tenantId}/groups/${groupId}/mailboxes/${mailbox}`, details: { userObjectId: user.userObjectId, folders: input.folders?.join(',') ?? null } }, deps.now());
  return delegatedUserView(updated);
}

export interface InvitationView {
  readonly id: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly purpose: string;
  readonly state: InvitationState;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly createdBy: string;
  readonly acceptedAt?: string;
  readonly acceptedBy?: string;
  readonly email?: { readonly sentAt?: string; readonly error?: string };
}

export async function listInvitations(deps: ConsentDependencies, tenantId: string): Promise<InvitationView[]> {
  const views: InvitationView[] = [];
  const now = deps.now();
  for await (const record of deps.invitations.list(tenantId)) {
    views.push({
      id: record.id,
      groupId: record.groupId,
      mailbox: record.mailbox,
      purpose: record.purpose,
      state: invitationState(record, now),
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      createdBy: record.createdBy.name,
      ...(record.acceptedAt ? { acceptedAt: record.acceptedAt } : {}),
      ...(record.acceptedBy ? { acceptedBy: record.acceptedBy.userPrincipalName } : {}),
      ...(record.email ? { email: { ...record.email } } : {}),
    });
  }
  return views.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Deletes every user token cache (Key Vault), delegated user and invitation of the tenant. */
export async function deleteRegistrations(deps: ConsentDependencies, actor: { objectId: string; name: string }, tenantId: string): Promise<{ users: number; tokenCaches: number; invitations: number }> {
  let users = 0;
  let tokenCaches = 0;
  let invitations = 0;
  for await (const user of deps.users.list(tenantId)) {
    if (await deps.tokenCaches.delete({ tenantId, userObjectId: user.userObjectId })) tokenCaches++;
    deps.tokens.forget(tenantId, user.userObjectId);
    await deps.users.delete(tenantId, user.userObjectId);
    users++;
  }
  for await (const invitation of deps.invitations.list(tenantId)) {
    await deps.invitations.delete(tenantId, invitation.id);
    invitations++;
  }
  await deps.audit.append({ tenantId, actor, action: 'registrations.deleted', target: `/tenants/${tenantId}/registrations`, details: { users, tokenCaches, invitations } }, deps.now());
  return { users, tokenCaches, invitations };
}
