/**
 * Meeting requests, responses and cancellations between the simulator's mailboxes, as Exchange's
 * calendar attendant runs them; every answer validates against the EWS schema.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as ews from 'ews-javascript-api';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import type { CalendarItem, Message } from '../../dev/ews-simulator/model';
import { seedSmallOrganisation, PASSWORDS } from './fixture';
import { SchemaBatch, schemaSkipReason } from './schema-validator';
import { basicAuth, extract, soapCall } from './soap-client';

let sim: EwsSimulator;
/** Every 200 answer of this file, validated in one xmllint run by the last test. */
const schema = new SchemaBatch();
const as = (user: 'alice' | 'bob' | 'carol') => basicAuth(`${user}@contoso.com`, PASSWORDS[user]);

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

async function call(user: 'alice' | 'bob' | 'carol', body: string): Promise<string> {
  const result = await soapCall(sim.url, body, { authorization: as(user) });
  assert.equal(result.status, 200, result.body.slice(0, 500));
  schema.add(body.slice(0, 60), result.body);
  return result.body;
}

const inboxOf = (address: string) => sim.store.folderItems(sim.store.getFolder(address, { distinguished: 'inbox' }));
const calendarOf = (address: string) => sim.store.folderItems(sim.store.getFolder(address, { distinguished: 'calendar' })) as CalendarItem[];
const meetingMessages = (address: string, kind: 'request' | 'response' | 'cancellation') => inboxOf(address).filter((i): i is Message => i.kind === 'message' && i.meeting?.kind === kind);

const ALL = '<m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>';

test('a meeting with attendees reaches their inboxes and calendars; answers and changes flow back', async () => {
  const created = await call(
    'alice',
    '<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:Items><t:CalendarItem><t:Subject>Route review</t:Subject><t:Body BodyType="Text">Agenda</t:Body><t:Start>2025-04-01T09:00:00Z</t:Start><t:End>2025-04-01T10:00:00Z</t:End><t:Location>Room 2</t:Location>' +
      '<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee><t:Attendee><t:Mailbox><t:EmailAddress>dan@example.net</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>' +
      '<t:OptionalAttendees><t:Attendee><t:Mailbox><t:EmailAddress>carol@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee></t:OptionalAttendees></t:CalendarItem></m:Items></m:CreateItem>',
  );
  const meetingId = extract(created, /<t:ItemId Id="([^"]+)"/)!;
  const organizerCopy = sim.store.getItem(meetingId) as CalendarItem;
  assert.equal(organizerCopy.organizer?.address, 'alice@contoso.com');

  // Bob: a request in the Inbox pointing at a tentative copy in his calendar.
  const [request] = meetingMessages('bob@contoso.com', 'request');
  assert.ok(request, 'bob got a meeting request');
  assert.equal(request.itemClass, 'IPM.Schedule.Meeting.Request');
  const bobCopy = calendarOf('bob@contoso.com').find((c) => c.uid === organizerCopy.uid)!;
  assert.equal(bobCopy.myResponseType, 'NoResponseReceived');
  assert.equal(bobCopy.legacyFreeBusyStatus, 'Tentative');
  const requestXml = await call('bob', `<m:GetItem>${ALL}<m:ItemIds><t:ItemId Id="${request.id}"/></m:ItemIds></m:GetItem>`);
  assert.match(requestXml, /<t:MeetingRequest>/);
  assert.match(requestXml, new RegExp(`<t:AssociatedCalendarItemId Id="${bobCopy.id.replace(/[+/=]/g, '.')}"`));
  assert.match(requestXml, /<t:MeetingRequestType>NewMeetingRequest<\/t:MeetingRequestType>/);
  assert.match(requestXml, /<t:Start>2025-04-01T09:00:00Z<\/t:Start>/);
  assert.equal(meetingMessages('carol@contoso.com', 'request').length, 1, 'optional attendees are invited too');
  const sent = sim.store.folderItems(sim.store.getFolder('alice@contoso.com', { distinguished: 'sentitems' })).filter((i) => i.kind === 'message' && i.meeting);
  assert.equal(sent.length, 1, 'SendToAllAndSaveCopy keeps a copy in Sent Items');
  const inboxView = await call('bob', '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>');
  assert.match(inboxView, /<t:MeetingRequest>/);
  const sync = await call('bob', `<m:SyncFolderItems>${ALL}<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>`);
  assert.match(sync, /<t:Create><t:MeetingRequest>/);

  // Bob accepts from the request; Carol declines from her calendar copy.
  const accepted = await call('bob', `<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:AcceptItem><t:ReferenceItemId Id="${request.id}"/></t:AcceptItem></m:Items></m:CreateItem>`);
  assert.match(accepted, /<t:CalendarItem><t:ItemId Id="/);
  assert.equal((sim.store.getItem(bobCopy.id) as CalendarItem).myResponseType, 'Accept');
  const carolCopy = calendarOf('carol@contoso.com').find((c) => c.uid === organizerCopy.uid)!;
  await call('carol', `<m:CreateItem MessageDisposition="SendOnly"><m:Items><t:DeclineItem><t:ReferenceItemId Id="${carolCopy.id}"/></t:DeclineItem></m:Items></m:CreateItem>`);
  assert.equal(calendarOf('carol@contoso.com').some((c) => c.uid === organizerCopy.uid), false, 'a declined meeting leaves the calendar');

  const responses = meetingMessages('alice@contoso.com', 'response');
  assert.deepEqual(responses.map((r) => [r.itemClass, r.from?.address, r.meeting?.responseType]).sort(), [
    ['IPM.Schedule.Meeting.Resp.Neg', 'carol@contoso.com', 'Decline'],
    ['IPM.Schedule.Meeting.Resp.Pos', 'bob@contoso.com', 'Accept'],
  ]);
  const responseXml = await call('alice', `<m:GetItem>${ALL}<m:ItemIds>${responses.map((r) => `<t:ItemId Id="${r.id}"/>`).join('')}</m:ItemIds></m:GetItem>`);
  assert.equal((responseXml.match(/<t:MeetingResponse>/g) ?? []).length, 2);
  const tracked = await call('alice', `<m:GetItem>${ALL}<m:ItemIds><t:ItemId Id="${meetingId}"/></m:ItemIds></m:GetItem>`);
  assert.match(tracked, /<t:EmailAddress>bob@contoso\.com<\/t:EmailAddress><t:RoutingType>SMTP<\/t:RoutingType><t:MailboxType>Mailbox<\/t:MailboxType><\/t:Mailbox><t:ResponseType>Accept</);
  assert.match(tracked, /<t:EmailAddress>carol@contoso\.com<\/t:EmailAddress><t:RoutingType>SMTP<\/t:RoutingType><t:MailboxType>Mailbox<\/t:MailboxType><\/t:Mailbox><t:ResponseType>Decline</);

  // The organizer moves the meeting: attendees get an update and their copies follow.
  const changeKey = extract(tracked, /<t:ItemId Id="[^"]+" ChangeKey="([^"]+)"/)!;
  await call(
    'alice',
    `<m:UpdateItem ConflictResolution="AutoResolve" SendMeetingInvitationsOrCancellations="SendToAllAndSaveCopy"><m:ItemChanges><t:ItemChange><t:ItemId Id="${meetingId}" ChangeKey="${changeKey}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2025-04-01T11:00:00Z</t:Start></t:CalendarItem></t:SetItemField><t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2025-04-01T12:00:00Z</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
  );
  const updates = meetingMessages('bob@contoso.com', 'request').filter((r) => r.meeting?.isUpdate);
  assert.equal(updates.length, 1);
  assert.equal((sim.store.getItem(bobCopy.id) as CalendarItem).start.toISOString(), '2025-04-01T11:00:00.000Z');
  const updateXml = await call('bob', `<m:GetItem>${ALL}<m:ItemIds><t:ItemId Id="${updates[0]!.id}"/></m:ItemIds></m:GetItem>`);
  assert.match(updateXml, /<t:MeetingRequestType>FullUpdate</);

  // The organizer cancels: attendees get a cancellation and their copies are marked cancelled.
  await call('alice', `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToAllAndSaveCopy"><m:ItemIds><t:ItemId Id="${meetingId}"/></m:ItemIds></m:DeleteItem>`);
  const [cancellation] = meetingMessages('bob@contoso.com', 'cancellation');
  assert.equal(cancellation?.itemClass, 'IPM.Schedule.Meeting.Canceled');
  assert.equal((sim.store.getItem(bobCopy.id) as CalendarItem).isCancelled, true);
  const cancellationXml = await call('bob', `<m:GetItem>${ALL}<m:ItemIds><t:ItemId Id="${cancellation!.id}"/></m:ItemIds></m:GetItem>`);
  assert.match(cancellationXml, /<t:MeetingCancellation>/);
});

test('attendees cannot cancel for the organizer, and cannot answer meetings of mailboxes they cannot open', async () => {
  await call(
    'alice',
    '<m:CreateItem SendMeetingInvitations="SendOnlyToAll"><m:Items><t:CalendarItem><t:Subject>Depot visit</t:Subject><t:Start>2025-04-02T09:00:00Z</t:Start><t:End>2025-04-02T10:00:00Z</t:End><t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee><t:Attendee><t:Mailbox><t:EmailAddress>carol@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem></m:Items></m:CreateItem>',
  );
  const bobCopy = calendarOf('bob@contoso.com').find((c) => c.subject === 'Depot visit')!;
  const carolBefore = meetingMessages('carol@contoso.com', 'cancellation').length;
  await call('bob', `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToAllAndSaveCopy"><m:ItemIds><t:ItemId Id="${bobCopy.id}"/></m:ItemIds></m:DeleteItem>`);
  assert.equal(meetingMessages('carol@contoso.com', 'cancellation').length, carolBefore, "an attendee deleting their copy does not cancel the meeting for others");
  const carolRequest = meetingMessages('carol@contoso.com', 'request').find((r) => r.subject === 'Depot visit')!;
  const denied = await call('bob', `<m:CreateItem MessageDisposition="SendOnly"><m:Items><t:AcceptItem><t:ReferenceItemId Id="${carolRequest.id}"/></t:AcceptItem></m:Items></m:CreateItem>`);
  assert.match(denied, /ErrorAccessDenied/);
  const ordinary = inboxOf('alice@contoso.com').find((i) => i.kind === 'message' && !(i as Message).meeting)!;
  const notAMeeting = await call('alice', `<m:CreateItem MessageDisposition="SendOnly"><m:Items><t:AcceptItem><t:ReferenceItemId Id="${ordinary.id}"/></t:AcceptItem></m:Items></m:CreateItem>`);
  assert.match(notAMeeting, /ErrorInvalidReferenceItem/);
});

test('ews-javascript-api reads the request as a MeetingRequest and accepts it', async () => {
  const organizer = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
  organizer.Url = new ews.Uri(sim.url);
  organizer.Credentials = new ews.WebCredentials('alice@contoso.com', PASSWORDS.alice);
  const appointment = new ews.Appointment(organizer);
  appointment.Subject = 'Library invite';
  appointment.Start = new ews.DateTime('2025-04-03T09:00:00Z');
  appointment.End = new ews.DateTime('2025-04-03T09:30:00Z');
  appointment.RequiredAttendees.Add('bob@contoso.com');
  await appointment.Save(ews.SendInvitationsMode.SendToAllAndSaveCopy);

  const attendee = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
  attendee.Url = new ews.Uri(sim.url);
  attendee.Credentials = new ews.WebCredentials('bob@contoso.com', PASSWORDS.bob);
  const stored = meetingMessages('bob@contoso.com', 'request').find((r) => r.subject === 'Library invite')!;
  const request = await ews.MeetingRequest.Bind(attendee, new ews.ItemId(stored.id));
  assert.ok(request instanceof ews.MeetingRequest);
  assert.equal(request.Subject, 'Library invite');
  await request.Accept(true);
  const copy = calendarOf('bob@contoso.com').find((c) => c.subject === 'Library invite')!;
  assert.equal(copy.myResponseType, 'Accept');
  assert.ok(meetingMessages('alice@contoso.com', 'response').some((r) => r.subject === 'Accepted: Library invite'));
});

test('every answer above validates against the EWS schema', { skip: schemaSkipReason() }, async () => {
  await schema.assertAllValid();
});
