import { HttpProblem, validationProblem } from '../http/problem';
import { recordConnectionTestFailure } from '../telemetry/metrics';
import type { AdminDependencies } from './admin-dependencies';
import { recordAudit } from './audit-trail';
import { groupPath, loadGroup } from './group-service';
import type { AdminPrincipal } from './principal';
import type { ConnectionTestRequest, ConnectionTestResponse } from './schemas';
import { groupProtocol } from '../storage/records';
import type { GroupRecord, MailboxRecord } from '../storage/records';
import { groupEwsUrl } from '../sync/mailbox-access';

/** Runs a connection test for a group; the target is the given mailbox or the group's first one. */
export async function runConnectionTest(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  input: ConnectionTestRequest,
): Promise<ConnectionTestResponse> {
  const group = await loadGroup(deps, principal, tenantId, groupId);
  if (group.mailboxAccessType === 'delegated' && deps.mailboxFolders) {
    const result = await delegatedFolderTest(deps, group, input);
    await recordAudit(deps, principal, tenantId, 'connectionTest.run', `${groupPath(tenantId, groupId)}/connection-tests`, {
      outcome: result.outcome,
      targetMailbox: result.targetMailbox ?? null,
      delegatedUserObjectId: input.delegatedUserObjectId ?? null,
      failedStep: result.steps.find((step) => step.status === 'failed')?.name ?? null,
    });
    return result;
  }
  if (group.mailboxAccessType === 'delegated') {
    throw new HttpProblem(
      409,
      'NotSupportedForDelegated',
      'Delegated groups are tested per user',
      'A delegated group has no group credential; each user\'s connection is checked when the user signs in and consents.',
    );
  }
  let target = input.targetMailbox?.toLowerCase();
  if (!target) {
    const first = await deps.mailboxes.page(tenantId, groupId, { maxPageSize: 1 });
    target = first.items[0]?.smtpAddress;
  }
  const tested = await deps.connectionTester.run(group, target);
  const result = tested.outcome === 'passed' && target ? await withFolderRights(deps, group, target, tested) : tested;
  const failed = result.steps.find((step) => step.status === 'failed');
  if (failed) recordConnectionTestFailure(failed.code ?? 'Failed', failed.name, { tenantId, groupId });
  await recordAudit(deps, principal, tenantId, 'connectionTest.run', `${groupPath(tenantId, groupId)}/connection-tests`, {
    outcome: result.outcome,
    targetMailbox: target ?? null,
    failedStep: result.steps.find((step) => step.status === 'failed')?.name ?? null,
  });
  return result;
}

/** A passing test of a mailbox that chose its folders also says, per folder, whether the right is there. */
async function withFolderRights(deps: AdminDependencies, group: GroupRecord, target: string, result: ConnectionTestResponse): Promise<ConnectionTestResponse> {
  const mailbox = deps.mailboxFolders ? await deps.mailboxes.find(group.tenantId, group.id, target) : undefined;
  if (!mailbox?.folders || !deps.mailboxFolders) return result;
  const folderRights = await deps.mailboxFolders.checkFolders(group, mailbox);
  return { ...result, outcome: folderRights.every((right) => right.access === 'granted') ? 'passed' : 'failed', folderRights };
}

/**
 * Delegated groups have no group credential: the test opens each linked mailbox with the user's own
 * token (as the sync does) and reports, per mailbox and folder, whether the right is there.
 */
async function delegatedFolderTest(deps: AdminDependencies, group: GroupRecord, input: ConnectionTestRequest): Promise<ConnectionTestResponse> {
  const startedAt = deps.now().toISOString();
  const mailboxes: MailboxRecord[] = [];
  const target = input.targetMailbox?.toLowerCase();
  const userId = input.delegatedUserObjectId?.toLowerCase();
  if (target) {
    const mailbox = await deps.mailboxes.find(group.tenantId, group.id, target);
    if (!mailbox) throw validationProblem([{ pointer: '/targetMailbox', detail: 'is not a mailbox of this group' }]);
    mailboxes.push(mailbox);
  } else if (userId) {
    const user = await deps.delegatedUsers?.find(group.tenantId, userId);
    if (!user) throw validationProblem([{ pointer: '/delegatedUserObjectId', detail: 'names no signed-in user of this tenant' }]);
    let continuationToken: string | undefined;
    do {
      const page = await deps.mailboxes.page(group.tenantId, group.id, { maxPageSize: 200, ...(continuationToken ? { continuationToken } : {}) });
      for (const mailbox of page.items) {
        const own = user.link?.groupId === group.id && user.link.mailbox === mailbox.smtpAddress && !mailbox.delegatedUserObjectId;
        if (own || mailbox.delegatedUserObjectId === userId) mailboxes.push(mailbox);
      }
      continuationToken = page.continuationToken;
    } while (continuationToken);
  } else {
    throw validationProblem([
      { pointer: '/targetMailbox', detail: 'is required for a delegated group unless delegatedUserObjectId is given' },
      { pointer: '/delegatedUserObjectId', detail: 'is required for a delegated group unless targetMailbox is given' },
    ]);
  }
  const started = performance.now();
  const folderRights = (await Promise.all(mailboxes.map((mailbox) => deps.mailboxFolders!.checkFolders(group, mailbox)))).flat();
  const durationInMs = Math.round(performance.now() - started);
  const refused = folderRights.filter((right) => right.access !== 'granted');
  const step =
    mailboxes.length === 0
      ? { name: 'folderAccess' as const, status: 'failed' as const, durationInMs, message: 'No mailbox of this group is linked to the user.', code: 'NoLinkedMailbox' }
      : refused.length === 0
        ? { name: 'folderAccess' as const, status: 'passed' as const, durationInMs, message: `Every folder of ${mailboxes.length} mailbox(es) can be read with the user's own token.` }
        : { name: 'folderAccess' as const, status: 'failed' as const, durationInMs, message: refused.map((right) => right.message).join(' '), code: refused[0]!.code ?? refused[0]!.access };
  return {
    outcome: step.status === 'passed' ? 'passed' : 'failed',
    ewsUrl: groupEwsUrl(group, deps.defaultEwsUrl),
    protocol: groupProtocol(group),
    ...(target ? { targetMailbox: target } : mailboxes.length === 1 ? { targetMailbox: mailboxes[0]!.smtpAddress } : {}),
    startedAt,
    folderRights,
    steps: [step],
  };
}
