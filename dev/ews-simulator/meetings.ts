/**
 * Meetings as Exchange's calendar attendant runs them, for the mailboxes the simulator holds:
 *
 * - Invitations: each attendee gets a MeetingRequest (IPM.Schedule.Meeting.Request) in the Inbox
 *   and a tentative copy of the meeting in the Calendar (the attendant places it on arrival);
 *   an update re-sends requests and updates the copies.
 * - Responses (AcceptItem / TentativelyAcceptItem / DeclineItem): the attendee's copy takes the
 *   answer (a declined one goes to Deleted Items), the organizer gets a MeetingResponse and the
 *   organizer's calendar item records the attendee's answer.
 * - Cancellations: each attendee gets a MeetingCancellation and the copy is marked cancelled.
 *
 * Attendees outside the simulator's store are skipped (their mail would leave the organisation).
 */
import type { Attendee, CalendarItem, EmailAddress, EwsStore, Item, Mailbox, MeetingInfo, Message, ResponseType } from './model';
import { EwsError } from './soap';

/** Who to tell, from SendMeetingInvitations / ...OrCancellations / SendMeetingCancellations. */
export type MeetingNotice = 'none' | 'send' | 'sendAndSaveCopy';

export function meetingNotice(attribute: string | undefined): MeetingNotice {
  switch (attribute) {
    case 'SendOnlyToAll':
    case 'SendOnlyToChanged':
      return 'send';
    case 'SendToAllAndSaveCopy':
    case 'SendToChangedAndSaveCopy':
      return 'sendAndSaveCopy';
    default:
      return 'none';
  }
}

const RESPONSE_CLASS: Record<'Accept' | 'Tentative' | 'Decline', { itemClass: string; prefix: string }> = {
  Accept: { itemClass: 'IPM.Schedule.Meeting.Resp.Pos', prefix: 'Accepted' },
  Tentative: { itemClass: 'IPM.Schedule.Meeting.Resp.Tent', prefix: 'Tentative' },
  Decline: { itemClass: 'IPM.Schedule.Meeting.Resp.Neg', prefix: 'Declined' },
};

function attendeesOf(meeting: CalendarItem): Attendee[] {
  return [...meeting.requiredAttendees, ...meeting.optionalAttendees];
}

function sameAddress(a: EmailAddress | undefined, b: string): boolean {
  return !!a && a.address.toLowerCase() === b.toLowerCase();
}

/** The attendee's copy of a meeting (same UID) in their calendar, if they have one. */
function attendeeCopy(store: EwsStore, mailbox: string, uid: string): CalendarItem | undefined {
  const calendar = store.getFolder(mailbox, { distinguished: 'calendar' });
  return store.folderItems(calendar).find((i): i is CalendarItem => i.kind === 'calendarItem' && i.uid === uid);
}

function meetingInfo(meeting: CalendarItem, kind: MeetingInfo['kind'], extra: Partial<MeetingInfo> = {}): MeetingInfo {
  return {
    kind,
    uid: meeting.uid,
    start: meeting.start,
    end: meeting.end,
    location: meeting.location,
    isAllDayEvent: meeting.isAllDayEvent,
    ...(meeting.organizer ? { organizer: meeting.organizer } : {}),
    requiredAttendees: meeting.requiredAttendees,
    optionalAttendees: meeting.optionalAttendees,
    isUpdate: false,
    ...extra,
  };
}

function recipientsOf(meeting: CalendarItem): EmailAddress[] {
  return attendeesOf(meeting).map((a) => a.mailbox);
}

/** A meeting message (request, response or cancellation) from `from`, placed in `owner`'s Inbox or Sent Items. */
function placeMeetingMessage(
  store: EwsStore,
  owner: string,
  folder: 'inbox' | 'sentitems',
  message: { itemClass: string; subject: string; body?: CalendarItem['body']; from: EmailAddress; to: EmailAddress[]; importance?: 'High'; meeting: MeetingInfo },
): void {
  store.createItem(owner, { distinguished: folder }, {
    kind: 'message',
    itemClass: message.itemClass,
    subject: message.subject,
    ...(message.body ? { body: message.body } : {}),
    ...(message.importance ? { importance: message.importance } : {}),
    from: message.from,
    sender: message.from,
    toRecipients: message.to,
    isRead: folder === 'sentitems',
    isDraft: false,
    dateTimeSent: store.now(),
    meeting: message.meeting,
  });
}

/** Sends requests (new or updated) for `meeting`, organised by `organizer`. Returns the attendees reached. */
export function sendInvitations(store: EwsStore, organizer: Mailbox, meeting: CalendarItem, notice: MeetingNotice, isUpdate: boolean): string[] {
  if (notice === 'none' || attendeesOf(meeting).length === 0) return [];
  const reached: string[] = [];
  const from = meeting.organizer ?? { address: organizer.smtpAddress, name: organizer.displayName };
  for (const attendee of attendeesOf(meeting)) {
    const mailbox = store.getMailbox(attendee.mailbox.address);
    if (!mailbox || mailbox === organizer) continue;
    let copy = attendeeCopy(store, mailbox.smtpAddress, meeting.uid);
    if (copy) {
      copy = store.updateItem(copy.id, { subject: meeting.subject, start: meeting.start, end: meeting.end, location: meeting.location, requiredAttendees: meeting.requiredAttendees, optionalAttendees: meeting.optionalAttendees, isCancelled: false }) as CalendarItem;
    } else {
      copy = store.createItem(mailbox.smtpAddress, { distinguished: 'calendar' }, {
        kind: 'calendarItem',
        subject: meeting.subject,
        body: meeting.body,
        start: meeting.start,
        end: meeting.end,
        isAllDayEvent: meeting.isAllDayEvent,
        location: meeting.location,
        organizer: from,
        requiredAttendees: meeting.requiredAttendees,
        optionalAttendees: meeting.optionalAttendees,
        legacyFreeBusyStatus: 'Tentative',
        uid: meeting.uid,
        myResponseType: 'NoResponseReceived',
      }) as CalendarItem;
    }
    placeMeetingMessage(store, mailbox.smtpAddress, 'inbox', { itemClass: 'IPM.Schedule.Meeting.Request', subject: meeting.subject, body: meeting.body, from, to: recipientsOf(meeting), meeting: meetingInfo(meeting, 'request', { isUpdate, associatedCalendarItemId: copy.id }) });
    reached.push(mailbox.smtpAddress);
  }
  if (notice === 'sendAndSaveCopy') {
    placeMeetingMessage(store, organizer.smtpAddress, 'sentitems', { itemClass: 'IPM.Schedule.Meeting.Request', subject: meeting.subject, body: meeting.body, from, to: recipientsOf(meeting), meeting: meetingInfo(meeting, 'request', { isUpdate }) });
  }
  return reached;
}

/** Tells every attendee the meeting is cancelled (the organizer deleted it). */
export function sendCancellations(store: EwsStore, organizer: Mailbox, meeting: CalendarItem, notice: MeetingNotice): string[] {
  if (notice === 'none') return [];
  const reached: string[] = [];
  const from = meeting.organizer ?? { address: organizer.smtpAddress, name: organizer.displayName };
  for (const attendee of attendeesOf(meeting)) {
    const mailbox = store.getMailbox(attendee.mailbox.address);
    if (!mailbox || mailbox === organizer) continue;
    const copy = attendeeCopy(store, mailbox.smtpAddress, meeting.uid);
    if (copy) store.updateItem(copy.id, { isCancelled: true, legacyFreeBusyStatus: 'Free' });
    placeMeetingMessage(store, mailbox.smtpAddress, 'inbox', {
      itemClass: 'IPM.Schedule.Meeting.Canceled',
      subject: `Canceled: ${meeting.subject}`,
      body: meeting.body,
      from,
      to: recipientsOf(meeting),
      importance: 'High',
      meeting: meetingInfo(meeting, 'cancellation', copy ? { associatedCalendarItemId: copy.id } : {}),
    });
    reached.push(mailbox.smtpAddress);
  }
  return reached;
}

/** The meeting an AcceptItem/DeclineItem's ReferenceItemId names: a meeting request or the calendar item. */
export function referencedMeeting(store: EwsStore, attendee: Mailbox, reference: Item): CalendarItem {
  if (reference.kind === 'calendarItem') return reference;
  const meeting = reference.kind === 'message' ? (reference as Message).meeting : undefined;
  if (!meeting || meeting.kind !== 'request') throw new EwsError('ErrorInvalidReferenceItem', 'The reference item does not support the requested operation.');
  const copy = attendeeCopy(store, attendee.smtpAddress, meeting.uid);
  if (!copy) throw new EwsError('ErrorItemNotFound', 'The meeting is no longer in the calendar.');
  return copy;
}

/**
 * Records the attendee's answer and, when `notice` says so, tells the organizer. Returns the
 * attendee's calendar item as it now is (in Deleted Items after a decline).
 */
export function respond(store: EwsStore, attendee: Mailbox, meeting: CalendarItem, answer: 'Accept' | 'Tentative' | 'Decline', notice: MeetingNotice): Item {
  if (sameAddress(meeting.organizer, attendee.smtpAddress) || !meeting.organizer) {
    throw new EwsError('ErrorInvalidReferenceItem', 'The organizer cannot respond to their own meeting.');
  }
  let copy: Item = store.updateItem(meeting.id, { myResponseType: answer, legacyFreeBusyStatus: answer === 'Accept' ? 'Busy' : answer === 'Tentative' ? 'Tentative' : 'Free' });
  if (answer === 'Decline') copy = store.moveItem(copy.id, { distinguished: 'deleteditems' });
  if (notice === 'none') return copy;
  const organizer = store.getMailbox(meeting.organizer.address);
  if (!organizer) return copy;
  const organizerCopy = attendeeCopy(store, organizer.smtpAddress, meeting.uid);
  if (organizerCopy) recordAnswer(store, organizerCopy, attendee.smtpAddress, answer);
  const from = { address: attendee.smtpAddress, name: attendee.displayName };
  // The response goes to the organizer's Inbox; SaveCopy keeps the same message in the attendee's Sent Items.
  const response = (folder: 'inbox' | 'sentitems', owner: string, extra: Partial<MeetingInfo>): void =>
    placeMeetingMessage(store, owner, folder, {
      itemClass: RESPONSE_CLASS[answer].itemClass,
      subject: `${RESPONSE_CLASS[answer].prefix}: ${meeting.subject}`,
      from,
      to: [meeting.organizer!],
      meeting: meetingInfo(meeting, 'response', { responseType: answer, ...extra }),
    });

  response('inbox', organizer.smtpAddress, organizerCopy ? { associatedCalendarItemId: organizerCopy.id } : {});
  if (notice === 'sendAndSaveCopy') response('sentitems', attendee.smtpAddress, {});
  return copy;
}

/** The organizer's calendar item tracks each attendee's answer (the attendant processes responses). */
function recordAnswer(store: EwsStore, organizerCopy: CalendarItem, attendee: string, answer: ResponseType): void {
  const update = (list: readonly Attendee[]): Attendee[] => list.map((a) => (sameAddress(a.mailbox, attendee) ? { ...a, responseType: answer } : a));
  store.updateItem(organizerCopy.id, { requiredAttendees: update(organizerCopy.requiredAttendees), optionalAttendees: update(organizerCopy.optionalAttendees) });
}
