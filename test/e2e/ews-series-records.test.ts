/**
 * EWS end to end through the local Functions host, for the records of calendars and meetings: an
 * on-premises (impersonation) group configured through the admin API, its EWS URL found from an
 * address (Autodiscover), a mailbox holding a weekly series with one moved and one deleted
 * occurrence, a meeting request, an accepted meeting response and a message with an attached
 * message; the sync (lean path) and the delivery pipeline hand them to a webhook receiver that
 * checks every signature. The delivered records must carry the series, the meeting facts and the
 * attachment names, and validate against the published change-record schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { startWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { RunningWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import { changeRecordSchema } from '../../shared/delivery/change-batch';
import type { ChangeRecord } from '../../shared/delivery/change-batch';
import type { EwsCalendarItem, EwsMessage } from '../../shared/ews';
import { startConnectorStack } from '../support/connector-stack';
import type { ConnectorStack } from '../support/connector-stack';
import { eventually } from '../support/eventually';
import { requestJson } from '../support/http-json';
import { seedSeriesAndMeetings, type SeriesFixture } from '../ews-simulator/series-fixture';

const d = DEMO_IDENTITY;
const MASTER_KEY = 'ews-series-e2e-master-key';
const SVC = { upn: 'svc-series@contoso.com', password: 'Svc-Series-Pass1' };
const ERIN = { address: 'erin@contoso.com', password: 'Erin-Pass1' };
const FRANK = { address: 'frank@contoso.com', password: 'Frank-Pass1' };

let stack: ConnectorStack;
let receiver: RunningWebhookReceiver;
let adminToken: string;
const signingSecrets: string[] = [];

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const response = await requestJson(method, `${stack.host.url}/api/admin${path}`, { headers: { authorization: `Bearer ${adminToken}` }, body });
  assert.ok(response.status >= 200 && response.status < 300, `${method} ${path}: ${response.status} ${response.text}`);
  return response.body;
}

async function invoke(name: string, input = ''): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

before(async () => {
  receiver = await startWebhookReceiver({ port: 0, secret: () => signingSecrets, print: () => undefined, keep: 5_000 });
  stack = await startConnectorStack({
    functions: ['admin-tenants', 'admin-groups', 'admin-mailboxes', 'admin-ews-url-discovery', 'delivery-admin', 'delivery-deliver-batch', 'sync-schedule', 'sync-mailbox'],
    ews: {
      seed: (store) => {
        store.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.com'] });
        store.addMailbox({ smtpAddress: ERIN.address, displayName: 'Erin', password: ERIN.password });
        store.addMailbox({ smtpAddress: FRANK.address, displayName: 'Frank', password: FRANK.password });
        store.addServiceAccount({ userPrincipalName: SVC.upn, password: SVC.password });
        store.grantImpersonation({ principal: SVC.upn, scope: { kind: 'all' } });
      },
    },
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    shutdownGracePeriodInMs: 5_000,
  });
  adminToken = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
});

after(async () => {
  await stack?.close();
  await receiver?.close();
});

describe('EWS records of series, meetings and item attachments, end to end', () => {
  let series: SeriesFixture;

  it('discovers the EWS URL, syncs the mailbox and delivers the series, its exceptions, the meeting messages and the attachment names', async () => {
    const ews = stack.ews!;
    const tenantId: string = (await ok('POST', '/tenants', { displayName: 'Contoso (on-premises)' })).id;
    // The administrator types an address; the EWS URL comes back from Autodiscover.
    const discovery = await ok('POST', `/tenants/${tenantId}/ews-url-discovery`, { emailAddress: ERIN.address, serviceAccount: SVC.upn, password: SVC.password, autodiscoverUrl: ews.autodiscoverUrl });
    assert.equal(discovery.outcome, 'found', JSON.stringify(discovery));
    const group = await ok('POST', `/tenants/${tenantId}/groups`, {
      name: 'Dispatch', externalId: 'dispatch-onprem', mailboxAccessType: 'impersonation', ewsUrl: discovery.ewsUrl,
      impersonation: { serviceAccount: SVC.upn, authScheme: 'basic' }, folders: ['mail', 'calendar'], pollIntervalMinutes: 60,
      delivery: { kind: 'webhook', url: `${receiver.url}/webhook` },
    });
    signingSecrets.push((await ok('POST', `/tenants/${tenantId}/groups/${group.id}/delivery/signing-key`)).secret);
    await ok('PUT', `/tenants/${tenantId}/groups/${group.id}/credentials`, { password: SVC.password });
    await ok('POST', `/tenants/${tenantId}/groups/${group.id}/mailboxes`, { smtpAddress: ERIN.address });

    series = await seedSeriesAndMeetings(ews.url, ERIN, FRANK);
    await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId, groupId: group.id, mailbox: ERIN.address, reason: 'manual', enqueuedAt: new Date().toISOString() }));
    const records = await eventually('the series, the meeting messages and the attachment delivered', () => {
      const list: ChangeRecord[] = receiver.received().filter((b) => b.batch.groupId === group.id).flatMap((b) => [...b.batch.records]);
      const subjects = list.map((r) => r.item?.subject);
      return [series.seriesSubject, series.requestSubject, 'See attached note'].every((s) => subjects.includes(s)) && list.some((r) => (r.item as EwsMessage | undefined)?.meeting?.messageType === 'meetingAccepted') ? list : undefined;
    }, { timeoutInMs: 30_000 });
    assert.equal(receiver.refused().length, 0, 'every delivery carried a valid signature');
    for (const record of records) assert.ok(changeRecordSchema.safeParse(record).success, `record ${record.itemId} matches the published schema`);

    const master = records.find((r) => r.item?.subject === series.seriesSubject)!.item as EwsCalendarItem;
    assert.equal(master.calendarItemType, 'RecurringMaster');
    assert.deepEqual(master.recurrence, { pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'sunday' }, range: { type: 'numbered', startDate: '2026-05-04', numberOfOccurrences: 6 } });
    assert.equal(master.firstOccurrence?.start, '2026-05-04T08:30:00.000Z');
    assert.equal(master.lastOccurrence?.start, '2026-05-20T08:30:00.000Z');
    assert.deepEqual(master.modifiedOccurrences?.map((o) => ({ originalStart: o.originalStart, start: o.start })), [series.moved]);
    assert.deepEqual(master.deletedOccurrences, [{ originalStart: series.deletedOriginalStart }]);
    assert.equal(records.filter((r) => r.item?.subject === series.seriesSubject).length, 1, 'the series is one record: occurrences are not items of the calendar');

    const request = records.find((r) => r.item?.subject === series.requestSubject && r.item.kind === 'meetingMessage')!.item as EwsMessage;
    assert.equal(request.meeting?.messageType, 'meetingRequest');
    assert.deepEqual([request.meeting?.start, request.meeting?.end, request.meeting?.location], ['2026-05-12T09:00:00.000Z', '2026-05-12T10:00:00.000Z', 'Room 2']);
    const attendeeCopy = records.find((r) => r.folder === 'calendar' && r.item?.subject === series.requestSubject);
    assert.ok(attendeeCopy, "the request's tentative calendar item is delivered too");
    assert.equal(request.meeting?.associatedCalendarItemId, attendeeCopy.itemId, 'the request names the calendar item the receiver also got');

    const response = records.find((r) => (r.item as EwsMessage | undefined)?.meeting?.messageType === 'meetingAccepted')!.item as EwsMessage;
    assert.equal(response.meeting?.responseType, 'Accept');
    assert.equal(response.meeting?.location, 'Gate 4');

    const withAttachment = records.find((r) => r.item?.subject === 'See attached note')!.item!;
    assert.deepEqual(withAttachment.attachments.map((a) => ({ kind: a.kind, name: a.name })), [{ kind: 'item', name: series.attachedMessageName }]);
    assert.equal(withAttachment.hasAttachments, true);
  });

  it('changing the series again (another occurrence deleted) delivers an update of the master with the new list', async () => {
    const ews = stack.ews!;
    const groupRecords = () => receiver.received().flatMap((b) => [...b.batch.records]);
    const mark = groupRecords().length;
    const first = groupRecords().find((r) => r.item?.subject === series.seriesSubject)!;
    const response = await fetch(ews.url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', authorization: `Basic ${Buffer.from(`${ERIN.address}:${ERIN.password}`).toString('base64')}` },
      body: `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Header><t:RequestServerVersion Version="Exchange2013_SP1"/></soap:Header><soap:Body><m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="${series.masterId}" InstanceIndex="5"/></m:ItemIds></m:DeleteItem></soap:Body></soap:Envelope>`,
    });
    assert.equal(response.status, 200);
    await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId: first.tenantId, groupId: first.groupId, mailbox: ERIN.address, reason: 'manual', enqueuedAt: new Date().toISOString() }));
    const update = await eventually('the master updated', () => groupRecords().slice(mark).find((r) => r.itemId === series.masterId && r.changeType === 'updated'), { timeoutInMs: 30_000 });
    assert.deepEqual((update.item as EwsCalendarItem).deletedOccurrences?.map((o) => o.originalStart), [series.deletedOriginalStart, '2026-05-18T08:30:00.000Z']);
  });
});
