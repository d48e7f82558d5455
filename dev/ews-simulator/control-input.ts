/**
 * Validation of the control API's JSON inputs (zod): every request body and query value is
 * parsed into the store's input types here, so a wrong shape becomes a 400 naming each field at
 * fault instead of a crash deep in the store.
 *
 * Lenient where it helps someone typing curl commands:
 * - an EmailAddress may be a string, "someone@example.com" or "Some One <someone@example.com>";
 * - a recipient list may be one address instead of an array;
 * - a body may be a plain string (a Text body), and `bodyType` is accepted for `type`;
 * - an attendee may be just an address;
 * - `kind` of a new item defaults to "message".
 * Unknown fields are refused (a typo should not be ignored silently).
 */
import { z } from 'zod';
import type { FieldProblem } from '../../shared/http/problem';
import type { NewFaultRule } from './faults';
import { PERMISSION_LEVELS } from './model';
import type { DelegateGrant, FolderPermission } from './model';
import type {
  ApplicationAccessPolicy,
  Attendee,
  Body,
  DeleteMode,
  DistinguishedFolderName,
  EmailAddress,
  FolderRef,
  ItemKind,
  ItemPatch,
  MailToDeliver,
  NewAttachment,
  NewItem,
  NewMailbox,
  NewOrganisation,
  NewServiceAccount,
  Organisation,
  RightScope,
} from './model';
import { DISTINGUISHED_FOLDER_NAMES } from './model';

/** A control-API input that failed validation; `errors` name each field by JSON pointer. */
export class ControlInputError extends Error {
  constructor(readonly errors: readonly FieldProblem[]) {
    super(`${errors.length} field(s) at fault`);
    this.name = 'ControlInputError';
  }
}

// ---- building blocks --------------------------------------------------------------------------

const SMTP_ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;
const NAMED_ADDRESS = /^\s*"?([^"<]*?)"?\s*<([^<>]+)>\s*$/;

/** "a@b" or "Name <a@b>" → {name?, address}; anything else is passed on for the object schema to judge. */
function addressFromString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const named = NAMED_ADDRESS.exec(value);
  if (named) return named[1] ? { name: named[1], address: named[2]!.trim() } : { address: named[2]!.trim() };
  return { address: value.trim() };
}

const smtpAddress = z.string().trim().regex(SMTP_ADDRESS, 'Expected an SMTP address such as someone@example.com.');
const nonEmpty = z.string().trim().min(1, 'Must not be empty.');

const emailAddress = z.preprocess(
  addressFromString,
  z.strictObject(
    {
      name: z.string().optional(),
      address: smtpAddress,
      routingType: z.string().optional(),
      mailboxType: z.enum(['Mailbox', 'PublicDL', 'PrivateDL', 'Contact', 'PublicFolder', 'Unknown', 'OneOff', 'GroupMailbox']).optional(),
    },
    { error: 'Expected an address: "someone@example.com", "Name <someone@example.com>" or {name?, address}.' },
  ),
) as z.ZodType<EmailAddress>;

/** One address or an array of them. */
const addressList = z.preprocess((value) => (Array.isArray(value) ? value : value === undefined ? value : [value]), z.array(emailAddress));

const bodyType = z.preprocess(
  (value) => (typeof value === 'string' ? ({ text: 'Text', html: 'HTML' } as Record<string, string>)[value.toLowerCase()] ?? value : value),
  z.enum(['Text', 'HTML'], { error: 'Expected "Text" or "HTML".' }),
);

const body = z.preprocess(
  (value) => (typeof value === 'string' ? { type: 'Text', content: value } : value),
  z
    .strictObject({ type: bodyType.optional(), bodyType: bodyType.optional(), content: z.string() }, { error: 'Expected a string (Text) or {type: "Text" | "HTML", content}.' })
    .transform((b): Body => ({ type: b.type ?? b.bodyType ?? 'Text', content: b.content })),
);

const date = z.union([z.string(), z.number()], { error: 'Expected an ISO 8601 date-time string.' }).transform((value, ctx) => {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) {
    ctx.issues.push({ code: 'custom', message: 'Expected an ISO 8601 date-time string.', input: value });
    return z.NEVER;
  }
  return parsed;
});

const stringList = z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(z.string()));

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/\s]*={0,2}\s*$/, 'Expected base64 content.')
  .transform((value) => Buffer.from(value, 'base64'));

const attachment = z.strictObject({
  name: nonEmpty,
  contentType: z.string().default('application/octet-stream'),
  content: base64,
  contentId: z.string().optional(),
  isInline: z.boolean().optional(),
  lastModifiedTime: date.optional(),
}) satisfies z.ZodType<NewAttachment>;

const importance = z.enum(['Low', 'Normal', 'High']);
const sensitivity = z.enum(['Normal', 'Personal', 'Private', 'Confidential']);
const percent = z.number().int().min(0).max(100);

const attendee = z.preprocess(
  (value) => (typeof value === 'string' || (value && typeof value === 'object' && 'address' in value && !('mailbox' in value)) ? { mailbox: value } : value),
  z.strictObject({
    mailbox: emailAddress,
    responseType: z.enum(['Unknown', 'Organizer', 'Tentative', 'Accept', 'Decline', 'NoResponseReceived']).optional(),
  }),
) as z.ZodType<Attendee>;

const emailAddressKey = z.enum(['EmailAddress1', 'EmailAddress2', 'EmailAddress3']);
const phoneNumberKey = z.enum(['BusinessPhone', 'BusinessPhone2', 'BusinessFax', 'HomePhone', 'HomePhone2', 'HomeFax', 'MobilePhone', 'OtherTelephone', 'PrimaryPhone', 'CompanyMainPhone', 'AssistantPhone', 'CarPhone', 'Pager']);
const contactEmail = z.strictObject({ key: emailAddressKey, address: z.string().min(1), name: z.string().optional() });
const phoneNumber = z.strictObject({ key: phoneNumberKey, number: z.string().min(1) });
const taskStatus = z.enum(['NotStarted', 'InProgress', 'Completed', 'WaitingOnOthers', 'Deferred']);

const rightScope = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('all') }),
    z.strictObject({ kind: z.literal('list'), mailboxes: z.array(z.string().min(1)) }),
    z.strictObject({ kind: z.literal('filter'), attribute: nonEmpty, equals: z.string() }),
  ],
  { error: 'Expected {kind: "all"}, {kind: "list", mailboxes} or {kind: "filter", attribute, equals}.' },
) satisfies z.ZodType<RightScope>;

// ---- items ----------------------------------------------------------------------------------

const itemCommon = {
  subject: z.string().optional(),
  body: body.optional(),
  categories: stringList.optional(),
  importance: importance.optional(),
  sensitivity: sensitivity.optional(),
  dateTimeCreated: date.optional(),
  dateTimeReceived: date.optional(),
  internetMessageId: z.string().optional(),
  itemClass: nonEmpty.optional(),
  inReplyTo: z.string().optional(),
  attachments: z.array(attachment).optional(),
};

const newMessage = z.strictObject({
  ...itemCommon,
  kind: z.literal('message'),
  from: emailAddress.optional(),
  sender: emailAddress.optional(),
  toRecipients: addressList.optional(),
  ccRecipients: addressList.optional(),
  bccRecipients: addressList.optional(),
  replyTo: addressList.optional(),
  dateTimeSent: date.optional(),
  isRead: z.boolean().optional(),
  isDraft: z.boolean().optional(),
  isReadReceiptRequested: z.boolean().optional(),
  isDeliveryReceiptRequested: z.boolean().optional(),
});

const newCalendarItem = z
  .strictObject({
    ...itemCommon,
    kind: z.literal('calendarItem'),
    start: date,
    end: date,
    isAllDayEvent: z.boolean().optional(),
    location: z.string().optional(),
    organizer: emailAddress.optional(),
    requiredAttendees: z.array(attendee).optional(),
    optionalAttendees: z.array(attendee).optional(),
    legacyFreeBusyStatus: z.enum(['Free', 'Tentative', 'Busy', 'OOF', 'WorkingElsewhere', 'NoData']).optional(),
    uid: nonEmpty.optional(),
    isCancelled: z.boolean().optional(),
  })
  .refine((c) => c.end.getTime() >= c.start.getTime(), { message: 'The end is before the start.', path: ['end'] });

const newContact = z.strictObject({
  ...itemCommon,
  kind: z.literal('contact'),
  givenName: z.string().optional(),
  surname: z.string().optional(),
  displayName: z.string().optional(),
  fileAs: z.string().optional(),
  companyName: z.string().optional(),
  jobTitle: z.string().optional(),
  department: z.string().optional(),
  emailAddresses: z.array(contactEmail).optional(),
  phoneNumbers: z.array(phoneNumber).optional(),
});

const newTask = z.strictObject({
  ...itemCommon,
  kind: z.literal('task'),
  dueDate: date.optional(),
  startDate: date.optional(),
  completeDate: date.optional(),
  status: taskStatus.optional(),
  percentComplete: percent.optional(),
});

const newItem = z.preprocess(
  (value) => (value && typeof value === 'object' && !Array.isArray(value) && !('kind' in value) ? { ...value, kind: 'message' } : value),
  z.discriminatedUnion('kind', [newMessage, newCalendarItem, newContact, newTask], { error: 'Expected kind "message", "calendarItem", "contact" or "task".' }),
) as z.ZodType<NewItem>;

const folderRefInput = nonEmpty.transform((value): FolderRef => toFolderRef(value));

export function toFolderRef(value: string): FolderRef {
  return (DISTINGUISHED_FOLDER_NAMES as readonly string[]).includes(value) ? { distinguished: value as DistinguishedFolderName } : value;
}

const createItemRequest = z.strictObject({ folder: folderRefInput.default({ distinguished: 'inbox' }), item: newItem });

/** Which item kinds each patchable field applies to (others are refused, not ignored). MAPI properties and meeting bookkeeping are EWS-only. */
const PATCH_FIELD_KINDS: Record<Exclude<keyof ItemPatch, 'setExtendedProperties' | 'removeExtendedProperties' | 'isCancelled' | 'myResponseType' | 'legacyFreeBusyStatus' | 'modifiedOccurrences' | 'deletedOccurrences'>, readonly ItemKind[] | 'all'> = {
  subject: 'all',
  body: 'all',
  categories: 'all',
  importance: 'all',
  sensitivity: 'all',
  isRead: ['message'],
  isDraft: ['message'],
  from: ['message'],
  toRecipients: ['message'],
  ccRecipients: ['message'],
  bccRecipients: ['message'],
  start: ['calendarItem'],
  end: ['calendarItem'],
  location: ['calendarItem'],
  isAllDayEvent: ['calendarItem'],
  requiredAttendees: ['calendarItem'],
  optionalAttendees: ['calendarItem'],
  givenName: ['contact'],
  surname: ['contact'],
  displayName: ['contact'],
  fileAs: ['contact'],
  companyName: ['contact'],
  jobTitle: ['contact'],
  emailAddresses: ['contact'],
  phoneNumbers: ['contact'],
  dueDate: ['task'],
  startDate: ['task'],
  status: ['task'],
  percentComplete: ['task'],
};

const itemPatch = z.strictObject({
  subject: z.string().optional(),
  body: body.optional(),
  categories: stringList.optional(),
  importance: importance.optional(),
  sensitivity: sensitivity.optional(),
  isRead: z.boolean().optional(),
  isDraft: z.boolean().optional(),
  from: emailAddress.nullable().optional(),
  toRecipients: addressList.optional(),
  ccRecipients: addressList.optional(),
  bccRecipients: addressList.optional(),
  start: date.optional(),
  end: date.optional(),
  location: z.string().optional(),
  isAllDayEvent: z.boolean().optional(),
  requiredAttendees: z.array(attendee).optional(),
  optionalAttendees: z.array(attendee).optional(),
  givenName: z.string().nullable().optional(),
  surname: z.string().nullable().optional(),
  displayName: z.string().optional(),
  fileAs: z.string().optional(),
  companyName: z.string().nullable().optional(),
  jobTitle: z.string().nullable().optional(),
  emailAddresses: z.array(contactEmail).optional(),
  phoneNumbers: z.array(phoneNumber).optional(),
  dueDate: date.nullable().optional(),
  startDate: date.nullable().optional(),
  status: taskStatus.optional(),
  percentComplete: percent.optional(),
}) satisfies z.ZodType<ItemPatch>;

// ---- delivery --------------------------------------------------------------------------------

const mailToDeliver = z.strictObject({
  from: emailAddress,
  toRecipients: addressList.optional(),
  ccRecipients: addressList.optional(),
  bccRecipients: addressList.optional(),
  subject: z.string().optional(),
  body: body.optional(),
  attachments: z.array(attachment).optional(),
  importance: importance.optional(),
  categories: stringList.optional(),
  internetMessageId: z.string().optional(),
  inReplyTo: z.string().optional(),
  receivedAt: date.optional(),
  sentAt: date.optional(),
}) satisfies z.ZodType<MailToDeliver>;

// ---- directory -------------------------------------------------------------------------------

const authentication = z.strictObject({ basic: z.boolean().optional(), ntlm: z.boolean().optional(), oauth: z.boolean().optional() });
const domainList = z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(z.string().trim().regex(/^[^\s@]+\.[^\s@]+$/, 'Expected a domain such as contoso.com.')).min(1));
const tenantId = z.string().trim().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'Expected a GUID.');
const maxConcurrency = z.number().int().min(1).max(10_000);

const newOrganisation = z.strictObject({
  id: nonEmpty,
  name: nonEmpty,
  domains: domainList,
  entraTenantId: tenantId.optional(),
  ewsEnabled: z.boolean().optional(),
  authentication: authentication.optional(),
  maxConcurrency: maxConcurrency.optional(),
}) satisfies z.ZodType<NewOrganisation>;

const organisationPatch = z.strictObject({
  name: nonEmpty.optional(),
  domains: domainList.optional(),
  entraTenantId: tenantId.optional(),
  ewsEnabled: z.boolean().optional(),
  authentication: authentication.optional(),
  maxConcurrency: maxConcurrency.optional(),
});

const attributes = z.record(z.string(), z.string());
const principalList = z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(nonEmpty));

const permissionLevel = z.enum(PERMISSION_LEVELS);
const folderPermissions = z.strictObject({
  permissions: z.array(z.strictObject({ user: nonEmpty.transform((value) => value.toLowerCase()), level: permissionLevel })).max(100),
});
const delegates = z.strictObject({
  delegates: z
    .array(
      z.strictObject({
        user: nonEmpty.transform((value) => value.toLowerCase()),
        calendar: permissionLevel.optional(),
        tasks: permissionLevel.optional(),
        inbox: permissionLevel.optional(),
        contacts: permissionLevel.optional(),
        viewPrivateItems: z.boolean().optional(),
        receiveCopiesOfMeetingMessages: z.boolean().optional(),
      }),
    )
    .max(100),
});

const newMailbox = z.strictObject({
  smtpAddress,
  displayName: nonEmpty,
  organisationId: nonEmpty.optional(),
  kind: z.enum(['user', 'shared', 'room', 'equipment']).optional(),
  aliases: z.array(smtpAddress).optional(),
  userPrincipalName: smtpAddress.optional(),
  entraObjectId: tenantId.optional(),
  password: z.string().optional(),
  passwordExpired: z.boolean().optional(),
  enabled: z.boolean().optional(),
  attributes: attributes.optional(),
  fullAccess: principalList.optional(),
}) satisfies z.ZodType<NewMailbox>;

const mailboxPatch = z.strictObject({
  displayName: nonEmpty.optional(),
  password: z.string().optional(),
  passwordExpired: z.boolean().optional(),
  enabled: z.boolean().optional(),
  attributes: attributes.optional(),
  fullAccess: principalList.optional(),
  entraObjectId: tenantId.optional(),
  aliases: z.array(smtpAddress).optional(),
});

const newServiceAccount = z.strictObject({
  userPrincipalName: smtpAddress,
  displayName: z.string().optional(),
  organisationId: nonEmpty.optional(),
  password: z.string().optional(),
  passwordExpired: z.boolean().optional(),
  enabled: z.boolean().optional(),
}) satisfies z.ZodType<NewServiceAccount>;

const serviceAccountPatch = z.strictObject({
  displayName: z.string().optional(),
  password: z.string().optional(),
  passwordExpired: z.boolean().optional(),
  enabled: z.boolean().optional(),
});

const impersonationGrant = z.strictObject({
  principal: smtpAddress,
  scope: rightScope.default({ kind: 'all' }),
  organisationId: nonEmpty.optional(),
});

const applicationAccessPolicy = z.strictObject({ organisationId: nonEmpty, appId: nonEmpty, scope: rightScope }) satisfies z.ZodType<ApplicationAccessPolicy>;

const newFolder = z.strictObject({
  parent: folderRefInput.default({ distinguished: 'msgfolderroot' }),
  displayName: nonEmpty,
  folderClass: nonEmpty.optional(),
});

const moveRequest = z.strictObject({ folder: folderRefInput });

const faultRule = z.strictObject({
  kind: z.enum(['serverBusy', 'exceededConnectionCount', 'http503', 'http429', 'http500', 'latency', 'connectionReset', 'invalidSyncState', 'responseCode']),
  operation: nonEmpty.optional(),
  principal: nonEmpty.optional(),
  probability: z.number().min(0).max(1).optional(),
  count: z.number().int().min(1).optional(),
  backOffInMs: z.number().int().min(0).max(86_400_000).optional(),
  retryAfterInSeconds: z.number().int().min(0).max(86_400).optional(),
  latencyInMs: z.number().int().min(0).max(600_000).optional(),
  responseCode: z.string().regex(/^Error[A-Za-z]+$/).optional(),
}) satisfies z.ZodType<NewFaultRule>;

// ---- parsing ---------------------------------------------------------------------------------

function pointer(path: readonly PropertyKey[]): string {
  return path.map((segment) => '/' + String(segment).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** zod issues → one FieldProblem per field (unknown keys are listed one by one). */
export function fieldProblems(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ pointer: pointer([...path, key]), detail: 'Unknown field.' });
    } else problems.push({ pointer: pointer(path), detail: issue.message });
  }
  return problems;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix: readonly PropertyKey[] = []): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ControlInputError(fieldProblems(result.error.issues, prefix));
  return result.data;
}

export const controlInput = {
  folderPermissions: (body: unknown): { permissions: FolderPermission[] } => parseWith(folderPermissions, body),
  delegates: (body: unknown): { delegates: DelegateGrant[] } => parseWith(delegates, body) as { delegates: DelegateGrant[] },
  newOrganisation: (body: unknown): NewOrganisation => parseWith(newOrganisation, body),
  organisationPatch: (body: unknown): Partial<Omit<Organisation, 'id'>> => {
    const patch = parseWith(organisationPatch, body);
    // Partial authentication flags merge with the current ones in the store.
    return patch as Partial<Omit<Organisation, 'id'>>;
  },
  newMailbox: (body: unknown): NewMailbox => parseWith(newMailbox, body),
  mailboxPatch: (body: unknown) => parseWith(mailboxPatch, body),
  newServiceAccount: (body: unknown): NewServiceAccount => parseWith(newServiceAccount, body),
  serviceAccountPatch: (body: unknown) => parseWith(serviceAccountPatch, body),
  impersonationGrant: (body: unknown) => parseWith(impersonationGrant, body),
  applicationAccessPolicy: (body: unknown): ApplicationAccessPolicy => parseWith(applicationAccessPolicy, body),
  newFolder: (body: unknown) => parseWith(newFolder, body),
  createItem: (body: unknown): { folder: FolderRef; item: NewItem } => parseWith(createItemRequest, body),
  moveItem: (body: unknown): { folder: FolderRef } => parseWith(moveRequest, body),
  /** A patch whose fields must all apply to an item of `kind`. */
  itemPatch: (body: unknown, kind: ItemKind): ItemPatch => {
    const patch = parseWith(itemPatch, body);
    const misplaced: FieldProblem[] = [];
    for (const key of Object.keys(patch) as (keyof typeof PATCH_FIELD_KINDS)[]) {
      const kinds = PATCH_FIELD_KINDS[key];
      if (kinds !== 'all' && !kinds.includes(kind)) misplaced.push({ pointer: pointer([key]), detail: `Does not apply to a ${kind}; applies to ${kinds.join(', ')}.` });
    }
    if (misplaced.length > 0) throw new ControlInputError(misplaced);
    return patch;
  },
  mailToDeliver: (body: unknown): MailToDeliver => parseWith(mailToDeliver, body),
  faultRule: (body: unknown): NewFaultRule => parseWith(faultRule, body),
  pushSettings: (body: unknown): { minuteInMs?: number | undefined; callbacksUnreachable?: boolean | undefined } => parseWith(pushSettings, body),
};

/** How long "a minute" of push StatusFrequency and retries lasts (tests scale it down). */
const pushSettings = z.strictObject({ minuteInMs: z.number().int().min(10).max(3_600_000).optional(), callbacksUnreachable: z.boolean().optional() });

// ---- query parameters ------------------------------------------------------------------------

export function deleteModeQuery(value: string | null): DeleteMode {
  if (value === null) return 'HardDelete';
  if (value === 'HardDelete' || value === 'SoftDelete' || value === 'MoveToDeletedItems') return value;
  throw new ControlInputError([{ pointer: '?mode', detail: 'Expected HardDelete, SoftDelete or MoveToDeletedItems.' }]);
}

/** A positive integer query parameter (e.g. ?limit=) with a default and an upper bound. */
export function countQuery(name: string, value: string | null, fallback: number, max = 1_000_000): number {
  if (value === null) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1 || parsed > max) {
    throw new ControlInputError([{ pointer: `?${name}`, detail: `Expected a whole number from 1 to ${max}.` }]);
  }
  return parsed;
}

export function integerQuery(name: string, value: string | null): number | undefined {
  if (value === null) return undefined;
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed)) throw new ControlInputError([{ pointer: `?${name}`, detail: 'Expected an integer.' }]);
  return parsed;
}
