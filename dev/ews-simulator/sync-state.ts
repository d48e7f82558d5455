/**
 * Opaque SyncState tokens: a position in a folder's item change log (or a mailbox's hierarchy
 * log), bound to that folder/mailbox and sealed with an HMAC so any damage is detected
 * (Exchange answers ErrorInvalidSyncStateData).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const MAGIC = Buffer.from('EWSS', 'ascii');

export interface SyncPosition {
  readonly kind: 'items' | 'hierarchy';
  /** Folder id (items) or mailbox address (hierarchy) the state belongs to. */
  readonly scope: string;
  /** Number of change-log entries already reported. */
  readonly position: number;
}

export function encodeSyncState(key: Buffer, state: SyncPosition): string {
  const scope = Buffer.from(state.scope, 'utf8');
  const body = Buffer.alloc(MAGIC.length + 1 + 4 + 2 + scope.length);
  MAGIC.copy(body, 0);
  body[4] = state.kind === 'items' ? 0x49 : 0x48;
  body.writeUInt32BE(state.position >>> 0, 5);
  body.writeUInt16BE(scope.length, 9);
  scope.copy(body, 11);
  const mac = createHmac('sha256', key).update(body).digest().subarray(0, 12);
  return Buffer.concat([body, mac]).toString('base64');
}

/** Decodes a state; undefined when damaged, forged, or issued for another folder/kind. */
export function decodeSyncState(key: Buffer, token: string, expected: { kind: SyncPosition['kind']; scope: string }): SyncPosition | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64');
  if (bytes.length < 11 + 12 || !bytes.subarray(0, 4).equals(MAGIC)) return undefined;
  const body = bytes.subarray(0, bytes.length - 12);
  const mac = bytes.subarray(bytes.length - 12);
  const wanted = createHmac('sha256', key).update(body).digest().subarray(0, 12);
  if (!timingSafeEqual(mac, wanted)) return undefined;
  const kind = body[4] === 0x49 ? 'items' : body[4] === 0x48 ? 'hierarchy' : undefined;
  const scopeLength = body.readUInt16BE(9);
  if (!kind || 11 + scopeLength !== body.length) return undefined;
  const scope = body.subarray(11).toString('utf8');
  if (kind !== expected.kind || scope !== expected.scope) return undefined;
  return { kind, scope, position: body.readUInt32BE(5) };
}
