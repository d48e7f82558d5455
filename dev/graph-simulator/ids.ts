/**
 * Graph's forms of Exchange identifiers (exchangeIdFormat), derived from the shared store's EWS ids:
 *
 * - ewsId: the store id (standard base64).
 * - restId: the same bytes in Graph's URL-safe alphabet ('/' -> '-', '+' -> '_'), as Exchange Online
 *   does; so a client can map an EWS id to a Graph id without a round trip.
 * - entryId: the MAPI entry id (dev/ews-simulator/ids.ts encodeEntryId), URL-safe base64.
 * - restImmutableEntryId / immutableEntryId: an id that stays the same when the item moves
 *   (Prefer: IdType="ImmutableId"); built from the item's origin (`immutableOrigin`, else its id).
 */
import { decodeEntryId, decodeId, encodeEntryId, encodeId } from '../ews-simulator/ids';

export type ExchangeIdFormat = 'entryId' | 'ewsId' | 'immutableEntryId' | 'restId' | 'restImmutableEntryId';
export const EXCHANGE_ID_FORMATS: readonly ExchangeIdFormat[] = ['entryId', 'ewsId', 'immutableEntryId', 'restId', 'restImmutableEntryId'];

export function toRestId(ewsId: string): string {
  return ewsId.replace(/\//g, '-').replace(/\+/g, '_');
}

export function fromRestId(restId: string): string {
  return restId.replace(/-/g, '/').replace(/_/g, '+');
}

const IMMUTABLE_MAGIC = Buffer.from('GIMM', 'ascii');

function checksum(bytes: Uint8Array, length: number): number {
  let sum = 0x3c;
  for (let i = 0; i < length; i++) sum = (sum * 33 + bytes[i]!) & 0xff;
  return sum;
}

/** Immutable id bytes: ['GIMM'][mailbox utf8][0x00][origin counter u32be][checksum]. */
function immutableBytes(mailbox: string, originNumber: number): Buffer {
  const address = Buffer.from(mailbox, 'utf8');
  const bytes = Buffer.alloc(4 + address.length + 1 + 4 + 1);
  IMMUTABLE_MAGIC.copy(bytes, 0);
  address.copy(bytes, 4);
  bytes.writeUInt32BE(originNumber >>> 0, 5 + address.length);
  bytes[bytes.length - 1] = checksum(bytes, bytes.length - 1);
  return bytes;
}

export interface ImmutableRef {
  readonly mailbox: string;
  /** Store counter of the item's first id. */
  readonly originNumber: number;
  /** That first id (EWS form); the item still has it unless it was moved. */
  readonly originId: string;
}

export function encodeImmutableId(origin: string, format: 'restImmutableEntryId' | 'immutableEntryId' = 'restImmutableEntryId'): string | undefined {
  const decoded = decodeId(origin);
  if (!decoded) return undefined;
  const bytes = immutableBytes(decoded.mailbox, decoded.number);
  return format === 'restImmutableEntryId' ? bytes.toString('base64url') : bytes.toString('base64');
}

export function decodeImmutableId(id: string): ImmutableRef | undefined {
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(id)) return undefined;
  const bytes = Buffer.from(id.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length < 10 || !bytes.subarray(0, 4).equals(IMMUTABLE_MAGIC)) return undefined;
  if (bytes[bytes.length - 1] !== checksum(bytes, bytes.length - 1)) return undefined;
  const end = bytes.indexOf(0, 4);
  if (end < 0 || end + 6 !== bytes.length) return undefined;
  const mailbox = bytes.subarray(4, end).toString('utf8');
  const originNumber = bytes.readUInt32BE(end + 1);
  return { mailbox, originNumber, originId: encodeId('item', mailbox, originNumber) };
}

/** The EWS id a Graph path segment names: a restId, an ewsId, or undefined (immutable ids resolve elsewhere). */
export function ewsIdFromGraphId(id: string): string | undefined {
  const candidate = fromRestId(id);
  return decodeId(candidate) ? candidate : undefined;
}

export function entryIdOf(ewsId: string): string | undefined {
  const decoded = decodeId(ewsId);
  return decoded ? encodeEntryId(decoded).toString('base64url') : undefined;
}

export function ewsIdFromEntryId(entryId: string, mailbox: string): string | undefined {
  const decoded = decodeEntryId(Buffer.from(entryId.replace(/-/g, '+').replace(/_/g, '/'), 'base64'), mailbox);
  return decoded ? encodeId(decoded.kind, decoded.mailbox, decoded.number) : undefined;
}
