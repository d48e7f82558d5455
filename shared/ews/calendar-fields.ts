/**
 * Recurrence and meeting facts from EWS names to the record's shapes (types.ts), in one place for
 * both EWS paths: the lean reader hands the XML's element names and texts, the ews-javascript-api
 * mapping hands its enums' names, and both get the same values (the equivalence test compares them).
 */
import type { CalendarItemType, MeetingMessageType, RecurrenceInfo } from './types';

const PATTERN_TYPES: Readonly<Record<string, RecurrenceInfo['pattern']['type']>> = {
  DailyRecurrence: 'daily',
  WeeklyRecurrence: 'weekly',
  AbsoluteMonthlyRecurrence: 'absoluteMonthly',
  RelativeMonthlyRecurrence: 'relativeMonthly',
  AbsoluteYearlyRecurrence: 'absoluteYearly',
  RelativeYearlyRecurrence: 'relativeYearly',
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A series as EWS names it: the pattern and range element names and their values. */
export interface EwsRecurrenceParts {
  /** WeeklyRecurrence, ...; regeneration patterns (tasks) are not calendar series and yield no recurrence. */
  readonly patternElement: string | undefined;
  readonly interval: number | string | undefined;
  /** EWS DayOfWeekType names (Monday, ..., Day, Weekday, WeekendDay). */
  readonly daysOfWeek: readonly string[];
  readonly dayOfMonth: number | string | undefined;
  /** EWS month name (January, ...). */
  readonly month: string | undefined;
  /** First, Second, Third, Fourth, Last. */
  readonly dayOfWeekIndex: string | undefined;
  readonly firstDayOfWeek: string | undefined;
  /** NoEndRecurrence, EndDateRecurrence, NumberedRecurrence. */
  readonly rangeElement: string | undefined;
  /** YYYY-MM-DD (any zone suffix already cut off). */
  readonly startDate: string | undefined;
  readonly endDate: string | undefined;
  readonly numberOfOccurrences: number | string | undefined;
}

const DATE = /^\d{4}-\d\d-\d\d/;

/** The date part of an xs:date ("2025-05-05Z", "2025-05-05-08:00"): a series' dates are calendar days. */
export function datePart(value: string | undefined): string | undefined {
  const match = value ? DATE.exec(value.trim()) : null;
  return match ? match[0] : undefined;
}

export function recurrenceInfo(parts: EwsRecurrenceParts): RecurrenceInfo | undefined {
  const type = parts.patternElement ? PATTERN_TYPES[parts.patternElement] : undefined;
  const startDate = parts.startDate;
  if (!type || !startDate) return undefined;
  const monthIndex = parts.month ? MONTHS.indexOf(parts.month) : -1;
  const pattern: { -readonly [K in keyof RecurrenceInfo['pattern']]: RecurrenceInfo['pattern'][K] } = { type, interval: type.endsWith('Yearly') ? 1 : (wholeNumber(parts.interval) ?? 1) };
  const dayOfMonth = wholeNumber(parts.dayOfMonth);
  if (parts.daysOfWeek.length > 0) pattern.daysOfWeek = parts.daysOfWeek.map((day) => day.toLowerCase());
  if (dayOfMonth !== undefined) pattern.dayOfMonth = dayOfMonth;
  if (monthIndex >= 0) pattern.month = monthIndex + 1;
  if (parts.dayOfWeekIndex) pattern.index = parts.dayOfWeekIndex.toLowerCase();
  if (parts.firstDayOfWeek) pattern.firstDayOfWeek = parts.firstDayOfWeek.toLowerCase();
  if (parts.rangeElement === 'EndDateRecurrence' && parts.endDate) return { pattern, range: { type: 'endDate', startDate, endDate: parts.endDate } };
  const occurrences = wholeNumber(parts.numberOfOccurrences);
  if (parts.rangeElement === 'NumberedRecurrence' && occurrences !== undefined) return { pattern, range: { type: 'numbered', startDate, numberOfOccurrences: occurrences } };
  return { pattern, range: { type: 'noEnd', startDate } };
}

/** ews-javascript-api keeps some numbers as the XML's strings; both paths hand numbers on. */
function wholeNumber(value: number | string | undefined): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  return number !== undefined && Number.isInteger(number) ? number : undefined;
}

const ITEM_TYPES: ReadonlySet<string> = new Set<CalendarItemType>(['Single', 'Occurrence', 'Exception', 'RecurringMaster']);

export function calendarItemType(value: string | undefined): CalendarItemType | undefined {
  return value && ITEM_TYPES.has(value) ? (value as CalendarItemType) : undefined;
}

/**
 * The message type from the EWS element (MeetingRequest, MeetingResponse, MeetingCancellation)
 * and, for responses, the ResponseType (Accept, Tentative, Decline).
 */
export function meetingMessageType(element: 'MeetingRequest' | 'MeetingResponse' | 'MeetingCancellation' | 'MeetingMessage', responseType: string | undefined): MeetingMessageType {
  if (element === 'MeetingRequest') return 'meetingRequest';
  if (element === 'MeetingCancellation') return 'meetingCancelled';
  if (responseType === 'Accept') return 'meetingAccepted';
  if (responseType === 'Tentative') return 'meetingTentativelyAccepted';
  if (responseType === 'Decline') return 'meetingDeclined';
  return element === 'MeetingResponse' ? 'meetingResponse' : 'meetingRequest';
}

/** Copies only the defined values: records leave out what a server did not say, on both paths alike. */
export function definedOnly<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) if (entry !== undefined) out[key] = entry;
  return out as T;
}
