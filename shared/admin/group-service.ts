import { randomUUID } from 'node:crypto';
import { HttpProblem, validationProblem } from '../http/problem';
import type { FieldProblem } from '../http/problem';
import { secretNames } from '../secrets/secret-names';
import { groupBatchesPrefix } from '../delivery/outbox';
import { PreconditionFailedError } from '../storage';
import type { GroupRecord, Page, PageRequest, Stored } from '../storage';
import type { ImpersonationSettings } from '../storage/records';
import { literalTargetRefused } from '../delivery/address-policy';
import { defaultProtocol, groupProtocol } from '../storage/records';
import type { AdminDependencies } from './admin-dependencies';
import { auditDetailsOf, recordAudit } from './audit-trail';
import { preconditionFailed, updateOptimistically } from './concurrency';
import type { AdminPrincipal } from './principal';
import type { CreateGroupRequest, UpdateGroupRequest } from './schemas';
import { loadTenant, tenantPath } from './tenant-service';
import { outboundUrlProblem } from './url-policy';
import { webhookTargetProblem } from './webhook-target-policy';

export function groupPath(tenantId: string, groupId: string): string {
  return `${tenantPath(tenantId)}/groups/${groupId}`;
}

export function groupNotFound(): HttpProblem {
  return new HttpProblem(404, 'GroupNotFound', 'Group not found', 'No group with this ID exists in the tenant.');
}

export async function loadGroup(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string, groupId: string): Promise<Stored<GroupRecord>> {
  await loadTenant(deps, principal, tenantId);
  const group = await deps.groups.find(tenantId, groupId);
  if (!group) throw groupNotFound();
  return group;
}

/** What the cross-field rules read: a stored group, or as much of a raw request body as has the right types. */
type GroupShape = Partial<Pick<GroupRecord, 'mailboxAccessType' | 'protocol' | 'ewsUrl' | 'impersonation' | 'appOnly' | 'delivery'>>;

/**
 * The cross-field rules applied to a create body the schema refused, so the answer names these
 * fields too. Only values of the right type are looked at; the schema reports the others.
 */
export function createGroupBodyProblems(raw: unknown, { deps }: { deps: Pick<AdminDependencies, 'environment' | 'connectorAppClientId' | 'defaultEwsUrl'> }): FieldProblem[] {
  if (typeof raw !== 'object' || raw === null) return [];
  const body = raw as Record<string, unknown>;
  const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;
  const accessTypes: readonly unknown[] = ['impersonation', 'appOnly', 'delegated'];
  const delivery = body['delivery'];
  const shape = {
    ...(accessTypes.includes(body['mailboxAccessType']) ? { mailboxAccessType: body['mailboxAccessType'] } : {}),
    ...(body['protocol'] === 'graph' || body['protocol'] === 'ews' ? { protocol: body['protocol'] } : {}),
    ...(typeof body['ewsUrl'] === 'string' ? { ewsUrl: body['ewsUrl'] } : {}),
    ...(isObject(body['impersonation']) ? { impersonation: body['impersonation'] } : {}),
    ...(isObject(body['appOnly']) ? { appOnly: body['appOnly'] } : {}),
    ...(isObject(delivery) && ['webhook', 'queue'].includes((delivery as { kind?: unknown }).kind as string) ? { delivery } : {}),
  } as GroupShape;
  return groupProblems(shape, deps);
}

/** authScheme kerberos needs its settings, and only it may have them; KDC literals obey the outbound address policy. */
function kerberosProblems(impersonation: Partial<ImpersonationSettings>, environment: AdminDependencies['environment']): FieldProblem[] {
  const kerberos = impersonation.kerberos;
  if (impersonation.authScheme === 'kerberos' && !kerberos) {
    return [{ pointer: '/impersonation/kerberos', detail: 'is required when authScheme is kerberos (realm and kdcs; servicePrincipal optional)' }];
  }
  if (impersonation.authScheme !== 'kerberos' && kerberos) return [{ pointer: '/impersonation/kerberos', detail: 'must not be set unless authScheme is kerberos' }];
  if (!kerberos || !Array.isArray(kerberos.kdcs)) return [];
  return kerberos.kdcs.flatMap((kdc, index) =>
    typeof kdc === 'string' && literalTargetRefused(`https://${kdc}/`, environment)
      ? [{ pointer: `/impersonation/kerberos/kdcs/${index}`, detail: 'must not be a loopback, private or link-local address: KDCs must be reachable at public addresses (as the EWS URL)' }]
      : [],
  );
}

/** The rules that span fields: which access settings each access type needs, and URL policy. */
function groupProblems(group: GroupShape, deps: Pick<AdminDependencies, 'environment' | 'connectorAppClientId' | 'defaultEwsUrl'>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const requireOnly = (needed: 'impersonation' | 'appOnly' | undefined) => {
    for (const field of ['impersonation', 'appOnly'] as const) {
      if (field === needed && !group[field]) problems.push({ pointer: `/${field}`, detail: `is required when mailboxAccessType is ${group.mailboxAccessType}` });
      if (field !== needed && group[field]) problems.push({ pointer: `/${field}`, detail: `must not be set when mailboxAccessType is ${group.mailboxAccessType}` });
    }
  };
  if (group.mailboxAccessType === 'impersonation') {
    requireOnly('impersonation');
    if (!group.ewsUrl) problems.push({ pointer: '/ewsUrl', detail: 'is required when mailboxAccessType is impersonation (your Exchange server\'s EWS URL)' });
    if (group.impersonation) problems.push(...kerberosProblems(group.impersonation, deps.environment));
  } else if (group.mailboxAccessType === 'appOnly') {
    requireOnly('appOnly');
    if (deps.connectorAppClientId && group.appOnly?.clientId.toLowerCase() === deps.connectorAppClientId.toLowerCase()) {
      problems.push({ pointer: '/appOnly/clientId', detail: "must be your own app registration's client ID, not the connector's app (the connector app is used through admin consent and delegated groups)" });
    }
  } else if (group.mailboxAccessType === 'delegated') {
    requireOnly(undefined);
    if (group.ewsUrl) {
      problems.push({
        pointer: '/ewsUrl',
        detail: `must not be set for delegated groups: users' tokens for the connector app are sent only to Exchange Online (${deps.defaultEwsUrl})`,
      });
    }
  }
  if (groupProtocol(group) === 'graph' && group.mailboxAccessType === 'impersonation') {
    problems.push({ pointer: '/protocol', detail: "graph needs mailboxAccessType appOnly or delegated: Graph has no service-account (impersonation) access; use ews for on-premises Exchange" });
  }
  if (group.ewsUrl && group.mailboxAccessType !== 'delegated') {
    const problem = outboundUrlProblem(group.ewsUrl, deps.environment, '/ewsUrl');
    if (problem) problems.push(problem);
  }
  const delivery = group.delivery;
  const deliveryUrl =
    delivery?.kind === 'webhook'
      ? { pointer: '/delivery/url', url: delivery.url }
      : delivery?.kind === 'queue' && delivery.accountUrl
        ? { pointer: '/delivery/accountUrl', url: delivery.accountUrl }
        : undefined;
  if (deliveryUrl && typeof deliveryUrl.url === 'string') {
    const problem = outboundUrlProblem(deliveryUrl.url, deps.environment, deliveryUrl.pointer);
    if (problem) problems.push(problem);
  }
  return problems;
}

/**
 * Outside development, every administrator-supplied URL that is new or changed (webhook, queue
 * account, EWS) must pass the outbound address policy now (https, and every resolved address
 * public), so an admin learns at once instead of from dead letters or failed syncs.
 * An unchanged URL is not re-resolved: a passing DNS hiccup must not block unrelated edits, and
 * every send checks the target again anyway.
 */
async function deliveryTargetProblems(next: GroupRecord, previous: GroupRecord | undefined, deps: AdminDependencies): Promise<FieldProblem[]> {
  // Development has only the scheme rule (groupProblems): http to loopback, https anywhere, no DNS needed.
  if (deps.environment === 'development') return [];
  const checks: { pointer: string; url: string }[] = [];
  if (next.delivery?.kind === 'webhook' && !(previous?.delivery?.kind === 'webhook' && previous.delivery.url === next.delivery.url)) {
    checks.push({ pointer: '/delivery/url', url: next.delivery.url });
  }
  if (next.delivery?.kind === 'queue' && next.delivery.accountUrl && !(previous?.delivery?.kind === 'queue' && previous.delivery.accountUrl === next.delivery.accountUrl)) {
    checks.push({ pointer: '/delivery/accountUrl', url: next.delivery.accountUrl });
  }
  // The EWS URL gets the same policy as webhooks: the connector sends the customer's credentials there.
  if (next.ewsUrl && next.ewsUrl !== previous?.ewsUrl) checks.push({ pointer: '/ewsUrl', url: next.ewsUrl });
  const problems = await Promise.all(checks.map((check) => webhookTargetProblem(check.url, deps, check.pointer)));
  return problems.filter((problem): problem is FieldProblem => problem !== undefined);
}

/** Every rule at once, so one answer names every field at fault; the address policy only where the URL itself passed. */
async function allGroupProblems(next: GroupRecord, previous: GroupRecord | undefined, deps: AdminDependencies): Promise<FieldProblem[]> {
  const problems = groupProblems(next, deps);
  if (problems.some((problem) => problem.pointer.startsWith('/delivery'))) return problems;
  // A URL the scheme rule already refused is not looked up as well: one problem per field.
  const named = new Set(problems.map((problem) => problem.pointer));
  return [...problems, ...(await deliveryTargetProblems(next, previous, deps)).filter((problem) => !named.has(problem.pointer))];
}

export async function listGroups(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  request: PageRequest,
): Promise<Page<Stored<GroupRecord>>> {
  await loadTenant(deps, principal, tenantId);
  return deps.groups.page(tenantId, request);
}

export async function createGroup(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  input: CreateGroupRequest,
): Promise<Stored<GroupRecord>> {
  await loadTenant(deps, principal, tenantId);
  const at = deps.now().toISOString();
  const group: GroupRecord = {
    tenantId,
    id: randomUUID(),
    name: input.name,
    externalId: input.externalId,
    mailboxAccessType: input.mailboxAccessType,
    protocol: input.protocol ?? defaultProtocol(input.mailboxAccessType, input.ewsUrl),
    ...(input.ewsUrl ? { ewsUrl: input.ewsUrl } : {}),
    ...(input.impersonation ? { impersonation: input.impersonation } : {}),
    ...(input.appOnly ? { appOnly: { entraTenantId: input.appOnly.entraTenantId.toLowerCase(), clientId: input.appOnly.clientId.toLowerCase() } } : {}),
    folders: input.folders,
    pollIntervalMinutes: input.pollIntervalMinutes,
    ...(input.delivery ? { delivery: input.delivery } : {}),
    initialSync: input.initialSync,
    enabled: input.enabled,
    ...(input.contactCandidates ? { contactCandidates: input.contactCandidates } : {}),
    createdAt: at,
    updatedAt: at,
  };
  const problems = await allGroupProblems(group, undefined, deps);
  if (problems.length > 0) throw validationProblem(problems);
  const created = await deps.groups.create(group);
  await recordAudit(deps, principal, tenantId, 'group.created', groupPath(tenantId, group.id), auditDetailsOf({ ...input }));
  return created;
}

/** The read-only rules applied to a change body the schema refused, so the answer names these fields too. */
export async function updateGroupBodyProblems(raw: unknown, context: { deps: AdminDependencies; principal: AdminPrincipal; params: Readonly<Record<'tenantId' | 'groupId', string>> }): Promise<FieldProblem[]> {
  if (typeof raw !== 'object' || raw === null) return [];
  // An unknown group answers 404 once the body is valid; here it just has no read-only fields to compare.
  const current = await loadGroup(context.deps, context.principal, context.params.tenantId, context.params.groupId).catch(() => undefined);
  return current ? readOnlyProblems(current, raw as Pick<UpdateGroupRequest, 'externalId' | 'mailboxAccessType'>) : [];
}

function readOnlyProblems(current: GroupRecord, input: Pick<UpdateGroupRequest, 'externalId' | 'mailboxAccessType'>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.externalId !== undefined && input.externalId !== current.externalId) {
    problems.push({ pointer: '/externalId', detail: 'is read-only after creation; create a new group to use another external ID' });
  }
  if (input.mailboxAccessType !== undefined && input.mailboxAccessType !== current.mailboxAccessType) {
    problems.push({ pointer: '/mailboxAccessType', detail: 'is read-only after creation (credentials are bound to it); create a new group instead' });
  }
  return problems;
}

export async function updateGroup(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  input: UpdateGroupRequest,
  ifMatch: string | undefined,
): Promise<Stored<GroupRecord>> {
  const { after } = await updateOptimistically(
    () => loadGroup(deps, principal, tenantId, groupId),
    ifMatch,
    async (current) => {
      const readOnly = readOnlyProblems(current, input);
      const { etag: _etag, ewsUrl, delivery, ...rest } = current;
      const nextEwsUrl = input.ewsUrl === null ? undefined : (input.ewsUrl ?? ewsUrl);
      const nextDelivery = input.delivery === null ? undefined : (input.delivery ?? delivery);
      const next: GroupRecord = {
        ...rest,
        ...(nextEwsUrl ? { ewsUrl: nextEwsUrl } : {}),
        ...(nextDelivery ? { delivery: nextDelivery } : {}),
        name: input.name ?? current.name,
        protocol: input.protocol ?? groupProtocol(current),
        impersonation: input.impersonation ?? current.impersonation,
        appOnly: input.appOnly ? { entraTenantId: input.appOnly.entraTenantId.toLowerCase(), clientId: input.appOnly.clientId.toLowerCase() } : current.appOnly,
        folders: input.folders ?? current.folders,
        pollIntervalMinutes: input.pollIntervalMinutes ?? current.pollIntervalMinutes,
        initialSync: input.initialSync ?? current.initialSync,
        enabled: input.enabled ?? current.enabled,
        ...(input.contactCandidates ?? current.contactCandidates ? { contactCandidates: input.contactCandidates ?? current.contactCandidates } : {}),
        updatedAt: deps.now().toISOString(),
      };
      const problems = [...readOnly, ...(await allGroupProblems(next, current, deps))];
      if (problems.length > 0) throw validationProblem(problems);
      return next;
    },
    (next, etag) => deps.groups.replace(next, etag),
  );
  const { externalId: _e, mailboxAccessType: _m, ...changes } = input;
  await recordAudit(deps, principal, tenantId, 'group.updated', groupPath(tenantId, groupId), auditDetailsOf(changes));
  return after;
}

/**
 * Deletes the group and everything kept for it: its Key Vault secrets (credential, webhook
 * signing key, linked delegated users' token caches; soft-deleted), its claim-check and
 * dead-letter blobs, its rows in every other table (sync state, leases, schedule, delivery
 * status, dead letters, suppressed deletions, invitations, delegated users), its mailboxes, and
 * the group row last. The group is disabled first so no new sync starts meanwhile. Every step is
 * idempotent and the group row, which names the secrets, goes last: if any step fails, the group
 * is still there (disabled) and deleting it again finishes the job.
 */
export async function deleteGroup(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  ifMatch: string | undefined,
): Promise<void> {
  const group = await loadGroup(deps, principal, tenantId, groupId);
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== group.etag) throw preconditionFailed();
  const disabled = await disableForDeletion(deps, group);
  if (group.credential) await deps.vault.deleteSecret(group.credential.secretName);
  const signingKey = await deps.vault.deleteSecret(secretNames.webhookSigningKey(tenantId, groupId));
  const delegatedUsers = await deps.groupData.delegatedUsersOf(tenantId, groupId);
  for (const user of delegatedUsers) await deps.vault.deleteSecret(user.tokenCacheSecretName);
  const blobsRemoved = await deps.batchBlobs.deleteUnder(groupBatchesPrefix(tenantId, groupId));
  const rowsRemoved = await deps.groupData.removeAll(tenantId, groupId);
  const mailboxesRemoved = await deps.mailboxes.deleteAllInGroup(tenantId, groupId);
  await deps.groups.delete(disabled);
  // A credential PUT or signing-key rotation racing this delete may have written a secret after the
  // deletions above; with the row gone nothing would name it again. (A write landing after this sweep
  // finds the group gone and removes its own secret: credential-service.ts.)
  for (const name of [...secretNames.groupCredentials(tenantId, groupId), secretNames.webhookSigningKey(tenantId, groupId)]) {
    await deps.vault.deleteSecret(name).catch(() => undefined);
  }
  await recordAudit(deps, principal, tenantId, 'group.deleted', groupPath(tenantId, groupId), {
    externalId: group.externalId,
    mailboxesRemoved,
    credentialDeleted: group.credential ? group.credential.secretName : null,
    signingKeyDeleted: signingKey ? signingKey.name : null,
    tokenCachesDeleted: delegatedUsers.length,
    blobsRemoved,
    ...rowsRemoved,
  });
}

/** Stops new syncs of the group while its data is removed (the scheduler and worker skip disabled groups). */
async function disableForDeletion(deps: AdminDependencies, group: Stored<GroupRecord>): Promise<GroupRecord> {
  if (!group.enabled) return group;
  const { etag, ...record } = group;
  try {
    return await deps.groups.replace({ ...record, enabled: false, updatedAt: deps.now().toISOString() }, etag);
  } catch (error) {
    if (error instanceof PreconditionFailedError) throw preconditionFailed();
    throw error;
  }
}
