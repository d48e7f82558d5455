/**
 * ResolveNames: looks a name or address up in the organisation's directory (Active Directory /
 * Exchange Online's GAL) with ReturnFullContactData, so each resolution carries the directory's
 * contact data (names, phones, department, title). Built on the client's postSoap like the hot
 * path: the entry is a text value the XML builder escapes, never concatenated into markup.
 *
 * Exchange's answers, by response code:
 * - NoError: exactly one resolution.
 * - ErrorNameResolutionMultipleResults (ResponseClass Warning): several candidates, all in the
 *   ResolutionSet (at most 100; IncludesLastItemInRange false when there were more).
 * - ErrorNameResolutionNoResults (Error): nothing matched; returned as an empty result, not thrown.
 * Anything else fails the call with the typed error for its code.
 */
import { responseCodeError } from '../error-classifier';
import { EwsConfigurationError, EwsProtocolError } from '../errors';
import type { MailboxClient } from '../mailbox-client';
import type { DirectoryPerson, DirectoryPhoneType } from '../types';
import { soapEnvelope, type SoapRequestContext } from '../soap/request-builder';
import { responseMessages } from '../soap/response-reader';
import { child, childrenNamed, childText, readXml, XmlReadError, type XmlElement } from '../soap/xml-reader';

/** Exchange answers at most this many resolutions per ResolveNames call. */
export const MAX_RESOLUTIONS = 100;

export type ResolveNamesScope = 'ActiveDirectory' | 'ActiveDirectoryContacts' | 'Contacts' | 'ContactsActiveDirectory';

export interface ResolveNamesOptions {
  /** Default ActiveDirectory: the organisation's directory only, not the mailbox's own Contacts. */
  readonly searchScope?: ResolveNamesScope;
}

/** One candidate Exchange resolved the entry to. */
export interface EwsResolution extends DirectoryPerson {
  /** Mailbox, PublicDL, Contact, ... (EWS MailboxType). */
  readonly mailboxType?: string;
  /** ActiveDirectory or Store (the mailbox's Contacts). */
  readonly contactSource?: string;
}

export interface ResolveNamesResult {
  readonly resolutions: readonly EwsResolution[];
  /** True when Exchange answered ErrorNameResolutionMultipleResults (several candidates). */
  readonly ambiguous: boolean;
  /** False when Exchange had more candidates than it returned (it returns at most 100). */
  readonly includesLastItemInRange: boolean;
}

const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const OPERATION = 'ResolveNames';

function resolveNamesRequest(context: SoapRequestContext, entry: string, scope: ResolveNamesScope): string {
  return soapEnvelope(context, {
    'm:ResolveNames': { '@_ReturnFullContactData': 'true', '@_SearchScope': scope, 'm:UnresolvedEntry': entry },
  });
}

const PHONE_TYPES: Readonly<Record<string, DirectoryPhoneType>> = {
  BusinessPhone: 'business',
  BusinessPhone2: 'business',
  CompanyMainPhone: 'business',
  MobilePhone: 'mobile',
  BusinessMobile: 'mobile',
  HomePhone: 'home',
  HomePhone2: 'home',
};

function text(element: XmlElement | undefined, name: string): string | undefined {
  const value = childText(element, name)?.trim();
  return value ? value : undefined;
}

/** `SMTP:alice@contoso.com` (a contact's email entry) to the bare address. */
function bareAddress(value: string): string {
  return value.replace(/^smtp:/i, '').trim();
}

function readResolution(element: XmlElement): EwsResolution {
  const mailbox = child(element, 'Mailbox');
  const contact = child(element, 'Contact');
  const emailAddress = text(mailbox, 'EmailAddress') ?? bareAddress(childrenNamed(child(contact, 'EmailAddresses'), 'Entry')[0]?.text ?? '');
  const phones = childrenNamed(child(contact, 'PhoneNumbers'), 'Entry')
    .map((entry) => ({ type: PHONE_TYPES[entry.attributes.Key ?? ''] ?? 'other', number: entry.text.trim() }))
    .filter((phone) => phone.number.length > 0);
  const optional = <K extends string>(key: K, value: string | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, string>));
  return {
    displayName: text(mailbox, 'Name') ?? text(contact, 'DisplayName') ?? emailAddress,
    emailAddress,
    ...optional('mailboxType', text(mailbox, 'MailboxType')),
    ...optional('contactSource', text(contact, 'ContactSource')),
    ...optional('givenName', text(contact, 'GivenName')),
    ...optional('surname', text(contact, 'Surname')),
    ...optional('companyName', text(contact, 'CompanyName')),
    ...optional('department', text(contact, 'Department')),
    ...optional('jobTitle', text(contact, 'JobTitle')),
    ...optional('officeLocation', text(contact, 'OfficeLocation')),
    phones,
  };
}

/** ResolveNames with full contact data for what a user typed (a name, part of one, or an address). */
export async function resolveNames(client: MailboxClient, entry: string, options: ResolveNamesOptions = {}): Promise<ResolveNamesResult> {
  const unresolved = entry.trim();
  if (!unresolved) throw new EwsConfigurationError('InvalidArgument', 'The name to resolve must not be empty.');
  if (NOT_XML_CHAR.test(unresolved)) throw new EwsConfigurationError('InvalidArgument', 'The name to resolve contains a character XML cannot carry.');
  const xml = await client.postSoap(OPERATION, (context) => resolveNamesRequest(context, unresolved, options.searchScope ?? 'ActiveDirectory'));
  let envelope: XmlElement;
  try {
    envelope = readXml(xml);
  } catch (error) {
    if (error instanceof XmlReadError) throw new EwsProtocolError(`${OPERATION}: the EWS response could not be read: ${error.message}`, { cause: error });
    throw error;
  }
  const [message] = responseMessages(envelope, OPERATION);
  if (!message) throw new EwsProtocolError(`${OPERATION}: the EWS response has no response message`);
  if (message.code === 'ErrorNameResolutionNoResults') return { resolutions: [], ambiguous: false, includesLastItemInRange: true };
  if (message.responseClass === 'Error' || (message.responseClass === 'Warning' && message.code !== 'ErrorNameResolutionMultipleResults')) {
    throw responseCodeError(message.code, message.message || message.code, message.details, OPERATION, 200);
  }
  const set = child(message.element, 'ResolutionSet');
  const resolutions = childrenNamed(set, 'Resolution').map(readResolution).filter((r) => r.emailAddress.length > 0);
  return {
    resolutions,
    ambiguous: message.code === 'ErrorNameResolutionMultipleResults',
    includesLastItemInRange: set?.attributes.IncludesLastItemInRange !== 'false',
  };
}
