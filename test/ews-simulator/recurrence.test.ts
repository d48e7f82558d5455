/**
 * Recurring series: one master with its pattern, expanded into occurrences by CalendarView,
 * exceptions (modified and deleted occurrences) addressed by occurrence id or OccurrenceItemId.
 * Every answer validates against the EWS schema.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as ews from 'ews-javascript-api';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import type { CalendarItem } from '../../dev/ews-simulator/model';
import { seedSmallOrganisation, PASSWORDS } from './fixture';
import { SchemaBatch, schemaSkipReason } from './schema-validator';
import { basicAuth, extract, extractAll, soapCall } from './soap-client';

let sim: EwsSimulator;
/** Every 200 answer of this file, validated in one xmllint run by the last test. */
const schema = new SchemaBatch();
const alice = basicAuth('alice@contoso.com', PASSWORDS.alice);

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

async function call(body: string): Promise<string> {
  const result = await soapCall(sim.url, body, { authorization: alice });
  assert.equal(result.status, 200, result.body.slice(0, 500));
  schema.add(body.slice(0, 60), result.body);
  return result.body;
}

const view = (from: string, to: string, shape = 'Default') =>
  call(`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>${shape}</t:BaseShape></m:ItemShape><m:CalendarView StartDate="${from}" EndDate="${to}"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`);

test('a weekly series expands into occurrences; exceptions and deletions show in the view and on the master', async () => {
  const created = await call(
    '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Dispatch stand-up</t:Subject><t:Start>2025-05-05T08:30:00Z</t:Start><t:End>2025-05-05T08:45:00Z</t:End><t:Location>Depot</t:Location>' +
      '<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2025-05-05</t:StartDate><t:NumberOfOccurrences>6</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>' +
      '</t:CalendarItem></m:Items></m:CreateItem>',
  );
  const masterId = extract(created, /<t:ItemId Id="([^"]+)"/)!;

  const master = await call(`<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="${masterId}"/></m:ItemIds></m:GetItem>`);
  assert.match(master, /<t:CalendarItemType>RecurringMaster<\/t:CalendarItemType>/);
  assert.match(master, /<t:IsRecurring>false<\/t:IsRecurring>/, "the organizer's master says false, as Exchange documents");
  assert.match(master, /<t:WeeklyRecurrence><t:Interval>1<\/t:Interval><t:DaysOfWeek>Monday Wednesday<\/t:DaysOfWeek>/);
  assert.match(master, /<t:FirstOccurrence><t:ItemId Id="[^"]+" ChangeKey="[^"]+"\/><t:Start>2025-05-05T08:30:00Z<\/t:Start>/);
  assert.match(master, /<t:LastOccurrence><t:ItemId Id="[^"]+" ChangeKey="[^"]+"\/><t:Start>2025-05-21T08:30:00Z<\/t:Start>/);

  const weeks = await view('2025-05-01T00:00:00Z', '2025-06-01T00:00:00Z', 'AllProperties');
  assert.deepEqual(extractAll(weeks, /<t:Start>([^<]+)</g), ['2025-05-05T08:30:00Z', '2025-05-07T08:30:00Z', '2025-05-12T08:30:00Z', '2025-05-14T08:30:00Z', '2025-05-19T08:30:00Z', '2025-05-21T08:30:00Z']);
  assert.equal(extractAll(weeks, /<t:CalendarItemType>([^<]+)</g).filter((t) => t === 'Occurrence').length, 6);
  assert.doesNotMatch(weeks, /RecurringMaster/, 'a calendar view never returns the master');
  const occurrenceIds = extractAll(weeks, /<t:ItemId Id="([^"]+)"/g);
  assert.equal(new Set(occurrenceIds).size, 6);

  // Move the second occurrence (by occurrence id) and delete the third (by OccurrenceItemId).
  const moved = await call(
    `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="${occurrenceIds[1]}"/><t:Updates>` +
      '<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2025-05-07T10:00:00Z</t:Start></t:CalendarItem></t:SetItemField>' +
      '<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2025-05-07T10:15:00Z</t:End></t:CalendarItem></t:SetItemField>' +
      '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Dispatch stand-up (moved)</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>',
  );
  assert.match(moved, /ResponseClass="Success"/);
  await call(`<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="${masterId}" InstanceIndex="3"/></m:ItemIds></m:DeleteItem>`);

  const after = await view('2025-05-01T00:00:00Z', '2025-06-01T00:00:00Z', 'AllProperties');
  assert.deepEqual(extractAll(after, /<t:Start>([^<]+)</g), ['2025-05-05T08:30:00Z', '2025-05-07T10:00:00Z', '2025-05-14T08:30:00Z', '2025-05-19T08:30:00Z', '2025-05-21T08:30:00Z']);
  assert.deepEqual(extractAll(after, /<t:CalendarItemType>([^<]+)</g), ['Occurrence', 'Exception', 'Occurrence', 'Occurrence', 'Occurrence']);
  assert.match(after, /<t:Subject>Dispatch stand-up \(moved\)<\/t:Subject>/);
  assert.match(after, /<t:OriginalStart>2025-05-07T08:30:00Z<\/t:OriginalStart>/);

  const masterAfter = await call(`<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="${masterId}"/></m:ItemIds></m:GetItem>`);
  assert.match(masterAfter, /<t:ModifiedOccurrences><t:Occurrence><t:ItemId Id="[^"]+" ChangeKey="[^"]+"\/><t:Start>2025-05-07T10:00:00Z<\/t:Start><t:End>2025-05-07T10:15:00Z<\/t:End><t:OriginalStart>2025-05-07T08:30:00Z<\/t:OriginalStart><\/t:Occurrence><\/t:ModifiedOccurrences>/);
  assert.match(masterAfter, /<t:DeletedOccurrences><t:DeletedOccurrence><t:Start>2025-05-12T08:30:00Z<\/t:Start><\/t:DeletedOccurrence><\/t:DeletedOccurrences>/);

  // Sync reports the series once, as an update of the master.
  const sync = await call('<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>');
  assert.equal(extractAll(sync, new RegExp(`<t:ItemId Id="(${masterId.replace(/[+/=]/g, '.')})"`, 'g')).length, 1);

  // Addressing occurrences that are not there.
  const gone = await call(`<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:OccurrenceItemId RecurringMasterId="${masterId}" InstanceIndex="3"/><t:OccurrenceItemId RecurringMasterId="${masterId}" InstanceIndex="7"/><t:RecurringMasterItemId OccurrenceId="${occurrenceIds[0]}"/></m:ItemIds></m:GetItem>`);
  assert.deepEqual(extractAll(gone, /<m:ResponseCode>([^<]+)</g), ['ErrorCalendarOccurrenceIsDeletedFromRecurrence', 'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange', 'NoError']);
  assert.match(gone, new RegExp(`<t:ItemId Id="${masterId.replace(/[+/=]/g, '.')}"`), 'RecurringMasterItemId leads to the master');
});

test('daily, monthly and yearly patterns and end dates expand as documented; bad patterns are refused', async () => {
  const create = (recurrence: string, start = '2025-01-31T12:00:00Z', end = '2025-01-31T13:00:00Z') =>
    call(`<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Series</t:Subject><t:Start>${start}</t:Start><t:End>${end}</t:End><t:Recurrence>${recurrence}</t:Recurrence></t:CalendarItem></m:Items></m:CreateItem>`);
  const expand = async (created: string): Promise<string[]> => {
    const id = extract(created, /<t:ItemId Id="([^"]+)"/)!;
    const master = sim.store.getItem(id) as CalendarItem;
    const body = await view('2025-01-01T00:00:00Z', '2026-12-31T00:00:00Z');
    const starts = extractAll(body, /<t:Start>([^<]+)</g);
    await call(`<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="${master.id}"/></m:ItemIds></m:DeleteItem>`);
    return starts.filter((s) => s.endsWith('T12:00:00Z'));
  };
  assert.deepEqual(await expand(await create('<t:DailyRecurrence><t:Interval>2</t:Interval></t:DailyRecurrence><t:EndDateRecurrence><t:StartDate>2025-01-31</t:StartDate><t:EndDate>2025-02-06</t:EndDate></t:EndDateRecurrence>')), [
    '2025-01-31T12:00:00Z',
    '2025-02-02T12:00:00Z',
    '2025-02-04T12:00:00Z',
    '2025-02-06T12:00:00Z',
  ]);
  assert.deepEqual(await expand(await create('<t:AbsoluteMonthlyRecurrence><t:Interval>1</t:Interval><t:DayOfMonth>31</t:DayOfMonth></t:AbsoluteMonthlyRecurrence><t:NumberedRecurrence><t:StartDate>2025-01-31</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence>')), [
    '2025-01-31T12:00:00Z',
    '2025-03-31T12:00:00Z',
    '2025-05-31T12:00:00Z',
  ]);
  assert.deepEqual(await expand(await create('<t:AbsoluteYearlyRecurrence><t:DayOfMonth>31</t:DayOfMonth><t:Month>January</t:Month></t:AbsoluteYearlyRecurrence><t:NoEndRecurrence><t:StartDate>2025-01-31</t:StartDate></t:NoEndRecurrence>')), ['2025-01-31T12:00:00Z', '2026-01-31T12:00:00Z']);
  const bad = await create('<t:WeeklyRecurrence><t:Interval>0</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence><t:NoEndRecurrence><t:StartDate>2025-01-31</t:StartDate></t:NoEndRecurrence>');
  assert.match(bad, /ErrorCalendarInvalidRecurrence/);
});

test('ews-javascript-api creates a series and reads its occurrences and exceptions', async () => {
  const service = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
  service.Url = new ews.Uri(sim.url);
  service.Credentials = new ews.WebCredentials('alice@contoso.com', PASSWORDS.alice);
  const appointment = new ews.Appointment(service);
  appointment.Subject = 'Library series';
  appointment.Start = new ews.DateTime('2025-07-01T09:00:00Z');
  appointment.End = new ews.DateTime('2025-07-01T10:00:00Z');
  const pattern = new ews.Recurrence.DailyPattern();
  pattern.StartDate = new ews.DateTime('2025-07-01T09:00:00Z');
  pattern.Interval = 1;
  pattern.NumberOfOccurrences = 3;
  appointment.Recurrence = pattern;
  await appointment.Save(ews.SendInvitationsMode.SendToNone);
  const found = await service.FindAppointments(ews.WellKnownFolderName.Calendar, new ews.CalendarView(new ews.DateTime('2025-07-01T00:00:00Z'), new ews.DateTime('2025-07-05T00:00:00Z')));
  const ours = found.Items.filter((a) => a.Subject === 'Library series');
  assert.equal(ours.length, 3);
  assert.ok(ours.every((a) => a.AppointmentType === ews.AppointmentType.Occurrence));
  const second = await ews.Appointment.BindToOccurrence(service, appointment.Id, 2);
  second.Subject = 'Library series (changed)';
  await second.Update(ews.ConflictResolutionMode.AlwaysOverwrite, ews.SendInvitationsOrCancellationsMode.SendToNone);
  const master = await ews.Appointment.Bind(service, appointment.Id);
  assert.equal(master.AppointmentType, ews.AppointmentType.RecurringMaster);
  assert.equal(master.ModifiedOccurrences?.Count, 1);
});

test('every answer above validates against the EWS schema', { skip: schemaSkipReason() }, async () => {
  await schema.assertAllValid();
});
