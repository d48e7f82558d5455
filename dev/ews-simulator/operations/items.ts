/** GetItem, CreateItem, UpdateItem, DeleteItem, MoveItem, CopyItem, GetAttachment. */
import { readExtendedPath, readStoredProperties } from '../extended-properties';
import { changeKeyVersion, decodeId } from '../ids';
import { readDeleteField, readNewItem, readSetField } from '../item-input';
import { ID_ONLY, attachmentMetadataXml, itemXml } from '../item-xml';
import type { CalendarItem, DeleteMode, Folder, Item, ItemPatch, Mailbox, Message, NewItem } from '../model';
import { meetingNotice, referencedMeeting, respond, sendCancellations, sendInvitations } from '../meetings';
import { canOpen, folderIdElements, itemIdElements, requireFolderWrite, resolveCalendarTarget, resolveFolder, resolveItem, type RequestContext } from '../request-context';
import { occurrenceByIndex } from '../recurrence';
import { EwsError, SoapFault } from '../soap';
import { attr, child, children, type Element } from '../xml';
import { readItemShape, responseMessages, type Operation } from './common';

const EMPTY_ITEMS = '<m:Items/>';

/** Elements that name an item in GetItem/UpdateItem/DeleteItem (occurrences included). */
const ITEM_REFERENCES = new Set(['ItemId', 'OccurrenceItemId', 'RecurringMasterItemId']);

function itemReferences(container: Element | undefined): Element[] {
  return container ? children(container).filter((e) => ITEM_REFERENCES.has(e.localName ?? '')) : [];
}

export const getItem: Operation = (ctx, request) => {
  const shape = readItemShape(child(request, 'ItemShape'), 'get');
  const ids = itemReferences(child(request, 'ItemIds'));
  return responseMessages(
    'GetItemResponseMessage',
    ids,
    (id) => {
      const target = resolveCalendarTarget(ctx, id);
      const item = target.occurrenceIndex ? occurrenceByIndex(target.item as CalendarItem, target.occurrenceIndex) : target.item;
      return `<m:Items>${itemXml(item, shape, ctx.store)}</m:Items>`;
    },
    EMPTY_ITEMS,
  );
};

/** The fields a single occurrence can differ in (an exception); others belong to the series. */
const EXCEPTION_FIELDS = new Set(['subject', 'start', 'end', 'location']);

/** UpdateItem on one occurrence: it becomes (or stays) an exception of its master. */
function modifyOccurrence(ctx: RequestContext, master: CalendarItem, occurrence: CalendarItem, patch: ItemPatch): CalendarItem {
  const unsupported = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined && !EXCEPTION_FIELDS.has(k));
  if (unsupported.length > 0) throw new EwsError('ErrorInvalidPropertySet', `The simulator changes only the subject, start, end and location of a single occurrence, not ${unsupported.join(', ')}.`);
  const originalStart = occurrence.occurrenceOf!.originalStart;
  const previous = (master.modifiedOccurrences ?? []).find((o) => o.originalStart.getTime() === originalStart.getTime());
  const start = patch.start ?? occurrence.start;
  const end = patch.end ?? occurrence.end;
  if (end < start) throw new EwsError('ErrorCalendarEndDateIsEarlierThanStartDate');
  const subject = patch.subject ?? previous?.subject;
  const location = patch.location ?? previous?.location;
  const override = { originalStart, start, end, version: (previous?.version ?? 0) + 1, ...(subject !== undefined ? { subject } : {}), ...(location !== undefined ? { location } : {}) };
  const others = (master.modifiedOccurrences ?? []).filter((o) => o !== previous);
  const updated = ctx.store.updateItem(master.id, { modifiedOccurrences: [...others, override] }) as CalendarItem;
  return occurrenceByIndex(updated, occurrence.occurrenceOf!.index);
}

type Disposition = 'SaveOnly' | 'SendOnly' | 'SendAndSaveCopy';

function defaultFolderFor(item: NewItem): 'drafts' | 'calendar' | 'contacts' | 'tasks' {
  return item.kind === 'message' ? 'drafts' : item.kind === 'calendarItem' ? 'calendar' : item.kind === 'contact' ? 'contacts' : 'tasks';
}

function send(ctx: RequestContext, sender: Mailbox, message: Extract<NewItem, { kind: 'message' }>): void {
  const recipients = [...(message.toRecipients ?? []), ...(message.ccRecipients ?? []), ...(message.bccRecipients ?? [])];
  if (recipients.length === 0) throw new EwsError('ErrorInvalidRecipients', 'At least one recipient is required, but none were found.');
  const from = message.from ?? { address: sender.smtpAddress, name: sender.displayName };
  // Sending as someone else needs rights on that mailbox (SendAs is modelled by FullAccess here).
  const fromMailbox = ctx.store.getMailbox(from.address);
  if (fromMailbox && fromMailbox !== sender && !canOpen(ctx, fromMailbox)) throw new EwsError('ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.');
  const now = ctx.store.now();
  ctx.store.deliverMail({
    from,
    ...(message.toRecipients ? { toRecipients: message.toRecipients } : {}),
    ...(message.ccRecipients ? { ccRecipients: message.ccRecipients } : {}),
    ...(message.bccRecipients ? { bccRecipients: message.bccRecipients } : {}),
    subject: message.subject ?? '',
    body: message.body ?? { type: 'Text', content: '' },
    ...(message.attachments ? { attachments: message.attachments } : {}),
    ...(message.importance ? { importance: message.importance } : {}),
    ...(message.categories ? { categories: message.categories } : {}),
    ...(message.internetMessageId ? { internetMessageId: message.internetMessageId } : {}),
    ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
    sentAt: now,
    receivedAt: now,
  });
}

export const createItem: Operation = (ctx, request) => {
  const disposition = attr(request, 'MessageDisposition') as Disposition | undefined;
  const invitations = attr(request, 'SendMeetingInvitations');
  const savedFolderElement = folderIdElements(child(request, 'SavedItemFolderId'))[0];
  const elements = children(child(request, 'Items') ?? request);
  return responseMessages(
    'CreateItemResponseMessage',
    elements,
    (element) => {
      const answer = RESPONSE_ELEMENTS[element.localName ?? ''];
      if (answer) return respondToMeeting(ctx, element, answer, disposition);
      const input = readNewItem(element);
      const target: Folder | undefined = savedFolderElement ? resolveFolder(ctx, savedFolderElement) : undefined;
      if (target) requireFolderWrite(ctx, target);
      const mailbox = target ? ctx.store.getMailbox(target.mailbox)! : ctx.actingAs;
      if (!mailbox) throw new EwsError('ErrorMissingEmailAddress');
      if (input.kind === 'message') {
        if (!disposition) throw new EwsError('ErrorMessageDispositionRequired', 'MessageDisposition attribute is required.');
        const from = input.from ?? { address: mailbox.smtpAddress, name: mailbox.displayName };
        if (disposition !== 'SaveOnly') {
          send(ctx, mailbox, { ...input, from });
          if (disposition === 'SendOnly') return EMPTY_ITEMS;
          const now = ctx.store.now();
          ctx.store.createItem(mailbox.smtpAddress, target?.id ?? { distinguished: 'sentitems' }, {
            ...input,
            from,
            sender: from,
            isRead: true,
            isDraft: false,
            dateTimeCreated: now,
            dateTimeReceived: now,
            dateTimeSent: now,
          });
          // Exchange returns no item for sent messages.
          return EMPTY_ITEMS;
        }
        const saved = ctx.store.createItem(mailbox.smtpAddress, target?.id ?? { distinguished: 'drafts' }, { ...input, isDraft: input.isDraft ?? true, isRead: input.isRead ?? true });
        return `<m:Items>${itemXml(saved, ID_ONLY, ctx.store)}</m:Items>`;
      }
      const withOrganizer = input.kind === 'calendarItem' && !input.organizer && ((input.requiredAttendees?.length ?? 0) + (input.optionalAttendees?.length ?? 0) > 0) ? { ...input, organizer: { address: mailbox.smtpAddress, name: mailbox.displayName } } : input;
      const saved = ctx.store.createItem(mailbox.smtpAddress, target?.id ?? { distinguished: defaultFolderFor(input) }, withOrganizer);
      if (saved.kind === 'calendarItem') sendInvitations(ctx.store, mailbox, saved, meetingNotice(invitations), false);
      return `<m:Items>${itemXml(saved, ID_ONLY, ctx.store)}</m:Items>`;
    },
    EMPTY_ITEMS,
  );
};

const RESPONSE_ELEMENTS: Record<string, 'Accept' | 'Tentative' | 'Decline'> = { AcceptItem: 'Accept', TentativelyAcceptItem: 'Tentative', DeclineItem: 'Decline' };

/** CreateItem with AcceptItem / TentativelyAcceptItem / DeclineItem: an attendee answers a meeting. */
function respondToMeeting(ctx: RequestContext, element: Element, answer: 'Accept' | 'Tentative' | 'Decline', disposition: Disposition | undefined): string {
  const reference = child(element, 'ReferenceItemId');
  if (!reference) throw new EwsError('ErrorInvalidRequest', 'ReferenceItemId is required.');
  if (!disposition) throw new EwsError('ErrorMessageDispositionRequired', 'MessageDisposition attribute is required.');
  const item = resolveItem(ctx, reference);
  const attendee = ctx.store.getMailbox(item.mailbox)!;
  const meeting = referencedMeeting(ctx.store, attendee, item);
  const notice = disposition === 'SaveOnly' ? 'none' : disposition === 'SendAndSaveCopy' ? 'sendAndSaveCopy' : 'send';
  const calendarItem = respond(ctx.store, attendee, meeting, answer, notice);
  return answer === 'Decline' ? EMPTY_ITEMS : `<m:Items>${itemXml(calendarItem, ID_ONLY, ctx.store)}</m:Items>`;
}

/** The organizer's own calendar item with attendees: changes and deletions reach the attendees. */
function isOrganizedMeeting(item: Item): item is CalendarItem {
  return item.kind === 'calendarItem' && item.requiredAttendees.length + item.optionalAttendees.length > 0 && (!item.organizer || item.organizer.address.toLowerCase() === item.mailbox);
}

type ConflictResolution = 'NeverOverwrite' | 'AutoResolve' | 'AlwaysOverwrite';

/** SetItemField / DeleteItemField on an ExtendedFieldURI: the MAPI property is set or removed. */
function mergeExtendedUpdate(patch: ItemPatch, update: Element, pathElement: Element): ItemPatch {
  const path = readExtendedPath(pathElement);
  if (update.localName === 'DeleteItemField') return { ...patch, removeExtendedProperties: [...(patch.removeExtendedProperties ?? []), path.key] };
  const itemElement = children(update).find((e) => e !== pathElement);
  const set = itemElement ? readStoredProperties(itemElement).filter((p) => p.key === path.key) : [];
  if (set.length !== 1) throw new EwsError('ErrorInvalidPropertySet', 'SetItemField on an extended property needs the item with that one ExtendedProperty.', path.xml);
  return { ...patch, setExtendedProperties: [...(patch.setExtendedProperties ?? []).filter((p) => p.key !== path.key), set[0]!] };
}

function readPatch(change: Element): ItemPatch {
  const updates = child(change, 'Updates');
  let patch: ItemPatch = {};
  for (const update of children(updates ?? change)) {
    const path = children(update).find((e) => e.localName === 'FieldURI' || e.localName === 'IndexedFieldURI' || e.localName === 'ExtendedFieldURI');
    if (!path) throw new EwsError('ErrorInvalidRequest', 'An update needs a property path.');
    if (path.localName === 'ExtendedFieldURI') {
      patch = mergeExtendedUpdate(patch, update, path);
      continue;
    }
    const uri = attr(path, 'FieldURI') ?? '';
    if (update.localName === 'DeleteItemField') {
      patch = { ...patch, ...readDeleteField(uri) };
      continue;
    }
    const itemElement = children(update).find((e) => e !== path);
    if (!itemElement) throw new EwsError('ErrorInvalidRequest', 'SetItemField needs an item element.');
    const value = readSetField(uri, itemElement);
    if (update.localName === 'AppendToItemField') {
      if (value.body) throw new EwsError('ErrorInvalidPropertyAppend', 'The simulator cannot append to this property.');
      for (const key of ['toRecipients', 'ccRecipients', 'bccRecipients', 'categories'] as const) {
        const added = value[key];
        if (added) (patch as Record<string, unknown>)[key] = [...((patch[key] as unknown[] | undefined) ?? []), ...added];
      }
      continue;
    }
    patch = { ...patch, ...value };
  }
  return patch;
}

export const updateItem: Operation = (ctx, request) => {
  const resolution = (attr(request, 'ConflictResolution') ?? 'AutoResolve') as ConflictResolution;
  const invitationsOrCancellations = attr(request, 'SendMeetingInvitationsOrCancellations');
  const disposition = attr(request, 'MessageDisposition') as Disposition | undefined;
  const changes = children(child(request, 'ItemChanges') ?? request, 'ItemChange');
  return responseMessages(
    'UpdateItemResponseMessage',
    changes,
    (change) => {
      const idElement = children(change).find((e) => ITEM_REFERENCES.has(e.localName ?? ''));
      if (!idElement) throw new EwsError('ErrorInvalidRequest', 'ItemId is required.');
      const target = resolveCalendarTarget(ctx, idElement);
      requireItemWrite(ctx, target.item);
      const current = target.occurrenceIndex ? occurrenceByIndex(target.item as CalendarItem, target.occurrenceIndex) : target.item;
      const changeKey = attr(idElement, 'ChangeKey');
      if (resolution === 'NeverOverwrite') {
        if (!changeKey) throw new EwsError('ErrorChangeKeyRequiredForWriteOperations');
        if (changeKeyVersion(changeKey) !== current.version) throw new EwsError('ErrorIrresolvableConflict');
      }
      const patch = readPatch(change);
      if (target.occurrenceIndex) {
        const exception = modifyOccurrence(ctx, target.item as CalendarItem, current as CalendarItem, patch);
        return `<m:Items>${itemXml(exception, ID_ONLY, ctx.store)}</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`;
      }
      const item = target.item;
      const updated = ctx.store.updateItem(item.id, patch);
      if (isOrganizedMeeting(updated)) sendInvitations(ctx.store, ctx.store.getMailbox(updated.mailbox)!, updated, meetingNotice(invitationsOrCancellations), true);
      if (disposition && disposition !== 'SaveOnly' && updated.kind === 'message') {
        const owner = ctx.store.getMailbox(updated.mailbox)!;
        send(ctx, owner, { kind: 'message', ...toNewMessage(updated) });
        if (disposition === 'SendAndSaveCopy') {
          const sent = ctx.store.moveItem(updated.id, { distinguished: 'sentitems' });
          ctx.store.updateItem(sent.id, { isDraft: false });
        } else {
          ctx.store.deleteItem(updated.id, 'HardDelete');
        }
        return `${EMPTY_ITEMS}<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`;
      }
      return `<m:Items>${itemXml(updated, ID_ONLY, ctx.store)}</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`;
    },
    EMPTY_ITEMS,
  );
};

function toNewMessage(message: Message): Omit<Extract<NewItem, { kind: 'message' }>, 'kind'> {
  return {
    subject: message.subject,
    body: message.body,
    toRecipients: message.toRecipients,
    ccRecipients: message.ccRecipients,
    bccRecipients: message.bccRecipients,
    ...(message.from ? { from: message.from } : {}),
    importance: message.importance,
    categories: message.categories,
  };
}

export const deleteItem: Operation = (ctx, request) => {
  const mode = (attr(request, 'DeleteType') ?? '') as DeleteMode;
  if (!['HardDelete', 'SoftDelete', 'MoveToDeletedItems'].includes(mode)) {
    throw new SoapFault('ErrorSchemaValidation', "The request failed schema validation: The 'DeleteType' attribute is invalid.");
  }
  const cancellations = meetingNotice(attr(request, 'SendMeetingCancellations'));
  return responseMessages('DeleteItemResponseMessage', itemReferences(child(request, 'ItemIds')), (id) => {
    const target = resolveCalendarTarget(ctx, id);
    requireItemWrite(ctx, target.item);
    if (target.occurrenceIndex) {
      // Deleting one occurrence removes it from the series (an exception's changes go with it).
      const master = target.item as CalendarItem;
      const { originalStart } = occurrenceByIndex(master, target.occurrenceIndex).occurrenceOf!;
      ctx.store.updateItem(master.id, {
        deletedOccurrences: [...(master.deletedOccurrences ?? []), originalStart],
        modifiedOccurrences: (master.modifiedOccurrences ?? []).filter((o) => o.originalStart.getTime() !== originalStart.getTime()),
      });
      return '';
    }
    const item = target.item;
    if (isOrganizedMeeting(item)) sendCancellations(ctx.store, ctx.store.getMailbox(item.mailbox)!, item, cancellations);
    ctx.store.deleteItem(item.id, mode);
    return '';
  });
};

function moveOrCopy(name: 'MoveItemResponseMessage' | 'CopyItemResponseMessage', copy: boolean): Operation {
  return (ctx, request) => {
    const targetElement = folderIdElements(child(request, 'ToFolderId'))[0];
    const ids = itemIdElements(child(request, 'ItemIds'));
    return responseMessages(
      name,
      ids,
      (id) => {
        if (!targetElement) throw new EwsError('ErrorInvalidRequest', 'ToFolderId is required.');
        const target = resolveFolder(ctx, targetElement);
        const item = resolveItem(ctx, id);
        // Across mailboxes the caller needs rights on both: write on the target, and (for a move) on the source.
        requireFolderWrite(ctx, target);
        if (!copy) requireItemWrite(ctx, item);
        const moved: Item = copy ? ctx.store.copyItem(item.id, target.id) : ctx.store.moveItem(item.id, target.id);
        return `<m:Items>${itemXml(moved, ID_ONLY, ctx.store)}</m:Items>`;
      },
      EMPTY_ITEMS,
    );
  };
}

export const moveItem = moveOrCopy('MoveItemResponseMessage', false);
export const copyItem = moveOrCopy('CopyItemResponseMessage', true);

export const getAttachment: Operation = (ctx, request) => {
  const ids = children(child(request, 'AttachmentIds') ?? request, 'AttachmentId');
  return responseMessages(
    'GetAttachmentResponseMessage',
    ids,
    (element) => {
      const id = attr(element, 'Id') ?? '';
      const decoded = decodeId(id);
      if (!decoded || decoded.kind !== 'attachment') throw new EwsError('ErrorInvalidIdMalformed');
      const mailbox = ctx.store.getMailbox(decoded.mailbox);
      if (!mailbox) throw new EwsError('ErrorItemNotFound');
      if (!canOpen(ctx, mailbox)) throw new EwsError('ErrorAccessDenied');
      for (const folder of mailbox.folders.values()) {
        for (const item of ctx.store.folderItems(folder)) {
          const attachment = item.attachments.find((a) => a.id === id);
          if (attachment) return `<m:Attachments>${attachmentMetadataXml(attachment, true, ctx.store)}</m:Attachments>`;
        }
      }
      throw new EwsError('ErrorItemNotFound');
    },
    '<m:Attachments/>',
  );
};


/** Changing an item of someone else's folder needs Editor or more there (Reviewer reads only): ErrorAccessDenied. */
function requireItemWrite(ctx: RequestContext, item: Item): void {
  const folder = ctx.store.findFolderById(item.folderId);
  if (folder) requireFolderWrite(ctx, folder);
}
