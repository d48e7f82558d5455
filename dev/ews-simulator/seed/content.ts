/**
 * Deterministic generators of realistic mailbox content: people, e-mail bodies, threads with
 * RE:/FW: subjects and quoted history, meetings, contacts and tasks. Everything comes from one
 * SeededRandom, so the same seed and reference date give the same content.
 *
 * Built for volume: people, addresses and body paragraphs are made once and shared by
 * reference between items (nothing downstream mutates them), so a 100,000-item mailbox costs
 * little more than its item objects.
 */
import type { Attendee, Body, EmailAddress, Importance, NewAttachment, NewCalendarItem, NewContact, NewMessage, NewTask, PhoneNumberKey, TaskStatus } from '../model';
import { SeededRandom } from './random';
import {
  ALL_DAY_SUBJECTS,
  ATTACHMENT_NAMES,
  CATEGORIES,
  CITIES,
  CLOSINGS,
  DEPARTMENTS,
  EXTERNAL_COMPANIES,
  FORWARD_OPENERS,
  GIVEN_NAMES,
  GREETINGS,
  JOB_TITLES,
  MEETING_ROOMS,
  MEETING_SUBJECTS,
  MESSAGE_TOPICS,
  REPLY_OPENERS,
  SENTENCES,
  SURNAMES,
  JUNK_SUBJECTS,
  TASK_SUBJECTS,
  fillTemplate,
} from './vocabulary';

const MINUTE_IN_MS = 60_000;
const HOUR_IN_MS = 60 * MINUTE_IN_MS;
const DAY_IN_MS = 24 * HOUR_IN_MS;

const JUNK_SENDERS: readonly Person[] = ['promotions@deals.example.net', 'security-alert@account-verify.example.org', 'no-reply@parcel-tracking.example.com'].map((address) => {
  const name = address.slice(0, address.indexOf('@'));
  return Object.freeze({
    givenName: name,
    surname: '',
    displayName: name,
    address,
    company: '',
    jobTitle: '',
    department: '',
    city: '',
    businessPhone: '',
    mobilePhone: '',
    email: { name, address, routingType: 'SMTP', mailboxType: 'OneOff' as const },
  });
});

/** Someone who sends, receives, attends or is a contact. */
export interface Person {
  readonly givenName: string;
  readonly surname: string;
  readonly displayName: string;
  readonly address: string;
  readonly company: string;
  readonly jobTitle: string;
  readonly department: string;
  readonly city: string;
  readonly businessPhone: string;
  readonly mobilePhone: string;
  /** Shared EmailAddress object used in every item that names this person. */
  readonly email: EmailAddress;
}

export interface ContentGeneratorOptions {
  readonly seed: string | number;
  /** Dates are laid out relative to this instant (messages before it, meetings around it). */
  readonly referenceDate: Date;
  /** The organisation's own domain and name: colleagues get addresses there. */
  readonly organisationDomain: string;
  readonly organisationName: string;
  /** People who must appear as colleagues (e.g. the other seeded mailbox users). */
  readonly knownColleagues?: readonly Person[];
  /** How many colleagues / external people to invent. Defaults 40 / 120. */
  readonly colleagueCount?: number;
  readonly externalCount?: number;
  /** Distinct body cores to build up front. Default 400. */
  readonly bodyPoolSize?: number;
}

interface BodyCore {
  readonly text: string;
  readonly html: string;
  readonly firstParagraph: string;
}

/** One message of a thread, remembered so the next reply can quote it. */
interface ThreadMessage {
  readonly topic: string;
  readonly subject: string;
  readonly from: Person;
  readonly to: readonly Person[];
  readonly sentAt: Date;
  readonly internetMessageId: string;
  readonly core: BodyCore;
  readonly depth: number;
}

export type MessageDirection = 'received' | 'sent' | 'draft' | 'junk';

/** Makes people from names, deterministic for a given random source. */
export function makePerson(givenName: string, surname: string, domain: string, company: string, random: SeededRandom, overrides: Partial<Person> = {}): Person {
  const displayName = overrides.displayName ?? `${givenName} ${surname}`;
  const address = (overrides.address ?? `${givenName}.${surname}@${domain}`).toLowerCase().replace(/[^a-z0-9.@-]/g, '');
  const city = random.pick(CITIES);
  const phone = (): string => `${city.phonePrefix} ${random.int(100, 199).toString().padStart(4, '0')}`;
  return {
    givenName,
    surname,
    displayName,
    address,
    company,
    jobTitle: overrides.jobTitle ?? random.pick(JOB_TITLES),
    department: overrides.department ?? random.pick(DEPARTMENTS),
    city: overrides.city ?? city.city,
    businessPhone: overrides.businessPhone ?? phone(),
    mobilePhone: overrides.mobilePhone ?? phone(),
    email: { name: displayName, address, routingType: 'SMTP', mailboxType: 'Mailbox' },
  };
}

export class MailContentGenerator {
  readonly random: SeededRandom;
  readonly referenceDate: Date;
  readonly colleagues: readonly Person[];
  readonly externals: readonly Person[];
  private readonly bodyPool: readonly BodyCore[];
  private readonly attachmentPool: readonly NewAttachment[];
  private referenceCounter: number;
  private messageCounter = 0;

  constructor(options: ContentGeneratorOptions) {
    this.random = new SeededRandom(options.seed);
    this.referenceDate = options.referenceDate;
    const peopleRandom = this.random.fork('people');
    const known = options.knownColleagues ?? [];
    const knownAddresses = new Set(known.map((p) => p.address));
    this.colleagues = [
      ...known,
      ...uniquePeople(peopleRandom, options.colleagueCount ?? 40, () => [options.organisationDomain, options.organisationName], knownAddresses),
    ];
    this.externals = uniquePeople(peopleRandom, options.externalCount ?? 120, () => {
      const company = peopleRandom.pick(EXTERNAL_COMPANIES);
      return [company.domain, company.name];
    }, knownAddresses);
    const bodyRandom = this.random.fork('bodies');
    this.bodyPool = Array.from({ length: options.bodyPoolSize ?? 400 }, () => buildBodyCore(bodyRandom));
    this.attachmentPool = ATTACHMENT_NAMES.map((a, i) => ({
      name: a.name,
      contentType: a.contentType,
      content: new TextEncoder().encode(`Seeded attachment ${i + 1}: ${a.name}\n`.repeat(8)),
    }));
    this.referenceCounter = 20_000 + this.random.int(0, 9_999);
  }

  /** Anyone: a colleague or an external contact (externals twice as likely). */
  anyone(): Person {
    return this.random.chance(0.35) ? this.random.pick(this.colleagues) : this.random.pick(this.externals);
  }

  /** A new external person (for large contact folders, beyond the fixed pool). */
  inventPerson(): Person {
    const company = this.random.pick(EXTERNAL_COMPANIES);
    return makePerson(this.random.pick(GIVEN_NAMES), this.random.pick(SURNAMES), company.domain, company.name, this.random);
  }

  /** A fresh business reference like INV-20412 / PO-20413 for subjects. */
  reference(): string {
    const prefix = this.random.pick(['INV', 'PO', 'SO', 'CR', 'TCK', 'SHP', 'Q']);
    return `${prefix}-${this.referenceCounter++}`;
  }

  // ---- messages ------------------------------------------------------------------------

  /** Starts a new thread as seen by `owner`; the returned state can be continued with `reply`. */
  startThread(owner: Person, direction: MessageDirection, at: Date): { message: NewMessage; thread: ThreadMessage } {
    if (direction === 'junk') return this.junk(owner, at);
    const topic = this.topic();
    const counterpart = this.counterpart(owner);
    const [from, to] = direction === 'sent' || direction === 'draft' ? [owner, [counterpart]] : [counterpart, [owner]];
    const thread = this.threadMessage(topic, topic, from, this.withExtraRecipients(to, from), at, 0);
    return { message: this.toMessage(thread, direction, this.compose(thread, undefined, undefined)), thread };
  }

  /** The next message in a thread: a reply (RE:) most of the time, sometimes a forward (FW:). */
  reply(previous: ThreadMessage, owner: Person, direction: MessageDirection, at: Date): { message: NewMessage; thread: ThreadMessage } {
    const forward = this.random.chance(0.15);
    let from: Person;
    let to: Person[];
    if (direction === 'sent' || direction === 'draft') {
      from = owner;
      to = forward ? [this.counterpart(owner, previous.from)] : [previous.from === owner ? this.counterpart(owner) : previous.from];
    } else {
      from = previous.from === owner ? (previous.to.find((p) => p !== owner) ?? this.counterpart(owner)) : forward ? this.counterpart(owner, previous.from) : previous.from;
      to = [owner];
    }
    // Outlook writes "RE:"/"FW:"; some other mail clients outside the organisation write "Re:".
    const external = !from.address.endsWith(owner.address.slice(owner.address.indexOf('@')));
    const prefix = forward ? 'FW: ' : external && this.random.chance(0.3) ? 'Re: ' : 'RE: ';
    const subject = `${prefix}${previous.topic}`;
    const thread = this.threadMessage(previous.topic, subject, from, this.withExtraRecipients(to, from), at, previous.depth + 1);
    const opener = forward ? this.random.pick(FORWARD_OPENERS) : this.random.pick(REPLY_OPENERS);
    const message = this.toMessage(thread, direction, this.compose(thread, opener, previous));
    return { message: { ...message, ...(forward ? {} : { inReplyTo: previous.internetMessageId }) }, thread };
  }

  private junk(owner: Person, at: Date): { message: NewMessage; thread: ThreadMessage } {
    const subject = this.random.pick(JUNK_SUBJECTS);
    const sender = this.random.pick(JUNK_SENDERS);
    const thread = this.threadMessage(subject, subject, sender, [owner], at, 0);
    const body: Body = { type: 'HTML', content: `<html><body><p>${escapeHtml(subject)}!</p><p>Click <a href="http://offers.example.net/">here</a> to claim it before it expires.</p></body></html>` };
    return { message: { ...this.toMessage(thread, 'junk', body), importance: 'High', categories: [] }, thread };
  }

  private topic(): string {
    const template = this.random.pick(MESSAGE_TOPICS);
    return fillTemplate(template, { ref: this.reference(), company: this.random.pick(EXTERNAL_COMPANIES).name });
  }

  private counterpart(owner: Person, not?: Person): Person {
    for (let attempt = 0; attempt < 8; attempt++) {
      const candidate = this.anyone();
      if (candidate !== owner && candidate !== not) return candidate;
    }
    return this.externals[0]!;
  }

  private withExtraRecipients(to: Person[], from: Person): Person[] {
    if (!this.random.chance(0.25)) return to;
    const extra = this.random.pick(this.colleagues);
    return extra === from || to.includes(extra) ? to : [...to, extra];
  }

  private threadMessage(topic: string, subject: string, from: Person, to: readonly Person[], at: Date, depth: number): ThreadMessage {
    const sentAt = new Date(at.getTime() - this.random.int(2, 240) * 1000);
    const domain = from.address.slice(from.address.indexOf('@') + 1);
    return { topic, subject, from, to, sentAt, internetMessageId: `<${(++this.messageCounter).toString(36).toUpperCase()}.${this.random.hex(16)}@${domain}>`, core: this.random.pick(this.bodyPool), depth };
  }

  private compose(thread: ThreadMessage, opener: string | undefined, quoted: ThreadMessage | undefined): Body {
    const first = thread.to[0]?.givenName ?? 'all';
    const greeting = fillTemplate(this.random.pick(GREETINGS), { first });
    const closing = `${this.random.pick(CLOSINGS)}\n${thread.from.givenName}`;
    const html = this.random.chance(0.7);
    if (!html) {
      const lead = opener ? `${opener}\n\n` : '';
      const history = quoted ? `\n\n${quoteHeaderText(quoted)}\n\n${quoted.core.text}` : '';
      return { type: 'Text', content: `${greeting}\n\n${lead}${thread.core.text}\n\n${closing}${history}` };
    }
    const lead = opener ? `<p>${escapeHtml(opener)}</p>` : '';
    const history = quoted ? `<hr><div>${quoteHeaderHtml(quoted)}</div>${quoted.core.html}` : '';
    return {
      type: 'HTML',
      content:
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><div>' +
        `<p>${escapeHtml(greeting)}</p>${lead}${thread.core.html}<p>${escapeHtml(closing).replace('\n', '<br>')}</p>${history}</div></body></html>`,
    };
  }

  private toMessage(thread: ThreadMessage, direction: MessageDirection, body: Body): NewMessage {
    const receivedAt = new Date(thread.sentAt.getTime() + this.random.int(1, 90) * 1000);
    const age = this.referenceDate.getTime() - receivedAt.getTime();
    const isDraft = direction === 'draft';
    return {
      kind: 'message',
      subject: thread.subject,
      body,
      from: thread.from.email,
      sender: thread.from.email,
      toRecipients: thread.to.map((p) => p.email),
      ccRecipients: this.random.chance(0.15) ? [this.random.pick(this.colleagues).email] : [],
      importance: this.importance(),
      categories: this.random.chance(0.12) ? [this.random.pick(CATEGORIES)] : [],
      internetMessageId: thread.internetMessageId,
      dateTimeCreated: isDraft ? receivedAt : thread.sentAt,
      dateTimeReceived: receivedAt,
      ...(isDraft ? {} : { dateTimeSent: thread.sentAt }),
      // Recent mail is more likely unread; what the owner sent is read.
      isRead: direction === 'sent' || isDraft || this.random.chance(age > 3 * DAY_IN_MS ? 0.97 : 0.55),
      isDraft,
      ...(this.random.chance(0.06) ? { attachments: [this.random.pick(this.attachmentPool)] } : {}),
    };
  }

  private importance(): Importance {
    return this.random.weighted<Importance>([['Normal', 90], ['High', 7], ['Low', 3]]);
  }

  // ---- calendar ------------------------------------------------------------------------

  /** A meeting (or an all-day event) starting around `day`, organised by the owner or a colleague. */
  meeting(owner: Person, day: Date): NewCalendarItem {
    const allDay = this.random.chance(0.08);
    const company = this.random.pick(EXTERNAL_COMPANIES).name;
    const dayStart = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
    if (allDay) {
      const days = this.random.weighted([[1, 6], [2, 2], [3, 1]]);
      return {
        kind: 'calendarItem',
        subject: this.random.pick(ALL_DAY_SUBJECTS),
        body: { type: 'Text', content: '' },
        start: new Date(dayStart),
        end: new Date(dayStart + days * DAY_IN_MS),
        isAllDayEvent: true,
        location: this.random.chance(0.5) ? this.random.pick(CITIES).city : '',
        organizer: owner.email,
        legacyFreeBusyStatus: this.random.pick(['Free', 'OOF', 'Busy'] as const),
        dateTimeCreated: new Date(dayStart - this.random.int(3, 40) * DAY_IN_MS),
      };
    }
    const startHour = this.random.int(8, 16);
    const startMinute = this.random.pick([0, 0, 0, 30, 15, 45]);
    const durationInMinutes = this.random.weighted([[30, 40], [60, 40], [90, 10], [120, 7], [15, 3]]);
    const start = new Date(dayStart + startHour * HOUR_IN_MS + startMinute * MINUTE_IN_MS);
    const organizer = this.random.chance(0.5) ? owner : this.random.pick(this.colleagues);
    const attendees = this.random.sample([...this.colleagues, ...this.externals.slice(0, 12)], this.random.int(1, 6)).filter((p) => p !== organizer && p !== owner);
    const subject = fillTemplate(this.random.pick(MEETING_SUBJECTS), { company, role: this.random.pick(JOB_TITLES), name: this.random.pick(this.colleagues).givenName });
    const required: Attendee[] = [owner, ...attendees].filter((p) => p !== organizer).map((p) => ({ mailbox: p.email, responseType: this.responseType() }));
    const optional: Attendee[] = this.random.chance(0.3) ? [{ mailbox: this.random.pick(this.colleagues).email, responseType: 'NoResponseReceived' }] : [];
    const location = this.random.pick(MEETING_ROOMS);
    const teams = location === 'Microsoft Teams Meeting';
    const agenda = this.random.pick(this.bodyPool);
    return {
      kind: 'calendarItem',
      subject,
      body: { type: 'Text', content: `Agenda:\n${agenda.firstParagraph}${teams ? '\n\n________________________________\nMicrosoft Teams meeting\nJoin on your computer, mobile app or room device' : ''}` },
      start,
      end: new Date(start.getTime() + durationInMinutes * MINUTE_IN_MS),
      isAllDayEvent: false,
      location,
      organizer: organizer.email,
      requiredAttendees: [{ mailbox: organizer.email, responseType: 'Organizer' }, ...required],
      optionalAttendees: optional,
      legacyFreeBusyStatus: this.random.weighted([['Busy', 85], ['Tentative', 10], ['Free', 5]]),
      uid: `040000008200E00074C5B7101A82E008000000000000000000000000000000000${this.random.hex(32).toUpperCase()}`,
      isCancelled: this.random.chance(0.03),
      importance: this.importance(),
      categories: this.random.chance(0.1) ? [this.random.pick(CATEGORIES)] : [],
      dateTimeCreated: new Date(start.getTime() - this.random.int(1, 30) * DAY_IN_MS),
    };
  }

  private responseType(): Attendee['responseType'] {
    return this.random.weighted<NonNullable<Attendee['responseType']>>([['Accept', 60], ['Tentative', 10], ['Decline', 8], ['NoResponseReceived', 22]]);
  }

  // ---- contacts ------------------------------------------------------------------------

  /** A contact card for someone (a colleague or external person). */
  contact(person: Person = this.anyone()): NewContact {
    const phoneNumbers: { key: PhoneNumberKey; number: string }[] = [{ key: 'BusinessPhone', number: person.businessPhone }];
    if (this.random.chance(0.7)) phoneNumbers.push({ key: 'MobilePhone', number: person.mobilePhone });
    if (this.random.chance(0.1)) phoneNumbers.push({ key: 'BusinessFax', number: person.businessPhone.replace(/\d$/, '9') });
    return {
      kind: 'contact',
      givenName: person.givenName,
      surname: person.surname,
      displayName: person.displayName,
      fileAs: `${person.surname}, ${person.givenName}`,
      companyName: person.company,
      jobTitle: person.jobTitle,
      department: person.department,
      emailAddresses: [{ key: 'EmailAddress1', address: person.address, name: person.displayName }],
      phoneNumbers,
      body: { type: 'Text', content: this.random.chance(0.3) ? `Met at ${this.random.pick(['the trade fair', 'the QBR', 'a customer visit', 'the partner summit'])} in ${person.city}.` : '' },
      categories: this.random.chance(0.1) ? ['Customer'] : [],
    };
  }

  // ---- tasks ---------------------------------------------------------------------------

  /** A task created around `createdAt`, with a due date and a status consistent with it. */
  task(createdAt: Date): NewTask {
    const subject = fillTemplate(this.random.pick(TASK_SUBJECTS), {
      quarter: String(this.random.int(1, 4)),
      company: this.random.pick(EXTERNAL_COMPANIES).name,
      ref: this.reference(),
      city: this.random.pick(CITIES).city,
      name: this.random.pick(this.colleagues).givenName,
    });
    const dueDate = new Date(Date.UTC(createdAt.getUTCFullYear(), createdAt.getUTCMonth(), createdAt.getUTCDate()) + this.random.int(1, 21) * DAY_IN_MS);
    const overdue = dueDate.getTime() < this.referenceDate.getTime();
    const status: TaskStatus = overdue
      ? this.random.weighted<TaskStatus>([['Completed', 75], ['InProgress', 12], ['NotStarted', 8], ['Deferred', 5]])
      : this.random.weighted<TaskStatus>([['NotStarted', 50], ['InProgress', 30], ['WaitingOnOthers', 10], ['Completed', 10]]);
    const percentComplete = status === 'Completed' ? 100 : status === 'InProgress' ? this.random.pick([10, 25, 50, 75]) : 0;
    const completeDate = status === 'Completed' ? new Date(Math.min(dueDate.getTime(), this.referenceDate.getTime()) - this.random.int(0, 2) * DAY_IN_MS) : undefined;
    return {
      kind: 'task',
      subject,
      body: { type: 'Text', content: this.random.chance(0.5) ? this.random.pick(this.bodyPool).firstParagraph : '' },
      startDate: new Date(Date.UTC(createdAt.getUTCFullYear(), createdAt.getUTCMonth(), createdAt.getUTCDate())),
      dueDate,
      status,
      percentComplete,
      ...(completeDate ? { completeDate } : {}),
      importance: this.importance(),
      dateTimeCreated: createdAt,
    };
  }
}

function uniquePeople(random: SeededRandom, count: number, where: () => [domain: string, company: string], taken: Set<string>): Person[] {
  const people: Person[] = [];
  for (let attempt = 0; people.length < count && attempt < count * 20; attempt++) {
    const [domain, company] = where();
    const person = makePerson(random.pick(GIVEN_NAMES), random.pick(SURNAMES), domain, company, random);
    if (taken.has(person.address)) continue;
    taken.add(person.address);
    people.push(person);
  }
  return people;
}

function buildBodyCore(random: SeededRandom): BodyCore {
  const paragraphs = Array.from({ length: random.weighted([[1, 3], [2, 5], [3, 3], [4, 1]]) }, () => random.sample(SENTENCES, random.int(2, 4)).join(' '));
  return {
    text: paragraphs.join('\n\n'),
    html: paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join(''),
    firstParagraph: paragraphs[0]!,
  };
}

function quoteHeaderText(quoted: ThreadMessage): string {
  return [
    '-----Original Message-----',
    `From: ${quoted.from.displayName} <${quoted.from.address}>`,
    `Sent: ${quoted.sentAt.toUTCString()}`,
    `To: ${quoted.to.map((p) => p.displayName).join('; ')}`,
    `Subject: ${quoted.subject}`,
  ].join('\n');
}

function quoteHeaderHtml(quoted: ThreadMessage): string {
  return (
    `<b>From:</b> ${escapeHtml(quoted.from.displayName)} &lt;${escapeHtml(quoted.from.address)}&gt;<br>` +
    `<b>Sent:</b> ${escapeHtml(quoted.sentAt.toUTCString())}<br><b>To:</b> ${escapeHtml(quoted.to.map((p) => p.displayName).join('; '))}<br>` +
    `<b>Subject:</b> ${escapeHtml(quoted.subject)}`
  );
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export type { ThreadMessage };
