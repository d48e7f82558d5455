/**
 * MAPI properties addressed by tag (`<t:ExtendedFieldURI PropertyTag="0x3613" PropertyType="String"/>`),
 * as widely used EWS clients ask for them: folder counts and classes to build a folder tree, and
 * item tags (article number, size, flags, Internet message id) to sort and restrict a view.
 *
 * Values are derived from the store's model, never stored twice, so a property always agrees
 * with the EWS field that shows the same fact (PR_CONTENT_COUNT with TotalCount, PR_MESSAGE_FLAGS
 * with IsRead, ...). A tag the simulator does not model is absent, as an unset property is in
 * Exchange: GetItem/GetFolder omit it, Exists is false, IsNotEqualTo matches.
 */
import { decodeId } from './ids';
import type { EwsStore, Folder, Item, StoredExtendedProperty } from './model';
import { EwsError } from './soap';
import { attr, child, children, esc, xmlDate, type Element } from './xml';

/** The MAPI property types the simulator reads and writes (MapiPropertyTypeType subset). */
export type MapiType = 'Integer' | 'Long' | 'Short' | 'Boolean' | 'String' | 'SystemTime';

export type PropertyValue = number | boolean | string | Date;

/**
 * One ExtendedFieldURI, normalised. `key` identifies the property however the request spelled
 * it (tag in hex or decimal, property set by name or GUID); `tag` is set for the PropertyTag form.
 */
export interface ExtendedPath {
  readonly key: string;
  readonly tag?: number;
  readonly type: string;
  /** The ExtendedFieldURI element to write back in answers (attributes escaped). */
  readonly xml: string;
}

export interface FolderFacts {
  readonly total: number;
  readonly unread: number;
  readonly children: number;
}

interface Definition<T> {
  /** The types Exchange answers the property with; a request naming another type gets no value. */
  readonly types: readonly MapiType[];
  value(target: T, store: EwsStore, facts: FolderFacts): PropertyValue | undefined;
}

/** The item's size in bytes as item:Size, PR_MESSAGE_SIZE and restrictions all report it. */
export function itemSize(item: Item): number {
  let size = 200 + Buffer.byteLength(item.subject) + Buffer.byteLength(item.body.content);
  for (const a of item.attachments) size += a.content.byteLength + Buffer.byteLength(a.name);
  return size;
}

/** MSGFLAG_* bits Exchange keeps in PR_MESSAGE_FLAGS (MS-OXCMSG 2.2.1.6). */
const MSGFLAG_READ = 0x1;
const MSGFLAG_UNSENT = 0x8;
const MSGFLAG_HASATTACH = 0x10;
const MSGFLAG_FROMME = 0x20;

function messageFlags(item: Item): number {
  let flags = 0;
  // Only messages have a read state in the simulator; Exchange shows other items as read.
  if (item.kind !== 'message' || item.isRead) flags |= MSGFLAG_READ;
  if (item.kind === 'message' && item.isDraft) flags |= MSGFLAG_UNSENT;
  if (item.attachments.some((a) => !a.isInline)) flags |= MSGFLAG_HASATTACH;
  if (item.kind === 'message' && item.from?.address.toLowerCase() === item.mailbox) flags |= MSGFLAG_FROMME;
  return flags;
}

const ITEM_PROPERTIES: ReadonlyMap<number, Definition<Item>> = new Map<number, Definition<Item>>([
  // PR_INTERNET_ARTICLE_NUMBER: grows with every item created in the store; the id's counter is exactly that.
  [0x0e23, { types: ['Integer'], value: (item) => decodeId(item.id)?.number }],
  // PR_MESSAGE_SIZE (Integer) and PR_MESSAGE_SIZE_EXTENDED (Long) share the id.
  [0x0e08, { types: ['Integer', 'Long'], value: (item) => itemSize(item) }],
  [0x0e07, { types: ['Integer'], value: (item) => messageFlags(item) }],
  [0x1035, { types: ['String'], value: (item) => item.internetMessageId }],
  // PR_LAST_VERB_EXECUTED: the simulator models no replies/forwards, so it is unset on every item.
  // PR_FLAG_STATUS (0x1090) is not computed: clients set follow-up flags through it (MS-OXOFLAG),
  // so it is a client property, unset until a client sets it.
  [0x1081, { types: ['Integer'], value: () => undefined }],
  [0x0037, { types: ['String'], value: (item) => item.subject }],
  [0x001a, { types: ['String'], value: (item) => item.itemClass }],
  [0x0e06, { types: ['SystemTime'], value: (item) => item.dateTimeReceived }],
  [0x3008, { types: ['SystemTime'], value: (item) => item.lastModifiedTime }],
]);

function folderSize(folder: Folder, store: EwsStore): number {
  let size = 0;
  for (const item of store.folderItems(folder)) size += itemSize(item);
  return size;
}

function lastCommit(folder: Folder, store: EwsStore): Date | undefined {
  let latest: Date | undefined;
  for (const item of store.folderItems(folder)) if (!latest || item.lastModifiedTime > latest) latest = item.lastModifiedTime;
  return latest;
}

const FOLDER_PROPERTIES: ReadonlyMap<number, Definition<Folder>> = new Map<number, Definition<Folder>>([
  [0x360a, { types: ['Boolean'], value: (_f, _s, facts) => facts.children > 0 }],
  [0x3613, { types: ['String'], value: (folder) => folder.folderClass || undefined }],
  [0x3602, { types: ['Integer'], value: (_f, _s, facts) => facts.total }],
  [0x3603, { types: ['Integer'], value: (_f, _s, facts) => facts.unread }],
  [0x6638, { types: ['Integer'], value: (_f, _s, facts) => facts.children }],
  [0x0e08, { types: ['Long', 'Integer'], value: (folder, store) => folderSize(folder, store) }],
  [0x10f4, { types: ['Boolean'], value: (folder) => folder.hidden }],
  // PR_URL_COMP_NAME: the folder's URL segment; Exchange derives it from the display name.
  [0x10f3, { types: ['String'], value: (folder) => folder.displayName }],
  [0x670a, { types: ['SystemTime'], value: (folder, store) => lastCommit(folder, store) }],
  [0x670b, { types: ['Integer'], value: (folder) => folder.changeLog.reduce((n, c) => (c.kind === 'delete' ? n + 1 : n), 0) }],
  [0x3001, { types: ['String'], value: (folder) => folder.displayName }],
]);

/** Re-serialises a path element for an error's MessageXml (attributes escaped, no children). */
export function pathXml(element: Element): string {
  const name = element.localName ?? 'FieldURI';
  const attributes: string[] = [];
  for (let i = 0; i < element.attributes.length; i++) {
    const a = element.attributes.item(i)!;
    if (a.name.startsWith('xmlns')) continue;
    attributes.push(`${a.localName ?? a.name}="${esc(a.value)}"`);
  }
  return `<t:${name}${attributes.length ? ' ' + attributes.join(' ') : ''}/>`;
}

/** DistinguishedPropertySetId values and their GUIDs (MS-OXPROPS 1.3.2), so either spelling names one property. */
const PROPERTY_SETS: Readonly<Record<string, string>> = {
  PublicStrings: '00020329-0000-0000-c000-000000000046',
  Common: '00062008-0000-0000-c000-000000000046',
  Address: '00062004-0000-0000-c000-000000000046',
  Appointment: '00062002-0000-0000-c000-000000000046',
  Task: '00062003-0000-0000-c000-000000000046',
  InternetHeaders: '00020386-0000-0000-c000-000000000046',
  Meeting: '6ed8da90-450b-101b-98da-00aa003f1305',
  Sharing: '00062040-0000-0000-c000-000000000046',
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads an ExtendedFieldURI in either form the schema allows: PropertyTag, or a property set
 * (DistinguishedPropertySetId or PropertySetId) with PropertyName or PropertyId. Any other
 * combination is ErrorInvalidPropertyRequest, as in Exchange.
 */
export function readExtendedPath(element: Element): ExtendedPath {
  const type = attr(element, 'PropertyType') ?? '';
  const rawTag = attr(element, 'PropertyTag');
  const setName = attr(element, 'DistinguishedPropertySetId');
  const setGuid = attr(element, 'PropertySetId');
  const name = attr(element, 'PropertyName');
  const id = attr(element, 'PropertyId');
  if (rawTag !== undefined) {
    if (setName !== undefined || setGuid !== undefined || name !== undefined || id !== undefined) throw new EwsError('ErrorInvalidPropertyRequest', 'PropertyTag cannot be combined with a property set.');
    const tag = /^0x[0-9a-f]{1,4}$/i.test(rawTag) ? parseInt(rawTag.slice(2), 16) : /^\d{1,5}$/.test(rawTag) ? Number(rawTag) : Number.NaN;
    if (!(tag >= 0 && tag <= 0xffff)) throw new EwsError('ErrorInvalidPropertyRequest', `'${rawTag}' is not a valid property tag.`);
    return { key: `tag:${tag}`, tag, type, xml: `<t:ExtendedFieldURI PropertyTag="${tagText(tag)}" PropertyType="${esc(type)}"/>` };
  }
  if ((setName === undefined) === (setGuid === undefined) || (name === undefined) === (id === undefined)) {
    throw new EwsError('ErrorInvalidPropertyRequest', 'An extended property needs a PropertyTag, or one property set with a PropertyName or PropertyId.');
  }
  if (setGuid !== undefined && !GUID.test(setGuid)) throw new EwsError('ErrorInvalidPropertyRequest', `'${setGuid}' is not a GUID.`);
  if (setName !== undefined && !PROPERTY_SETS[setName]) throw new EwsError('ErrorInvalidPropertyRequest', `'${setName}' is not a property set the simulator knows.`);
  const set = setName !== undefined ? PROPERTY_SETS[setName]! : setGuid!.toLowerCase();
  const member = name !== undefined ? `name:${name}` : `id:${Number(id)}`;
  return { key: `${set}|${member}`, type, xml: pathXml(element) };
}

export function itemProperty(item: Item, path: ExtendedPath, store: EwsStore): PropertyValue | readonly string[] | undefined {
  const derived = path.tag !== undefined ? ITEM_PROPERTIES.get(path.tag) : undefined;
  if (derived && derived.types.includes(path.type as MapiType)) return derived.value(item, store, { total: 0, unread: 0, children: 0 });
  const stored = item.extendedProperties?.find((p) => p.key === path.key && p.type === path.type);
  return stored?.value;
}

export function folderProperty(folder: Folder, facts: FolderFacts, path: ExtendedPath, store: EwsStore): PropertyValue | undefined {
  const definition = path.tag !== undefined ? FOLDER_PROPERTIES.get(path.tag) : undefined;
  if (!definition || !definition.types.includes(path.type as MapiType)) return undefined;
  return definition.value(folder, store, facts);
}

/** Reads `<t:ExtendedProperty>` children of an item element (CreateItem, SetItemField). */
export function readStoredProperties(itemElement: Element): StoredExtendedProperty[] {
  return children(itemElement, 'ExtendedProperty').map((element) => {
    const pathElement = child(element, 'ExtendedFieldURI');
    if (!pathElement) throw new EwsError('ErrorInvalidPropertyRequest', 'ExtendedProperty needs an ExtendedFieldURI.');
    const path = readExtendedPath(pathElement);
    if (path.tag !== undefined && ITEM_PROPERTIES.has(path.tag)) throw new EwsError('ErrorInvalidPropertySet', `The property ${tagText(path.tag)} is computed by the store and cannot be set.`);
    const values = child(element, 'Values');
    const value = values ? children(values, 'Value').map((v) => v.textContent ?? '') : (child(element, 'Value')?.textContent ?? '');
    if (Array.isArray(value) !== path.type.endsWith('Array')) throw new EwsError('ErrorInvalidValueForProperty', `A ${path.type} property needs ${path.type.endsWith('Array') ? 'Values' : 'a single Value'}.`);
    if (!Array.isArray(value)) constantFor(path.type, value as string);
    return { key: path.key, type: path.type, pathXml: path.xml, value };
  });
}

/** The tag as Exchange writes it back: lower-case hex without leading zeros. */
function tagText(tag: number): string {
  return '0x' + tag.toString(16);
}

function valueText(value: PropertyValue): string {
  if (value instanceof Date) return xmlDate(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

/** `<t:ExtendedProperty>` elements for the paths that have a value (absent ones are omitted). */
export function extendedPropertiesXml(paths: readonly ExtendedPath[], valueOf: (path: ExtendedPath) => PropertyValue | readonly string[] | undefined): string {
  let out = '';
  for (const path of paths) {
    const value = valueOf(path);
    if (value === undefined) continue;
    const content = isMultiValued(value) ? `<t:Values>${value.map((v) => `<t:Value>${esc(v)}</t:Value>`).join('')}</t:Values>` : `<t:Value>${esc(valueText(value))}</t:Value>`;
    out += `<t:ExtendedProperty>${path.xml}${content}</t:ExtendedProperty>`;
  }
  return out;
}

function isMultiValued(value: PropertyValue | readonly string[]): value is readonly string[] {
  return Array.isArray(value);
}

/**
 * A comparable form of a property value for restrictions and sorts: dates as epoch ms, stored
 * strings parsed by their MAPI type, multi-valued ones joined with NUL (as categories are).
 */
export function comparable(value: PropertyValue | readonly string[] | undefined, type: string): string | number | boolean | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) return value.getTime();
  if (isMultiValued(value)) return value.join('\u0000');
  if (typeof value === 'string' && type !== 'String') return constantFor(type, value);
  return value;
}

/** Parses a restriction constant for a property of `type`. */
export function constantFor(type: string, raw: string): string | number | boolean {
  switch (type) {
    case 'Integer':
    case 'Long':
    case 'Short': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new EwsError('ErrorInvalidValueForProperty', `'${raw}' is not a valid ${type} value.`);
      return n;
    }
    case 'Boolean':
      return raw.trim().toLowerCase() === 'true' || raw.trim() === '1';
    case 'SystemTime': {
      const time = new Date(raw).getTime();
      if (Number.isNaN(time)) throw new EwsError('ErrorInvalidValueForProperty', `'${raw}' is not a valid date.`);
      return time;
    }
    default:
      return raw;
  }
}
