/**
 * Graph entities as change-record items: series facts on events and meeting facts on event
 * messages take the same shape as the EWS path's (shared/ews/types.ts), and values of the wrong
 * type or unknown enum values are dropped rather than trusted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventItem, messageItem } from '../../shared/graph/item-mapping';

test('a series master carries calendarItemType and its recurrence in the record shape; Graph\'s "no end" date is dropped', () => {
  const master = eventItem({
    id: 'AAMk-master',
    type: 'seriesMaster',
    subject: 'Dispatch stand-up',
    start: { dateTime: '2026-05-04T08:30:00.0000000', timeZone: 'UTC' },
    end: { dateTime: '2026-05-04T08:45:00.0000000', timeZone: 'UTC' },
    recurrence: {
      pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'sunday', dayOfMonth: 0, month: 0, index: 'first' },
      range: { type: 'numbered', startDate: '2026-05-04', endDate: '0001-01-01', numberOfOccurrences: 6, recurrenceTimeZone: 'UTC' },
    },
  });
  assert.equal(master.calendarItemType, 'RecurringMaster');
  assert.deepEqual(master.recurrence, { pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'sunday' }, range: { type: 'numbered', startDate: '2026-05-04', numberOfOccurrences: 6 } });

  const exception = eventItem({ id: 'AAMk-exception', type: 'exception', seriesMasterId: 'AAMk-master', originalStart: '2026-05-06T08:30:00Z' });
  assert.equal(exception.calendarItemType, 'Exception');
  assert.equal(exception.seriesMasterId, 'AAMk-master');
  assert.equal(exception.originalStart, '2026-05-06T08:30:00.000Z');
  assert.equal('recurrence' in exception, false, 'absent, not undefined: records leave out what Graph did not say');

  const single = eventItem({ id: 'AAMk-single', type: 'singleInstance' });
  assert.equal(single.calendarItemType, 'Single');
});

test('as a hostile server: unknown types and wrongly typed values do not reach the record', () => {
  const odd = eventItem({
    id: 'AAMk-odd',
    type: 'somethingElse' as never,
    seriesMasterId: 42 as never,
    recurrence: { pattern: { type: '<script>' as never, interval: 1 }, range: { type: 'noEnd', startDate: '2026-01-01' } },
  });
  assert.equal(odd.calendarItemType, undefined);
  assert.equal(odd.seriesMasterId, undefined);
  assert.equal(odd.recurrence, undefined);
});

test('event messages carry the meeting facts; Graph\'s "meetingTenativelyAccepted" is spelled correctly in the record', () => {
  const request = messageItem({
    '@odata.type': '#microsoft.graph.eventMessageRequest',
    id: 'AAMk-request',
    subject: 'Route review',
    meetingMessageType: 'meetingRequest',
    startDateTime: { dateTime: '2026-05-12T09:00:00.0000000', timeZone: 'UTC' },
    endDateTime: { dateTime: '2026-05-12T10:00:00.0000000', timeZone: 'UTC' },
    location: { displayName: 'Room 2' },
    event: { id: 'AAMk-event' },
  });
  assert.equal(request.kind, 'meetingMessage');
  assert.deepEqual(request.meeting, { messageType: 'meetingRequest', responseType: undefined, associatedCalendarItemId: 'AAMk-event', start: '2026-05-12T09:00:00.000Z', end: '2026-05-12T10:00:00.000Z', location: 'Room 2' });

  const tentative = messageItem({ '@odata.type': '#microsoft.graph.eventMessageResponse', id: 'AAMk-response', meetingMessageType: 'meetingTenativelyAccepted', responseType: 'tentativelyAccepted' });
  assert.equal(tentative.kind, 'meetingMessage', 'a response is a meeting message, as in EWS (it was read as plain mail before)');
  assert.equal(tentative.itemClass, 'IPM.Schedule.Meeting.Resp.Tent');
  assert.equal(tentative.meeting?.messageType, 'meetingTentativelyAccepted');
  assert.equal(tentative.meeting?.responseType, 'Tentative', 'EWS names, as the EWS path gives');

  // Under the sync's $select Graph sends no eventMessage properties: the message is still a meeting message, without `meeting`.
  const selected = messageItem({ '@odata.type': '#microsoft.graph.eventMessage', id: 'AAMk-cancel' });
  assert.equal(selected.kind, 'meetingMessage');
  assert.equal('meeting' in selected, false);
  const mail = messageItem({ id: 'AAMk-mail', subject: 'Hello', meetingMessageType: 'meetingRequest' });
  assert.equal(mail.kind, 'message');
  assert.equal('meeting' in mail, false, 'plain mail never carries meeting facts');
});
