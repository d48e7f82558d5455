/**
 * Graph's directory reads over the simulator's store: GET /users with `$filter` (startswith, eq;
 * or/and) and `$search` ("property:text" clauses, which Graph serves only with the
 * `ConsistencyLevel: eventual` header), and GET /users/{id}/people (the people relevant to a
 * mailbox: colleagues, its contacts and whom it corresponds with). Query text is parsed the way
 * Graph's OData parser does (quotes doubled in literals, backslash escapes in search phrases), so a
 * client that fails to escape what a user typed gets a different query or a 400, exactly as
 * against Graph.
 */
import { createHash } from 'node:crypto';
import { directoryPerson } from '../ews-simulator/directory-person';
import type { EwsStore, Mailbox } from '../ews-simulator/model';
import { graphErrors } from './errors';
import type { GraphJson } from './entities';

/** User properties $filter and $search may name (the subset Graph supports for these operators). */
const FILTERABLE = new Map(['displayName', 'givenName', 'surname', 'mail', 'userPrincipalName', 'jobTitle', 'department'].map((p) => [p.toLowerCase(), p]));
const SEARCHABLE = new Map(['displayName', 'givenName', 'surname', 'mail', 'userPrincipalName', 'jobTitle', 'department'].map((p) => [p.toLowerCase(), p]));

type UserPredicate = (values: Readonly<Record<string, string>>) => boolean;

/** The properties of a directory entry the filters see (lower-case keys). */
export function userFilterValues(mailbox: Mailbox): Record<string, string> {
  const person = directoryPerson(mailbox);
  return {
    displayname: person.displayName,
    givenname: person.givenName ?? '',
    surname: person.surname ?? '',
    mail: person.mail,
    userprincipalname: mailbox.userPrincipalName,
    jobtitle: person.jobTitle ?? '',
    department: person.department ?? '',
  };
}

function invalidFilter(detail: string): never {
  throw graphErrors.badRequest(`Invalid filter clause: ${detail}`);
}

/**
 * Parses `$filter` for users: clauses `startswith(prop,'text')` and `prop eq 'text'`, joined by
 * `and` (binding tighter) and `or`. Literals are single-quoted with '' for a quote.
 */
export function parseUserFilter(text: string): UserPredicate {
  let position = 0;
  const skipSpace = () => {
    while (position < text.length && /\s/.test(text[position]!)) position++;
  };
  const expect = (token: string) => {
    skipSpace();
    if (text.slice(position, position + token.length).toLowerCase() !== token) invalidFilter(`'${token}' expected at position ${position}.`);
    position += token.length;
  };
  const property = (): string => {
    skipSpace();
    const match = /^[A-Za-z][A-Za-z0-9]*/.exec(text.slice(position));
    if (!match) invalidFilter(`a property name expected at position ${position}.`);
    position += match[0].length;
    const name = FILTERABLE.get(match[0].toLowerCase());
    if (!name) throw graphErrors.badRequest(`Unsupported or invalid query filter clause specified for property '${match[0]}' of resource 'User'.`, 'Request_UnsupportedQuery');
    return name.toLowerCase();
  };
  const literal = (): string => {
    skipSpace();
    if (text[position] !== "'") invalidFilter(`a string literal expected at position ${position}.`);
    position++;
    let value = '';
    for (;;) {
      if (position >= text.length) invalidFilter('unterminated string literal.');
      const char = text[position]!;
      if (char === "'") {
        if (text[position + 1] === "'") {
          value += "'";
          position += 2;
          continue;
        }
        position++;
        return value;
      }
      value += char;
      position++;
    }
  };
  const clause = (): UserPredicate => {
    skipSpace();
    if (/^startswith\s*\(/i.test(text.slice(position))) {
      position = text.indexOf('(', position) + 1;
      const name = property();
      expect(',');
      const value = literal().toLowerCase();
      expect(')');
      return (values) => (values[name] ?? '').toLowerCase().startsWith(value);
    }
    const name = property();
    expect('eq');
    const value = literal().toLowerCase();
    return (values) => (values[name] ?? '').toLowerCase() === value;
  };
  const keyword = (word: 'and' | 'or'): boolean => {
    skipSpace();
    const match = new RegExp(`^${word}(?=\\s|\\()`, 'i').exec(text.slice(position));
    if (!match) return false;
    position += word.length;
    return true;
  };
  const conjunction = (): UserPredicate => {
    const parts = [clause()];
    while (keyword('and')) parts.push(clause());
    return (values) => parts.every((p) => p(values));
  };
  const alternatives = [conjunction()];
  while (keyword('or')) alternatives.push(conjunction());
  skipSpace();
  if (position < text.length) invalidFilter(`unexpected '${text.slice(position, position + 20)}' at position ${position}.`);
  return (values) => alternatives.some((p) => p(values));
}

function invalid(detail: string): never {
  throw graphErrors.badRequest(`Syntax error: ${detail}`, 'Request_UnsupportedQuery');
}

/**
 * Parses `$search` for users: one or more "property:text" phrases (double quotes, \" and \\ inside)
 * joined by OR / AND. A phrase matches when the property, or any word of it, starts with the text
 * (Graph tokenises directory properties for search).
 */
export function parseUserSearch(text: string): UserPredicate {
  let position = 0;
  const phrases: { join: 'AND' | 'OR'; predicate: UserPredicate }[] = [];
  let join: 'AND' | 'OR' = 'OR';
  for (;;) {
    while (position < text.length && /\s/.test(text[position]!)) position++;
    if (text[position] !== '"') invalid(`a quoted "property:text" phrase expected at position ${position}.`);
    position++;
    let phrase = '';
    for (;;) {
      if (position >= text.length) invalid('unterminated quoted phrase.');
      const char = text[position]!;
      if (char === '\\' && position + 1 < text.length) {
        phrase += text[position + 1];
        position += 2;
        continue;
      }
      if (char === '"') break;
      phrase += char;
      position++;
    }
    position++;
    const colon = phrase.indexOf(':');
    if (colon < 1) invalid(`"${phrase}" names no property ("displayName:text").`);
    const name = SEARCHABLE.get(phrase.slice(0, colon).trim().toLowerCase());
    if (!name) invalid(`property '${phrase.slice(0, colon)}' cannot be searched.`);
    const value = phrase.slice(colon + 1).trim().toLowerCase();
    const key = name.toLowerCase();
    phrases.push({ join, predicate: (values) => value.length > 0 && (values[key] ?? '').toLowerCase().split(/[\s.@_-]+/).concat((values[key] ?? '').toLowerCase()).some((word) => word.startsWith(value)) });
    while (position < text.length && /\s/.test(text[position]!)) position++;
    if (position >= text.length) break;
    const word = /^(AND|OR)\b/.exec(text.slice(position));
    if (!word) invalid(`AND or OR expected at position ${position}.`);
    join = word[1] as 'AND' | 'OR';
    position += word[0].length;
  }
  return (values) => {
    let result = phrases[0]!.predicate(values);
    for (const phrase of phrases.slice(1)) result = phrase.join === 'AND' ? result && phrase.predicate(values) : result || phrase.predicate(values);
    return result;
  };
}

/** The people relevant to `owner`, most relevant first (Graph's /people without $search). */
export function peopleOf(store: EwsStore, owner: Mailbox, idOf: (mailbox: Mailbox) => string): { readonly json: GraphJson; readonly names: readonly string[]; readonly addresses: readonly string[] }[] {
  const weight = new Map<string, number>();
  const names = new Map<string, string>();
  const bump = (address: string | undefined, name: string | undefined) => {
    const key = address?.toLowerCase();
    if (!key || key === owner.smtpAddress) return;
    weight.set(key, (weight.get(key) ?? 0) + 1);
    if (name && !names.has(key)) names.set(key, name);
  };
  for (const folder of ['inbox', 'sentitems'] as const) {
    for (const item of store.folderItems(store.getFolder(owner.smtpAddress, { distinguished: folder }))) {
      if (item.kind !== 'message') continue;
      bump(item.from?.address, item.from?.name);
      for (const r of [...item.toRecipients, ...item.ccRecipients]) bump(r.address, r.name);
    }
  }
  const people: { json: GraphJson; names: string[]; addresses: string[]; score: number }[] = [];
  const seen = new Set<string>();
  for (const mailbox of store.mailboxes(owner.organisationId)) {
    if (mailbox.smtpAddress === owner.smtpAddress) continue;
    seen.add(mailbox.smtpAddress);
    const p = directoryPerson(mailbox);
    const score = weight.get(mailbox.smtpAddress) ?? 0;
    people.push({
      score,
      names: [p.displayName, p.givenName ?? '', p.surname ?? ''],
      addresses: [mailbox.smtpAddress],
      json: {
        id: idOf(mailbox),
        displayName: p.displayName,
        givenName: p.givenName ?? null,
        surname: p.surname ?? null,
        jobTitle: p.jobTitle ?? null,
        companyName: p.companyName ?? null,
        department: p.department ?? null,
        officeLocation: p.officeLocation ?? null,
        userPrincipalName: mailbox.userPrincipalName,
        scoredEmailAddresses: [{ address: mailbox.smtpAddress, relevanceScore: score }],
        phones: [...p.businessPhones.map((number) => ({ type: 'business', number })), ...(p.mobilePhone ? [{ type: 'mobile', number: p.mobilePhone }] : [])],
        personType: { class: 'Person', subclass: 'OrganizationUser' },
      },
    });
  }
  for (const item of store.folderItems(store.getFolder(owner.smtpAddress, { distinguished: 'contacts' }))) {
    if (item.kind !== 'contact') continue;
    const address = item.emailAddresses[0]?.address.toLowerCase();
    if (!address || seen.has(address)) continue;
    seen.add(address);
    const score = weight.get(address) ?? 0;
    people.push({
      score,
      names: [item.displayName, item.givenName ?? '', item.surname ?? ''],
      addresses: item.emailAddresses.map((e) => e.address.toLowerCase()),
      json: {
        id: stableId(`${owner.smtpAddress}\n${address}`),
        displayName: item.displayName,
        givenName: item.givenName ?? null,
        surname: item.surname ?? null,
        jobTitle: item.jobTitle ?? null,
        companyName: item.companyName ?? null,
        department: item.department ?? null,
        scoredEmailAddresses: item.emailAddresses.map((e) => ({ address: e.address, relevanceScore: weight.get(e.address.toLowerCase()) ?? 0 })),
        phones: item.phoneNumbers.map((p) => ({ type: p.key === 'MobilePhone' ? 'mobile' : p.key === 'HomePhone' ? 'home' : p.key === 'BusinessPhone' ? 'business' : 'other', number: p.number })),
        personType: { class: 'Person', subclass: 'PersonalContact' },
      },
    });
  }
  for (const [address, score] of weight) {
    if (seen.has(address)) continue;
    const name = names.get(address) ?? address;
    people.push({
      score,
      names: [name],
      addresses: [address],
      json: {
        id: stableId(`${owner.smtpAddress}\n${address}`),
        displayName: name,
        scoredEmailAddresses: [{ address, relevanceScore: score }],
        phones: [],
        personType: { class: 'Person', subclass: 'ImplicitContact' },
      },
    });
  }
  return people.sort((a, b) => b.score - a.score || String(a.json.displayName).localeCompare(String(b.json.displayName)));
}

/** Whether a person matches the People API's `$search` text (a name or address prefix). */
export function personMatches(person: { readonly names: readonly string[]; readonly addresses: readonly string[] }, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  return person.addresses.some((a) => a.startsWith(needle)) || person.names.some((n) => n.toLowerCase().startsWith(needle) || n.toLowerCase().split(/\s+/).some((w) => w.startsWith(needle)));
}

/** The People API's `$search` value: a double-quoted phrase ("text"), quotes optional for one word. */
export function peopleSearchText(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed.startsWith('"')) {
    if (trimmed.length < 2 || !trimmed.endsWith('"')) throw graphErrors.badRequest('Syntax error: unterminated quoted phrase in $search.', 'BadRequest');
    return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return trimmed;
}

function stableId(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`.toUpperCase();
}
