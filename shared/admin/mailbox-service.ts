import { KIND_OF_SYNCED_FOLDER as KIND_OF_FOLDER } from '../sync/folder-tree';
import { HttpProblem, validationProblem } from '../http/problem';
import type { FieldProblem } from '../http/problem';
import { groupProtocol } from '../storage/records';
import type { FolderChoice, GroupRecord } from '../storage/records';
import { EntityConflictError } from '../storage';
import type { MailboxRecord, Page, PageRequest, Stored } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { auditDetailsOf, recordAudit } from './audit-trail';
import { preconditionFailed, updateOptimistically } from './concurrency';
import { fieldProblemsOf } from './field-problems';
import { groupPath, loadGroup } from './group-service';
import type { AdminPrincipal } from './principal';
import { createMailboxRequest } from './schemas';
import { MailboxSourceError } from '../sync/mailbox-source';
import type { CreateMailboxRequest, FolderTreeResponse, ImportMailboxesRequest, ImportMailboxesResponse, ImportRowResult, UpdateMailboxRequest } from './schemas';

export function mailboxPath(tenantId: string, groupId: string, smtpAddress: string): string {
  return `${groupPath(tenantId, groupId)}/mailboxes/${smtpAddress}`;
}

export function mailboxNotFound(): HttpProblem {
  return new HttpProblem(404, 'MailboxNotFound', 'Mailbox not found', 'The group has no mailbox with this address.');
}

type LinkInput = Pick<UpdateMailboxRequest, 'folders' | 'delegatedUserObjectId'>;

/**
 * The rules that need the group (and the tenant's delegated users): a linked user only on delegated
 * groups and only a user of this tenant; Graph v1.0 syncs no calendar but the default one. Every
 * field at fault is named; an unknown group or raw garbage yields none (the schema and 404 speak).
 */
export async function mailboxLinkProblems(deps: AdminDependencies, group: GroupRecord, input: LinkInput): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];
  const userId = typeof input.delegatedUserObjectId === 'string' ? input.delegatedUserObjectId.toLowerCase() : undefined;
  if (userId !== undefined) {
    if (group.mailboxAccessType !== 'delegated') {
      problems.push({ pointer: '/delegatedUserObjectId', detail: `must not be set: the group's mailboxes are reached with its ${group.mailboxAccessType === 'appOnly' ? 'app' : 'service account'}, not a user's token` });
    } else if (!(await deps.delegatedUsers?.find(group.tenantId, userId))) {
      // Another tenant's user is not found here either: nothing tells whether it exists elsewhere.
      problems.push({ pointer: '/delegatedUserObjectId', detail: 'names no signed-in user of this tenant (GET .../delegated-users lists them)' });
    }
  }
  if (Array.isArray(input.folders) && groupProtocol(group) === 'graph') {
    input.folders.forEach((choice, index) => {
      if (choice && typeof choice === 'object' && choice.kind === 'calendar' && (choice.id !== undefined || choice.path !== undefined)) {
        problems.push({ pointer: `/folders/${index}`, detail: "a calendar other than the default one cannot be synced over Graph v1.0 (calendarView delta covers the default calendar only); use protocol 'ews' or the default calendar ({\"kind\":\"calendar\"})" });
      }
    });
  }
  return problems;
}

/** crossFieldProblems for POST/PATCH of a mailbox: the group-dependent rules on the raw body. */
export async function mailboxBodyProblems(raw: unknown, context: { deps: AdminDependencies; principal: AdminPrincipal; params: Readonly<Record<'tenantId' | 'groupId', string>> }): Promise<FieldProblem[]> {
  if (typeof raw !== 'object' || raw === null) return [];
  const group = await loadGroup(context.deps, context.principal, context.params.tenantId, context.params.groupId).catch(() => undefined);
  if (!group) return [];
  const body = raw as Record<string, unknown>;
  return mailboxLinkProblems(context.deps, group, {
    ...(typeof body['delegatedUserObjectId'] === 'string' ? { delegatedUserObjectId: body['delegatedUserObjectId'] } : {}),
    ...(Array.isArray(body['folders']) ? { folders: body['folders'] as NonNullable<LinkInput['folders']> } : {}),
  });
}

async function checkLinks(deps: AdminDependencies, group: GroupRecord, input: LinkInput): Promise<void> {
  const problems = await mailboxLinkProblems(deps, group, input);
  if (problems.length > 0) throw validationProblem(problems);
}

function folderChoicesOf(choices: NonNullable<LinkInput['folders']>): FolderChoice[] {
  return choices.map((choice) => ({ kind: choice.kind, ...(choice.id !== undefined ? { id: choice.id } : {}), ...(choice.path !== undefined ? { path: choice.path } : {}) }));
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
    ...(input.folders ? { folders: folderChoicesOf(input.folders) } : {}),
    ...(input.delegatedUserObjectId ? { delegatedUserObjectId: input.delegatedUserObjectId.toLowerCase() } : {}),
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
  const { displayName, userId, folders, delegatedUserObjectId, ...rest } = current;
  const nextFolders = input.folders === null ? undefined : input.folders ? folderChoicesOf(input.folders) : folders;
  const nextUser = input.delegatedUserObjectId === null ? undefined : (input.delegatedUserObjectId?.toLowerCase() ?? delegatedUserObjectId);
  const nextDisplayName = input.displayName === null ? undefined : (input.displayName ?? displayName);
  const nextUserId = input.userId === null ? undefined : (input.userId ?? userId);
  const enabled = input.enabled ?? current.enabled;
  return {
    ...rest,
    ...(nextDisplayName !== undefined ? { displayName: nextDisplayName } : {}),
    ...(nextUserId !== undefined ? { userId: nextUserId } : {}),
    ...(nextFolders !== undefined ? { folders: nextFolders } : {}),
    ...(nextUser !== undefined ? { delegatedUserObjectId: nextUser } : {}),
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
  const group = await loadGroup(deps, principal, tenantId, groupId);
  await checkLinks(deps, group, input);
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
  await checkLinks(deps, await loadGroup(deps, principal, tenantId, groupId), input);
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
  const group = await loadGroup(deps, principal, tenantId, groupId);
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
      const problems = await mailboxLinkProblems(deps, group, item.row);
      results[item.index] =
        problems.length > 0
          ? { index: item.index, smtpAddress: item.row.smtpAddress.toLowerCase(), result: 'failed', error: { code: 'ValidationFailed', detail: 'The row is not valid', errors: problems.map((problem) => ({ ...problem, pointer: `/mailboxes/${item.index}${problem.pointer}` })) } }
          : await importRow(deps, tenantId, groupId, item.index, item.row, input.mode, at);
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
    const next = withProfile(record, { displayName: row.displayName, userId: row.userId, enabled: row.enabled, folders: row.folders, delegatedUserObjectId: row.delegatedUserObjectId }, at);
    const changed =
      next.displayName !== record.displayName ||
      next.userId !== record.userId ||
      next.enabled !== record.enabled ||
      next.delegatedUserObjectId !== record.delegatedUserObjectId ||
      JSON.stringify(next.folders) !== JSON.stringify(record.folders);
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

/** The mailbox's folder tree, read live with the sync's own access (502 with Exchange's code when it refuses). */
export async function listMailboxFolders(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string, groupId: string, smtpAddress: string): Promise<FolderTreeResponse> {
  const group = await loadGroup(deps, principal, tenantId, groupId);
  const mailbox = await loadMailbox(deps, principal, tenantId, groupId, smtpAddress);
  if (!deps.mailboxFolders) throw new HttpProblem(501, 'NotAvailable', 'Folder listing is not available', 'This deployment has no mailbox access for the admin API.');
  try {
    const tree = await deps.mailboxFolders.listFolders(group, mailbox);
    return {
      mailbox: mailbox.smtpAddress,
      protocol: groupProtocol(group),
      folders: tree.folders.map((folder) => ({
        id: folder.id,
        ...(folder.parentId ? { parentId: folder.parentId } : {}),
        displayName: folder.displayName,
        path: folder.path,
        ...(folder.kind ? { kind: KIND_OF_FOLDER[folder.kind] } : {}),
        ...(folder.childFolderCount !== undefined ? { childFolderCount: folder.childFolderCount } : {}),
      })),
      truncated: tree.truncated,
    };
  } catch (error) {
    if (!(error instanceof MailboxSourceError)) throw error;
    const code = error.sourceCode ?? error.code;
    throw new HttpProblem(502, 'ExchangeRefused', 'Exchange did not list the folders', `${mailbox.smtpAddress}: ${code}. ${error.code === 'AccessDenied' ? 'The account has no right to list this mailbox\'s folders.' : error.message}`);
  }
}

