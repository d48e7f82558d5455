/** ResolveNames (directory + Contacts folder) and ConvertId. */
import { decodeEntryId, decodeId, encodeEntryId, encodeId, type DecodedId } from '../ids';
import { itemXml, mailboxXml } from '../item-xml';
import { directoryPerson, matchesDirectoryEntry } from '../directory-person';
import type { Contact, Mailbox } from '../model';
import { canOpen } from '../request-context';
import { EwsError, responseMessage } from '../soap';
import { attr, child, childText, children, parseBoolean, esc } from '../xml';
import { asEwsError, type Operation } from './common';

interface Resolution {
  readonly xml: string;
}

export const resolveNames: Operation = (ctx, request) => {
  const name = 'ResolveNamesResponseMessage';
  const entry = (childText(request, 'UnresolvedEntry') ?? '').trim();
  const fullContact = parseBoolean(attr(request, 'ReturnFullContactData')) ?? false;
  const scope = attr(request, 'SearchScope') ?? 'ActiveDirectoryContacts';
  const needle = entry.replace(/^(smtp|sip):/i, '').toLowerCase();
  const results: Resolution[] = [];
  if (needle && scope !== 'Contacts') {
    for (const mailbox of ctx.store.mailboxes(ctx.caller.organisationId)) {
      if (!matchesDirectoryEntry(mailbox, needle)) continue;
      const contact = fullContact ? `<t:Contact>${directoryContact(mailbox)}</t:Contact>` : '';
      results.push({ xml: `<t:Resolution>${mailboxXml({ name: mailbox.displayName, address: mailbox.smtpAddress, routingType: 'SMTP', mailboxType: 'Mailbox' })}${contact}</t:Resolution>` });
    }
  }
  if (needle && scope !== 'ActiveDirectory' && ctx.actingAs) {
    const contacts = ctx.store.folderItems(ctx.store.getFolder(ctx.actingAs.smtpAddress, { distinguished: 'contacts' }));
    for (const item of contacts) {
      if (item.kind !== 'contact' || !matchesContact(item, needle)) continue;
      const address = item.emailAddresses[0]?.address ?? '';
      const contact = fullContact ? itemXml(item, { base: 'AllProperties', additional: new Set(), bodyType: 'Best', includeMimeContent: false, context: 'find' }, ctx.store).replace(/^<t:Contact>/, '<t:Contact>') : '';
      results.push({
        xml: `<t:Resolution>${mailboxXml({ name: item.displayName, address, routingType: 'SMTP', mailboxType: 'Contact' })}${contact}</t:Resolution>`,
      });
    }
  }
  if (results.length === 0) {
    return `<m:ResponseMessages>${responseMessage(name, '', new EwsError('ErrorNameResolutionNoResults'))}</m:ResponseMessages>`;
  }
  const page = results.slice(0, 100);
  const set = `<m:ResolutionSet TotalItemsInView="${results.length}" IncludesLastItemInRange="${page.length === results.length}">${page.map((r) => r.xml).join('')}</m:ResolutionSet>`;
  if (results.length === 1) return `<m:ResponseMessages>${responseMessage(name, set)}</m:ResponseMessages>`;
  // Several matches: Exchange answers with a warning carrying all candidates.
  const warning =
    `<m:${name} ResponseClass="Warning"><m:MessageText>Multiple results were found.</m:MessageText>` +
    `<m:ResponseCode>ErrorNameResolutionMultipleResults</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${set}</m:${name}>`;
  return `<m:ResponseMessages>${warning}</m:ResponseMessages>`;
};

function matchesContact(contact: Contact, needle: string): boolean {
  if (contact.emailAddresses.some((e) => e.address.toLowerCase() === needle)) return true;
  if (needle.includes('@')) return false;
  return contact.displayName.toLowerCase().split(/\s+/).some((w) => w.startsWith(needle)) || contact.displayName.toLowerCase().startsWith(needle);
}

/** The directory entry as ResolveNames' full contact data (ContactItemType's sequence order). */
function directoryContact(mailbox: Mailbox): string {
  const person = directoryPerson(mailbox);
  const text = (element: string, value: string | undefined) => (value ? `<t:${element}>${esc(value)}</t:${element}>` : '');
  const phones = [...person.businessPhones.slice(0, 2).map((number, index) => [index === 0 ? 'BusinessPhone' : 'BusinessPhone2', number] as const), ...(person.mobilePhone ? [['MobilePhone', person.mobilePhone] as const] : [])];
  return (
    text('DisplayName', person.displayName) +
    text('GivenName', person.givenName) +
    text('CompanyName', person.companyName) +
    `<t:EmailAddresses><t:Entry Key="EmailAddress1">SMTP:${esc(mailbox.smtpAddress)}</t:Entry></t:EmailAddresses>` +
    (phones.length > 0 ? `<t:PhoneNumbers>${phones.map(([key, number]) => `<t:Entry Key="${key}">${esc(number)}</t:Entry>`).join('')}</t:PhoneNumbers>` : '') +
    '<t:ContactSource>ActiveDirectory</t:ContactSource>' +
    text('Department', person.department) +
    text('JobTitle', person.jobTitle) +
    text('OfficeLocation', person.officeLocation) +
    text('Surname', person.surname)
  );
}

type IdFormat = 'EwsId' | 'EwsLegacyId' | 'EntryId' | 'HexEntryId' | 'StoreId' | 'OwaId';
const FORMATS = new Set<IdFormat>(['EwsId', 'EwsLegacyId', 'EntryId', 'HexEntryId', 'StoreId', 'OwaId']);
const STORE_ID_PREFIX = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x18, 0x00]);

function decodeAlternate(format: IdFormat, id: string, mailbox: string): DecodedId | undefined {
  switch (format) {
    case 'EwsId':
    case 'EwsLegacyId':
      return decodeId(id);
    case 'OwaId':
      return decodeId(id.replace(/^Rg/, '').replace(/-/g, '+').replace(/_/g, '/'));
    case 'EntryId':
      return decodeEntryId(Buffer.from(id, 'base64'), mailbox);
    case 'HexEntryId':
      return /^[0-9A-Fa-f]+$/.test(id) ? decodeEntryId(Buffer.from(id, 'hex'), mailbox) : undefined;
    case 'StoreId': {
      const bytes = Buffer.from(id, 'base64');
      return bytes.subarray(0, STORE_ID_PREFIX.length).equals(STORE_ID_PREFIX) ? decodeEntryId(bytes.subarray(STORE_ID_PREFIX.length), mailbox) : undefined;
    }
  }
}

function encodeAlternate(format: IdFormat, decoded: DecodedId): string {
  switch (format) {
    case 'EwsId':
    case 'EwsLegacyId':
      return encodeId(decoded.kind, decoded.mailbox, decoded.number);
    case 'OwaId':
      return 'Rg' + encodeId(decoded.kind, decoded.mailbox, decoded.number).replace(/\+/g, '-').replace(/\//g, '_');
    case 'EntryId':
      return encodeEntryId(decoded).toString('base64');
    case 'HexEntryId':
      return encodeEntryId(decoded).toString('hex').toUpperCase();
    case 'StoreId':
      return Buffer.concat([STORE_ID_PREFIX, encodeEntryId(decoded)]).toString('base64');
  }
}

/**
 * Decodes an alternate id. Entry ids carry their store's identity, not an address: when the
 * Mailbox attribute names another mailbox, the owner is found among the organisation's stores.
 */
function decodeOwned(ctx: Parameters<Operation>[0], format: IdFormat, id: string, mailboxAddress: string): DecodedId | undefined {
  const named = ctx.store.getMailbox(mailboxAddress)?.smtpAddress ?? mailboxAddress;
  const direct = decodeAlternate(format, id, named);
  if (direct || format === 'EwsId' || format === 'EwsLegacyId' || format === 'OwaId') return direct;
  for (const mailbox of ctx.store.mailboxes(ctx.caller.organisationId)) {
    if (mailbox.smtpAddress === named) continue;
    const decoded = decodeAlternate(format, id, mailbox.smtpAddress);
    if (decoded) return decoded;
  }
  return undefined;
}

export const convertId: Operation = (ctx, request) => {
  const destination = attr(request, 'DestinationFormat') as IdFormat;
  const sources = children(child(request, 'SourceIds') ?? request).filter((e) => e.localName === 'AlternateId');
  let out = '<m:ResponseMessages>';
  for (const source of sources) {
    try {
      const format = attr(source, 'Format') as IdFormat;
      const mailboxAddress = (attr(source, 'Mailbox') ?? '').toLowerCase();
      if (!FORMATS.has(format) || !FORMATS.has(destination)) throw new EwsError('ErrorInvalidIdMalformed');
      const decoded = decodeOwned(ctx, format, attr(source, 'Id') ?? '', mailboxAddress);
      if (!decoded) throw new EwsError('ErrorInvalidIdMalformed');
      // The id names its own mailbox: the answer carries the real owner's primary address even
      // when the request's Mailbox attribute named another one (or an alias), as Exchange does.
      const mailbox = ctx.store.getMailbox(decoded.mailbox);
      if (!mailbox) throw new EwsError('ErrorInvalidIdMalformed');
      if (!canOpen(ctx, mailbox)) throw new EwsError('ErrorAccessDenied');
      const converted = encodeAlternate(destination, decoded);
      out += responseMessage(
        'ConvertIdResponseMessage',
        `<m:AlternateId xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t:AlternateIdType" Format="${destination}" Id="${esc(converted)}" Mailbox="${esc(mailbox.smtpAddress)}"/>`,
      );
    } catch (error) {
      out += responseMessage('ConvertIdResponseMessage', '', asEwsError(error));
    }
  }
  return out + '</m:ResponseMessages>';
};
