/**
 * Server side of NTLM over HTTP (MS-NLMP), as IIS in front of Exchange does it:
 *
 *   client: Authorization: NTLM <NEGOTIATE_MESSAGE>     server: 401 WWW-Authenticate: NTLM <CHALLENGE_MESSAGE>
 *   client: Authorization: NTLM <AUTHENTICATE_MESSAGE>  server: 200 (the connection is now authenticated)
 *
 * The handshake is bound to one TCP connection: the challenge issued on a socket is only good
 * for the AUTHENTICATE that arrives on the same socket, once. `NtlmAuthenticator` keeps that
 * per-socket state; the lower-level functions are exported for callers that keep it themselves.
 *
 * Verified: NTLMv2 (NTProofStr, with and without the user's domain, since the spec asks servers
 * to accept clients that hash an empty domain) and the MIC when the client says it sent one.
 * NTLMv1 and the NTLMv1 "session security" variant are verified only when `acceptNtlmV1` is set,
 * because current Exchange/AD policy (LmCompatibilityLevel 5) refuses them; bare LM is never accepted.
 * Signing/sealing of later traffic is not part of NTLM over HTTP and is not implemented.
 */
import { createCipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** js-md4 ships no type declarations; this is the one function used. */
interface Md4 {
  arrayBuffer(message: Uint8Array): ArrayBuffer;
}
// OpenSSL 3 no longer provides MD4, which the NT hash needs.
const md4 = require('js-md4') as Md4;

/** NegotiateFlags bits (MS-NLMP 2.2.2.5). */
export const NtlmFlag = {
  Unicode: 0x0000_0001,
  Oem: 0x0000_0002,
  RequestTarget: 0x0000_0004,
  Sign: 0x0000_0010,
  Seal: 0x0000_0020,
  LmKey: 0x0000_0080,
  Ntlm: 0x0000_0200,
  Anonymous: 0x0000_0800,
  OemDomainSupplied: 0x0000_1000,
  OemWorkstationSupplied: 0x0000_2000,
  AlwaysSign: 0x0000_8000,
  TargetTypeDomain: 0x0001_0000,
  TargetTypeServer: 0x0002_0000,
  ExtendedSessionSecurity: 0x0008_0000,
  Identify: 0x0010_0000,
  RequestNonNtSessionKey: 0x0040_0000,
  TargetInfo: 0x0080_0000,
  Version: 0x0200_0000,
  Negotiate128: 0x2000_0000,
  KeyExchange: 0x4000_0000,
  Negotiate56: 0x8000_0000,
} as const;

/** AV_PAIR identifiers (MS-NLMP 2.2.2.1). */
export const NtlmAvId = {
  Eol: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

/** MsvAvFlags bit saying the AUTHENTICATE_MESSAGE carries a MIC. */
const AV_FLAG_MIC_PRESENT = 0x2;
const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const MIC_OFFSET = 72;
/** 1601-01-01 to 1970-01-01 in milliseconds: FILETIME's epoch. */
const FILETIME_EPOCH_OFFSET_IN_MS = 11_644_473_600_000n;

export type NtlmAuthScheme = 'NTLM' | 'Negotiate';

export interface NtlmAvPair {
  readonly id: number;
  readonly value: Buffer;
}

export interface NtlmNegotiateMessage {
  readonly type: 'negotiate';
  readonly flags: number;
  readonly domain: string;
  readonly workstation: string;
  readonly raw: Buffer;
}

export interface NtlmChallengeMessage {
  readonly type: 'challenge';
  readonly flags: number;
  readonly serverChallenge: Buffer;
  readonly targetName: string;
  readonly targetInfo: readonly NtlmAvPair[];
  readonly raw: Buffer;
}

export interface NtlmAuthenticateMessage {
  readonly type: 'authenticate';
  /** Present only in the newer layout (payload starting at 64 or later). */
  readonly flags: number | undefined;
  readonly lmResponse: Buffer;
  readonly ntResponse: Buffer;
  /** Raw string fields; decode with the negotiated flags (see `decodeNtlmString`). */
  readonly domainBytes: Buffer;
  readonly userBytes: Buffer;
  readonly workstationBytes: Buffer;
  readonly encryptedRandomSessionKey: Buffer;
  readonly raw: Buffer;
}

export type NtlmMessage = NtlmNegotiateMessage | NtlmChallengeMessage | NtlmAuthenticateMessage;

/** A malformed NTLM token or Authorization header. */
export class NtlmProtocolError extends Error {
  readonly code = 'InvalidNtlmMessage';
  override readonly name = 'NtlmProtocolError';
}

/** Who the server says it is in the CHALLENGE_MESSAGE (what a domain-joined Exchange server announces). */
export interface NtlmServerIdentity {
  /** NetBIOS domain name, e.g. CONTOSO: the TargetName and MsvAvNbDomainName. */
  readonly targetName: string;
  /** DNS domain, e.g. contoso.com: MsvAvDnsDomainName and MsvAvDnsTreeName. */
  readonly dnsDomain: string;
  /** NetBIOS computer name; defaults to EXCH01. */
  readonly computerName?: string;
}

/** What the server must remember between the challenge and the AUTHENTICATE on one connection. */
export interface NtlmChallengeState {
  readonly scheme: NtlmAuthScheme;
  readonly negotiate: NtlmNegotiateMessage;
  readonly challenge: NtlmChallengeMessage;
  readonly flags: number;
  readonly serverChallenge: Buffer;
}

export type NtlmRejectionReason =
  | 'malformed-message'
  | 'unexpected-message'
  | 'no-challenge'
  | 'anonymous'
  | 'unknown-user'
  | 'wrong-password'
  | 'ntlmv1-refused'
  | 'lm-refused'
  | 'mic-mismatch';

export type NtlmVerification =
  | { readonly ok: true; readonly user: string; readonly domain: string; readonly workstation: string; readonly protocol: 'NTLMv2' | 'NTLMv1' | 'NTLMv1-ESS' }
  | { readonly ok: false; readonly reason: NtlmRejectionReason };

/** Returns the user's password, or undefined when the user does not exist. `domain` is as the client sent it (may be empty). */
export type NtlmPasswordLookup = (user: string, domain: string) => string | undefined;

export interface NtlmVerifyOptions {
  /** Accept NTLMv1 responses (off by default, as on a hardened Exchange server). */
  readonly acceptNtlmV1?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Header and message parsing

/** Splits `NTLM <base64>` / `Negotiate <base64>` into scheme and token; undefined for other schemes or raw Kerberos/SPNEGO tokens. */
export function parseNtlmAuthorizationHeader(header: string | undefined): { scheme: NtlmAuthScheme; token: Buffer } | undefined {
  if (!header) return undefined;
  const match = /^\s*(NTLM|Negotiate)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const scheme: NtlmAuthScheme = match[1]!.toLowerCase() === 'ntlm' ? 'NTLM' : 'Negotiate';
  const token = Buffer.from(match[2]!, 'base64');
  // Negotiate may carry SPNEGO/Kerberos; only a raw NTLMSSP token is ours.
  if (token.length < SIGNATURE.length || !token.subarray(0, SIGNATURE.length).equals(SIGNATURE)) return undefined;
  return { scheme, token };
}

/** Parses an Authorization header value (`NTLM <base64>`), a bare base64 token or raw bytes into an NTLM message. */
export function parseNtlmMessage(input: string | Buffer): NtlmMessage {
  const raw = typeof input === 'string' ? tokenFromString(input) : input;
  if (raw.length < 12 || !raw.subarray(0, 8).equals(SIGNATURE)) throw new NtlmProtocolError('not an NTLMSSP message');
  const messageType = raw.readUInt32LE(8);
  switch (messageType) {
    case 1:
      return parseNegotiate(raw);
    case 2:
      return parseChallenge(raw);
    case 3:
      return parseAuthenticate(raw);
    default:
      throw new NtlmProtocolError(`unknown NTLM message type ${messageType}`);
  }
}

function tokenFromString(input: string): Buffer {
  const parsed = parseNtlmAuthorizationHeader(input.includes(' ') ? input : `NTLM ${input}`);
  if (!parsed) throw new NtlmProtocolError('not an NTLM authorization value');
  return parsed.token;
}

function requireLength(raw: Buffer, length: number): void {
  if (raw.length < length) throw new NtlmProtocolError(`NTLM message too short (${raw.length} < ${length} bytes)`);
}

/** Reads a (Len, MaxLen, Offset) security buffer descriptor and returns the bytes it points at. */
function readField(raw: Buffer, at: number): Buffer {
  requireLength(raw, at + 8);
  const length = raw.readUInt16LE(at);
  const offset = raw.readUInt32LE(at + 4);
  if (length === 0) return Buffer.alloc(0);
  if (offset + length > raw.length) throw new NtlmProtocolError('NTLM field points outside the message');
  return raw.subarray(offset, offset + length);
}

function parseNegotiate(raw: Buffer): NtlmNegotiateMessage {
  requireLength(raw, 16);
  const flags = raw.readUInt32LE(12);
  // Older clients send only the 16-byte header; the domain/workstation fields are optional.
  const domain = raw.length >= 24 && flags & NtlmFlag.OemDomainSupplied ? readField(raw, 16).toString('latin1') : '';
  const workstation = raw.length >= 32 && flags & NtlmFlag.OemWorkstationSupplied ? readField(raw, 24).toString('latin1') : '';
  return { type: 'negotiate', flags, domain, workstation, raw };
}

function parseChallenge(raw: Buffer): NtlmChallengeMessage {
  requireLength(raw, 32);
  const flags = raw.readUInt32LE(20);
  const targetInfoBytes = raw.length >= 48 && flags & NtlmFlag.TargetInfo ? readField(raw, 40) : Buffer.alloc(0);
  return {
    type: 'challenge',
    flags,
    serverChallenge: Buffer.from(raw.subarray(24, 32)),
    targetName: decodeNtlmString(readField(raw, 12), flags),
    targetInfo: parseAvPairs(targetInfoBytes),
    raw,
  };
}

function parseAuthenticate(raw: Buffer): NtlmAuthenticateMessage {
  requireLength(raw, 52);
  const lmResponse = readField(raw, 12);
  const ntResponse = readField(raw, 20);
  const domainBytes = readField(raw, 28);
  const userBytes = readField(raw, 36);
  const workstationBytes = readField(raw, 44);
  // The old layout ends at 52 with the payload right after it; the current one adds the
  // session key (52), flags (60), version (64) and MIC (72). Tell them apart by where the payload starts.
  const payloadStart = firstPayloadOffset(raw, [12, 20, 28, 36, 44]);
  const hasFlags = payloadStart >= 64 && raw.length >= 64;
  return {
    type: 'authenticate',
    flags: hasFlags ? raw.readUInt32LE(60) : undefined,
    lmResponse,
    ntResponse,
    domainBytes,
    userBytes,
    workstationBytes,
    encryptedRandomSessionKey: hasFlags ? readField(raw, 52) : Buffer.alloc(0),
    raw,
  };
}

function firstPayloadOffset(raw: Buffer, descriptorOffsets: readonly number[]): number {
  let first = raw.length;
  for (const at of descriptorOffsets) {
    if (raw.readUInt16LE(at) > 0) first = Math.min(first, raw.readUInt32LE(at + 4));
  }
  return first;
}

export function parseAvPairs(bytes: Buffer): NtlmAvPair[] {
  const pairs: NtlmAvPair[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const id = bytes.readUInt16LE(at);
    const length = bytes.readUInt16LE(at + 2);
    if (id === NtlmAvId.Eol) return pairs;
    if (at + 4 + length > bytes.length) throw new NtlmProtocolError('AV_PAIR runs past its buffer');
    pairs.push({ id, value: Buffer.from(bytes.subarray(at + 4, at + 4 + length)) });
    at += 4 + length;
  }
  return pairs;
}

/** Strings are UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE was negotiated, else OEM (treated as Latin-1). */
export function decodeNtlmString(bytes: Buffer, flags: number): string {
  return bytes.toString(flags & NtlmFlag.Unicode ? 'utf16le' : 'latin1');
}

function encodeNtlmString(text: string, flags: number): Buffer {
  return Buffer.from(text, flags & NtlmFlag.Unicode ? 'utf16le' : 'latin1');
}

// ---------------------------------------------------------------------------------------------
// CHALLENGE_MESSAGE

export interface NtlmChallengeOptions {
  /** The scheme the client used; the challenge answers in the same one. */
  readonly scheme?: NtlmAuthScheme;
  /** For tests and reproducible traces only: a real server picks 8 random bytes. */
  readonly serverChallenge?: Buffer;
  readonly now?: Date;
}

/** Builds the CHALLENGE_MESSAGE for a NEGOTIATE_MESSAGE and returns the WWW-Authenticate value plus the state to keep for this connection. */
export function createNtlmChallenge(
  negotiate: NtlmNegotiateMessage,
  identity: NtlmServerIdentity,
  options: NtlmChallengeOptions = {},
): { headerValue: string; state: NtlmChallengeState } {
  const flags = challengeFlags(negotiate.flags);
  const serverChallenge = options.serverChallenge ?? randomBytes(8);
  if (serverChallenge.length !== 8) throw new RangeError('serverChallenge must be 8 bytes');
  const targetName = flags & NtlmFlag.RequestTarget ? encodeNtlmString(identity.targetName, flags) : Buffer.alloc(0);
  const targetInfo = encodeAvPairs(serverAvPairs(identity, options.now ?? new Date()));
  const raw = encodeChallenge(flags, serverChallenge, targetName, targetInfo);
  const scheme = options.scheme ?? 'NTLM';
  const challenge = parseChallenge(raw);
  return { headerValue: `${scheme} ${raw.toString('base64')}`, state: { scheme, negotiate, challenge, flags, serverChallenge } };
}

/** The server's answer to the client's requested flags (MS-NLMP 3.2.5.1.1): echo what it asked for and we support. */
function challengeFlags(requested: number): number {
  let flags = NtlmFlag.Ntlm | NtlmFlag.TargetInfo | NtlmFlag.Version;
  if (requested & NtlmFlag.Unicode) flags |= NtlmFlag.Unicode;
  else if (requested & NtlmFlag.Oem) flags |= NtlmFlag.Oem;
  else flags |= NtlmFlag.Unicode;
  if (requested & NtlmFlag.RequestTarget) flags |= NtlmFlag.RequestTarget | NtlmFlag.TargetTypeDomain;
  if (requested & NtlmFlag.ExtendedSessionSecurity) flags |= NtlmFlag.ExtendedSessionSecurity;
  else if (requested & NtlmFlag.LmKey) flags |= NtlmFlag.LmKey;
  const echoed = NtlmFlag.Sign | NtlmFlag.Seal | NtlmFlag.AlwaysSign | NtlmFlag.Negotiate128 | NtlmFlag.Negotiate56 | NtlmFlag.KeyExchange | NtlmFlag.Identify;
  return (flags | (requested & echoed)) >>> 0;
}

function serverAvPairs(identity: NtlmServerIdentity, now: Date): NtlmAvPair[] {
  const computer = (identity.computerName ?? 'EXCH01').toUpperCase();
  const utf16 = (text: string): Buffer => Buffer.from(text, 'utf16le');
  return [
    { id: NtlmAvId.NbDomainName, value: utf16(identity.targetName.toUpperCase()) },
    { id: NtlmAvId.NbComputerName, value: utf16(computer) },
    { id: NtlmAvId.DnsDomainName, value: utf16(identity.dnsDomain) },
    { id: NtlmAvId.DnsComputerName, value: utf16(`${computer.toLowerCase()}.${identity.dnsDomain}`) },
    { id: NtlmAvId.DnsTreeName, value: utf16(identity.dnsDomain) },
    { id: NtlmAvId.Timestamp, value: fileTime(now) },
  ];
}

function fileTime(date: Date): Buffer {
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE((BigInt(date.getTime()) + FILETIME_EPOCH_OFFSET_IN_MS) * 10_000n);
  return value;
}

function encodeAvPairs(pairs: readonly NtlmAvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const pair of pairs) {
    const header = Buffer.alloc(4);
    header.writeUInt16LE(pair.id, 0);
    header.writeUInt16LE(pair.value.length, 2);
    parts.push(header, pair.value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

function encodeChallenge(flags: number, serverChallenge: Buffer, targetName: Buffer, targetInfo: Buffer): Buffer {
  const headerLength = 56;
  const message = Buffer.alloc(headerLength + targetName.length + targetInfo.length);
  SIGNATURE.copy(message, 0);
  message.writeUInt32LE(2, 8);
  writeField(message, 12, targetName.length, headerLength);
  message.writeUInt32LE(flags, 20);
  serverChallenge.copy(message, 24);
  writeField(message, 40, targetInfo.length, headerLength + targetName.length);
  // VERSION: Windows Server 2016 (10.0.14393), NTLM revision 15.
  message.writeUInt8(10, 48);
  message.writeUInt8(0, 49);
  message.writeUInt16LE(14393, 50);
  message.writeUInt8(15, 55);
  targetName.copy(message, headerLength);
  targetInfo.copy(message, headerLength + targetName.length);
  return message;
}

function writeField(message: Buffer, at: number, length: number, offset: number): void {
  message.writeUInt16LE(length, at);
  message.writeUInt16LE(length, at + 2);
  message.writeUInt32LE(offset, at + 4);
}

// ---------------------------------------------------------------------------------------------
// AUTHENTICATE_MESSAGE verification

/** NT hash (NTOWFv1): MD4 of the UTF-16LE password. */
export function ntHash(password: string): Buffer {
  return Buffer.from(md4.arrayBuffer(Buffer.from(password, 'utf16le')));
}

/** NTOWFv2: HMAC-MD5 keyed by the NT hash over UPPER(user) + domain, both UTF-16LE. */
export function ntlmV2Hash(ntHashValue: Buffer, user: string, domain: string): Buffer {
  return createHmac('md5', ntHashValue).update(Buffer.from(user.toUpperCase() + domain, 'utf16le')).digest();
}

/** Verifies an AUTHENTICATE_MESSAGE against the challenge issued on the same connection. */
export function verifyNtlmAuthenticate(
  input: string | Buffer | NtlmAuthenticateMessage,
  state: NtlmChallengeState,
  lookupPassword: NtlmPasswordLookup,
  options: NtlmVerifyOptions = {},
): NtlmVerification {
  let message: NtlmMessage;
  try {
    message = typeof input === 'object' && !Buffer.isBuffer(input) ? input : parseNtlmMessage(input);
  } catch {
    return { ok: false, reason: 'malformed-message' };
  }
  if (message.type !== 'authenticate') return { ok: false, reason: 'unexpected-message' };
  const user = decodeNtlmString(message.userBytes, state.flags);
  const domain = decodeNtlmString(message.domainBytes, state.flags);
  const workstation = decodeNtlmString(message.workstationBytes, state.flags);
  if (user === '' && message.ntResponse.length === 0) return { ok: false, reason: 'anonymous' };
  const password = lookupPassword(user, domain);
  if (password === undefined) return { ok: false, reason: 'unknown-user' };
  const nt = ntHash(password);

  if (message.ntResponse.length > 24) {
    const sessionBaseKey = verifyNtlmV2(message.ntResponse, state.serverChallenge, nt, user, domain);
    if (!sessionBaseKey) return { ok: false, reason: 'wrong-password' };
    if (!micIsValid(message, state, sessionBaseKey)) return { ok: false, reason: 'mic-mismatch' };
    return { ok: true, user, domain, workstation, protocol: 'NTLMv2' };
  }
  if (message.ntResponse.length === 24) {
    if (!options.acceptNtlmV1) return { ok: false, reason: 'ntlmv1-refused' };
    const ess = (state.flags & NtlmFlag.ExtendedSessionSecurity) !== 0;
    const challenge = ess ? sessionSecurityChallenge(state.serverChallenge, message.lmResponse) : state.serverChallenge;
    if (!challenge || !constantTimeEqual(desl(nt, challenge), message.ntResponse)) return { ok: false, reason: 'wrong-password' };
    return { ok: true, user, domain, workstation, protocol: ess ? 'NTLMv1-ESS' : 'NTLMv1' };
  }
  return { ok: false, reason: 'lm-refused' };
}

/** Returns the session base key when the NTProofStr matches, trying the client's domain and then an empty one (MS-NLMP 3.2.5.1.2). */
function verifyNtlmV2(ntResponse: Buffer, serverChallenge: Buffer, nt: Buffer, user: string, domain: string): Buffer | undefined {
  const proof = ntResponse.subarray(0, 16);
  const clientBlob = ntResponse.subarray(16);
  // NTLMv2_CLIENT_CHALLENGE starts with RespType = HiRespType = 1.
  if (clientBlob[0] !== 1 || clientBlob[1] !== 1) return undefined;
  const domains = domain === '' ? [''] : [domain, ''];
  for (const candidate of domains) {
    const key = ntlmV2Hash(nt, user, candidate);
    const expected = createHmac('md5', key).update(serverChallenge).update(clientBlob).digest();
    if (constantTimeEqual(expected, proof)) return createHmac('md5', key).update(proof).digest();
  }
  return undefined;
}

/** The MIC is checked only when the client's blob says it is present (MsvAvFlags bit 0x2). */
function micIsValid(message: NtlmAuthenticateMessage, state: NtlmChallengeState, sessionBaseKey: Buffer): boolean {
  if (!clientDeclaresMic(message.ntResponse)) return true;
  if (message.raw.length < MIC_OFFSET + 16) return false;
  const flags = message.flags ?? state.flags;
  const signsOrSeals = (flags & (NtlmFlag.Sign | NtlmFlag.Seal)) !== 0;
  const exportedSessionKey =
    flags & NtlmFlag.KeyExchange && signsOrSeals && message.encryptedRandomSessionKey.length === 16
      ? rc4(sessionBaseKey, message.encryptedRandomSessionKey)
      : sessionBaseKey;
  const mic = Buffer.from(message.raw.subarray(MIC_OFFSET, MIC_OFFSET + 16));
  const zeroedMic = Buffer.from(message.raw);
  zeroedMic.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
  const expected = createHmac('md5', exportedSessionKey).update(state.negotiate.raw).update(state.challenge.raw).update(zeroedMic).digest();
  return constantTimeEqual(expected, mic);
}

function clientDeclaresMic(ntResponse: Buffer): boolean {
  // Blob: RespType, HiRespType, 6 reserved, 8 timestamp, 8 client challenge, 4 reserved, then AV pairs.
  const avPairsAt = 16 + 28;
  if (ntResponse.length <= avPairsAt) return false;
  try {
    const flagsPair = parseAvPairs(ntResponse.subarray(avPairsAt)).find((pair) => pair.id === NtlmAvId.Flags);
    return !!flagsPair && flagsPair.value.length >= 4 && (flagsPair.value.readUInt32LE(0) & AV_FLAG_MIC_PRESENT) !== 0;
  } catch {
    return false;
  }
}

/** NTLMv1 with extended session security hashes the server challenge with the client's (first 8 bytes of the LM field). */
function sessionSecurityChallenge(serverChallenge: Buffer, lmResponse: Buffer): Buffer | undefined {
  if (lmResponse.length < 8) return undefined;
  return createHash('md5').update(serverChallenge).update(lmResponse.subarray(0, 8)).digest().subarray(0, 8);
}

/** DESL (MS-NLMP 6): three DES encryptions of the data under the 16-byte key padded to 21 bytes. */
function desl(key16: Buffer, data: Buffer): Buffer {
  const key = Buffer.concat([key16, Buffer.alloc(5)]);
  return Buffer.concat([desEncrypt(key.subarray(0, 7), data), desEncrypt(key.subarray(7, 14), data), desEncrypt(key.subarray(14, 21), data)]);
}

/** Single DES, done as 2-key triple DES with both keys equal (OpenSSL 3 only ships DES-EDE by default). */
function desEncrypt(key7: Buffer, block: Buffer): Buffer {
  const key8 = Buffer.alloc(8);
  // Spread 56 key bits over 8 bytes, 7 bits each; the low (parity) bit is ignored.
  for (let i = 0; i < 8; i++) {
    const bitOffset = i * 7;
    const byte = bitOffset >> 3;
    const shift = bitOffset & 7;
    const word = ((key7[byte] ?? 0) << 8) | (key7[byte + 1] ?? 0);
    key8[i] = ((word << shift) >> 8) & 0xfe;
  }
  const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key8, key8]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/** RC4 (OpenSSL 3 dropped it from the default provider); only used on 16 bytes to recover the exported session key. */
function rc4(key: Buffer, data: Buffer): Buffer {
  const s = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Per-connection driver

export type NtlmStep =
  /** No NTLM token and the connection is not authenticated: answer 401 with `wwwAuthenticate` headers. */
  | { readonly kind: 'unauthenticated'; readonly wwwAuthenticate: readonly string[] }
  /** Answer 401 with this single WWW-Authenticate value and keep the connection open. */
  | { readonly kind: 'challenge'; readonly wwwAuthenticate: string }
  | { readonly kind: 'authenticated'; readonly user: string; readonly domain: string; readonly workstation: string }
  /** Answer 401 with `wwwAuthenticate` headers; `reason` is for logs only (never tell the client). */
  | { readonly kind: 'rejected'; readonly reason: NtlmRejectionReason; readonly wwwAuthenticate: readonly string[] };

export interface NtlmAuthenticatorOptions extends NtlmVerifyOptions {
  readonly identity: NtlmServerIdentity;
  readonly lookupPassword: NtlmPasswordLookup;
  /** Also offer and accept `Negotiate` carrying raw NTLM (IIS offers both). Default true. */
  readonly offerNegotiate?: boolean;
}

type ConnectionState =
  | { readonly phase: 'challenged'; readonly challenge: NtlmChallengeState }
  | { readonly phase: 'authenticated'; readonly user: string; readonly domain: string; readonly workstation: string };

/**
 * Drives NTLM per TCP connection. Pass the request's socket (any object identifying the
 * connection) and its Authorization header; act on the returned step. Like IIS, once a
 * connection has authenticated, later requests on it without an Authorization header run as
 * the same user; a new NEGOTIATE on the connection starts over.
 */
export class NtlmAuthenticator {
  private readonly connections = new WeakMap<object, ConnectionState>();

  constructor(private readonly options: NtlmAuthenticatorOptions) {}

  /** The WWW-Authenticate values of a bare 401. */
  get offeredSchemes(): readonly string[] {
    return this.options.offerNegotiate === false ? ['NTLM'] : ['Negotiate', 'NTLM'];
  }

  authenticate(connection: object, authorization: string | undefined): NtlmStep {
    const parsed = parseNtlmAuthorizationHeader(authorization);
    const current = this.connections.get(connection);
    if (!parsed || (parsed.scheme === 'Negotiate' && this.options.offerNegotiate === false)) {
      if (!authorization && current?.phase === 'authenticated') {
        return { kind: 'authenticated', user: current.user, domain: current.domain, workstation: current.workstation };
      }
      return authorization ? this.reject(connection, 'malformed-message') : { kind: 'unauthenticated', wwwAuthenticate: this.offeredSchemes };
    }
    let message: NtlmMessage;
    try {
      message = parseNtlmMessage(parsed.token);
    } catch {
      return this.reject(connection, 'malformed-message');
    }
    if (message.type === 'negotiate') {
      const { headerValue, state } = createNtlmChallenge(message, this.options.identity, { scheme: parsed.scheme });
      this.connections.set(connection, { phase: 'challenged', challenge: state });
      return { kind: 'challenge', wwwAuthenticate: headerValue };
    }
    if (message.type !== 'authenticate') return this.reject(connection, 'unexpected-message');
    if (current?.phase !== 'challenged') return this.reject(connection, 'no-challenge');
    // The challenge is single-use whatever the outcome.
    this.connections.delete(connection);
    const result = verifyNtlmAuthenticate(message, current.challenge, this.options.lookupPassword, this.options);
    if (!result.ok) return this.reject(connection, result.reason);
    this.connections.set(connection, { phase: 'authenticated', user: result.user, domain: result.domain, workstation: result.workstation });
    return { kind: 'authenticated', user: result.user, domain: result.domain, workstation: result.workstation };
  }

  private reject(connection: object, reason: NtlmRejectionReason): NtlmStep {
    this.connections.delete(connection);
    return { kind: 'rejected', reason, wwwAuthenticate: this.offeredSchemes };
  }
}
