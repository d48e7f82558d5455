/**
 * Contacts from mail, the pure part: which addresses a page of synced messages contributes as
 * contact candidates, in which direction. Addresses come from mail, so from anyone: each is
 * checked to be a plain SMTP address (no quotes, spaces, angle brackets or line breaks), lower-cased
 * (candidates are deduplicated case-insensitively), and dropped when it belongs to the tenant's own
 * domains (configured, never learned from mail) or matches an exclusion pattern (noreply, ...).
 * Display names lose control characters and are cut to 256 characters.
 */
import { createHash } from 'node:crypto';
import type { ChangeRecord } from '../delivery/change-batch';
import type { EwsMessage } from '../ews/types';
import type { ContactCandidateSettings } from '../storage/records';

export type ContactDirection = 'receivedFrom' | 'sentTo';

/** One address seen on one message. */
export interface ContactObservation {
  /** Identifies the message across mailboxes and replays (sha256 of its Internet message id, else of mailbox + item id). */
  readonly messageKey: string;
  readonly address: string;
  readonly displayName: string | undefined;
  readonly direction: ContactDirection;
  /** ISO 8601: when the message was received (else sent, else observed). */
  readonly at: string;
  /** From an `updated` record: the message may have been counted already (its marker is read first). */
  readonly maybeCounted?: boolean;
}

export type { ContactCandidateSettings } from '../storage/records';

/** Always excluded: automated senders nobody wants as a contact. */
export const BUILT_IN_EXCLUDE_PATTERNS: readonly string[] = ['noreply@*', 'no-reply@*', 'no_reply@*', 'donotreply@*', 'do-not-reply@*', 'mailer-daemon@*', 'postmaster@*', 'bounce@*', 'bounces@*', 'bounce-*@*', 'bounces+*@*', 'notifications@*', 'notification@*'];

/** Recipients counted per message; a mass mailing beyond this adds nothing more. */
export const MAX_RECIPIENTS_PER_MESSAGE = 100;
export const MAX_DISPLAY_NAME_CHARS = 256;
const MAX_ADDRESS_CHARS = 254;

// Dot-atom local part (RFC 5322 without quoted strings) and a DNS host name with a letter TLD.
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** The address as a candidate identity, or undefined when it is not a plain SMTP address. */
export function normalizeAddress(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const address = raw.trim().toLowerCase();
  if (address.length === 0 || address.length > MAX_ADDRESS_CHARS) return undefined;
  const at = address.lastIndexOf('@');
  if (at < 1 || at !== address.indexOf('@')) return undefined;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local) || !DOMAIN.test(domain)) return undefined;
  return address;
}

/** A display name safe to deliver: no control or format characters, single spaces, at most 256 characters. */
export function cleanDisplayName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const cleaned = raw
    .replace(/[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!cleaned) return undefined;
  const chars = [...cleaned];
  return chars.length > MAX_DISPLAY_NAME_CHARS ? chars.slice(0, MAX_DISPLAY_NAME_CHARS).join('').trimEnd() : cleaned;
}

/** Whether `domain` is one of `own` or a subdomain of one (contoso.com covers mail.contoso.com, not contoso.com.evil.net). */
export function isOwnDomain(domain: string, own: readonly string[]): boolean {
  const d = domain.toLowerCase();
  return own.some((o) => d === o || d.endsWith(`.${o}`));
}

function patternRegExp(pattern: string): RegExp {
  const escaped = pattern
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

/** Decides per address; built once per sync job from the group's settings and the synced mailbox. */
export class ContactFilter {
  readonly #ownDomains: readonly string[];
  readonly #excluded: readonly RegExp[];

  constructor(settings: Pick<ContactCandidateSettings, 'ownDomains' | 'excludePatterns'>, mailbox: string) {
    const mailboxDomain = mailbox.toLowerCase().split('@')[1];
    this.#ownDomains = [...new Set([...settings.ownDomains.map((d) => d.toLowerCase()), ...(mailboxDomain ? [mailboxDomain] : [])])];
    this.#excluded = [...BUILT_IN_EXCLUDE_PATTERNS, ...settings.excludePatterns].map(patternRegExp);
  }

  isOwn(address: string): boolean {
    return isOwnDomain(address.slice(address.indexOf('@') + 1), this.#ownDomains);
  }

  /** A normalised address that may become a candidate, else undefined. */
  candidate(raw: string | undefined): string | undefined {
    const address = normalizeAddress(raw);
    if (!address || this.isOwn(address) || this.#excluded.some((pattern) => pattern.test(address))) return undefined;
    return address;
  }
}

function messageKeyOf(mailbox: string, record: ChangeRecord, message: EwsMessage): string {
  const internetId = message.internetMessageId?.trim().toLowerCase();
  const identity = internetId && internetId.length <= 2048 ? `imid\n${internetId}` : `item\n${mailbox.toLowerCase()}\n${record.itemId}`;
  return createHash('sha256').update(identity, 'utf8').digest('hex').slice(0, 40);
}

/**
 * The observations of a page's records: for each message, its sender when it came from outside
 * (receivedFrom), or its recipients when one of the tenant's own addresses sent it (sentTo).
 * Created and updated records both count (Graph's delta does not say which a message is, and tells
 * them apart by time only); the store counts each message once. Deletions, read-flag changes and
 * other item kinds contribute nothing.
 */
export function observationsOf(records: readonly ChangeRecord[], mailbox: string, filter: ContactFilter): ContactObservation[] {
  const out: ContactObservation[] = [];
  for (const record of records) {
    const item = record.item;
    if ((record.changeType !== 'created' && record.changeType !== 'updated') || !item || (item.kind !== 'message' && item.kind !== 'meetingMessage')) continue;
    const maybeCounted = record.changeType === 'updated' ? { maybeCounted: true } : {};
    const message = item as EwsMessage;
    const messageKey = messageKeyOf(mailbox, record, message);
    const at = message.receivedAt ?? message.sentAt ?? record.occurredAt ?? new Date().toISOString();
    const from = normalizeAddress(message.from?.address ?? message.sender?.address);
    if (from !== undefined && filter.isOwn(from)) {
      const seen = new Set<string>();
      for (const recipient of [...message.to, ...message.cc, ...message.bcc].slice(0, MAX_RECIPIENTS_PER_MESSAGE)) {
        const address = filter.candidate(recipient.address);
        if (!address || seen.has(address)) continue;
        seen.add(address);
        out.push({ messageKey, address, displayName: cleanDisplayName(recipient.name), direction: 'sentTo', at, ...maybeCounted });
      }
      continue;
    }
    const sender = filter.candidate(message.from?.address ?? message.sender?.address);
    if (sender) out.push({ messageKey, address: sender, displayName: cleanDisplayName((message.from ?? message.sender)?.name), direction: 'receivedFrom', at, ...maybeCounted });
  }
  return out;
}
