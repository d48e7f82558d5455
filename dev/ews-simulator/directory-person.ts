/**
 * A mailbox as the directory describes its owner: the Active Directory / Entra attributes both
 * protocols answer with (EWS ResolveNames' contact data, Graph's user and person). Read from the
 * mailbox's directory attributes (keys lower case in the store), so one seed serves both.
 */
import type { Mailbox } from './model';

export interface DirectoryPerson {
  readonly displayName: string;
  readonly givenName?: string;
  readonly surname?: string;
  readonly mail: string;
  readonly jobTitle?: string;
  readonly department?: string;
  readonly companyName?: string;
  readonly officeLocation?: string;
  readonly businessPhones: readonly string[];
  readonly mobilePhone?: string;
}

function attribute(mailbox: Mailbox, name: string): string | undefined {
  const value = mailbox.attributes[name.toLowerCase()]?.trim();
  return value ? value : undefined;
}

export function directoryPerson(mailbox: Mailbox): DirectoryPerson {
  const words = mailbox.displayName.trim().split(/\s+/);
  const givenName = attribute(mailbox, 'givenName') ?? (mailbox.kind === 'user' && words.length > 1 ? words[0] : undefined);
  const surname = attribute(mailbox, 'surname') ?? (mailbox.kind === 'user' && words.length > 1 ? words.slice(1).join(' ') : undefined);
  const optional = (key: keyof DirectoryPerson, value: string | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    displayName: mailbox.displayName,
    mail: mailbox.smtpAddress,
    ...optional('givenName', givenName),
    ...optional('surname', surname),
    ...optional('jobTitle', attribute(mailbox, 'jobTitle')),
    ...optional('department', attribute(mailbox, 'department')),
    ...optional('companyName', attribute(mailbox, 'companyName')),
    ...optional('officeLocation', attribute(mailbox, 'officeLocation')),
    businessPhones: (attribute(mailbox, 'businessPhone') ?? '').split(';').map((p) => p.trim()).filter(Boolean),
    ...optional('mobilePhone', attribute(mailbox, 'mobilePhone')),
  };
}

/**
 * Whether a directory entry matches what a user typed, as Exchange's ambiguous name resolution
 * does: the whole address (primary or proxy), or a prefix of the address, the display name, or
 * any word of it.
 */
export function matchesDirectoryEntry(mailbox: Mailbox, needle: string): boolean {
  const text = needle.trim().toLowerCase();
  if (!text) return false;
  if (mailbox.smtpAddress === text || mailbox.aliases.includes(text)) return true;
  if (text.includes('@')) return false;
  const person = directoryPerson(mailbox);
  const names = [mailbox.displayName, person.givenName ?? '', person.surname ?? ''].map((n) => n.toLowerCase());
  return mailbox.smtpAddress.startsWith(text) || names.some((n) => n.startsWith(text) || n.split(/\s+/).some((w) => w.startsWith(text)));
}
