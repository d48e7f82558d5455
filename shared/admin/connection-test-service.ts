import { HttpProblem } from '../http/problem';
import { recordConnectionTestFailure } from '../telemetry/metrics';
import type { AdminDependencies } from './admin-dependencies';
import { recordAudit } from './audit-trail';
import { groupPath, loadGroup } from './group-service';
import type { AdminPrincipal } from './principal';
import type { ConnectionTestRequest, ConnectionTestResponse } from './schemas';

/** Runs a connection test for a group; the target is the given mailbox or the group's first one. */
export async function runConnectionTest(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  input: ConnectionTestRequest,
): Promise<ConnectionTestResponse> {
  const group = await loadGroup(deps, principal, tenantId, groupId);
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
  const result = await deps.connectionTester.run(group, target);
  const failed = result.steps.find((step) => step.status === 'failed');
  if (failed) recordConnectionTestFailure(failed.code ?? 'Failed', failed.name, { tenantId, groupId });
  await recordAudit(deps, principal, tenantId, 'connectionTest.run', `${groupPath(tenantId, groupId)}/connection-tests`, {
    outcome: result.outcome,
    targetMailbox: target ?? null,
    failedStep: result.steps.find((step) => step.status === 'failed')?.name ?? null,
  });
  return result;
}
