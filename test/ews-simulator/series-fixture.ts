/**
 * Test fixture over plain SOAP (so it works against any running simulator): in `mailbox`, a
 * weekly series with one moved and one deleted occurrence, a meeting request from `other`, a
 * meeting response (Accept) from `other` to a meeting `mailbox` organised, and a message with an
 * attached message (item attachment). Used by the lean-path equivalence test and the end-to-end
 * record test.
 */
import assert from 'node:assert/strict';
import { basicAuth, extract, extractAll, soapCall } from './soap-client';

export interface SeriesFixtureAccount {
  readonly address: string;
  readonly password: string;
}

export interface SeriesFixture {
  readonly seriesSubject: string;
  readonly masterId: string;
  /** The moved occurrence: original and new start (ISO, milliseconds). */
  readonly moved: { readonly originalStart: string; readonly start: string };
  readonly deletedOriginalStart: string;
  readonly requestSubject: string;
  readonly responseSubject: string;
  readonly attachedMessageName: string;
}

export const SERIES_SUBJECT = 'Dispatch stand-up';

async function call(ewsUrl: string, account: SeriesFixtureAccount, body: string): Promise<string> {
  const result = await soapCall(ewsUrl, body, { authorization: basicAuth(account.address, account.password) });
  assert.equal(result.status, 200, result.body.slice(0, 500));
  assert.doesNotMatch(result.body, /ResponseClass="Error"/, result.body.slice(0, 800));
  return result.body;
}

const attendee = (address: string) => `<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>${address}</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>`;

export async function seedSeriesAndMeetings(ewsUrl: string, mailbox: SeriesFixtureAccount, other: SeriesFixtureAccount): Promise<SeriesFixture> {
  // Monday and Wednesday, six times from Monday 2026-05-04.
  const created = await call(
    ewsUrl,
    mailbox,
    `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>${SERIES_SUBJECT}</t:Subject><t:Start>2026-05-04T08:30:00Z</t:Start><t:End>2026-05-04T08:45:00Z</t:End><t:Location>Depot</t:Location>` +
      '<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-05-04</t:StartDate><t:NumberOfOccurrences>6</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>' +
      '</t:CalendarItem></m:Items></m:CreateItem>',
  );
  const masterId = extract(created, /<t:ItemId Id="([^"]+)"/)!;
  const view = await call(
    ewsUrl,
    mailbox,
    '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-05-01T00:00:00Z" EndDate="2026-06-01T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>',
  );
  const occurrenceIds = extractAll(view, /<t:ItemId Id="([^"]+)"/g);
  assert.equal(occurrenceIds.length, 6, 'six occurrences');
  await call(
    ewsUrl,
    mailbox,
    `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="${occurrenceIds[1]}"/><t:Updates>` +
      '<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2026-05-06T10:00:00Z</t:Start></t:CalendarItem></t:SetItemField>' +
      '<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2026-05-06T10:15:00Z</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>',
  );
  await call(ewsUrl, mailbox, `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="${masterId}" InstanceIndex="3"/></m:ItemIds></m:DeleteItem>`);

  // A meeting request from the other mailbox, and a response (Accept) from it to one of ours.
  const requestSubject = 'Route review';
  await call(
    ewsUrl,
    other,
    `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:Items><t:CalendarItem><t:Subject>${requestSubject}</t:Subject><t:Start>2026-05-12T09:00:00Z</t:Start><t:End>2026-05-12T10:00:00Z</t:End><t:Location>Room 2</t:Location>${attendee(mailbox.address)}</t:CalendarItem></m:Items></m:CreateItem>`,
  );
  const responseSubject = 'Depot visit';
  await call(
    ewsUrl,
    mailbox,
    `<m:CreateItem SendMeetingInvitations="SendOnlyToAll"><m:Items><t:CalendarItem><t:Subject>${responseSubject}</t:Subject><t:Start>2026-05-13T14:00:00Z</t:Start><t:End>2026-05-13T15:00:00Z</t:End><t:Location>Gate 4</t:Location>${attendee(other.address)}</t:CalendarItem></m:Items></m:CreateItem>`,
  );
  const otherInbox = await call(
    ewsUrl,
    other,
    '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>',
  );
  const requestId = extract(otherInbox, new RegExp(`<t:MeetingRequest><t:ItemId Id="([^"]+)"[^>]*/><t:Subject>${responseSubject}<`));
  assert.ok(requestId, `the other mailbox received the request: ${otherInbox.slice(0, 800)}`);
  await call(ewsUrl, other, `<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:AcceptItem><t:ReferenceItemId Id="${requestId}"/></t:AcceptItem></m:Items></m:CreateItem>`);

  // A message carrying another message as an item attachment.
  const attachedMessageName = 'Forwarded: delivery note';
  await call(
    ewsUrl,
    mailbox,
    '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId><m:Items><t:Message><t:Subject>See attached note</t:Subject><t:Body BodyType="Text">FYI</t:Body>' +
      `<t:Attachments><t:ItemAttachment><t:Name>${attachedMessageName}</t:Name><t:Message><t:Subject>Delivery note 7</t:Subject><t:Body BodyType="Text">Pallets: 3</t:Body></t:Message></t:ItemAttachment></t:Attachments>` +
      '</t:Message></m:Items></m:CreateItem>',
  );
  return {
    seriesSubject: SERIES_SUBJECT,
    masterId,
    moved: { originalStart: '2026-05-06T08:30:00.000Z', start: '2026-05-06T10:00:00.000Z' },
    deletedOriginalStart: '2026-05-11T08:30:00.000Z',
    requestSubject,
    responseSubject,
    attachedMessageName,
  };
}
