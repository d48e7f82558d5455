/**
 * Directory reads through Graph, one place per operation: `findUsers` (GET /users: an address by
 * `$filter` eq, a name by `$search` with the `ConsistencyLevel: eventual` header Graph requires
 * for it) and `findPeople` (GET /users/{id}/people: the people relevant to one mailbox).
 *
 * What a user typed never becomes query syntax: in a `$filter` literal a quote is doubled (OData),
 * in a `$search` phrase quotes and backslashes are backslash-escaped, and the whole value is
 * percent-encoded. Permissions: /users needs User.ReadBasic.All / User.Read.All (application or
 * delegated); /people needs People.Read.All (application) or People.Read (the signed-in user).
 */
import type { DirectoryPerson, DirectoryPhoneType } from '../ews/types';
import type { GraphMailbox } from './graph-client';

export interface GraphDirectoryResult {
  readonly people: readonly DirectoryPerson[];
  /** True when Graph had more matches than `top` (a nextLink). */
  readonly moreAvailable: boolean;
}

const USER_SELECT = ['id', 'displayName', 'givenName', 'surname', 'mail', 'userPrincipalName', 'jobTitle', 'department', 'companyName', 'officeLocation', 'businessPhones', 'mobilePhone'];
const PERSON_SELECT = ['id', 'displayName', 'givenName', 'surname', 'jobTitle', 'department', 'companyName', 'officeLocation', 'scoredEmailAddresses', 'phones', 'userPrincipalName'];

/** An OData string literal: single quotes around, a quote inside doubled. */
export function odataStringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A `$search` phrase "property:text": backslash and double quote escaped with a backslash. */
export function searchPhrase(property: string, value: string): string {
  return `"${property}:${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function query(parameters: Readonly<Record<string, string>>): string {
  return Object.entries(parameters)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
}

interface GraphUser {
  displayName?: string | null;
  givenName?: string | null;
  surname?: string | null;
  mail?: string | null;
  userPrincipalName?: string | null;
  jobTitle?: string | null;
  department?: string | null;
  companyName?: string | null;
  officeLocation?: string | null;
  businessPhones?: (string | null)[] | null;
  mobilePhone?: string | null;
}

interface GraphPerson {
  displayName?: string | null;
  givenName?: string | null;
  surname?: string | null;
  jobTitle?: string | null;
  department?: string | null;
  companyName?: string | null;
  officeLocation?: string | null;
  userPrincipalName?: string | null;
  scoredEmailAddresses?: ({ address?: string | null } | null)[] | null;
  phones?: ({ type?: string | null; number?: string | null } | null)[] | null;
}

function clean(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function optionalFields(source: Readonly<Record<string, unknown>>): Partial<Record<'givenName' | 'surname' | 'jobTitle' | 'department' | 'companyName' | 'officeLocation', string>> {
  const out: Partial<Record<'givenName' | 'surname' | 'jobTitle' | 'department' | 'companyName' | 'officeLocation', string>> = {};
  for (const key of ['givenName', 'surname', 'jobTitle', 'department', 'companyName', 'officeLocation'] as const) {
    const value = clean(source[key]);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function fromUser(user: GraphUser): DirectoryPerson | undefined {
  // A user without a mail attribute has no mailbox: nothing to write to, so not a result.
  const emailAddress = clean(user.mail);
  if (!emailAddress) return undefined;
  const phones = [
    ...(user.businessPhones ?? []).map((number) => clean(number)).filter((n): n is string => n !== undefined).map((number) => ({ type: 'business' as const, number })),
    ...(clean(user.mobilePhone) ? [{ type: 'mobile' as const, number: clean(user.mobilePhone)! }] : []),
  ];
  return { displayName: clean(user.displayName) ?? emailAddress, emailAddress, ...optionalFields(user as Record<string, unknown>), phones };
}

const PHONE_TYPES: Readonly<Record<string, DirectoryPhoneType>> = { business: 'business', mobile: 'mobile', home: 'home' };

function fromPerson(person: GraphPerson): DirectoryPerson | undefined {
  const emailAddress = clean(person.scoredEmailAddresses?.find((e) => clean(e?.address))?.address);
  if (!emailAddress) return undefined;
  const phones = (person.phones ?? [])
    .map((p) => ({ type: PHONE_TYPES[p?.type ?? ''] ?? ('other' as const), number: clean(p?.number) }))
    .filter((p): p is { type: DirectoryPhoneType; number: string } => p.number !== undefined);
  return { displayName: clean(person.displayName) ?? emailAddress, emailAddress, ...optionalFields(person as Record<string, unknown>), phones };
}

/**
 * Users whose name or address matches `text`: an address (it has an @) by `$filter` equality on
 * mail and userPrincipalName; a name by `$search` on displayName, given name, surname and mail
 * (word-prefix matching, which needs ConsistencyLevel: eventual).
 */
export async function findUsers(client: GraphMailbox, text: string, top: number): Promise<GraphDirectoryResult> {
  const value = text.trim();
  const parameters: Record<string, string> = value.includes('@')
    ? { $filter: `mail eq ${odataStringLiteral(value)} or userPrincipalName eq ${odataStringLiteral(value)}`, $select: USER_SELECT.join(','), $top: String(top) }
    : { $search: ['displayName', 'givenName', 'surname', 'mail'].map((p) => searchPhrase(p, value)).join(' OR '), $select: USER_SELECT.join(','), $top: String(top) };
  const headers: Record<string, string> = value.includes('@') ? {} : { ConsistencyLevel: 'eventual' };
  const page = await client.page<GraphUser>(`/users?${query(parameters)}`, headers);
  return { people: page.value.map(fromUser).filter((p): p is DirectoryPerson => p !== undefined), moreAvailable: page.nextLink !== undefined };
}

/** The people relevant to the client's mailbox matching `text` (People API `$search`). */
export async function findPeople(client: GraphMailbox, text: string, top: number): Promise<GraphDirectoryResult> {
  const parameters = { $search: `"${text.trim().replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`, $select: PERSON_SELECT.join(','), $top: String(top) };
  const page = await client.page<GraphPerson>(`${client.userPath}/people?${query(parameters)}`);
  return { people: page.value.map(fromPerson).filter((p): p is DirectoryPerson => p !== undefined), moreAvailable: page.nextLink !== undefined };
}
