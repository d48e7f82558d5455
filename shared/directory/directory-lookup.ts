/**
 * Looks people up in a group's Exchange directory, protocol-independent: the group's protocol picks
 * EWS ResolveNames (with full contact data) or Graph (/users, or /people for the people relevant to
 * one mailbox). Both answer with the same `DirectoryPerson` shape, reduced to what a business
 * application needs: names, address, phones, department, title. Failures leave as
 * MailboxSourceError (the sync engine's typed errors), so callers map one set of codes.
 */
import type { DirectoryPerson, EwsResolution, ResolveNamesScope } from '../ews';
import { resolveNames } from '../ews';
import { findPeople, findUsers } from '../graph/directory';
import { groupProtocol } from '../storage/records';
import type { GroupRecord } from '../storage/records';
import { toMailboxSourceError } from '../sync/ews-mailbox-source';
import { graphToMailboxSourceError } from '../sync/graph-mailbox-source';
import { openGraphClient, openMailboxClient } from '../sync/mailbox-access';
import type { MailboxAccessOptions } from '../sync/mailbox-access';

/** directory: the organisation's address book (EWS ResolveNames in Active Directory, Graph /users). people: also the anchor mailbox's own contacts and correspondents (EWS Contacts + directory, Graph /people). */
export const DIRECTORY_SOURCES = ['directory', 'people'] as const;
export type DirectorySource = (typeof DIRECTORY_SOURCES)[number];

/** Most results one lookup returns (EWS ResolveNames answers at most 100). */
export const MAX_DIRECTORY_RESULTS = 100;

export type { DirectoryPerson, DirectoryPhoneType } from '../ews/types';

export interface DirectoryLookupRequest {
  /** What the user typed: a name, part of one, or an address. */
  readonly query: string;
  readonly source: DirectorySource;
  /** 1..MAX_DIRECTORY_RESULTS. */
  readonly limit: number;
  /** The group's mailbox whose credential (delegated) or context (people, EWS impersonation) the lookup uses. */
  readonly anchorMailbox: string;
  readonly anchorUserId?: string | undefined;
}

export interface DirectoryLookupResult {
  readonly protocol: 'ews' | 'graph';
  readonly items: readonly DirectoryPerson[];
  /** More people matched than were returned: refine the query. */
  readonly moreAvailable: boolean;
  /** EWS: Exchange answered ErrorNameResolutionMultipleResults (several candidates, none exact). */
  readonly ambiguous: boolean;
}

export interface DirectoryLookup {
  lookup(group: GroupRecord, request: DirectoryLookupRequest): Promise<DirectoryLookupResult>;
}

const EWS_SCOPES: Readonly<Record<DirectorySource, ResolveNamesScope>> = { directory: 'ActiveDirectory', people: 'ActiveDirectoryContacts' };

function fromResolution(resolution: EwsResolution): DirectoryPerson {
  const { displayName, emailAddress, givenName, surname, jobTitle, department, companyName, officeLocation, phones } = resolution;
  return withoutUndefined({ displayName, emailAddress, givenName, surname, jobTitle, department, companyName, officeLocation, phones });
}

function fromGraph(person: DirectoryPerson): DirectoryPerson {
  return withoutUndefined({ ...person });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The same person can come back twice (a directory user who is also a contact): first one wins. */
function distinctByAddress(people: readonly DirectoryPerson[]): DirectoryPerson[] {
  const seen = new Set<string>();
  return people.filter((person) => {
    const key = person.emailAddress.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function createDirectoryLookup(access: MailboxAccessOptions): DirectoryLookup {
  return {
    async lookup(group, request) {
      const mailbox = { smtpAddress: request.anchorMailbox, userId: request.anchorUserId };
      if (groupProtocol(group) === 'graph') {
        try {
          const client = await openGraphClient(group, mailbox, access);
          const result = request.source === 'people' ? await findPeople(client, request.query, request.limit) : await findUsers(client, request.query, request.limit);
          const items = distinctByAddress(result.people.map(fromGraph));
          return { protocol: 'graph', items: items.slice(0, request.limit), moreAvailable: result.moreAvailable || items.length > request.limit, ambiguous: false };
        } catch (error) {
          throw graphToMailboxSourceError(error);
        }
      }
      try {
        const client = await openMailboxClient(group, mailbox, access);
        const result = await resolveNames(client, request.query, { searchScope: EWS_SCOPES[request.source] });
        const items = distinctByAddress(result.resolutions.map(fromResolution));
        return { protocol: 'ews', items: items.slice(0, request.limit), moreAvailable: !result.includesLastItemInRange || items.length > request.limit, ambiguous: result.ambiguous };
      } catch (error) {
        throw toMailboxSourceError(error);
      }
    },
  };
}
