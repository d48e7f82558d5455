/**
 * The versioned contract between the sync engine, the delivery pipeline and the customer's
 * application: change records, the batches that carry them, and the outbox the sync engine
 * hands batches to. The JSON shape is public (docs/delivery.md, /api/schemas/change-record.json):
 * additive changes keep schemaVersion 1; anything else needs a new version.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { EwsCalendarItem, EwsContact, EwsMessage, EwsTask, EwsGenericItem } from '../ews/types';

export const CHANGE_RECORD_SCHEMA_VERSION = 1 as const;

export const SYNCED_FOLDERS = ['inbox', 'calendar', 'contacts', 'tasks'] as const;
export type SyncedFolder = (typeof SYNCED_FOLDERS)[number];

export const CHANGE_TYPES = ['created', 'updated', 'deleted', 'readFlagChanged'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** The normalised item a record carries (the shared/ews shapes: plain JSON, ISO dates). */
export type ChangeItem = EwsMessage | EwsCalendarItem | EwsContact | EwsTask | EwsGenericItem;

export interface ChangeRecord {
  readonly schemaVersion: typeof CHANGE_RECORD_SCHEMA_VERSION;
  /** Stable across redeliveries and re-syncs of the same change: receivers deduplicate on it. */
  readonly idempotencyKey: string;
  readonly tenantId: string;
  readonly groupId: string;
  /** Primary SMTP address of the mailbox. */
  readonly mailbox: string;
  readonly folder: SyncedFolder;
  /** Set for a folder an administrator chose (not the well-known one of its kind): the protocol's folder id it was chosen by. */
  readonly folderId?: string;
  /** Set for a folder chosen by path, e.g. "Inbox/Projects". */
  readonly folderPath?: string;
  readonly changeType: ChangeType;
  /** Item id (opaque): the EWS item id, or the Graph immutable id when `source` is 'graph'. */
  readonly itemId: string;
  readonly changeKey?: string;
  /** True when the record comes from a full re-sync (the sync state was lost or invalid). */
  readonly fullResync: boolean;
  /** When the connector observed the change (ISO 8601). */
  readonly occurredAt?: string;
  /** For readFlagChanged: the new read state. */
  readonly isRead?: boolean;
  /** The item as it is now; absent for deleted records. */
  readonly item?: ChangeItem;
  /**
   * The protocol that read the change: 'graph' for Microsoft Graph; absent for EWS (records from
   * before Graph existed look the same). Nothing else about a record depends on the protocol.
   */
  readonly source?: 'graph' | 'ews';
  /** `connector`: the change is the echo of a write-API operation (operationId names it); absent: made in Exchange by someone else. */
  readonly origin?: 'connector';
  readonly operationId?: string;
}

/** A write-API operation's outcome, delivered like change records (see docs/write-back.md). */
export interface OperationResultEvent {
  readonly type: 'operationResult';
  readonly operationId: string;
  readonly idempotencyKey: string;
  readonly operation: string;
  readonly status: 'succeeded' | 'conflict' | 'failed';
  readonly itemId?: string;
  readonly externalId?: string;
  readonly version?: string;
  readonly currentItem?: ChangeItem;
  readonly error?: { readonly code: string; readonly message: string };
  readonly completedAt: string;
}

/**
 * A contact candidate derived from the senders and recipients of synced mail (groups with
 * contactCandidates enabled; docs/delivery.md). State-carrying: each record is the candidate as it
 * is now, so the latest one received (highest messageCount, then lastSeen) wins.
 */
export interface ContactCandidateRecord {
  readonly type: 'contactCandidate';
  readonly schemaVersion: typeof CHANGE_RECORD_SCHEMA_VERSION;
  /** sha256 over tenant, group, address and the counts: the same state yields the same key (replays). */
  readonly idempotencyKey: string;
  /** created: first seen in this batch's page; updated: counts, lastSeen or displayName changed (or a replay re-sends the state). */
  readonly changeType: 'created' | 'updated';
  readonly tenantId: string;
  readonly groupId: string;
  /** Lower-case SMTP address: the candidate's identity, deduplicated case-insensitively. */
  readonly address: string;
  /** The most recent display name seen with the address (control characters removed, at most 256 characters); absent when none was given. */
  readonly displayName?: string;
  /** ISO 8601: the earliest and the latest message counted. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Messages received from the address, and messages the group's mailboxes sent to it; each message counted once. */
  readonly receivedFromCount: number;
  readonly sentToCount: number;
  readonly messageCount: number;
  /** The mailbox whose sync saw the latest change. */
  readonly mailbox: string;
  readonly occurredAt: string;
}

export interface ChangeBatch {
  readonly batchId: string;
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly records: readonly ChangeRecord[];
  /** Write-API results (usually in a batch of their own, with no records). */
  readonly operationResults?: readonly OperationResultEvent[];
  /** Contact candidates (in batches of their own, with no records). */
  readonly contactCandidates?: readonly ContactCandidateRecord[];
  /** ISO 8601. */
  readonly createdAt: string;
  /**
   * Set only when a queue target received the batch in several messages (64 KiB limit): this
   * message is part `part` of `partCount` (1-based, in record order) of batch `parentBatchId`;
   * batchId is then `<parentBatchId>.p<part>`.
   */
  readonly parentBatchId?: string;
  readonly part?: number;
  readonly partCount?: number;
}

export interface OutboxReceipt {
  readonly batchId: string;
  /** True when the payload went to blob storage because it exceeded the queue message limit. */
  readonly claimCheck: boolean;
}

/**
 * Where the sync engine hands its batches. enqueue resolves only once the batch is durably
 * stored (queue message, plus blob for large batches): only then may the sync engine save its
 * SyncState. Delivery to the customer happens later, with retries, independent of sync.
 */
export interface DeliveryOutbox {
  enqueue(batch: ChangeBatch): Promise<OutboxReceipt>;
}

export interface IdempotencyKeyParts {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly folder: SyncedFolder;
  readonly itemId: string;
  readonly changeKey?: string | undefined;
  readonly changeType: ChangeType;
  /** For readFlagChanged: the new read state. */
  readonly isRead?: boolean | undefined;
  /**
   * Where in the mailbox's change stream the change was read (the sync engine passes a digest of
   * the sync state the page was read after). Read-flag changes carry no change key, so without it
   * read -> unread -> read on the same item would repeat a key; with it each toggle gets its own
   * key while a replay of the same page (same state) yields the same keys again.
   */
  readonly sourcePosition?: string | undefined;
}

/**
 * sha256 over the identifying fields; the mailbox is case-insensitive, EWS ids are not. Records
 * with a change key (created, updated) keep the original v1 canonical form, so their keys do not
 * change; the read state and source position are appended only when present.
 */
export function changeIdempotencyKey(parts: IdempotencyKeyParts): string {
  const canonical = [
    'v1',
    parts.tenantId.toLowerCase(),
    parts.groupId,
    parts.mailbox.toLowerCase(),
    parts.folder,
    parts.itemId,
    parts.changeKey ?? '',
    parts.changeType,
  ];
  if (parts.isRead !== undefined || parts.sourcePosition !== undefined) {
    canonical.push(`isRead=${parts.isRead === undefined ? '' : String(parts.isRead)}`, `position=${parts.sourcePosition ?? ''}`);
  }
  return createHash('sha256').update(canonical.join('\n'), 'utf8').digest('hex');
}

export type ChangeRecordInput = Omit<ChangeRecord, 'schemaVersion' | 'idempotencyKey'>;

/** Key inputs that are not part of the published record. */
export interface ChangeRecordKeyContext {
  /** See IdempotencyKeyParts.sourcePosition; the sync engine sets it for every record of a page. */
  readonly sourcePosition?: string | undefined;
}

export function createChangeRecord(input: ChangeRecordInput, keyContext: ChangeRecordKeyContext = {}): ChangeRecord {
  // Only read-flag changes lack a change key that tells one change of an item from the next.
  const position = input.changeType === 'readFlagChanged' ? keyContext.sourcePosition : undefined;
  return {
    schemaVersion: CHANGE_RECORD_SCHEMA_VERSION,
    idempotencyKey: changeIdempotencyKey({ ...input, isRead: input.changeType === 'readFlagChanged' ? input.isRead : undefined, sourcePosition: position }),
    ...input,
  };
}

export interface ChangeBatchInput {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly records: readonly ChangeRecord[];
  readonly batchId?: string;
  readonly createdAt?: Date;
}

export function createChangeBatch(input: ChangeBatchInput): ChangeBatch {
  return {
    batchId: input.batchId ?? randomUUID(),
    tenantId: input.tenantId,
    groupId: input.groupId,
    mailbox: input.mailbox,
    records: input.records,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
  };
}

// ---- Published JSON shape (zod is the single source; the JSON Schema is generated from it) ----

const emailAddressSchema = z.object({ name: z.string().optional(), address: z.string().optional() });

/**
 * The item is described by its discriminant and its common fields; the per-kind fields are
 * documented in docs/delivery.md and may grow (additional properties allowed).
 */
export const changeItemSchema = z
  .looseObject({
    kind: z.enum(['message', 'meetingMessage', 'calendarItem', 'contact', 'task', 'item']),
    id: z.string(),
    changeKey: z.string().optional(),
    subject: z.string().optional(),
    from: emailAddressSchema.optional(),
    to: z.array(emailAddressSchema).optional(),
    calendarItemType: z.enum(['Single', 'Occurrence', 'Exception', 'RecurringMaster']).optional().describe('calendarItem: single, occurrence, exception or recurring master.'),
    recurrence: z
      .looseObject({ pattern: z.looseObject({ type: z.string(), interval: z.number() }), range: z.looseObject({ type: z.enum(['endDate', 'noEnd', 'numbered']), startDate: z.string() }) })
      .optional()
      .describe("calendarItem (recurring master): pattern and range in Graph's patternedRecurrence shape."),
    modifiedOccurrences: z.array(z.looseObject({ itemId: z.string(), originalStart: z.string().optional() })).optional().describe('calendarItem (recurring master): exceptions with their original start.'),
    deletedOccurrences: z.array(z.object({ originalStart: z.string() })).optional().describe('calendarItem (recurring master): deleted occurrences by original start.'),
    meeting: z
      .looseObject({ messageType: z.string(), responseType: z.string().optional(), associatedCalendarItemId: z.string().optional(), start: z.string().optional(), end: z.string().optional(), location: z.string().optional() })
      .optional()
      .describe('meetingMessage: request, response or cancellation, and the meeting it is about.'),
    bodyOmitted: z.boolean().optional().describe('True when bodyText/bodyHtml were left out because the record alone exceeded the queue message limit.'),
    detailsOmitted: z.boolean().optional().describe('True when every field but kind, id and changeKey was left out for the same reason.'),
    omittedReason: z.enum(['queueMessageSizeLimit']).optional(),
  })
  .describe('The item as it is now, normalised (see docs/delivery.md for the fields per kind).');

export const changeRecordSchema = z
  .object({
    schemaVersion: z.literal(CHANGE_RECORD_SCHEMA_VERSION),
    idempotencyKey: z.string().regex(/^[0-9a-f]{64}$/),
    tenantId: z.string(),
    groupId: z.string(),
    mailbox: z.string(),
    folder: z.enum(SYNCED_FOLDERS).describe('The kind of folder: inbox (mail), calendar, contacts, tasks.'),
    folderId: z.string().optional().describe('A folder the administrator chose by id (not the well-known one of its kind).'),
    folderPath: z.string().optional().describe('A folder the administrator chose by path, e.g. "Inbox/Projects".'),
    changeType: z.enum(CHANGE_TYPES),
    itemId: z.string(),
    changeKey: z.string().optional(),
    fullResync: z.boolean(),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
    isRead: z.boolean().optional(),
    item: changeItemSchema.optional(),
    origin: z.literal('connector').optional().describe('Set when the change is the echo of a write-API operation (see operationId).'),
    operationId: z.string().optional(),
    source: z.enum(['graph', 'ews']).optional().describe("The protocol that read the change: 'graph' (Microsoft Graph); absent for EWS."),
  })
  .meta({ id: 'ChangeRecord', title: 'Exchange Connector change record (schemaVersion 1)' });

export const operationResultEventSchema = z
  .object({
    type: z.literal('operationResult'),
    operationId: z.string(),
    idempotencyKey: z.string(),
    operation: z.string(),
    status: z.enum(['succeeded', 'conflict', 'failed']),
    itemId: z.string().optional(),
    externalId: z.string().optional(),
    version: z.string().optional(),
    currentItem: changeItemSchema.optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    completedAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'OperationResultEvent', title: 'Result of a write-API operation' });

export const contactCandidateRecordSchema = z
  .object({
    type: z.literal('contactCandidate'),
    schemaVersion: z.literal(CHANGE_RECORD_SCHEMA_VERSION),
    idempotencyKey: z.string().regex(/^[0-9a-f]{64}$/),
    changeType: z.enum(['created', 'updated']),
    tenantId: z.string(),
    groupId: z.string(),
    address: z.string().max(254).describe('Lower-case SMTP address; the candidate\'s identity.'),
    displayName: z.string().max(256).optional().describe('Latest display name seen with the address; no control characters.'),
    firstSeen: z.iso.datetime({ offset: true }),
    lastSeen: z.iso.datetime({ offset: true }),
    receivedFromCount: z.number().int().min(0).describe('Messages received from the address.'),
    sentToCount: z.number().int().min(0).describe("Messages the group's mailboxes sent to the address."),
    messageCount: z.number().int().min(1).describe('receivedFromCount + sentToCount.'),
    mailbox: z.string().describe('The mailbox whose sync saw the latest change.'),
    occurredAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'ContactCandidate', title: 'Contact candidate derived from synced mail (schemaVersion 1)' });

export const changeBatchSchema = z
  .object({
    batchId: z.string(),
    tenantId: z.string(),
    groupId: z.string(),
    mailbox: z.string(),
    records: z.array(changeRecordSchema),
    operationResults: z.array(operationResultEventSchema).optional(),
    contactCandidates: z.array(contactCandidateRecordSchema).optional().describe('Contact candidates from synced mail (groups with contactCandidates enabled).'),
    createdAt: z.iso.datetime({ offset: true }),
    parentBatchId: z.string().optional().describe('Queue targets only, when a batch was split to fit 64 KiB messages: the batch this message is part of.'),
    part: z.number().int().min(1).optional().describe('1-based part number, in record order.'),
    partCount: z.number().int().min(2).optional().describe('How many messages the batch was split into.'),
  })
  .meta({ id: 'ChangeBatch', title: 'Exchange Connector change batch (webhook body / queue message)' });
