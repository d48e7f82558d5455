/**
 * Sending mail through a group's mailbox: the admin endpoint validates and enqueues to
 * `outbound-mail` (payload in blob storage: attachments far exceed a queue message), and the
 * send-mail queue function sends it with CreateItem SendAndSaveCopy.
 */
import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { sendMessage } from '../ews';
import type { Logger } from '../logging';
import type { GroupsRepository } from '../storage';
import { sendQueueMessage } from '../storage';
import type { GraphMailboxSource, MailboxClientSource } from './batch-delivery';
import { sendMail as graphSendMail } from '../graph/mail-actions';
import { groupProtocol } from '../storage/records';
import type { BatchBlobStore } from './delivery-storage';

export const MAX_RECIPIENTS = 100;
export const MAX_ATTACHMENTS = 10;
export const MAX_ATTACHMENT_BYTES = 3 * 1024 * 1024;
export const MAX_TOTAL_ATTACHMENT_BYTES = 10 * 1024 * 1024;
/** Base64 grows 4/3; plus the body and envelope. */
export const MAX_SEND_MAIL_REQUEST_BYTES = 15 * 1024 * 1024;

const address = z.email('must be an SMTP address').max(320);
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64').refine((v) => v.length % 4 === 0, 'must be base64 (length a multiple of 4)');

function decodedLength(b64: string): number {
  return Math.floor((b64.length * 3) / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
}

export const sendMailRequest = z
  .strictObject({
    to: z.array(address).min(1, 'needs at least one recipient').max(MAX_RECIPIENTS),
    cc: z.array(address).max(MAX_RECIPIENTS).optional(),
    bcc: z.array(address).max(MAX_RECIPIENTS).optional(),
    subject: z.string().max(255),
    body: z.strictObject({ contentType: z.enum(['html', 'text']), content: z.string().max(4 * 1024 * 1024) }),
    attachments: z
      .array(
        z.strictObject({
          name: z.string().min(1).max(255).regex(/^[^\\/:*?"<>|\r\n]+$/, 'must be a file name'),
          contentType: z.string().max(255).default('application/octet-stream'),
          contentBase64: base64.refine((v) => decodedLength(v) <= MAX_ATTACHMENT_BYTES, `must decode to at most ${MAX_ATTACHMENT_BYTES} bytes`),
        }),
      )
      .max(MAX_ATTACHMENTS)
      .refine((list) => list.reduce((sum, a) => sum + decodedLength(a.contentBase64), 0) <= MAX_TOTAL_ATTACHMENT_BYTES, `attachments may total at most ${MAX_TOTAL_ATTACHMENT_BYTES} bytes`)
      .optional(),
  })
  .meta({ id: 'SendMailRequest' });
export type SendMailRequest = z.infer<typeof sendMailRequest>;

export const sendMailAccepted = z.strictObject({ id: z.string(), status: z.literal('queued') }).meta({ id: 'SendMailAccepted' });

const outboundMailMessage = z.object({ v: z.literal(1), id: z.string(), tenantId: z.string(), groupId: z.string(), mailbox: z.string(), blobName: z.string() });
type OutboundMailMessage = z.infer<typeof outboundMailMessage>;

export async function enqueueOutboundMail(
  deps: { readonly queue: QueueClient; readonly blobs: BatchBlobStore },
  ref: { readonly tenantId: string; readonly groupId: string; readonly mailbox: string },
  request: SendMailRequest,
): Promise<string> {
  const id = randomUUID();
  const blobName = `outbound-mail/${ref.tenantId}/${ref.groupId}/${id}.json`;
  await deps.blobs.put(blobName, JSON.stringify(request));
  const message: OutboundMailMessage = { v: 1, id, ...ref, blobName };
  await sendQueueMessage(deps.queue, message);
  return id;
}

export interface SendOutboundMailDependencies {
  readonly groups: Pick<GroupsRepository, 'find'>;
  readonly blobs: BatchBlobStore;
  readonly mailboxClients: MailboxClientSource | undefined;
  /** Groups with protocol 'graph' send through Graph's sendMail. */
  readonly graphMailboxes?: GraphMailboxSource | undefined;
}

/** Delivery was configured without mailbox access (a wiring fault of the app, not of the message). */
export class MailboxAccessNotConfiguredError extends Error {
  readonly code = 'MailboxAccessNotConfigured';
  constructor() {
    super('No mailbox access is configured for sending mail');
    this.name = 'MailboxAccessNotConfiguredError';
  }
}

/** The queued request, or why it can never be sent (so it is dropped instead of retried). */
async function loadRequest(message: OutboundMailMessage, blobs: BatchBlobStore): Promise<{ readonly request: SendMailRequest } | { readonly reason: string }> {
  const text = await blobs.find(message.blobName);
  if (text === undefined) return { reason: 'the request blob is gone (already sent, or removed)' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { reason: 'the request blob is not JSON' };
  }
  const parsed = sendMailRequest.safeParse(json);
  if (!parsed.success) return { reason: `the request blob is not a send-mail request (${parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ')})` };
  return { request: parsed.data };
}

/**
 * Sends one queued message. Not idempotent at Exchange: after an ambiguous failure the host's
 * retry may send twice, which we accept over losing mail; once Exchange accepted the message
 * nothing else may throw. Invalid messages, unusable request blobs and deleted groups are
 * dropped (logged), so they do not cycle through retries.
 */
export async function sendOutboundMail(raw: unknown, deps: SendOutboundMailDependencies, log: Logger): Promise<'sent' | 'dropped'> {
  const parsed = outboundMailMessage.safeParse(raw);
  if (!parsed.success) {
    log.error('outbound-mail message is malformed; dropped');
    return 'dropped';
  }
  const message = parsed.data;
  const scoped = log.with({ tenantId: message.tenantId, groupId: message.groupId, mailbox: message.mailbox });
  const group = await deps.groups.find(message.tenantId, message.groupId);
  if (!group) {
    scoped.warn('group no longer exists; outbound mail dropped');
    await deps.blobs.delete(message.blobName);
    return 'dropped';
  }
  const overGraph = groupProtocol(group) === 'graph';
  if (overGraph ? !deps.graphMailboxes : !deps.mailboxClients) throw new MailboxAccessNotConfiguredError();
  const loaded = await loadRequest(message, deps.blobs);
  if ('reason' in loaded) {
    scoped.error('outbound mail cannot be sent; dropped', { id: message.id, reason: loaded.reason });
    return 'dropped';
  }
  const request = loaded.request;
  const outgoing = {
    to: request.to,
    ...(request.cc ? { cc: request.cc } : {}),
    ...(request.bcc ? { bcc: request.bcc } : {}),
    subject: request.subject,
    body: request.body,
    ...(request.attachments ? { attachments: request.attachments } : {}),
  };
  if (overGraph) await graphSendMail(await deps.graphMailboxes!(group, message.mailbox), outgoing);
  else await sendMessage(await deps.mailboxClients!(group, message.mailbox), outgoing);
  try {
    await deps.blobs.delete(message.blobName);
  } catch (error) {
    // Sent: throwing now would make the host send the mail again. The blob is only left behind.
    scoped.warn('mail sent, but its request blob could not be removed', { id: message.id, error });
  }
  scoped.info('mail sent', { id: message.id, recipients: request.to.length + (request.cc?.length ?? 0) + (request.bcc?.length ?? 0) });
  return 'sent';
}
