/**
 * The EWS simulator's data model and store API.
 *
 * Everything the simulated Exchange organisation holds lives here: organisations (tenants),
 * mailboxes with their folder trees, items, service accounts and the rights that let one
 * principal reach another's mailbox. The store (see store.ts, `createEwsStore`) implements
 * `EwsStore`; the EWS endpoint, the control API and the seed generator all go through it.
 *
 * Stability: other code (the seed generator, tests, benchmarks) builds on these types.
 * Change them additively only.
 */

/** Names of the distinguished folders every mailbox has (EWS DistinguishedFolderIdNameType subset). */
export const DISTINGUISHED_FOLDER_NAMES = [
  'root',
  'msgfolderroot',
  'inbox',
  'calendar',
  'contacts',
  'tasks',
  'notes',
  'journal',
  'sentitems',
  'deleteditems',
  'drafts',
  'outbox',
  'junkemail',
  'recoverableitemsroot',
  'recoverableitemsdeletions',
] as const;
export type DistinguishedFolderName = (typeof DISTINGUISHED_FOLDER_NAMES)[number];

/** An Exchange organisation (an Exchange Online tenant or an on-premises org). */
export interface Organisation {
  /** Stable id used by the control API, e.g. "contoso". */
  readonly id: string;
  name: string;
  /** Accepted SMTP domains, lower case, e.g. ["contoso.com"]. */
  domains: string[];
  /** Entra tenant id (GUID) for Exchange Online organisations: Bearer tokens must carry it as `tid`. */
  entraTenantId?: string;
  /** False models a tenant where EWS is blocked (EWSEnabled=$false): every request is refused. */
  ewsEnabled: boolean;
  /** Which authentication schemes the organisation accepts. */
  authentication: { basic: boolean; ntlm: boolean; oauth: boolean };
  /** EWSMaxConcurrency throttling policy: concurrent requests per principal (Exchange default 27). */
  maxConcurrency: number;
}

export type MailboxKind = 'user' | 'shared' | 'room' | 'equipment';

/** A mailbox. `smtpAddress` (lower case) is its primary address and its key in the store. */
export interface Mailbox {
  readonly smtpAddress: string;
  readonly organisationId: string;
  displayName: string;
  kind: MailboxKind;
  /** Extra proxy addresses (lower case) that also resolve to this mailbox. */
  aliases: string[];
  /** User principal name (sign-in name), lower case; defaults to the SMTP address. */
  userPrincipalName: string;
  /** Entra object id: the `oid` a delegated Bearer token carries for this user. */
  entraObjectId?: string;
  /** Password for Basic/NTLM; undefined means the account cannot sign in with a password. */
  password?: string;
  /** True models an expired password: authentication fails as Exchange does. */
  passwordExpired: boolean;
  /** False models a disabled account / unavailable mailbox. */
  enabled: boolean;
  /** Directory attributes an impersonation filter can match (e.g. department, city). Keys are case-insensitive. */
  attributes: Record<string, string>;
  /** Principals (UPN or SMTP, lower case) holding FullAccess on this mailbox ("shared with them"). */
  fullAccess: string[];
  /** Delegates (GetDelegate); their levels apply to the well-known folders as folder permissions do. */
  delegates?: DelegateGrant[];
  /** Folders by id; the distinguished ones are also indexed in `distinguishedFolders`. */
  readonly folders: Map<string, Folder>;
  readonly distinguishedFolders: Map<DistinguishedFolderName, string>;
  /** Change log of the folder hierarchy, for SyncFolderHierarchy. */
  readonly hierarchyLog: HierarchyChange[];
}

/** One folder. `changeLog` is append-only; a SyncState is a position in it. */
export interface Folder {
  readonly id: string;
  readonly mailbox: string;
  distinguishedName?: DistinguishedFolderName;
  displayName: string;
  /** IPF.Note, IPF.Appointment, IPF.Contact, IPF.Task, IPF.StickyNote ... */
  folderClass: string;
  /** Undefined only for the mailbox root. */
  parentId: string | undefined;
  /** Bumped on every change of the folder itself (rename, move); part of its ChangeKey. */
  version: number;
  /** Item ids currently in the folder, in creation order. */
  readonly itemIds: Set<string>;
  /** Item changes in order; `sequence` is 1-based and dense within the folder. */
  readonly changeLog: ItemChange[];
  /** Hidden folders (non-IPM subtree) are skipped by FindFolder/SyncFolderHierarchy under msgfolderroot. */
  hidden: boolean;
  /** The folder's DACL for other users (principals lower case): what GetFolder's PermissionSet shows and access checks use. */
  permissions?: FolderPermission[];
}

/** Exchange's folder permission levels (PermissionLevelType); Custom is not modelled. */
export const PERMISSION_LEVELS = ['None', 'Owner', 'PublishingEditor', 'Editor', 'PublishingAuthor', 'Author', 'NoneditingAuthor', 'Reviewer', 'Contributor'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

export interface FolderPermission {
  /** SMTP address or UPN, lower case. */
  readonly user: string;
  readonly level: PermissionLevel;
}

/** A delegate of a mailbox (GetDelegate): the levels Outlook's delegate dialog sets on the well-known folders. */
export interface DelegateGrant {
  readonly user: string;
  readonly calendar?: PermissionLevel;
  readonly tasks?: PermissionLevel;
  readonly inbox?: PermissionLevel;
  readonly contacts?: PermissionLevel;
  readonly viewPrivateItems?: boolean;
  readonly receiveCopiesOfMeetingMessages?: boolean;
}

export type ItemChangeKind = 'create' | 'update' | 'delete' | 'readFlag';

/** One entry of a folder's change log. */
export interface ItemChange {
  readonly sequence: number;
  readonly kind: ItemChangeKind;
  readonly itemId: string;
  /** For readFlag changes: the new IsRead value. */
  readonly isRead?: boolean;
}

export type HierarchyChangeKind = 'create' | 'update' | 'delete';

export interface HierarchyChange {
  readonly sequence: number;
  readonly kind: HierarchyChangeKind;
  readonly folderId: string;
}

export type BodyType = 'HTML' | 'Text';

export interface Body {
  type: BodyType;
  content: string;
}

/** A mailbox address as EWS shows it (EmailAddressType). */
export interface EmailAddress {
  name?: string;
  address: string;
  /** SMTP for internet addresses, EX for directory users; defaults to SMTP. */
  routingType?: string;
  mailboxType?: 'Mailbox' | 'PublicDL' | 'PrivateDL' | 'Contact' | 'PublicFolder' | 'Unknown' | 'OneOff' | 'GroupMailbox';
}

export type Importance = 'Low' | 'Normal' | 'High';
export type Sensitivity = 'Normal' | 'Personal' | 'Private' | 'Confidential';

/** A file attachment. Content is kept in memory; GetAttachment returns it base64-encoded. */
export interface Attachment {
  readonly id: string;
  name: string;
  contentType: string;
  contentId?: string;
  isInline: boolean;
  lastModifiedTime: Date;
  /** The bytes; for an item attachment, the attached message as RFC 822 (message/rfc822). */
  content: Uint8Array;
  /** Set for an item attachment (an attached message, EWS ItemAttachment). */
  attachedMessage?: AttachedMessage;
}

/** A message attached to an item (not in any folder, no id of its own). */
export interface AttachedMessage {
  readonly subject: string;
  readonly body: Body;
  readonly from?: EmailAddress;
  readonly toRecipients: readonly EmailAddress[];
  readonly ccRecipients: readonly EmailAddress[];
  readonly dateTimeSent?: Date;
  readonly internetMessageId?: string;
}

export type ItemKind = 'message' | 'calendarItem' | 'contact' | 'task';

/** Properties every item kind has (EWS ItemType). */
export interface ItemBase {
  readonly id: string;
  readonly kind: ItemKind;
  /** Owning mailbox (primary SMTP address). */
  readonly mailbox: string;
  /** Current folder; changes on move. */
  folderId: string;
  /** Bumped on every change; the ChangeKey encodes it. */
  version: number;
  /** IPM.Note, IPM.Appointment, IPM.Contact, IPM.Task ... */
  itemClass: string;
  subject: string;
  body: Body;
  categories: string[];
  importance: Importance;
  sensitivity: Sensitivity;
  dateTimeCreated: Date;
  dateTimeReceived: Date;
  lastModifiedTime: Date;
  attachments: Attachment[];
  internetMessageId?: string;
  /** In-reply-to / references, kept verbatim for MIME output. */
  inReplyTo?: string;
  /**
   * The id this item had when it was first created, kept through moves (a move gives a new id).
   * Undefined until the item is moved. Graph's immutable ids (Prefer: IdType="ImmutableId") are
   * derived from it, so they stay the same across moves as in Exchange Online.
   */
  immutableOrigin?: string;
  /** MAPI properties clients set themselves (CreateItem/UpdateItem ExtendedProperty); undefined when none. */
  extendedProperties?: StoredExtendedProperty[];
}

/**
 * A client-set MAPI property. `key` identifies it independently of the attribute spelling
 * (see extended-properties.ts propertyKey); `pathXml` is the ExtendedFieldURI to write back.
 */
export interface StoredExtendedProperty {
  readonly key: string;
  readonly type: string;
  readonly pathXml: string;
  readonly value: string | readonly string[];
}

export interface Message extends ItemBase {
  readonly kind: 'message';
  from?: EmailAddress;
  sender?: EmailAddress;
  toRecipients: EmailAddress[];
  ccRecipients: EmailAddress[];
  bccRecipients: EmailAddress[];
  replyTo: EmailAddress[];
  dateTimeSent?: Date;
  isRead: boolean;
  isDraft: boolean;
  isReadReceiptRequested: boolean;
  isDeliveryReceiptRequested: boolean;
  /** Set on meeting requests, responses and cancellations (ItemClass IPM.Schedule.Meeting.*). */
  meeting?: MeetingInfo;
}

export interface CalendarItem extends ItemBase {
  readonly kind: 'calendarItem';
  start: Date;
  end: Date;
  isAllDayEvent: boolean;
  location: string;
  organizer?: EmailAddress;
  requiredAttendees: Attendee[];
  optionalAttendees: Attendee[];
  legacyFreeBusyStatus: 'Free' | 'Tentative' | 'Busy' | 'OOF' | 'WorkingElsewhere' | 'NoData';
  /** iCalendar UID, stable across copies. */
  uid: string;
  isCancelled: boolean;
  /**
   * The mailbox owner's answer, for an attendee's copy of a meeting (set by invitations and
   * responses); undefined means computed: Organizer for the organizer, NoResponseReceived otherwise.
   */
  myResponseType?: ResponseType;
  /** Set on a recurring master: the series' pattern and range. */
  recurrence?: Recurrence;
  /** Exceptions of a recurring master: occurrences moved or changed. */
  modifiedOccurrences?: OccurrenceOverride[];
  /** Original starts of the occurrences deleted from a recurring master. */
  deletedOccurrences?: Date[];
  /**
   * Only on generated occurrence views (never stored): the series this occurrence belongs to.
   * The view's id is the occurrence id; start, end, subject and location are the occurrence's.
   */
  occurrenceOf?: { readonly masterId: string; readonly index: number; readonly originalStart: Date; readonly isException: boolean };
}

export type Weekday = 'Sunday' | 'Monday' | 'Tuesday' | 'Wednesday' | 'Thursday' | 'Friday' | 'Saturday';

/** The pattern kinds the simulator expands (EWS RecurrencePatternTypes subset). */
export type RecurrencePattern =
  | { readonly kind: 'Daily'; readonly interval: number }
  | { readonly kind: 'Weekly'; readonly interval: number; readonly daysOfWeek: readonly Weekday[] }
  | { readonly kind: 'AbsoluteMonthly'; readonly interval: number; readonly dayOfMonth: number }
  | { readonly kind: 'AbsoluteYearly'; readonly month: number; readonly dayOfMonth: number };

/** Dates are yyyy-mm-dd (xs:date). */
export type RecurrenceRange =
  | { readonly kind: 'NoEnd'; readonly startDate: string }
  | { readonly kind: 'EndDate'; readonly startDate: string; readonly endDate: string }
  | { readonly kind: 'Numbered'; readonly startDate: string; readonly numberOfOccurrences: number };

export interface Recurrence {
  readonly pattern: RecurrencePattern;
  readonly range: RecurrenceRange;
}

/** One exception of a series: the occurrence that would start at `originalStart`, changed. */
export interface OccurrenceOverride {
  readonly originalStart: Date;
  readonly start: Date;
  readonly end: Date;
  readonly subject?: string;
  readonly location?: string;
  /** Bumped on every change of this exception (part of its ChangeKey). */
  readonly version: number;
}

export type ResponseType = 'Unknown' | 'Organizer' | 'Tentative' | 'Accept' | 'Decline' | 'NoResponseReceived';

/**
 * What a meeting message (request, response or cancellation) says about its meeting. Exchange
 * keeps these on the message itself (MeetingMessageType), apart from the calendar item.
 */
export interface MeetingInfo {
  readonly kind: 'request' | 'response' | 'cancellation';
  readonly uid: string;
  readonly start: Date;
  readonly end: Date;
  readonly location: string;
  readonly isAllDayEvent: boolean;
  readonly organizer?: EmailAddress;
  readonly requiredAttendees: readonly Attendee[];
  readonly optionalAttendees: readonly Attendee[];
  /** For a request: new, or an update of a meeting the attendee already has. */
  readonly isUpdate: boolean;
  /** For a response: the attendee's answer. */
  readonly responseType?: ResponseType;
  /** The calendar item in the recipient's calendar the message is about. */
  readonly associatedCalendarItemId?: string;
}

export interface Attendee {
  mailbox: EmailAddress;
  responseType?: ResponseType;
}

export type EmailAddressKey = 'EmailAddress1' | 'EmailAddress2' | 'EmailAddress3';
export type PhoneNumberKey =
  | 'BusinessPhone'
  | 'BusinessPhone2'
  | 'BusinessFax'
  | 'HomePhone'
  | 'HomePhone2'
  | 'HomeFax'
  | 'MobilePhone'
  | 'OtherTelephone'
  | 'PrimaryPhone'
  | 'CompanyMainPhone'
  | 'AssistantPhone'
  | 'CarPhone'
  | 'Pager';

export interface Contact extends ItemBase {
  readonly kind: 'contact';
  givenName?: string;
  surname?: string;
  displayName: string;
  fileAs: string;
  companyName?: string;
  jobTitle?: string;
  department?: string;
  emailAddresses: { key: EmailAddressKey; address: string; name?: string }[];
  phoneNumbers: { key: PhoneNumberKey; number: string }[];
}

export type TaskStatus = 'NotStarted' | 'InProgress' | 'Completed' | 'WaitingOnOthers' | 'Deferred';

export interface Task extends ItemBase {
  readonly kind: 'task';
  dueDate?: Date;
  startDate?: Date;
  completeDate?: Date;
  status: TaskStatus;
  percentComplete: number;
}

export type Item = Message | CalendarItem | Contact | Task;

/** Fields a caller may give when creating an item; omitted ones get Exchange-like defaults. */
type NewItemCommon = Partial<
  Pick<ItemBase, 'subject' | 'body' | 'categories' | 'importance' | 'sensitivity' | 'dateTimeCreated' | 'dateTimeReceived' | 'internetMessageId' | 'itemClass' | 'inReplyTo' | 'extendedProperties'>
> & { attachments?: NewAttachment[] };

export type NewAttachment = Omit<Attachment, 'id' | 'lastModifiedTime' | 'isInline'> & { isInline?: boolean; lastModifiedTime?: Date };

export type NewMessage = NewItemCommon & { kind: 'message' } & Partial<
    Pick<Message, 'from' | 'sender' | 'toRecipients' | 'ccRecipients' | 'bccRecipients' | 'replyTo' | 'dateTimeSent' | 'isRead' | 'isDraft' | 'isReadReceiptRequested' | 'isDeliveryReceiptRequested' | 'meeting'>
  >;
export type NewCalendarItem = NewItemCommon & { kind: 'calendarItem'; start: Date; end: Date } & Partial<
    Pick<CalendarItem, 'isAllDayEvent' | 'location' | 'organizer' | 'requiredAttendees' | 'optionalAttendees' | 'legacyFreeBusyStatus' | 'uid' | 'isCancelled' | 'myResponseType' | 'recurrence'>
  >;
export type NewContact = NewItemCommon & { kind: 'contact' } & Partial<
    Pick<Contact, 'givenName' | 'surname' | 'displayName' | 'fileAs' | 'companyName' | 'jobTitle' | 'department' | 'emailAddresses' | 'phoneNumbers'>
  >;
export type NewTask = NewItemCommon & { kind: 'task' } & Partial<Pick<Task, 'dueDate' | 'startDate' | 'completeDate' | 'status' | 'percentComplete'>>;
export type NewItem = NewMessage | NewCalendarItem | NewContact | NewTask;

/**
 * A change to an item: the listed fields replace the current values (undefined = unchanged,
 * null = clear where the field is optional). `isRead`-only patches log a readFlag change.
 */
export type ItemPatch = {
  subject?: string;
  body?: Body;
  categories?: string[];
  importance?: Importance;
  sensitivity?: Sensitivity;
  isRead?: boolean;
  isDraft?: boolean;
  from?: EmailAddress | null;
  toRecipients?: EmailAddress[];
  ccRecipients?: EmailAddress[];
  bccRecipients?: EmailAddress[];
  start?: Date;
  end?: Date;
  location?: string;
  isAllDayEvent?: boolean;
  requiredAttendees?: Attendee[];
  optionalAttendees?: Attendee[];
  givenName?: string | null;
  surname?: string | null;
  displayName?: string;
  fileAs?: string;
  companyName?: string | null;
  jobTitle?: string | null;
  emailAddresses?: Contact['emailAddresses'];
  phoneNumbers?: Contact['phoneNumbers'];
  dueDate?: Date | null;
  startDate?: Date | null;
  status?: TaskStatus;
  percentComplete?: number;
  /** Meeting bookkeeping on calendar items (invitations, responses, cancellations). */
  isCancelled?: boolean;
  myResponseType?: ResponseType;
  legacyFreeBusyStatus?: CalendarItem['legacyFreeBusyStatus'];
  /** Series changes on a recurring master. */
  modifiedOccurrences?: OccurrenceOverride[];
  deletedOccurrences?: Date[];
  /** Client-set MAPI properties to add or replace (by key), and keys to remove. */
  setExtendedProperties?: StoredExtendedProperty[];
  removeExtendedProperties?: string[];
};

/** How DeleteItem removes an item (EWS DisposalType). */
export type DeleteMode = 'HardDelete' | 'SoftDelete' | 'MoveToDeletedItems';

/**
 * A sign-in account without (or besides) a mailbox, used by applications to reach other
 * mailboxes through ExchangeImpersonation. Mailbox users may also hold rights.
 */
export interface ServiceAccount {
  /** Sign-in name (UPN), lower case, e.g. "svc-connector@contoso.com". */
  readonly userPrincipalName: string;
  readonly organisationId: string;
  displayName: string;
  password?: string;
  passwordExpired: boolean;
  enabled: boolean;
}

/** Which mailboxes a right covers (management scope of the role assignment). */
export type RightScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'list'; readonly mailboxes: readonly string[] }
  | { readonly kind: 'filter'; readonly attribute: string; readonly equals: string };

/** The ApplicationImpersonation RBAC role assigned to a principal (UPN of a service account or mailbox user). */
export interface ImpersonationRight {
  readonly organisationId: string;
  readonly principal: string;
  readonly scope: RightScope;
}

/**
 * An application access policy for app-only OAuth (full_access_as_app): restricts which mailboxes
 * an application id may reach. Without any policy for an app, full_access_as_app reaches all mailboxes.
 */
export interface ApplicationAccessPolicy {
  readonly organisationId: string;
  readonly appId: string;
  readonly scope: RightScope;
}

export interface NewOrganisation {
  id: string;
  name: string;
  domains: string[];
  entraTenantId?: string;
  ewsEnabled?: boolean;
  authentication?: Partial<Organisation['authentication']>;
  maxConcurrency?: number;
}

export interface NewMailbox {
  smtpAddress: string;
  displayName: string;
  /** Defaults to the organisation owning the address's domain. */
  organisationId?: string;
  kind?: MailboxKind;
  aliases?: string[];
  userPrincipalName?: string;
  entraObjectId?: string;
  password?: string;
  passwordExpired?: boolean;
  enabled?: boolean;
  attributes?: Record<string, string>;
  fullAccess?: string[];
}

export interface NewServiceAccount {
  userPrincipalName: string;
  displayName?: string;
  organisationId?: string;
  password?: string;
  passwordExpired?: boolean;
  enabled?: boolean;
}

/** A message as handed to the transport: delivered to every recipient mailbox the store holds. */
export interface MailToDeliver {
  from: EmailAddress;
  toRecipients?: EmailAddress[];
  ccRecipients?: EmailAddress[];
  bccRecipients?: EmailAddress[];
  subject?: string;
  body?: Body;
  attachments?: NewAttachment[];
  importance?: Importance;
  categories?: string[];
  internetMessageId?: string;
  inReplyTo?: string;
  /** Defaults to the store clock. */
  receivedAt?: Date;
  sentAt?: Date;
}

/** What a folder reference may be: a folder id, or a distinguished name (in the given mailbox). */
export type FolderRef = string | { readonly distinguished: DistinguishedFolderName };

/** The store's clock and id source; deterministic when the caller fixes both. */
export interface StoreOptions {
  /** Defaults to () => new Date(). */
  now?: () => Date;
}

/** A store-level failure carrying the EWS ResponseCode it maps to. */
export class StoreError extends Error {
  constructor(
    readonly code: 'ErrorItemNotFound' | 'ErrorFolderNotFound' | 'ErrorNonExistentMailbox' | 'ErrorInvalidIdMalformed' | 'ErrorInvalidOperation' | 'ErrorDuplicate' | 'ErrorInvalidRequest',
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Store observers (pull subscriptions, counters) are told about every item and folder change. */
export interface StoreEvent {
  readonly type: 'NewMail' | 'Created' | 'Modified' | 'Deleted' | 'Moved' | 'Copied';
  readonly mailbox: string;
  readonly itemId?: string;
  readonly folderId?: string;
  readonly parentFolderId: string;
  readonly oldItemId?: string;
  readonly oldFolderId?: string;
  readonly oldParentFolderId?: string;
  readonly timeStamp: Date;
}

/**
 * The store API. All addresses are matched case-insensitively. Methods throw StoreError for
 * missing mailboxes/folders/items; every mutation appends to the relevant change logs and
 * emits a StoreEvent.
 */
export interface EwsStore {
  readonly now: () => Date;

  addOrganisation(input: NewOrganisation): Organisation;
  getOrganisation(id: string): Organisation | undefined;
  organisations(): Organisation[];
  organisationForDomain(domain: string): Organisation | undefined;
  organisationForTenant(entraTenantId: string): Organisation | undefined;
  updateOrganisation(id: string, patch: Partial<Omit<Organisation, 'id'>>): Organisation;

  /** Adds a mailbox with all distinguished folders. */
  addMailbox(input: NewMailbox): Mailbox;
  /** By primary address, alias or UPN. */
  getMailbox(addressOrUpn: string): Mailbox | undefined;
  mailboxes(organisationId?: string): Mailbox[];
  updateMailbox(address: string, patch: Partial<Pick<Mailbox, 'displayName' | 'password' | 'passwordExpired' | 'enabled' | 'attributes' | 'fullAccess' | 'entraObjectId' | 'aliases'>>): Mailbox;

  addServiceAccount(input: NewServiceAccount): ServiceAccount;
  getServiceAccount(userPrincipalName: string): ServiceAccount | undefined;
  serviceAccounts(organisationId?: string): ServiceAccount[];
  updateServiceAccount(userPrincipalName: string, patch: Partial<Pick<ServiceAccount, 'displayName' | 'password' | 'passwordExpired' | 'enabled'>>): ServiceAccount;
  grantImpersonation(right: Omit<ImpersonationRight, 'organisationId'> & { organisationId?: string }): ImpersonationRight;
  revokeImpersonation(principal: string): void;
  impersonationRights(principal: string): ImpersonationRight[];
  addApplicationAccessPolicy(policy: ApplicationAccessPolicy): ApplicationAccessPolicy;
  applicationAccessPolicies(organisationId: string, appId: string): ApplicationAccessPolicy[];
  /** Whether `scope` covers `mailbox`. */
  scopeCovers(scope: RightScope, mailbox: Mailbox): boolean;

  /** Resolves a folder reference within a mailbox. */
  getFolder(mailbox: string, ref: FolderRef): Folder;
  findFolderById(folderId: string): Folder | undefined;
  createFolder(mailbox: string, parent: FolderRef, displayName: string, folderClass?: string): Folder;
  childFolders(folder: Folder): Folder[];

  /** Creates an item in a folder (no delivery; use deliverMail to send). */
  createItem(mailbox: string, folder: FolderRef, item: NewItem): Item;
  getItem(itemId: string): Item | undefined;
  /** Items in a folder, in creation order. */
  folderItems(folder: Folder): Item[];
  updateItem(itemId: string, patch: ItemPatch): Item;
  deleteItem(itemId: string, mode: DeleteMode): void;
  /** Moves an item; Exchange gives the moved item a new id, and so does the store. */
  moveItem(itemId: string, target: FolderRef): Item;
  copyItem(itemId: string, target: FolderRef): Item;
  /** Delivers a message into the Inbox of every recipient mailbox the store holds; returns the delivered copies. */
  deliverMail(mail: MailToDeliver): Message[];

  /** Observe changes (returns an unsubscribe function). */
  onChange(listener: (event: StoreEvent) => void): () => void;
}
