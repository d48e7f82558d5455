/**
 * Admin endpoints of delivery: a group's delivery state and signing key, dead letters (list,
 * replay) and sending mail through a mailbox. Same patterns as shared/admin/admin-routes.ts
 * (token, tenant scope, zod validation, problem+json, audit).
 */
import { z } from 'zod';
import { operation } from '../admin/admin-endpoint';
import type { AdminRoute, ResponseDescription } from '../admin/admin-endpoint';
import { recordAudit } from '../admin/audit-trail';
import { groupPath, loadGroup } from '../admin/group-service';
import { loadMailbox, mailboxPath } from '../admin/mailbox-service';
import { loadTenant, tenantPath } from '../admin/tenant-service';
import { deliveryTarget, pageOf, pagingQuery } from '../admin/schemas';
import { HttpProblem } from '../http/problem';
import type { DeadLetterRecord } from '../storage';
import { DeadLetterNotFoundError, replayDeadLetter } from './dead-letter-replay';
import { deliveryServices } from './delivery-composition';
import { createQueueClient } from '../storage';
import { OUTBOUND_MAIL_QUEUE } from './delivery-storage';
import { enqueueOutboundMail, MAX_SEND_MAIL_REQUEST_BYTES, sendMailAccepted, sendMailRequest } from './outbound-mail';
import { translateEwsIds } from '../graph/mail-actions';
import { groupProtocol } from '../storage/records';

export const graphIdsRequest = z
  .strictObject({ ewsIds: z.array(z.string().min(1).max(512)).min(1, 'must name at least one id').max(1000) })
  .meta({ id: 'GraphIdsRequest' });
export const graphIdsResponse = z
  .strictObject({ items: z.array(z.strictObject({ ewsId: z.string(), graphId: z.string().nullable() })) })
  .meta({ id: 'GraphIdsResponse', description: 'EWS item id → Graph immutable id, in the order posted.' });

const common: Record<number, ResponseDescription> = {
  401: { description: 'No valid bearer token (WWW-Authenticate: Bearer).' },
  403: { description: 'The token has no admin role.' },
  404: { description: 'Unknown ID, or a tenant outside the caller\'s scope.' },
};

const deliveryError = z.strictObject({ code: z.string(), message: z.string(), at: z.string() });

export const deliveryStateResponse = z
  .strictObject({
    target: deliveryTarget.optional(),
    signingKeySet: z.boolean().meta({ description: 'Whether a webhook signing key exists (its value is never shown again).' }),
    lastDeliveredAt: z.string().optional(),
    failingSince: z.string().optional().meta({ description: 'Set while deliveries to the target fail; cleared by the next success.' }),
    lastDeliveryError: deliveryError.optional(),
  })
  .meta({ id: 'DeliveryState' });

export const signingKeyResponse = z
  .strictObject({
    secret: z.string().meta({ description: 'The new signing secret. Shown only in this response: configure your receiver with it now.' }),
    version: z.string(),
    header: z.literal('X-Connector-Signature'),
    scheme: z.string(),
  })
  .meta({ id: 'WebhookSigningKey' });

export const deadLetterResponse = z
  .strictObject({
    id: z.string(),
    groupId: z.string(),
    mailbox: z.string(),
    batchId: z.string(),
    recordCount: z.number(),
    attempts: z.number(),
    lastError: z.strictObject({ code: z.string(), message: z.string() }),
    deadLetteredAt: z.string(),
    replayedAt: z.string().optional(),
    replayCount: z.number(),
  })
  .meta({ id: 'DeadLetter' });

function deadLetterView(record: DeadLetterRecord): z.infer<typeof deadLetterResponse> {
  return {
    id: record.id,
    groupId: record.groupId,
    mailbox: record.mailbox,
    batchId: record.batchId,
    recordCount: record.recordCount,
    attempts: record.attempts,
    lastError: { code: record.lastErrorCode, message: record.lastErrorMessage },
    deadLetteredAt: record.deadLetteredAt,
    ...(record.replayedAt ? { replayedAt: record.replayedAt } : {}),
    replayCount: record.replayCount,
  };
}

export const deliveryRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-group-delivery',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/delivery',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'getGroupDelivery',
        method: 'GET',
        summary: 'Delivery target and its health (last success, failing since, last error)',
        description: 'Set the target itself with PATCH on the group (`delivery`).',
        tags: ['Delivery'],
        responses: { 200: { description: 'The delivery state.', schema: deliveryStateResponse }, ...common },
        handle: async ({ deps, principal, params }) => {
          const group = await loadGroup(deps, principal, params.tenantId, params.groupId);
          const services = deliveryServices();
          const status = await services.status.find(group.tenantId, group.id);
          const key = await services.signingKeys.current(group.tenantId, group.id);
          return {
            status: 200,
            body: {
              ...(group.delivery ? { target: group.delivery } : {}),
              signingKeySet: key !== undefined,
              ...(status?.lastDeliveredAt ? { lastDeliveredAt: status.lastDeliveredAt } : {}),
              ...(status?.failingSince ? { failingSince: status.failingSince } : {}),
              ...(status?.lastDeliveryError ? { lastDeliveryError: status.lastDeliveryError } : {}),
            },
          };
        },
      }),
    ],
  },
  {
    name: 'admin-group-signing-key',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/delivery/signing-key',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'rotateWebhookSigningKey',
        method: 'POST',
        summary: 'Generate a new webhook signing secret (shown once)',
        description:
          'Creates a new random secret in Key Vault; deliveries are signed with it from now on. The response is the only time the secret is shown: ' +
          'configure the receiver with it immediately. Receivers should accept the old secret too for the few minutes a rotation takes.',
        tags: ['Delivery'],
        responses: { 201: { description: 'The new secret.', schema: signingKeyResponse }, 503: { description: 'Key Vault is unavailable.' }, ...common },
        handle: async ({ deps, principal, params }) => {
          const group = await loadGroup(deps, principal, params.tenantId, params.groupId);
          const rotated = await deliveryServices().signingKeys.rotate(group.tenantId, group.id);
          await recordAudit(deps, principal, group.tenantId, 'delivery.signingKeyRotated', groupPath(group.tenantId, group.id) + '/delivery/signing-key', {
            secretName: rotated.secretName,
            version: rotated.version,
          });
          return {
            status: 201,
            body: { secret: rotated.secret.reveal(), version: rotated.version, header: 'X-Connector-Signature', scheme: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>' },
          };
        },
      }),
    ],
  },
  {
    name: 'admin-dead-letters',
    route: 'admin/tenants/{tenantId}/dead-letters',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'listDeadLetters',
        method: 'GET',
        summary: 'Change batches that could not be delivered, newest first',
        tags: ['Delivery'],
        query: pagingQuery,
        responses: { 200: { description: 'A page of dead letters.', schema: pageOf(deadLetterResponse, 'DeadLetterPage') }, ...common },
        handle: async ({ deps, principal, params, query }) => {
          await loadTenant(deps, principal, params.tenantId);
          const page = await deliveryServices().deadLetters.page(params.tenantId, { maxPageSize: query.limit, ...(query.continuationToken ? { continuationToken: query.continuationToken } : {}) });
          return { status: 200, body: { items: page.items.map(deadLetterView), ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) } };
        },
      }),
    ],
  },
  {
    name: 'admin-dead-letter-replay',
    route: 'admin/tenants/{tenantId}/dead-letters/{deadLetterId}/replay',
    params: ['tenantId', 'deadLetterId'],
    operations: [
      operation({
        operationId: 'replayDeadLetter',
        method: 'POST',
        summary: 'Deliver a dead-lettered batch again (a fresh series of attempts)',
        tags: ['Delivery'],
        responses: { 202: { description: 'Queued for delivery.', schema: deadLetterResponse }, ...common },
        handle: async ({ deps, principal, params }) => {
          await loadTenant(deps, principal, params.tenantId);
          try {
            const replayed = await replayDeadLetter(deliveryServices(), params.tenantId, params.deadLetterId);
            await recordAudit(deps, principal, params.tenantId, 'deadLetter.replayed', `${tenantPath(params.tenantId)}/dead-letters/${replayed.id}`, { batchId: replayed.batchId });
            return { status: 202, body: deadLetterView(replayed) };
          } catch (error) {
            if (error instanceof DeadLetterNotFoundError) throw new HttpProblem(404, 'DeadLetterNotFound', 'Dead letter not found', error.message);
            throw error;
          }
        },
      }),
    ],
  },
  {
    name: 'admin-send-mail',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/send-mail',
    params: ['tenantId', 'groupId', 'mailbox'],
    operations: [
      operation({
        operationId: 'sendMail',
        method: 'POST',
        summary: 'Send a message from this mailbox (saved to its Sent Items)',
        description: `Queued and sent asynchronously with CreateItem SendAndSaveCopy. Attachments as base64: at most 10, each at most 3 MiB, 10 MiB in total; request at most ${MAX_SEND_MAIL_REQUEST_BYTES} bytes.`,
        tags: ['Mail'],
        body: sendMailRequest,
        maxBodyBytes: MAX_SEND_MAIL_REQUEST_BYTES,
        responses: { 202: { description: 'Queued for sending.', schema: sendMailAccepted }, 400: { description: 'Validation failed; `errors` names each field.' }, ...common },
        handle: async ({ deps, principal, params, body }) => {
          const mailbox = await loadMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox);
          const services = deliveryServices();
          const queue = createQueueClient(services.config.storage, OUTBOUND_MAIL_QUEUE, services.credential);
          const id = await enqueueOutboundMail({ queue, blobs: services.blobs }, { tenantId: params.tenantId, groupId: params.groupId, mailbox: mailbox.smtpAddress }, body);
          await recordAudit(deps, principal, params.tenantId, 'mail.queued', mailboxPath(params.tenantId, params.groupId, mailbox.smtpAddress) + '/send-mail', {
            id,
            recipients: body.to.length + (body.cc?.length ?? 0) + (body.bcc?.length ?? 0),
            attachments: body.attachments?.length ?? 0,
          });
          return { status: 202, body: { id, status: 'queued' } };
        },
      }),
    ],
  },
  {
    name: 'admin-mailbox-graph-ids',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/graph-ids',
    params: ['tenantId', 'groupId', 'mailbox'],
    operations: [
      operation({
        operationId: 'translateEwsIdsToGraph',
        method: 'POST',
        summary: 'Map EWS item ids to Microsoft Graph immutable ids (after switching a group to Graph)',
        description:
          'Records delivered while the group used EWS carry EWS item ids; after the switch to protocol graph, records carry Graph immutable ids. ' +
          'Post the EWS ids you hold (at most 1000) to learn the Graph id of each item, so you can match the records you already have. ' +
          'Delegated groups use Graph translateExchangeIds; app-only groups read each item by its REST id (translateExchangeIds is delegated-only in Graph). ' +
          'graphId is null for an id that matches no item (deleted, or not in this mailbox).',
        tags: ['Mail'],
        body: graphIdsRequest,
        responses: { 200: { description: 'One entry per posted id, in order.', schema: graphIdsResponse }, 400: { description: 'Validation failed; `errors` names each field.' }, 409: { description: 'The group does not use protocol graph, or has service-account access.' }, 502: { description: 'Graph refused or failed the lookup.' }, ...common },
        handle: async ({ deps, principal, params, body }) => {
          const group = await loadGroup(deps, principal, params.tenantId, params.groupId);
          const mailbox = await loadMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox);
          if (groupProtocol(group) !== 'graph' || group.mailboxAccessType === 'impersonation') {
            throw new HttpProblem(409, 'NotAGraphGroup', 'The group does not use Graph', "Set the group's protocol to graph (app-only or delegated access) before translating ids.");
          }
          const services = deliveryServices();
          let items: { ewsId: string; graphId: string | undefined }[];
          try {
            const client = await services.graphMailboxes!(group, mailbox.smtpAddress);
            items = await translateEwsIds(client, body.ewsIds, group.mailboxAccessType);
          } catch (error) {
            const code = (error as { code?: unknown } | null)?.code;
            throw new HttpProblem(502, 'GraphLookupFailed', 'Graph did not translate the ids', `Graph refused or failed the lookup (${typeof code === 'string' ? code : 'error'}); try again, or check the group's Graph permissions.`);
          }
          return { status: 200, body: { items: items.map((item) => ({ ewsId: item.ewsId, graphId: item.graphId ?? null })) } };
        },
      }),
    ],
  },
];
