/**
 * Bulk-fills one folder of a mailbox with realistic, deterministic items (messages with
 * threads, meetings, contacts or tasks, chosen by the folder's class). Made for volume:
 * 100,000 items take seconds, because content is drawn from pools built once per generator.
 */
import type { EwsStore, Folder, FolderRef, ItemKind, Mailbox, NewItem } from '../model';
import { MailContentGenerator, makePerson, type MessageDirection, type Person, type ThreadMessage } from './content';
import { SeededRandom } from './random';

const DAY_IN_MS = 24 * 60 * 60 * 1000;

/** The default reference date of fillMailbox: fixed, so a seed alone decides the content. */
export const DEFAULT_FILL_REFERENCE_DATE = new Date('2025-03-03T09:00:00.000Z');

export interface FillMailboxOptions {
  /** How many items to create. */
  readonly count: number;
  readonly seed: string | number;
  /** Target folder; defaults to the Inbox. Its folder class decides the item kind. */
  readonly folder?: FolderRef;
  /** Items are dated relative to this (messages before it, meetings around it). Default DEFAULT_FILL_REFERENCE_DATE. */
  readonly referenceDate?: Date;
  /** How many days the items span. Default: about 60 messages a day, at least 30 days. */
  readonly spanInDays?: number;
  /** Reuse one generator (and its people and text pools) across several fills. */
  readonly generator?: MailContentGenerator;
}

export interface FillSummary {
  readonly mailbox: string;
  readonly folderId: string;
  readonly kind: ItemKind;
  readonly created: number;
  readonly firstItemId: string | undefined;
  readonly lastItemId: string | undefined;
}

/** How many threads stay open for replies at once; older ones are closed. */
const OPEN_THREAD_LIMIT = 25;
const REPLY_PROBABILITY = 0.35;
const MAX_THREAD_DEPTH = 7;

/** Fills a folder with `count` items; the same seed, reference date and store state give the same items. */
export function fillMailbox(store: EwsStore, mailbox: string, options: FillMailboxOptions): FillSummary {
  if (!Number.isInteger(options.count) || options.count < 0) throw new RangeError('count must be a non-negative integer');
  const box = store.getMailbox(mailbox);
  if (!box) throw new RangeError(`no mailbox ${mailbox}`);
  const folder = store.getFolder(box.smtpAddress, options.folder ?? { distinguished: 'inbox' });
  const referenceDate = options.referenceDate ?? options.generator?.referenceDate ?? DEFAULT_FILL_REFERENCE_DATE;
  const generator = options.generator ?? generatorForMailbox(store, box, options.seed, referenceDate);
  const owner = ownerPerson(generator, box);
  const kind = kindForFolder(folder);
  const spanInDays = options.spanInDays ?? Math.max(30, Math.ceil(options.count / 60));
  const items = itemStream(generator, owner, folder, kind, options.count, referenceDate, spanInDays);

  let firstItemId: string | undefined;
  let lastItemId: string | undefined;
  let created = 0;
  for (const item of items) {
    lastItemId = store.createItem(box.smtpAddress, folder.id, item).id;
    firstItemId ??= lastItemId;
    created++;
  }
  return { mailbox: box.smtpAddress, folderId: folder.id, kind, created, firstItemId, lastItemId };
}

/** A generator whose colleagues live in the mailbox's domain and include the mailbox owner. */
export function generatorForMailbox(store: EwsStore, box: Mailbox, seed: string | number, referenceDate: Date): MailContentGenerator {
  const domain = box.smtpAddress.slice(box.smtpAddress.indexOf('@') + 1);
  const organisation = store.getOrganisation(box.organisationId);
  return new MailContentGenerator({
    seed,
    referenceDate,
    organisationDomain: domain,
    organisationName: organisation?.name ?? domain,
    knownColleagues: [personForMailbox(box, organisation?.name ?? domain, seed)],
  });
}

/** The Person a mailbox's owner appears as in its own items. */
export function personForMailbox(box: Mailbox, organisationName: string, seed: string | number): Person {
  // Shared, room and equipment mailboxes are addressed by their whole name ("Hi Contoso Dispatch,").
  const [given = box.displayName, ...rest] = box.kind === 'user' ? box.displayName.split(' ') : [box.displayName];
  return makePerson(given, rest.join(' '), box.smtpAddress.slice(box.smtpAddress.indexOf('@') + 1), organisationName, new SeededRandom(`${seed}:${box.smtpAddress}`), {
    address: box.smtpAddress,
    displayName: box.displayName,
    ...(box.attributes.department ? { department: box.attributes.department } : {}),
    ...(box.attributes.city ? { city: box.attributes.city } : {}),
  });
}

function ownerPerson(generator: MailContentGenerator, box: Mailbox): Person {
  return generator.colleagues.find((p) => p.address === box.smtpAddress) ?? personForMailbox(box, box.organisationId, 'owner');
}

export function kindForFolder(folder: Folder): ItemKind {
  if (folder.folderClass.startsWith('IPF.Appointment')) return 'calendarItem';
  if (folder.folderClass.startsWith('IPF.Contact')) return 'contact';
  if (folder.folderClass.startsWith('IPF.Task')) return 'task';
  return 'message';
}

function directionForFolder(folder: Folder): MessageDirection {
  switch (folder.distinguishedName) {
    case 'sentitems':
    case 'outbox':
      return 'sent';
    case 'drafts':
      return 'draft';
    case 'junkemail':
      return 'junk';
    default:
      return 'received';
  }
}

/** Lazily yields the items so a 100k fill never holds them all as inputs at once. */
function* itemStream(generator: MailContentGenerator, owner: Person, folder: Folder, kind: ItemKind, count: number, referenceDate: Date, spanInDays: number): Generator<NewItem> {
  const random = generator.random;
  const spanInMs = spanInDays * DAY_IN_MS;
  const stepInMs = count > 0 ? spanInMs / count : 0;
  // Messages and tasks lie in the past; meetings are centred on the reference date.
  const start = referenceDate.getTime() - (kind === 'calendarItem' ? spanInMs / 2 : spanInMs);
  const at = (i: number): Date => new Date(Math.round(start + (i + random.next()) * stepInMs));
  switch (kind) {
    case 'message':
      yield* messages(generator, owner, directionForFolder(folder), count, at);
      return;
    case 'calendarItem':
      for (let i = 0; i < count; i++) yield generator.meeting(owner, at(i));
      return;
    case 'contact':
      for (let i = 0; i < count; i++) yield generator.contact(contactPerson(generator, i));
      return;
    case 'task':
      for (let i = 0; i < count; i++) yield generator.task(at(i));
      return;
  }
}

function* messages(generator: MailContentGenerator, owner: Person, direction: MessageDirection, count: number, at: (i: number) => Date): Generator<NewItem> {
  const random = generator.random;
  const open: ThreadMessage[] = [];
  for (let i = 0; i < count; i++) {
    const continuing = direction !== 'junk' && open.length > 0 && random.chance(REPLY_PROBABILITY);
    if (continuing) {
      const index = random.int(0, open.length - 1);
      const next = generator.reply(open[index]!, owner, direction, at(i));
      if (next.thread.depth >= MAX_THREAD_DEPTH) open.splice(index, 1);
      else open[index] = next.thread;
      yield next.message;
      continue;
    }
    const started = generator.startThread(owner, direction, at(i));
    if (direction !== 'junk') {
      open.push(started.thread);
      if (open.length > OPEN_THREAD_LIMIT) open.shift();
    }
    yield started.message;
  }
}

/** Contacts: first everyone the generator knows, then invented people (so large fills stay varied). */
function contactPerson(generator: MailContentGenerator, index: number): Person {
  const known = generator.externals.length + generator.colleagues.length;
  if (index < generator.externals.length) return generator.externals[index]!;
  if (index < known) return generator.colleagues[index - generator.externals.length]!;
  return generator.inventPerson();
}
