/**
 * Recurring series: reading and writing EWS `<t:Recurrence>`, and expanding a recurring master
 * into its occurrences the way Exchange does for a CalendarView.
 *
 * Exchange stores one item, the recurring master, with the pattern, the range, and the changes
 * to single occurrences (exceptions: modified or deleted). Occurrences are generated on request.
 * An occurrence is named by its master and its 1-based instance index in the pattern (deleted
 * occurrences keep their place), which is what OccurrenceItemId carries.
 *
 * The simulator expands in UTC: occurrences start at the master's UTC time of day on each date of
 * the pattern (time zones and daylight saving are not modelled; see docs/ews-simulator.md).
 */
import { encodeOccurrenceId } from './ids';
import type { CalendarItem, OccurrenceOverride, Recurrence, RecurrencePattern, RecurrenceRange, Weekday } from './model';
import { EwsError } from './soap';
import { child, childText, children, el, type Element } from './xml';

export const WEEKDAYS: readonly Weekday[] = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;
const DAY_IN_MS = 86_400_000;
/** Enough for any series a test or a client looks at; a NoEnd series is cut here. */
const MAX_OCCURRENCES = 1000;

/** One generated occurrence of a series. */
export interface Occurrence {
  /** 1-based position in the pattern; deleted occurrences keep theirs. */
  readonly index: number;
  readonly originalStart: Date;
  readonly start: Date;
  readonly end: Date;
  /** The exception's changes, when this occurrence was modified. */
  readonly override?: OccurrenceOverride;
}

function invalid(message: string): EwsError {
  return new EwsError('ErrorCalendarInvalidRecurrence', message);
}

function positiveInt(raw: string | undefined, name: string, max = 999): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw invalid(`${name} must be a whole number from 1 to ${max}.`);
  return value;
}

function isoDate(raw: string | undefined, name: string): string {
  const value = (raw ?? '').slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw invalid(`${name} must be a date (yyyy-mm-dd).`);
  return value;
}

function readPattern(recurrence: Element): RecurrencePattern {
  const [pattern] = children(recurrence);
  switch (pattern?.localName) {
    case 'DailyRecurrence':
      return { kind: 'Daily', interval: positiveInt(childText(pattern, 'Interval'), 'Interval') };
    case 'WeeklyRecurrence': {
      const days = (childText(pattern, 'DaysOfWeek') ?? '').split(/\s+/).filter(Boolean);
      if (days.length === 0 || days.some((d) => !WEEKDAYS.includes(d as Weekday))) throw invalid('DaysOfWeek must name days of the week (Monday ... Sunday).');
      return { kind: 'Weekly', interval: positiveInt(childText(pattern, 'Interval'), 'Interval'), daysOfWeek: [...new Set(days as Weekday[])] };
    }
    case 'AbsoluteMonthlyRecurrence':
      return { kind: 'AbsoluteMonthly', interval: positiveInt(childText(pattern, 'Interval'), 'Interval'), dayOfMonth: positiveInt(childText(pattern, 'DayOfMonth'), 'DayOfMonth', 31) };
    case 'AbsoluteYearlyRecurrence': {
      const month = MONTHS.indexOf(childText(pattern, 'Month') as (typeof MONTHS)[number]);
      if (month < 0) throw invalid('Month must name a month.');
      return { kind: 'AbsoluteYearly', month: month + 1, dayOfMonth: positiveInt(childText(pattern, 'DayOfMonth'), 'DayOfMonth', 31) };
    }
    default:
      throw invalid(`The simulator supports Daily, Weekly, AbsoluteMonthly and AbsoluteYearly patterns, not ${pattern?.localName ?? 'none'}.`);
  }
}

function readRange(recurrence: Element): RecurrenceRange {
  const range = children(recurrence)[1];
  const startDate = isoDate(range ? childText(range, 'StartDate') : undefined, 'StartDate');
  switch (range?.localName) {
    case 'NoEndRecurrence':
      return { kind: 'NoEnd', startDate };
    case 'EndDateRecurrence': {
      const endDate = isoDate(childText(range, 'EndDate'), 'EndDate');
      if (endDate < startDate) throw invalid('EndDate is before StartDate.');
      return { kind: 'EndDate', startDate, endDate };
    }
    case 'NumberedRecurrence':
      return { kind: 'Numbered', startDate, numberOfOccurrences: positiveInt(childText(range, 'NumberOfOccurrences'), 'NumberOfOccurrences', MAX_OCCURRENCES) };
    default:
      throw invalid('A recurrence needs a range: NoEndRecurrence, EndDateRecurrence or NumberedRecurrence.');
  }
}

/** Reads `<t:Recurrence>` of a CalendarItem; undefined when there is none. */
export function readRecurrence(calendarItem: Element): Recurrence | undefined {
  const recurrence = child(calendarItem, 'Recurrence');
  return recurrence ? { pattern: readPattern(recurrence), range: readRange(recurrence) } : undefined;
}

export function recurrenceXml(recurrence: Recurrence): string {
  const p = recurrence.pattern;
  const pattern =
    p.kind === 'Daily'
      ? `<t:DailyRecurrence>${el('t:Interval', p.interval)}</t:DailyRecurrence>`
      : p.kind === 'Weekly'
        ? `<t:WeeklyRecurrence>${el('t:Interval', p.interval)}${el('t:DaysOfWeek', p.daysOfWeek.join(' '))}${el('t:FirstDayOfWeek', 'Sunday')}</t:WeeklyRecurrence>`
        : p.kind === 'AbsoluteMonthly'
          ? `<t:AbsoluteMonthlyRecurrence>${el('t:Interval', p.interval)}${el('t:DayOfMonth', p.dayOfMonth)}</t:AbsoluteMonthlyRecurrence>`
          : `<t:AbsoluteYearlyRecurrence>${el('t:DayOfMonth', p.dayOfMonth)}${el('t:Month', MONTHS[p.month - 1]!)}</t:AbsoluteYearlyRecurrence>`;
  const r = recurrence.range;
  const range =
    r.kind === 'NoEnd'
      ? `<t:NoEndRecurrence>${el('t:StartDate', `${r.startDate}Z`)}</t:NoEndRecurrence>`
      : r.kind === 'EndDate'
        ? `<t:EndDateRecurrence>${el('t:StartDate', `${r.startDate}Z`)}${el('t:EndDate', `${r.endDate}Z`)}</t:EndDateRecurrence>`
        : `<t:NumberedRecurrence>${el('t:StartDate', `${r.startDate}Z`)}${el('t:NumberOfOccurrences', r.numberOfOccurrences)}</t:NumberedRecurrence>`;
  return `<t:Recurrence>${pattern}${range}</t:Recurrence>`;
}

/** The pattern's dates (UTC midnight, epoch ms) from the range's start, in order, lazily. */
function* patternDates(pattern: RecurrencePattern, startDate: string): Generator<number> {
  const start = Date.parse(`${startDate}T00:00:00Z`);
  const first = new Date(start);
  switch (pattern.kind) {
    case 'Daily':
      for (let day = start; ; day += pattern.interval * DAY_IN_MS) yield day;
    case 'Weekly': {
      const wanted = new Set(pattern.daysOfWeek.map((d) => WEEKDAYS.indexOf(d)));
      // Weeks begin on Sunday; the first week is the one holding the start date.
      for (let weekStart = start - first.getUTCDay() * DAY_IN_MS; ; weekStart += pattern.interval * 7 * DAY_IN_MS) {
        for (let d = 0; d < 7; d++) if (wanted.has(d) && weekStart + d * DAY_IN_MS >= start) yield weekStart + d * DAY_IN_MS;
      }
    }
    case 'AbsoluteMonthly':
      for (let m = 0; ; m += pattern.interval) {
        const date = Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + m, pattern.dayOfMonth);
        // Months without that day have no occurrence (Exchange moves it to the last day; not modelled).
        if (new Date(date).getUTCDate() === pattern.dayOfMonth && date >= start) yield date;
      }
    case 'AbsoluteYearly':
      for (let y = first.getUTCFullYear(); ; y++) {
        const date = Date.UTC(y, pattern.month - 1, pattern.dayOfMonth);
        if (new Date(date).getUTCDate() === pattern.dayOfMonth && date >= start) yield date;
      }
  }
}

/**
 * Every occurrence of `master` (deleted ones left out, modified ones with their changes), up to
 * `until` for series without an end. Occurrences are in pattern order.
 */
export function expandSeries(master: CalendarItem, until?: Date): Occurrence[] {
  const recurrence = master.recurrence;
  if (!recurrence) return [];
  const timeOfDay = master.start.getTime() - Date.UTC(master.start.getUTCFullYear(), master.start.getUTCMonth(), master.start.getUTCDate());
  const duration = master.end.getTime() - master.start.getTime();
  const range = recurrence.range;
  const lastDay = range.kind === 'EndDate' ? Date.parse(`${range.endDate}T00:00:00Z`) : undefined;
  const limit = range.kind === 'Numbered' ? range.numberOfOccurrences : MAX_OCCURRENCES;
  const deleted = new Set((master.deletedOccurrences ?? []).map((d) => d.getTime()));
  const overrides = new Map((master.modifiedOccurrences ?? []).map((o) => [o.originalStart.getTime(), o]));
  const result: Occurrence[] = [];
  let index = 0;
  for (const day of patternDates(recurrence.pattern, range.startDate)) {
    if (index >= limit || (lastDay !== undefined && day > lastDay) || (until && day > until.getTime())) break;
    index++;
    const originalStart = day + timeOfDay;
    if (deleted.has(originalStart)) continue;
    const override = overrides.get(originalStart);
    result.push({
      index,
      originalStart: new Date(originalStart),
      start: override?.start ?? new Date(originalStart),
      end: override?.end ?? new Date(originalStart + duration),
      ...(override ? { override } : {}),
    });
  }
  return result;
}

/** The occurrence with this instance index, whether or not it was deleted (undefined past the series). */
export function occurrenceAt(master: CalendarItem, index: number): { originalStart: Date; deleted: boolean } | undefined {
  if (!master.recurrence || index < 1 || index > MAX_OCCURRENCES) return undefined;
  const timeOfDay = master.start.getTime() - Date.UTC(master.start.getUTCFullYear(), master.start.getUTCMonth(), master.start.getUTCDate());
  const range = master.recurrence.range;
  const lastDay = range.kind === 'EndDate' ? Date.parse(`${range.endDate}T00:00:00Z`) : undefined;
  if (range.kind === 'Numbered' && index > range.numberOfOccurrences) return undefined;
  let position = 0;
  for (const day of patternDates(master.recurrence.pattern, range.startDate)) {
    if (lastDay !== undefined && day > lastDay) return undefined;
    if (++position === index) {
      const originalStart = new Date(day + timeOfDay);
      return { originalStart, deleted: (master.deletedOccurrences ?? []).some((d) => d.getTime() === originalStart.getTime()) };
    }
  }
  return undefined;
}


/** A generated occurrence as a calendar item of its own (an Occurrence, or an Exception when modified). */
export function occurrenceView(master: CalendarItem, occurrence: Occurrence): CalendarItem {
  const override = occurrence.override;
  return {
    ...master,
    id: encodeOccurrenceId(master.id, occurrence.index),
    version: master.version + (override?.version ?? 0),
    start: occurrence.start,
    end: occurrence.end,
    subject: override?.subject ?? master.subject,
    location: override?.location ?? master.location,
    recurrence: undefined,
    modifiedOccurrences: undefined,
    deletedOccurrences: undefined,
    occurrenceOf: { masterId: master.id, index: occurrence.index, originalStart: occurrence.originalStart, isException: !!override },
  };
}

/** The occurrence with this index as a view; ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange / ...IsDeleted otherwise. */
export function occurrenceByIndex(master: CalendarItem, index: number): CalendarItem {
  if (!master.recurrence) throw new EwsError('ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange', 'The item is not a recurring master.');
  const slot = occurrenceAt(master, index);
  if (!slot) throw new EwsError('ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange');
  if (slot.deleted) throw new EwsError('ErrorCalendarOccurrenceIsDeletedFromRecurrence');
  const override = (master.modifiedOccurrences ?? []).find((o) => o.originalStart.getTime() === slot.originalStart.getTime());
  const duration = master.end.getTime() - master.start.getTime();
  return occurrenceView(master, {
    index,
    originalStart: slot.originalStart,
    start: override?.start ?? slot.originalStart,
    end: override?.end ?? new Date(slot.originalStart.getTime() + duration),
    ...(override ? { override } : {}),
  });
}
