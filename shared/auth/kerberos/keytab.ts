/**
 * Keytabs (MIT's file format, version 0x0502) written from a password, and read to check one an
 * administrator uploaded.
 *
 * Why derive keys ourselves: GSSAPI (and so the `kerberos` addon) acquires initial credentials
 * only from a credential cache or a client keytab; it has no "log on with this password" call.
 * Turning the password into the account's AES keys (RFC 3962 string-to-key, the same derivation
 * the KDC and Active Directory use) gives GSSAPI a client keytab, so a password and an uploaded
 * keytab take the same path, and no kinit binary is needed at run time.
 */
import { createCipheriv, pbkdf2Sync } from 'node:crypto';

/** Kerberos encryption types we derive from a password (RFC 3962); AD and MIT both default to these. */
export const ENCTYPE_AES128_CTS_HMAC_SHA1_96 = 17;
export const ENCTYPE_AES256_CTS_HMAC_SHA1_96 = 18;
const KRB5_NT_PRINCIPAL = 1;
const PBKDF2_ITERATIONS = 4096;
/** n-fold("kerberos", 128 bits): the constant of DK(tkey, "kerberos") (RFC 3961, test vector A.1). */
const KERBEROS_CONSTANT = Buffer.from('6b65726265726f737b9b5b2b93132b93', 'hex');

export interface KerberosPrincipal {
  /** Name components, e.g. ['svc-connector'] or ['HTTP', 'mail.contoso.com']. */
  readonly components: readonly string[];
  readonly realm: string;
}

export interface KeytabEntry {
  readonly principal: KerberosPrincipal;
  readonly kvno: number;
  readonly enctype: number;
  readonly key: Buffer;
}

/** `user@REALM` or `service/host@REALM`; the realm is required. */
export function parsePrincipal(text: string): KerberosPrincipal {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) throw new Error('a principal needs a name and a realm (name@REALM)');
  return { components: text.slice(0, at).split('/'), realm: text.slice(at + 1) };
}

export function formatPrincipal(principal: KerberosPrincipal): string {
  return `${principal.components.join('/')}@${principal.realm}`;
}

/** The default salt: realm then every name component (RFC 4120 §4). Active Directory salts user accounts the same way. */
export function defaultSalt(principal: KerberosPrincipal): string {
  return principal.realm + principal.components.join('');
}

/** DK(key, constant) for an AES key: AES encryption of the n-folded constant, chained until the key length is filled. */
function deriveKey(baseKey: Buffer, constant: Buffer): Buffer {
  const algorithm = baseKey.length === 32 ? 'aes-256-ecb' : 'aes-128-ecb';
  const blocks: Buffer[] = [];
  let block = constant;
  while (blocks.length * 16 < baseKey.length) {
    const cipher = createCipheriv(algorithm, baseKey, null).setAutoPadding(false);
    block = Buffer.concat([cipher.update(block), cipher.final()]);
    blocks.push(block);
  }
  return Buffer.concat(blocks).subarray(0, baseKey.length);
}

/** AES string-to-key (RFC 3962 §4): PBKDF2-HMAC-SHA1, 4096 iterations, then DK(tkey, "kerberos"). */
export function aesStringToKey(password: string, salt: string, enctype: typeof ENCTYPE_AES128_CTS_HMAC_SHA1_96 | typeof ENCTYPE_AES256_CTS_HMAC_SHA1_96, iterations = PBKDF2_ITERATIONS): Buffer {
  const length = enctype === ENCTYPE_AES256_CTS_HMAC_SHA1_96 ? 32 : 16;
  const tkey = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, length, 'sha1');
  return deriveKey(tkey, KERBEROS_CONSTANT);
}

/** The AES256 and AES128 keys of an account, as a keytab's entries. kvno is not known from a password; GSSAPI looks client keys up by enctype. */
export function keytabEntriesFromPassword(principal: KerberosPrincipal, password: string, salt = defaultSalt(principal)): KeytabEntry[] {
  return ([ENCTYPE_AES256_CTS_HMAC_SHA1_96, ENCTYPE_AES128_CTS_HMAC_SHA1_96] as const).map((enctype) => ({ principal, kvno: 1, enctype, key: aesStringToKey(password, salt, enctype) }));
}

function countedString(value: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(value.length);
  return Buffer.concat([length, value]);
}

function encodeEntry(entry: KeytabEntry): Buffer {
  const header = Buffer.alloc(2);
  header.writeUInt16BE(entry.principal.components.length);
  const tail = Buffer.alloc(4 + 4 + 1 + 2);
  tail.writeUInt32BE(KRB5_NT_PRINCIPAL, 0);
  tail.writeUInt32BE(0, 4); // timestamp: not meaningful for a derived key
  tail.writeUInt8(entry.kvno & 0xff, 8);
  tail.writeUInt16BE(entry.enctype, 9);
  const kvno32 = Buffer.alloc(4);
  kvno32.writeUInt32BE(entry.kvno);
  const body = Buffer.concat([
    header,
    countedString(Buffer.from(entry.principal.realm, 'utf8')),
    ...entry.principal.components.map((component) => countedString(Buffer.from(component, 'utf8'))),
    tail,
    countedString(entry.key),
    kvno32,
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

export function encodeKeytab(entries: readonly KeytabEntry[]): Buffer {
  return Buffer.concat([Buffer.from([0x05, 0x02]), ...entries.map(encodeEntry)]);
}

export class KeytabFormatError extends Error {
  readonly code = 'InvalidKeytab';
}

/** Reads a version-0x0502 keytab (what ktpass, ktutil and kadmin write). Throws KeytabFormatError; never echoes key bytes. */
export function decodeKeytab(data: Buffer): KeytabEntry[] {
  if (data.length < 2 || data[0] !== 0x05 || data[1] !== 0x02) throw new KeytabFormatError('not a keytab (version 0x0502 expected: ktpass, ktutil or kadmin output)');
  const entries: KeytabEntry[] = [];
  let offset = 2;
  const need = (bytes: number, end: number) => {
    if (offset + bytes > end) throw new KeytabFormatError('the keytab is truncated');
  };
  while (offset < data.length) {
    need(4, data.length);
    const size = data.readInt32BE(offset);
    offset += 4;
    if (size < 0) {
      offset += -size; // a deleted entry (hole)
      continue;
    }
    const end = offset + size;
    if (end > data.length) throw new KeytabFormatError('the keytab is truncated');
    const readCounted = (): Buffer => {
      need(2, end);
      const length = data.readUInt16BE(offset);
      offset += 2;
      need(length, end);
      const value = data.subarray(offset, offset + length);
      offset += length;
      return value;
    };
    need(2, end);
    const count = data.readUInt16BE(offset);
    offset += 2;
    const realm = readCounted().toString('utf8');
    const components = Array.from({ length: count }, () => readCounted().toString('utf8'));
    need(4 + 4 + 1 + 2, end);
    offset += 8; // name type, timestamp
    let kvno = data.readUInt8(offset);
    const enctype = data.readUInt16BE(offset + 1);
    offset += 3;
    const key = Buffer.from(readCounted());
    if (end - offset >= 4) kvno = data.readUInt32BE(offset);
    offset = end;
    entries.push({ principal: { components, realm }, kvno, enctype, key });
  }
  if (entries.length === 0) throw new KeytabFormatError('the keytab holds no keys');
  return entries;
}
