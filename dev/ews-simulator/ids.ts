/**
 * Opaque EWS identifiers. Exchange ids are base64 blobs that clients must treat as opaque; ours
 * encode a kind tag, the owning mailbox and a store-wide counter, so they are stable, unique and
 * reversible (ConvertId and malformed-id detection need that), while looking like base64 blobs.
 */

export type IdKind = 'item' | 'folder' | 'attachment';

const KIND_TAG: Record<IdKind, number> = { item: 0x49, folder: 0x46, attachment: 0x41 };
const MAGIC = 0x00;
const VERSION = 0x03;

export interface DecodedId {
  readonly kind: IdKind;
  readonly mailbox: string;
  readonly number: number;
}

/** Encodes an id: [0x00 0x03 tag] [mailbox utf8] [0x00] [counter u32be] [checksum u8]. */
export function encodeId(kind: IdKind, mailbox: string, number: number): string {
  const address = Buffer.from(mailbox, 'utf8');
  const bytes = Buffer.alloc(3 + address.length + 1 + 4 + 1);
  bytes[0] = MAGIC;
  bytes[1] = VERSION;
  bytes[2] = KIND_TAG[kind];
  address.copy(bytes, 3);
  bytes[3 + address.length] = 0;
  bytes.writeUInt32BE(number >>> 0, 4 + address.length);
  bytes[bytes.length - 1] = checksum(bytes, bytes.length - 1);
  return bytes.toString('base64');
}

/** Decodes an id; undefined when it is not one of ours (EWS: ErrorInvalidIdMalformed). */
export function decodeId(id: string): DecodedId | undefined {
  if (id.length < 12 || !/^[A-Za-z0-9+/]+={0,2}$/.test(id)) return undefined;
  const bytes = Buffer.from(id, 'base64');
  if (bytes.length < 10 || bytes[0] !== MAGIC || bytes[1] !== VERSION) return undefined;
  if (bytes[bytes.length - 1] !== checksum(bytes, bytes.length - 1)) return undefined;
  const kind = (Object.keys(KIND_TAG) as IdKind[]).find((k) => KIND_TAG[k] === bytes[2]);
  if (!kind) return undefined;
  const end = bytes.indexOf(0, 3);
  if (end < 0 || end + 6 !== bytes.length) return undefined;
  return { kind, mailbox: bytes.subarray(3, end).toString('utf8'), number: bytes.readUInt32BE(end + 1) };
}

function checksum(bytes: Uint8Array, length: number): number {
  let sum = 0x5a;
  for (let i = 0; i < length; i++) sum = (sum * 31 + bytes[i]!) & 0xff;
  return sum;
}

/** A ChangeKey: changes whenever the object's version changes. */
export function encodeChangeKey(number: number, version: number): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32LE(0x09, 0);
  bytes.writeUInt32LE(0x16, 4);
  bytes.writeUInt32LE(number >>> 0, 8);
  bytes.writeUInt32LE(version >>> 0, 12);
  return bytes.toString('base64');
}

/** The version a ChangeKey names, or undefined if it is not one of ours. */
export function changeKeyVersion(changeKey: string): number | undefined {
  const bytes = Buffer.from(changeKey, 'base64');
  if (bytes.length !== 16 || bytes.readUInt32LE(0) !== 0x09) return undefined;
  return bytes.readUInt32LE(12);
}

/**
 * A MAPI-style entry id for ConvertId (EntryId/HexEntryId/StoreId formats): 24 bytes
 * [flags u32 = 0][provider uid 16 bytes derived from the mailbox][counter u32be], with the kind in
 * the provider uid's last byte. Together with the mailbox it maps back to the EWS id.
 */
export function encodeEntryId(decoded: DecodedId): Buffer {
  const bytes = Buffer.alloc(24);
  const uid = Buffer.from(decoded.mailbox, 'utf8');
  for (let i = 0; i < 15; i++) bytes[4 + i] = uid.length ? uid[i % uid.length]! ^ (0x5c + i) : 0x5c + i;
  bytes[19] = KIND_TAG[decoded.kind];
  bytes.writeUInt32BE(decoded.number >>> 0, 20);
  return bytes;
}

export function decodeEntryId(bytes: Buffer, mailbox: string): DecodedId | undefined {
  if (bytes.length !== 24) return undefined;
  const expected = encodeEntryId({ kind: 'item', mailbox, number: 0 });
  if (!bytes.subarray(0, 19).equals(expected.subarray(0, 19))) return undefined;
  const kind = (Object.keys(KIND_TAG) as IdKind[]).find((k) => KIND_TAG[k] === bytes[19]);
  if (!kind) return undefined;
  return { kind, mailbox, number: bytes.readUInt32BE(20) };
}

const OCCURRENCE_TAG = 0x4f;

/**
 * The id of one occurrence of a recurring master: the master's mailbox and counter plus the
 * 1-based instance index. It is a different length from item ids, so decodeId never takes it
 * for an item; resolveCalendarTarget (request-context.ts) reads both.
 */
export function encodeOccurrenceId(masterId: string, index: number): string {
  const master = decodeId(masterId);
  if (!master || master.kind !== 'item') throw new TypeError('not an item id');
  const address = Buffer.from(master.mailbox, 'utf8');
  const bytes = Buffer.alloc(3 + address.length + 1 + 4 + 2 + 1);
  bytes[0] = MAGIC;
  bytes[1] = VERSION;
  bytes[2] = OCCURRENCE_TAG;
  address.copy(bytes, 3);
  bytes[3 + address.length] = 0;
  bytes.writeUInt32BE(master.number >>> 0, 4 + address.length);
  bytes.writeUInt16BE(index, 8 + address.length);
  bytes[bytes.length - 1] = checksum(bytes, bytes.length - 1);
  return bytes.toString('base64');
}

/** The master id and instance index an occurrence id names; undefined for anything else. */
export function decodeOccurrenceId(id: string): { masterId: string; mailbox: string; index: number } | undefined {
  if (id.length < 12 || !/^[A-Za-z0-9+/]+={0,2}$/.test(id)) return undefined;
  const bytes = Buffer.from(id, 'base64');
  if (bytes.length < 12 || bytes[0] !== MAGIC || bytes[1] !== VERSION || bytes[2] !== OCCURRENCE_TAG) return undefined;
  if (bytes[bytes.length - 1] !== checksum(bytes, bytes.length - 1)) return undefined;
  const end = bytes.indexOf(0, 3);
  if (end < 0 || end + 8 !== bytes.length) return undefined;
  const mailbox = bytes.subarray(3, end).toString('utf8');
  return { masterId: encodeId('item', mailbox, bytes.readUInt32BE(end + 1)), mailbox, index: bytes.readUInt16BE(end + 5) };
}
