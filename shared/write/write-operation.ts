/**
 * The write API's operation: what the business application asks the connector to do in one
 * mailbox. Validated once at the API (zod, every field at fault named) and again when the queue
 * function reads it back, so a forged or stale message never reaches Exchange unchecked.
 */
import { z } from 'zod';

/** Printable ASCII without spaces: keys and external ids end up in Table keys and extended properties. */
const token = (max: number) => z.string().min(1).max(max).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const text = (max: number) => z.string().max(max).refine((value) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(value), 'must not contain control characters');
const address = z.email('must be an SMTP address').max(320);
const isoDate = z.iso.datetime({ offset: true });
/** EWS ids are base64; Graph ids base64url. Anything else cannot name an item. */
const exchangeId = z.string().min(1).max(1024).regex(/^[A-Za-z0-9+/=_-]+$/, 'is not an Exchange item id');

export const WRITE_ITEM_TYPES = ['calendarItem', 'contact', 'task', 'message'] as const;
export type WriteItemType = (typeof WRITE_ITEM_TYPES)[number];

const body = z.strictObject({ contentType: z.enum(['text', 'html']), content: text(64 * 1024) });
const categories = z.array(text(255).min(1)).max(25);

export const recurrenceSchema = z
  .strictObject({
    pattern: z.enum(['daily', 'weekly', 'absoluteMonthly']),
    interval: z.number().int().min(1).max(999),
    daysOfWeek: z.array(z.enum(['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'])).min(1).max(7).optional(),
    dayOfMonth: z.number().int().min(1).max(31).optional(),
    numberOfOccurrences: z.number().int().min(1).max(999).optional(),
    endDate: isoDate.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.pattern === 'weekly' && !value.daysOfWeek) ctx.addIssue({ code: 'custom', path: ['daysOfWeek'], message: 'is required for a weekly pattern' });
    if (value.pattern === 'absoluteMonthly' && value.dayOfMonth === undefined) ctx.addIssue({ code: 'custom', path: ['dayOfMonth'], message: 'is required for an absoluteMonthly pattern' });
    if (value.numberOfOccurrences !== undefined && value.endDate !== undefined) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'give numberOfOccurrences or endDate, not both' });
  })
  .meta({ id: 'WriteRecurrence' });

export const calendarFields = z
  .strictObject({
    subject: text(255).optional(),
    body: body.optional(),
    start: isoDate.optional(),
    end: isoDate.optional(),
    isAllDayEvent: z.boolean().optional(),
    location: text(255).optional(),
    requiredAttendees: z.array(address).max(500).optional(),
    optionalAttendees: z.array(address).max(500).optional(),
    categories: categories.optional(),
    recurrence: recurrenceSchema.optional(),
  })
  .meta({ id: 'WriteCalendarFields' });

export const contactFields = z
  .strictObject({
    givenName: text(255).optional(),
    surname: text(255).optional(),
    displayName: text(255).optional(),
    companyName: text(255).optional(),
    jobTitle: text(255).optional(),
    emailAddresses: z.array(address).max(3).optional(),
    businessPhone: text(64).optional(),
    mobilePhone: text(64).optional(),
    body: body.optional(),
    categories: categories.optional(),
  })
  .meta({ id: 'WriteContactFields' });

export const taskFields = z
  .strictObject({
    subject: text(255).optional(),
    body: body.optional(),
    startDate: isoDate.optional(),
    dueDate: isoDate.optional(),
    status: z.enum(['NotStarted', 'InProgress', 'Completed', 'WaitingOnOthers', 'Deferred']).optional(),
    percentComplete: z.number().min(0).max(100).optional(),
    categories: categories.optional(),
  })
  .meta({ id: 'WriteTaskFields' });

/** The item an operation works on: Exchange's id, or the application's own id (mapped by the connector). */
export const itemReference = z
  .strictObject({
    itemId: exchangeId.optional(),
    externalId: token(255).optional(),
    /** One occurrence of a recurring series (1-based, as EWS OccurrenceItemId's InstanceIndex). */
    occurrenceIndex: z.number().int().min(1).max(999).optional(),
  })
  .superRefine((value, ctx) => {
    if ((value.itemId === undefined) === (value.externalId === undefined)) ctx.addIssue({ code: 'custom', path: ['itemId'], message: 'give exactly one of itemId and externalId' });
  })
  .meta({ id: 'WriteItemReference' });

const invitations = z.enum(['none', 'toAll', 'toAllAndSaveCopy']).default('none').describe('Meeting invitations / updates / cancellations to attendees (calendar items). Over Microsoft Graph a meeting always notifies its attendees (with a copy in Sent Items): `none` for a meeting with attendees fails with InvitationsNotSuppressible and writes nothing.');
const common = { idempotencyKey: token(128).describe('Client-chosen; the same key again in this mailbox answers with the first operation and never writes twice.') };
const version = token(512).describe('The version the application last saw, as sync reports it: the ChangeKey (EWS); the changeKey of a Graph event, contact or message (sent as If-Match W/"<changeKey>"), or the @odata.etag of a To Do task. A different current version makes the result `conflict`.');

export const writeOperationRequest = z
  .discriminatedUnion('operation', [
    // Zod 4 nests discriminated unions: operation first, then the item type.
    z.discriminatedUnion('itemType', [
      z.strictObject({ ...common, operation: z.literal('create'), itemType: z.literal('calendarItem'), externalId: token(255).optional(), fields: calendarFields, sendInvitations: invitations }),
      z.strictObject({ ...common, operation: z.literal('create'), itemType: z.literal('contact'), externalId: token(255).optional(), fields: contactFields }),
      z.strictObject({ ...common, operation: z.literal('create'), itemType: z.literal('task'), externalId: token(255).optional(), fields: taskFields }),
    ]),
    z.discriminatedUnion('itemType', [
      z.strictObject({ ...common, operation: z.literal('update'), itemType: z.literal('calendarItem'), item: itemReference, expectedVersion: version, fields: calendarFields.omit({ recurrence: true }), sendInvitations: invitations }),
      z.strictObject({ ...common, operation: z.literal('update'), itemType: z.literal('contact'), item: itemReference, expectedVersion: version, fields: contactFields }),
      z.strictObject({ ...common, operation: z.literal('update'), itemType: z.literal('task'), item: itemReference, expectedVersion: version, fields: taskFields }),
    ]),
    z.strictObject({ ...common, operation: z.literal('delete'), itemType: z.enum(WRITE_ITEM_TYPES), item: itemReference, expectedVersion: version, sendInvitations: invitations }),
    z.strictObject({ ...common, operation: z.literal('setReadState'), item: itemReference, isRead: z.boolean(), expectedVersion: version.optional() }),
    z.strictObject({ ...common, operation: z.literal('setFlag'), item: itemReference, flag: z.enum(['notFlagged', 'flagged', 'complete']), expectedVersion: version.optional() }),
    z.strictObject({ ...common, operation: z.literal('setCategories'), item: itemReference, categories, expectedVersion: version.optional() }),
    z.strictObject({ ...common, operation: z.literal('move'), item: itemReference, destinationFolder: z.enum(['inbox', 'archive', 'deleteditems', 'junkemail', 'drafts', 'sentitems']), expectedVersion: version.optional() }),
  ])
  .superRefine((value, ctx) => {
    if ('fields' in value && value.itemType === 'calendarItem' && value.operation === 'create') {
      if (!value.fields.start) ctx.addIssue({ code: 'custom', path: ['fields', 'start'], message: 'is required to create a calendar item' });
      if (!value.fields.end) ctx.addIssue({ code: 'custom', path: ['fields', 'end'], message: 'is required to create a calendar item' });
    }
    if ('fields' in value && value.itemType === 'calendarItem' && value.fields.start && value.fields.end && value.fields.end < value.fields.start) {
      ctx.addIssue({ code: 'custom', path: ['fields', 'end'], message: 'must not be before start' });
    }
    if ('item' in value && value.item.occurrenceIndex !== undefined && !(value.operation === 'update' || value.operation === 'delete')) {
      ctx.addIssue({ code: 'custom', path: ['item', 'occurrenceIndex'], message: 'applies to update and delete of calendar items only' });
    }
  })
  .meta({ id: 'WriteOperationRequest' });

export type WriteOperationRequest = z.infer<typeof writeOperationRequest>;
export type CalendarFields = z.infer<typeof calendarFields>;
export type ContactFields = z.infer<typeof contactFields>;
export type TaskFields = z.infer<typeof taskFields>;
export type ItemReference = z.infer<typeof itemReference>;

export const OPERATION_STATES = ['queued', 'running', 'succeeded', 'conflict', 'failed'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/** What the application learns about an operation (GET .../operations/{id} and the operationResult event). */
export const operationView = z
  .strictObject({
    operationId: z.string(),
    idempotencyKey: z.string(),
    operation: z.string(),
    mailbox: z.string(),
    status: z.enum(OPERATION_STATES),
    itemId: z.string().optional().describe('The Exchange id of the item written (new id after a move).'),
    externalId: z.string().optional(),
    version: z.string().optional().describe('The item\'s ChangeKey / ETag after the write.'),
    currentItem: z.looseObject({ kind: z.string() }).optional().describe('For `conflict`: the item as it is now in Exchange.'),
    error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
    attempts: z.number().int(),
    acceptedAt: z.string(),
    completedAt: z.string().optional(),
  })
  .meta({ id: 'WriteOperation' });
export type OperationView = z.infer<typeof operationView>;
