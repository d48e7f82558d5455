/**
 * Plain TypeScript shapes the EWS layer returns. Nothing from ews-javascript-api leaks through
 * them, so the sync engine and tests work with ordinary objects (JSON-serialisable, ISO dates).
 */

/** Distinguished folder names (EWS DistinguishedFolderIdNameType, the ones a connector needs). */
export type DistinguishedFolderName =
  | 'root'
  | 'msgfolderroot'
  | 'inbox'
  | 'sentitems'
  | 'deleteditems'
  | 'drafts'
  | 'outbox'
  | 'junkemail'
  | 'calendar'
  | 'contacts'
  | 'tasks'
  | 'notes'
  | 'journal'
  | 'archivemsgfolderroot';

/** A folder by distinguished name (in the client's mailbox) or by EWS folder id. */
export type FolderRef = { readonly distinguished: DistinguishedFolderName } | { readonly id: string };

export interface EwsFolder {
  readonly id: string;
  readonly changeKey: string | undefined;
  readonly displayName: string | undefined;
  readonly folderClass: string | undefined;
  readonly parentFolderId: string | undefined;
  readonly totalCount: number | undefined;
  readonly unreadCount: number | undefined;
  readonly childFolderCount: number | undefined;
}

export type ItemChangeType = 'create' | 'update' | 'delete' | 'readFlagChange';

/** What kind of item a change or a result is about (the EWS element name, lower-camel). */
export type EwsItemKind = 'message' | 'calendarItem' | 'contact' | 'task' | 'meetingMessage' | 'item';

export interface ItemChange {
  readonly type: ItemChangeType;
  readonly itemId: string;
  /** Present for create/update. */
  readonly changeKey: string | undefined;
  /** Present for create/update. */
  readonly itemKind: EwsItemKind | undefined;
  /** Present for readFlagChange. */
  readonly isRead: boolean | undefined;
}

export interface SyncFolderItemsResult {
  /** Opaque; store it only after the changes have been handled. */
  readonly syncState: string;
  /** True when this page reached the end of the folder's changes. */
  readonly includesLastItemInRange: boolean;
  readonly changes: readonly ItemChange[];
}

export interface EmailAddress {
  readonly name: string | undefined;
  readonly address: string | undefined;
}

export interface AttachmentInfo {
  readonly id: string | undefined;
  readonly kind: 'file' | 'item';
  readonly name: string | undefined;
  readonly contentType: string | undefined;
  readonly sizeInBytes: number | undefined;
  readonly isInline: boolean;
  readonly contentId: string | undefined;
}

interface ItemBase {
  readonly id: string;
  readonly changeKey: string | undefined;
  readonly parentFolderId: string | undefined;
  readonly itemClass: string | undefined;
  readonly subject: string | undefined;
  readonly categories: readonly string[];
  readonly importance: 'low' | 'normal' | 'high' | undefined;
  readonly createdAt: string | undefined;
  readonly lastModifiedAt: string | undefined;
  /** Set when the body was requested as text. */
  readonly bodyText: string | undefined;
  /** Set when the body was requested as HTML. */
  readonly bodyHtml: string | undefined;
  readonly hasAttachments: boolean;
  readonly attachments: readonly AttachmentInfo[];
}

/**
 * A meeting message's own facts (MeetingRequest, MeetingResponse, MeetingCancellation in EWS;
 * eventMessage in Graph). Type names follow Graph's meetingMessageType (spelled correctly).
 */
export type MeetingMessageType = 'meetingRequest' | 'meetingCancelled' | 'meetingAccepted' | 'meetingTentativelyAccepted' | 'meetingDeclined' | 'meetingResponse';

export interface MeetingMessageInfo {
  readonly messageType: MeetingMessageType;
  /** EWS ResponseType of the message (Accept, Tentative, Decline, NoResponseReceived, Organizer, Unknown). */
  readonly responseType: string | undefined;
  /** The calendar item the message belongs to in this mailbox (absent until Exchange processed it). */
  readonly associatedCalendarItemId: string | undefined;
  readonly start: string | undefined;
  readonly end: string | undefined;
  readonly location: string | undefined;
}

export interface EwsMessage extends ItemBase {
  readonly kind: 'message' | 'meetingMessage';
  readonly from: EmailAddress | undefined;
  readonly sender: EmailAddress | undefined;
  readonly to: readonly EmailAddress[];
  readonly cc: readonly EmailAddress[];
  readonly bcc: readonly EmailAddress[];
  readonly receivedAt: string | undefined;
  readonly sentAt: string | undefined;
  readonly isRead: boolean | undefined;
  readonly internetMessageId: string | undefined;
  readonly conversationId: string | undefined;
  /** Only on meeting messages (kind 'meetingMessage'). */
  readonly meeting?: MeetingMessageInfo;
}

/** EWS CalendarItemType; Graph's event type maps onto it (singleInstance → Single, seriesMaster → RecurringMaster). */
export type CalendarItemType = 'Single' | 'Occurrence' | 'Exception' | 'RecurringMaster';

/**
 * A series' pattern and range in Graph's patternedRecurrence shape (what receivers of Graph
 * records already read); EWS's pattern elements map onto it. Dates are YYYY-MM-DD.
 */
export interface RecurrenceInfo {
  readonly pattern: {
    readonly type: 'daily' | 'weekly' | 'absoluteMonthly' | 'relativeMonthly' | 'absoluteYearly' | 'relativeYearly';
    readonly interval: number;
    /** Lower-case English day names (monday, ...). */
    readonly daysOfWeek?: readonly string[];
    readonly dayOfMonth?: number;
    /** 1..12. */
    readonly month?: number;
    /** first, second, third, fourth, last. */
    readonly index?: string;
    readonly firstDayOfWeek?: string;
  };
  readonly range: {
    readonly type: 'endDate' | 'noEnd' | 'numbered';
    readonly startDate: string;
    readonly endDate?: string;
    readonly numberOfOccurrences?: number;
  };
}

/** One occurrence of a series as the master lists it (first, last, or a modified one). */
export interface OccurrenceInfo {
  readonly itemId: string;
  readonly start: string | undefined;
  readonly end: string | undefined;
  /** Where the occurrence was before it was modified (= start when unmodified). */
  readonly originalStart: string | undefined;
}

export interface EwsCalendarItem extends ItemBase {
  readonly kind: 'calendarItem';
  readonly start: string | undefined;
  readonly end: string | undefined;
  readonly isAllDay: boolean | undefined;
  readonly location: string | undefined;
  readonly organizer: EmailAddress | undefined;
  readonly requiredAttendees: readonly EmailAddress[];
  readonly optionalAttendees: readonly EmailAddress[];
  /** Absent when the server did not say (older records). */
  readonly calendarItemType?: CalendarItemType;
  /** Occurrences and exceptions: where the occurrence was in the series. */
  readonly originalStart?: string;
  /** Recurring masters: the pattern and the range. */
  readonly recurrence?: RecurrenceInfo;
  readonly firstOccurrence?: OccurrenceInfo;
  /** Absent for a series without an end. */
  readonly lastOccurrence?: OccurrenceInfo;
  /** Exceptions: occurrences moved or changed, with their original start. */
  readonly modifiedOccurrences?: readonly OccurrenceInfo[];
  /** Occurrences deleted from the series, by their original start. */
  readonly deletedOccurrences?: readonly { readonly originalStart: string }[];
  /** Graph only: the series master of an occurrence or exception. */
  readonly seriesMasterId?: string;
}

export interface EwsContact extends ItemBase {
  readonly kind: 'contact';
  readonly displayName: string | undefined;
  readonly givenName: string | undefined;
  readonly surname: string | undefined;
  readonly companyName: string | undefined;
  readonly jobTitle: string | undefined;
  /** Keyed entries as Exchange holds them (EmailAddress1..3). */
  readonly emailAddresses: readonly { readonly key: string; readonly address: string | undefined; readonly name: string | undefined }[];
  readonly phoneNumbers: readonly { readonly key: string; readonly number: string }[];
}

export interface EwsTask extends ItemBase {
  readonly kind: 'task';
  readonly dueDate: string | undefined;
  readonly startDate: string | undefined;
  readonly completedAt: string | undefined;
  /** EWS TaskStatus: NotStarted, InProgress, Completed, WaitingOnOthers, Deferred. */
  readonly status: string | undefined;
  readonly percentComplete: number | undefined;
}

export interface EwsGenericItem extends ItemBase {
  readonly kind: 'item';
}

export type EwsItem = EwsMessage | EwsCalendarItem | EwsContact | EwsTask | EwsGenericItem;

/** An error Exchange reported for one item of a batch; the rest of the batch is unaffected. */
export interface EwsItemError {
  readonly code: string;
  readonly message: string;
}

/** Per-item outcome of a batch call: errors are values, not exceptions. */
export type ItemResult<T> =
  | { readonly ok: true; readonly itemId: string; readonly value: T }
  | { readonly ok: false; readonly itemId: string; readonly error: EwsItemError };

export type DirectoryPhoneType = 'business' | 'mobile' | 'home' | 'other';

/**
 * A person as a directory lookup answers (EWS ResolveNames' contact data, Graph's user or person),
 * reduced to what a business application needs; protocol-neutral, shared by shared/graph too.
 */
export interface DirectoryPerson {
  readonly displayName: string;
  readonly emailAddress: string;
  readonly givenName?: string;
  readonly surname?: string;
  readonly jobTitle?: string;
  readonly department?: string;
  readonly companyName?: string;
  readonly officeLocation?: string;
  readonly phones: readonly { readonly type: DirectoryPhoneType; readonly number: string }[];
}
