/**
 * GET /api/admin/tenants/{t}/groups/{g}/directory?q=...: looks people up in the directory of the
 * Exchange organisation a group reaches, with the group's own access (its protocol and credential),
 * for the business application's address pickers. Same token, tenant scoping, validation and
 * problem+json as the rest of /api/admin; a read, so not audited.
 */
import { z } from 'zod';
import { operation } from '../admin/admin-endpoint';
import type { AdminRoute, ResponseDescription } from '../admin/admin-endpoint';
import type { AdminDependencies } from '../admin/admin-dependencies';
import { loadGroup } from '../admin/group-service';
import type { AdminPrincipal } from '../admin/principal';
import { smtpAddress, text } from '../admin/schemas';
import { HttpProblem } from '../http/problem';
import type { MailboxRecord, Stored } from '../storage';
import { groupProtocol } from '../storage/records';
import { MailboxSourceError } from '../sync/mailbox-source';
import { directoryLookupService } from './directory-composition';
import { DIRECTORY_SOURCES, MAX_DIRECTORY_RESULTS } from './directory-lookup';
import type { DirectoryLookupResult } from './directory-lookup';

export const MAX_DIRECTORY_QUERY_CHARS = 256;

export const directoryLookupQuery = z.strictObject({
  q: text(MAX_DIRECTORY_QUERY_CHARS).meta({ description: 'A name, the start of one, or an SMTP address.', example: 'anders' }),
  source: z.enum(DIRECTORY_SOURCES).default('directory').meta({
    description: "directory: the organisation's address book (EWS ResolveNames in Active Directory; Graph /users). people: also the anchor mailbox's contacts and correspondents (EWS ResolveNames with Contacts; Graph /people).",
  }),
  limit: z.coerce.number().int().min(1).max(MAX_DIRECTORY_RESULTS).default(25).meta({ description: `Most people returned, 1-${MAX_DIRECTORY_RESULTS}; moreAvailable says when more matched (refine q).` }),
  mailbox: smtpAddress.optional().meta({ description: "The group's mailbox whose access the lookup uses (delegated groups: that user's sign-in; people: that mailbox's relevant people). Default: the group's first enabled mailbox." }),
});
export type DirectoryLookupQuery = z.output<typeof directoryLookupQuery>;

const phone = z.strictObject({ type: z.enum(['business', 'mobile', 'home', 'other']), number: z.string() });

export const directoryPersonResponse = z
  .strictObject({
    displayName: z.string(),
    emailAddress: z.string(),
    givenName: z.string().optional(),
    surname: z.string().optional(),
    jobTitle: z.string().optional(),
    department: z.string().optional(),
    companyName: z.string().optional(),
    officeLocation: z.string().optional(),
    phones: z.array(phone),
  })
  .meta({ id: 'DirectoryPerson' });

export const directoryLookupResponse = z
  .strictObject({
    protocol: z.enum(['ews', 'graph']),
    source: z.enum(DIRECTORY_SOURCES),
    anchorMailbox: z.string(),
    items: z.array(directoryPersonResponse),
    moreAvailable: z.boolean().describe('More people matched than were returned (EWS returns at most 100): refine q.'),
    ambiguous: z.boolean().describe('EWS answered ErrorNameResolutionMultipleResults: several candidates, none an exact match.'),
  })
  .meta({ id: 'DirectoryLookupResult' });

const common: Record<number, ResponseDescription> = {
  401: { description: 'No valid bearer token (WWW-Authenticate: Bearer).' },
  403: { description: 'The token has no admin role.' },
  404: { description: "Unknown tenant or group, or a tenant outside the caller's scope." },
};

/** The mailbox a lookup runs as: the one named (it must be in the group) or the group's first enabled one. */
async function anchorMailbox(deps: AdminDependencies, tenantId: string, groupId: string, named: string | undefined): Promise<Stored<MailboxRecord>> {
  if (named !== undefined) {
    const mailbox = await deps.mailboxes.find(tenantId, groupId, named.toLowerCase());
    if (!mailbox) throw new HttpProblem(400, 'ValidationFailed', 'Validation failed', 'The mailbox is not in this group.', [{ pointer: '/mailbox', detail: 'is not a mailbox of this group' }]);
    return mailbox;
  }
  let continuationToken: string | undefined;
  do {
    const page = await deps.mailboxes.page(tenantId, groupId, { maxPageSize: 50, ...(continuationToken ? { continuationToken } : {}) });
    const enabled = page.items.find((m) => m.enabled);
    if (enabled) return enabled;
    continuationToken = page.continuationToken;
  } while (continuationToken);
  throw new HttpProblem(409, 'NoMailbox', 'The group has no enabled mailbox', "A lookup runs with one of the group's mailboxes (its access, and for delegated groups its user's sign-in): add or enable a mailbox, or name one with ?mailbox=.");
}

/** Exchange's or Graph's refusal, in words an administrator can act on. */
function lookupProblem(error: MailboxSourceError, protocol: 'ews' | 'graph'): HttpProblem {
  const source = error.sourceCode ? ` (${error.sourceCode})` : '';
  switch (error.code) {
    case 'Configuration':
      return new HttpProblem(409, 'GroupNotConfigured', 'The group cannot reach Exchange yet', `${error.message}`);
    case 'AccessDenied':
      return new HttpProblem(
        502,
        'DirectoryAccessDenied',
        'Exchange refused the directory lookup',
        protocol === 'graph'
          ? `Graph refused${source}: the app needs the User.Read.All (or User.ReadBasic.All) application permission for source=directory and People.Read.All for source=people, with admin consent; delegated users need User.ReadBasic.All / People.Read.`
          : `Exchange refused${source}: the account may not resolve names for this mailbox (impersonation right, or the mailbox is hidden).`,
      );
    case 'Throttled':
    case 'Unavailable':
      return new HttpProblem(503, 'ExchangeUnavailable', 'Exchange is busy or unavailable', `Try again in ${Math.ceil((error.retryAfterInMs ?? 30_000) / 1000)} seconds${source}.`);
    case 'AuthenticationFailed':
    case 'ReauthenticationRequired':
      return new HttpProblem(502, 'ExchangeAuthenticationFailed', 'Exchange refused the credential', `${error.message} Run a connection test for details${source}.`);
    default:
      return new HttpProblem(502, 'DirectoryLookupFailed', 'The directory lookup failed', `${error.code}${source}: ${error.message}`);
  }
}

export async function lookUpDirectory(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string, groupId: string, query: DirectoryLookupQuery): Promise<z.output<typeof directoryLookupResponse>> {
  const group = await loadGroup(deps, principal, tenantId, groupId);
  const anchor = await anchorMailbox(deps, tenantId, groupId, query.mailbox);
  let result: DirectoryLookupResult;
  try {
    result = await directoryLookupService().lookup(group, { query: query.q, source: query.source, limit: query.limit, anchorMailbox: anchor.smtpAddress, anchorUserId: anchor.userId });
  } catch (error) {
    if (error instanceof MailboxSourceError) throw lookupProblem(error, groupProtocol(group));
    throw error;
  }
  return { protocol: result.protocol, source: query.source, anchorMailbox: anchor.smtpAddress, items: result.items.map((p) => ({ ...p, phones: [...p.phones] })), moreAvailable: result.moreAvailable, ambiguous: result.ambiguous };
}

export const directoryRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-directory',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/directory',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'lookUpDirectory',
        method: 'GET',
        summary: "Look people up in the directory of the group's Exchange organisation",
        description:
          "By name, the start of one, or an address, with the group's own protocol and credential: EWS ResolveNames with ReturnFullContactData, or Graph /users ($search / $filter) and /people. Answers names, address, phones, department, title. See docs/admin-api.md, \"Directory lookup\".",
        tags: ['Directory'],
        query: directoryLookupQuery,
        responses: {
          200: { description: 'The people found (possibly none).', schema: directoryLookupResponse },
          400: { description: 'Validation failed; `errors` names each query parameter at fault (/q, /limit, /source, /mailbox).' },
          409: { description: 'The group has no enabled mailbox, or no credential yet.' },
          502: { description: 'Exchange or Graph refused the lookup (permission missing, credential refused).' },
          503: { description: 'Exchange is throttling or unavailable: try again later.' },
          ...common,
        },
        handle: async ({ deps, principal, params, query }) => ({ status: 200, body: await lookUpDirectory(deps, principal, params.tenantId, params.groupId, query) }),
      }),
    ],
  },
];
