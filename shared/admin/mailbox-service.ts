import { HttpProblem } from '../http/problem';
import { EntityConflictError } from '../storage';
import type { MailboxRecord, Page, PageRequest, Stored } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { auditDetailsOf, recordAudit } from './audit-trail';
import { preconditionFailed, updateOptimistically } from './concurrency';
import { fieldProblemsOf } from './field-problems';
import { groupPath, loadGroup } from './group-service';
import type { AdminPrincipal } from './principal';
import { createMailboxRequest } from './schemas';
import type { CreateMailboxRequest, ImportMailboxesRequest, ImportMailboxesResponse, ImportRowResult, UpdateMailboxRequest } from './schemas';

export function mailboxPath(tenantId: string, groupId: string, smtpAddress: string): string {
  return `${groupPath(tenantId, groupId)}/mailboxes/${smtpAddress}`;
}

export function mailboxNotFound(): HttpProblem {
  return new HttpProblem(404, 'MailboxNotFound', 'Mailbox not found', 'The group has no mailbox with this address.');
}

function newMailbox(tenantId: string, groupId: string, input: CreateMailboxRequest, at: string): MailboxRecord {
  return {
    tenantId,
    groupId,
    smtpAddress: input.smtpAddress.toLowerCase(),
    ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
    ...(input.userId !== undefined ? { userId: input.userId } : {}),
    enabled: input.enabled,
    status: input.enabled ? 'pending' : 'disabled',
    counts: { created: 0, updated: 0, deleted: 0 },
    createdAt: at,
    updatedAt: at,
  };
}

/** Enabling/disabling moves the read-only status: disabled <-> pending (the sync sets the rest). */
function statusAfter(current: MailboxRecord, enabled: boolean): MailboxRecord['status'] {
  if (!enabled) return 'disabled';
  return current.enabled ? current.status : 'pending';
}

function withProfile(current: MailboxRecord, input: UpdateMailboxRequest, at: string): MailboxRecord {
  const { displayName, userId, ...rest } = current;
  const nextDisplayName = input.displayName === null ? undefined : (input.displayName ?? displayName);
  const nextUserId = input.userId === null ? undefined : (input.userId ?? userId);
  const enabled = input.enabled ?? current.enabled;
  return {
    ...rest,
    ...(nextDisplayName !== undefined ? { displayName: nextDisplayName } : {}),
    ...(nextUserId !== undefined ? { userId: nextUserId } : {}),
    enabled,
    status: statusAfter(current, enabled),
    updatedAt: at,
  };
}

export async function loadMailbox(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  smtpAddress: string,
): Promise<Stored<MailboxRecord>> {
  await loadGroup(deps, principal, tenantId, groupId);
  const mailbox = await deps.mailboxes.find(tenantId, groupId, smtpAddress.toLowerCase());
  if (!mailbox) throw mailboxNotFound();
  return mailbox;
}

export async function listMailboxes(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  request: PageRequest,
): Promise<Page<Stored<MailboxRecord>>> {
  await loadGroup(deps, principal, tenantId, groupId);
  return deps.mailboxes.page(tenantId, groupId, request);
}

export async function createMailbox(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  input: CreateMailboxRequest,
): Promise<Stored<MailboxRecord>> {
  await loadGroup(deps, principal, tenantId, groupId);
  const mailbox = newMailbox(tenantId, groupId, input, deps.now().toISOString());
  try {
    const created = await deps.mailboxes.create(mailbox);
    await recordAudit(deps, principal, tenantId, 'mailbox.created', mailboxPath(tenantId, groupId, mailbox.smtpAddress), auditDetailsOf({ ...input }));
    return created;
  } catch (error) {
    if (error instanceof EntityConflictError) {
      throw new HttpProblem(409, 'MailboxExists', 'Mailbox already in the group', `${mailbox.smtpAddress} is already a mailbox of this group.`, [
        { pointer: '/smtpAddress', detail: 'is already a mailbox of this group' },
      ]);
    }
    throw error;
  }
}

export async function updateMailbox(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  smtpAddress: string,
  input: UpdateMailboxRequest,
  ifMatch: string | undefined,
): Promise<Stored<MailboxRecord>> {
  const { after } = await updateOptimistically(
    () => loadMailbox(deps, principal, tenantId, groupId, smtpAddress),
    ifMatch,
    (current) => {
      const { etag: _etag, ...record } = current;
      return withProfile(record, input, deps.now().toISOString());
    },
    (next, etag) => deps.mailboxes.replace(next, etag),
  );
  await recordAudit(deps, principal, tenantId, 'mailbox.updated', mailboxPath(tenantId, groupId, after.smtpAddress), auditDetailsOf({ ...input }));
  return after;
}

export async function deleteMailbox(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  smtpAddress: string,
  ifMatch: string | undefined,
): Promise<void> {
  const mailbox = await loadMailbox(deps, principal, tenantId, groupId, smtpAddress);
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== mailbox.etag) throw preconditionFailed();
  await deps.mailboxes.delete(tenantId, groupId, mailbox.smtpAddress, mailbox.etag);
  await recordAudit(deps, principal, tenantId, 'mailbox.deleted', mailboxPath(tenantId, groupId, mailbox.smtpAddress));
}

const IMPORT_CONCURRENCY = 8;

/**
 * Imports many mailboxes: each row is validated and written on its own, so one bad row
 * never sinks the others; every row gets a result, in request order.
 */
export async function importMailboxes(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  input: ImportMailboxesRequest,
): Promise<ImportMailboxesResponse> {
  await loadGroup(deps, principal, tenantId, groupId);
  const at = deps.now().toISOString();
  const results: ImportRowResult[] = new Array(input.mailboxes.length);
  const seen = new Map<string, number>();
  const work: { index: number; row: CreateMailboxRequest }[] = [];

  input.mailboxes.forEach((raw, index) => {
    const parsed = createMailboxRequest.safeParse(raw);
    if (!parsed.success) {
      results[index] = { index, result: 'failed', error: { code: 'ValidationFailed', detail: 'The row is not valid', errors: fieldProblemsOf(parsed.error, `/mailboxes/${index}`) } };
      return;
    }
    const address = parsed.data.smtpAddress.toLowerCase();
    const first = seen.get(address);
    if (first !== undefined) {
      results[index] = { index, smtpAddress: address, result: 'failed', error: { code: 'DuplicateInRequest', detail: `The same address is already in row ${first}` } };
      return;
    }
    seen.set(address, index);
    work.push({ index, row: parsed.data });
  });

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < work.length) {
      const item = work[next++];
      if (!item) break;
      results[item.index] = await importRow(deps, tenantId, groupId, item.index, item.row, input.mode, at);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IMPORT_CONCURRENCY, work.length) }, worker));

  const summary = { total: results.length, created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const result of results) summary[result.result]++;
  const outcome = summary.failed === 0 ? 'succeeded' : summary.failed === summary.total ? 'failed' : 'partiallySucceeded';
  await recordAudit(deps, principal, tenantId, 'mailboxes.imported', `${groupPath(tenantId, groupId)}/mailboxes`, { mode: input.mode, ...summary });
  return { outcome, summary, results };
}

async function importRow(
  deps: AdminDependencies,
  tenantId: string,
  groupId: string,
  index: number,
  row: CreateMailboxRequest,
  mode: ImportMailboxesRequest['mode'],
  at: string,
): Promise<ImportRowResult> {
  const smtpAddress = row.smtpAddress.toLowerCase();
  try {
    const existing = await deps.mailboxes.find(tenantId, groupId, smtpAddress);
    if (!existing) {
      await deps.mailboxes.create(newMailbox(tenantId, groupId, row, at));
      return { index, smtpAddress, result: 'created' };
    }
    if (mode === 'createOnly') {
      return { index, smtpAddress, result: 'failed', error: { code: 'MailboxExists', detail: 'The group already has this mailbox (mode createOnly)' } };
    }
    const { etag, ...record } = existing;
    const next = withProfile(record, { displayName: row.displayName, userId: row.userId, enabled: row.enabled }, at);
    const changed = next.displayName !== record.displayName || next.userId !== record.userId || next.enabled !== record.enabled;
    if (!changed) return { index, smtpAddress, result: 'unchanged' };
    await deps.mailboxes.replace(next, etag);
    return { index, smtpAddress, result: 'updated' };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'Conflict' || code === 'PreconditionFailed') {
      return { index, smtpAddress, result: 'failed', error: { code: 'ConcurrentChange', detail: 'The mailbox changed while importing; import this row again' } };
    }
    return { index, smtpAddress, result: 'failed', error: { code: 'StorageUnavailable', detail: 'The row could not be stored; import it again' } };
  }
}
