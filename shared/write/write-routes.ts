/**
 * The write API: the business application asks for a create, update, delete or mail operation in
 * one mailbox and gets 202 with an operation id at once; the write-operations queue function
 * carries it out (write-worker.ts). Same token, tenant scoping, validation and problem+json as
 * the rest of /api/admin.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { operation } from '../admin/admin-endpoint';
import type { AdminRoute, ResponseDescription } from '../admin/admin-endpoint';
import { recordAudit } from '../admin/audit-trail';
import { groupPath, loadGroup } from '../admin/group-service';
import { loadMailbox, mailboxPath } from '../admin/mailbox-service';
import { HttpProblem } from '../http/problem';
import { writeRuntime } from './write-composition';
import { operationView, writeOperationRequest } from './write-operation';
import type { WriteOperationRequest } from './write-operation';
import { operationViewOf } from './write-worker';
import type { MailboxKey } from './write-store';

/** Table Storage holds the request in one column (64 KiB); bodies and attendee lists fit well below. */
export const MAX_WRITE_REQUEST_BYTES = 32 * 1024;

const common: Record<number, ResponseDescription> = {
  401: { description: 'No valid bearer token (WWW-Authenticate: Bearer).' },
  403: { description: 'The token has no admin role.' },
  404: { description: 'Unknown ID, or a tenant outside the caller\'s scope.' },
};

export const writeBackSettings = z
  .strictObject({ dropConnectorEchoes: z.boolean().describe('Drop the sync records of changes the connector wrote itself, instead of marking them origin "connector".') })
  .meta({ id: 'WriteBackSettings' });

function sameRequest(a: WriteOperationRequest, b: WriteOperationRequest): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function operationLocation(key: MailboxKey, operationId: string): string {
  return `/api${mailboxPath(key.tenantId, key.groupId, encodeURIComponent(key.mailbox))}/operations/${operationId}`;
}

export const writeRoutes: readonly AdminRoute[] = [
  {
    name: 'write-operations',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/operations',
    params: ['tenantId', 'groupId', 'mailbox'],
    operations: [
      operation({
        operationId: 'submitWriteOperation',
        method: 'POST',
        summary: 'Create, update or delete an item in this mailbox, or change a message (asynchronous)',
        description:
          'Accepted at once (202) and carried out by a queue function. The same idempotencyKey again answers with the first operation and never writes twice, even after a crash; reusing a key for a different request is 409. Update and delete need expectedVersion (the version sync reported: the ChangeKey on EWS; on Microsoft Graph the changeKey, or the @odata.etag for To Do tasks, sent as If-Match); a stale one gives the result `conflict` with the current item, never a forced write. The group\'s protocol (EWS or Graph) decides how it is written; over Graph a meeting always notifies its attendees, so sendInvitations `none` for a meeting fails with InvitationsNotSuppressible. An operation whose queue message the host gave up on ends `failed` (PoisonMessage). Finished operations are kept WRITE_OPERATION_RETENTION_DAYS (default 30). See docs/write-back.md.',
        tags: ['Write-back'],
        body: writeOperationRequest,
        maxBodyBytes: MAX_WRITE_REQUEST_BYTES,
        responses: {
          202: { description: 'Accepted (or the earlier operation with this idempotency key). Location: the operation.', schema: operationView },
          400: { description: 'Validation failed; `errors` names each field by JSON pointer.' },
          409: { description: 'The idempotency key was used for a different request.' },
          413: { description: 'Larger than 32 KiB.' },
          ...common,
        },
        handle: async ({ deps, principal, params, body }) => {
          const mailbox = await loadMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox);
          const key: MailboxKey = { tenantId: params.tenantId, groupId: params.groupId, mailbox: mailbox.smtpAddress };
          const runtime = writeRuntime();
          const candidate = randomUUID();
          const operationId = await runtime.store.claimKey(key, body.idempotencyKey, candidate);
          const existing = operationId === candidate ? undefined : await runtime.store.findOperation(key, operationId);
          // The key's owner may have crashed before storing its operation: whoever stores it first wins.
          const { record, inserted } = existing
            ? { record: existing, inserted: false }
            : await runtime.store.insertOperation({ ...key, operationId, request: body, status: 'queued', attempts: 0, acceptedAt: deps.now().toISOString() });
          if (!sameRequest(record.request, body)) {
            throw new HttpProblem(409, 'IdempotencyKeyReused', 'Idempotency key already used', 'This idempotency key was used for a different request in this mailbox; choose a new key.', [{ pointer: '/idempotencyKey', detail: 'was used for a different request' }]);
          }
          if (inserted) await recordAudit(deps, principal, params.tenantId, 'write.accepted', operationLocation(key, operationId).replace(/^\/api/, ''), { operation: body.operation, operationId });
          // A repeat of a request whose message may have been lost (crash after the save): sending again is harmless.
          if (record.status === 'queued') await runtime.jobs.enqueue({ v: 1, ...key, operationId, enqueuedAt: deps.now().toISOString() });
          return { status: 202, body: operationViewOf(record), location: operationLocation(key, operationId) };
        },
      }),
    ],
  },
  {
    name: 'write-operation-status',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/operations/{operationId}',
    params: ['tenantId', 'groupId', 'mailbox', 'operationId'],
    operations: [
      operation({
        operationId: 'getWriteOperation',
        method: 'GET',
        summary: 'The state and result of a write operation',
        tags: ['Write-back'],
        responses: { 200: { description: 'queued, running, succeeded, conflict (with the current item) or failed (with a reason). 404 once the operation is older than the retention (WRITE_OPERATION_RETENTION_DAYS).', schema: operationView }, ...common },
        handle: async ({ deps, principal, params }) => {
          const mailbox = await loadMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox);
          const record = await writeRuntime().store.findOperation({ tenantId: params.tenantId, groupId: params.groupId, mailbox: mailbox.smtpAddress }, params.operationId);
          if (!record) throw new HttpProblem(404, 'OperationNotFound', 'Operation not found', 'No write operation with this ID exists for the mailbox.');
          return { status: 200, body: operationViewOf(record) };
        },
      }),
    ],
  },
  {
    name: 'write-back-settings',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/write-back',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'getWriteBackSettings',
        method: 'GET',
        summary: 'The group\'s write-back settings',
        tags: ['Write-back'],
        responses: { 200: { description: 'The settings.', schema: writeBackSettings }, ...common },
        handle: async ({ deps, principal, params }) => {
          await loadGroup(deps, principal, params.tenantId, params.groupId);
          return { status: 200, body: await writeRuntime().store.settings(params.tenantId, params.groupId) };
        },
      }),
      operation({
        operationId: 'setWriteBackSettings',
        method: 'PUT',
        summary: 'Set the group\'s write-back settings (echo suppression)',
        tags: ['Write-back'],
        body: writeBackSettings,
        responses: { 200: { description: 'The settings now in force.', schema: writeBackSettings }, 400: { description: 'Validation failed.' }, ...common },
        handle: async ({ deps, principal, params, body }) => {
          await loadGroup(deps, principal, params.tenantId, params.groupId);
          await writeRuntime().store.saveSettings(params.tenantId, params.groupId, body);
          await recordAudit(deps, principal, params.tenantId, 'writeBack.settingsChanged', `${groupPath(params.tenantId, params.groupId)}/write-back`, { dropConnectorEchoes: body.dropConnectorEchoes });
          return { status: 200, body };
        },
      }),
    ],
  },
];
