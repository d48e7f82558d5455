/**
 * "EWS URL from an email address" for on-premises (service-account) groups, in the admin API and
 * the connection test: Autodiscover (shared/ews/autodiscover.ts) under the outbound address
 * policy. Every Autodiscover URL (candidate or redirect) and the EWS URL found pass the same rules
 * as a webhook target (https; in production a host whose every address is public), checked before
 * anything is sent, and again at connect time (publicOnlyLookup). The whole discovery is
 * time-boxed. The password comes from Key Vault (a group's credential) or from the request (before
 * a group exists); it is never stored, logged, audited or echoed.
 */
import { z } from 'zod';
import { HttpProblem } from '../http/problem';
import type { FieldProblem } from '../http/problem';
import { SecretString } from '../logging';
import type { GroupRecord } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { operation } from './admin-endpoint';
import type { AdminRoute, ResponseDescription, RunContext } from './admin-endpoint';
import { recordAudit } from './audit-trail';
import { groupPath, loadGroup } from './group-service';
import type { AdminPrincipal } from './principal';
import { httpUrl, smtpAddress, text } from './schemas';
import { loadTenant, tenantPath } from './tenant-service';
import { webhookTargetProblem } from './webhook-target-policy';
import { discoverUnderPolicy } from './autodiscover-under-policy';
import type { DiscoveryView } from './autodiscover-under-policy';

// ---- the admin API -------------------------------------------------------------------------

const autodiscoverUrlField = httpUrl.optional().meta({
  description: 'Ask this Autodiscover endpoint (…/autodiscover/autodiscover.svc for SOAP, …/autodiscover.xml for POX) instead of https://{domain} and https://autodiscover.{domain}.',
});

export const groupDiscoveryRequest = z
  .strictObject({
    emailAddress: smtpAddress.optional().meta({ description: "Any address of a mailbox; default: the group's first mailbox." }),
    autodiscoverUrl: autodiscoverUrlField,
  })
  .meta({ id: 'GroupEwsUrlDiscoveryRequest' });

export const tenantDiscoveryRequest = z
  .strictObject({
    emailAddress: smtpAddress.meta({ description: 'Any address of the mailbox (Autodiscover answers with its primary SMTP address).', example: 'alice@contoso.com' }),
    serviceAccount: text(256).meta({ description: 'Service account logon: UPN, DOMAIN\\user or SMTP address.' }),
    password: z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters').meta({ description: 'Used for this request only: never stored, logged or returned.', writeOnly: true }),
    authScheme: z.enum(['basic', 'ntlm']).default('basic'),
    autodiscoverUrl: autodiscoverUrlField,
  })
  .meta({ id: 'TenantEwsUrlDiscoveryRequest' });

export const discoveryResponse = z
  .strictObject({
    outcome: z.enum(['found', 'failed']),
    emailAddress: z.string(),
    ewsUrl: z.string().optional().meta({ description: 'The EWS URL Exchange names for the mailbox (already checked against the outbound address policy).' }),
    autodiscoverUrl: z.string().optional(),
    primarySmtpAddress: z.string().optional(),
    displayName: z.string().optional(),
    matchesGroupEwsUrl: z.boolean().optional().meta({ description: "Group discovery: whether the group's ewsUrl is the one found." }),
    code: z.string().optional(),
    message: z.string(),
    attempts: z.array(
      z.strictObject({
        url: z.string(),
        protocol: z.enum(['soap', 'pox']),
        outcome: z.enum(['found', 'redirected', 'refusedByPolicy', 'failed']),
        code: z.string().optional(),
        redirectTo: z.string().optional(),
      }),
    ),
    durationInMs: z.number(),
  })
  .meta({ id: 'EwsUrlDiscoveryResult' });

type GroupDiscoveryRequest = z.output<typeof groupDiscoveryRequest>;
type TenantDiscoveryRequest = z.output<typeof tenantDiscoveryRequest>;
/** What both endpoints answer (discoveryResponse is its published schema). */
type DiscoveryResponse = DiscoveryView & { readonly matchesGroupEwsUrl?: boolean };

/** The Autodiscover URL the administrator typed, under the same policy as every other outbound URL (named as a field). */
async function autodiscoverUrlProblems(raw: unknown, context: RunContext): Promise<FieldProblem[]> {
  const url = (raw as { autodiscoverUrl?: unknown } | null)?.autodiscoverUrl;
  if (typeof url !== 'string' || !URL.canParse(url)) return [];
  const problem = await webhookTargetProblem(url, { environment: context.deps.environment, ...(context.deps.resolveHost ? { resolveHost: context.deps.resolveHost } : {}) }, '/autodiscoverUrl');
  return problem ? [problem] : [];
}

async function checkedBody<B extends { autodiscoverUrl?: string | undefined }>(body: B, deps: AdminDependencies): Promise<B> {
  if (!body.autodiscoverUrl) return body;
  const problem = await webhookTargetProblem(body.autodiscoverUrl, { environment: deps.environment, ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}) }, '/autodiscoverUrl');
  if (problem) throw new HttpProblem(400, 'ValidationFailed', 'Validation failed', 'One or more fields are invalid.', [problem]);
  return body;
}

function notForAccessType(group: GroupRecord): HttpProblem {
  return new HttpProblem(
    409,
    'NotSupportedForAccessType',
    'Autodiscover is for on-premises groups',
    `This is a ${group.mailboxAccessType} group. Finding the EWS URL from an address uses the service account of an impersonation (on-premises) group; Exchange Online groups use ${group.mailboxAccessType === 'delegated' ? "the users' own sign-in" : 'https://outlook.office365.com/EWS/Exchange.asmx or Microsoft Graph'}.`,
  );
}

async function auditDiscovery(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string, target: string, view: DiscoveryView): Promise<void> {
  await recordAudit(deps, principal, tenantId, 'ewsUrl.discovered', target, { emailAddress: view.emailAddress, outcome: view.outcome, ewsUrl: view.ewsUrl ?? null, code: view.code ?? null });
}

export async function discoverForGroup(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string, groupId: string, body: GroupDiscoveryRequest): Promise<DiscoveryResponse> {
  const group = await loadGroup(deps, principal, tenantId, groupId);
  if (group.mailboxAccessType !== 'impersonation') throw notForAccessType(group);
  const request = await checkedBody(body, deps);
  const authScheme = group.impersonation?.authScheme ?? 'basic';
  // Autodiscover hosts are other HTTP services than EWS, with SPNs of their own; asking the KDC for
  // tickets to hosts we discover would let a hostile Autodiscover answer choose the SPN.
  if (authScheme === 'kerberos') throw new HttpProblem(409, 'NotSupportedForAuthScheme', 'Autodiscover is not available for Kerberos groups', 'Discovery signs in with Basic or NTLM. Use POST /api/admin/tenants/{tenantId}/ews-url-discovery with a Basic or NTLM account, or set the group\'s ewsUrl directly.');
  const reference = group.credential;
  if (!reference) throw new HttpProblem(409, 'CredentialsMissing', 'The group has no credentials', 'Set the service account password with PUT .../credentials first, or use POST /api/admin/tenants/{tenantId}/ews-url-discovery with a password.');
  let emailAddress = request.emailAddress?.toLowerCase();
  if (!emailAddress) emailAddress = (await deps.mailboxes.page(tenantId, groupId, { maxPageSize: 1 })).items[0]?.smtpAddress;
  if (!emailAddress) throw new HttpProblem(400, 'ValidationFailed', 'Validation failed', 'The group has no mailbox yet: name an address.', [{ pointer: '/emailAddress', detail: 'is required while the group has no mailboxes' }]);
  const secret = await deps.vault.getSecret(reference.secretName, { version: reference.secretVersion });
  const view = await discoverUnderPolicy({
    environment: deps.environment,
    credential: { kind: authScheme, username: group.impersonation?.serviceAccount ?? '', password: secret },
    emailAddress,
    autodiscoverUrl: request.autodiscoverUrl,
    ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}),
  });
  await auditDiscovery(deps, principal, tenantId, `${groupPath(tenantId, groupId)}/ews-url-discovery`, view);
  return { ...view, ...(view.ewsUrl ? { matchesGroupEwsUrl: sameUrl(view.ewsUrl, group.ewsUrl) } : {}) };
}

export async function discoverForTenant(deps: AdminDependencies, principal: AdminPrincipal, tenantId: string, body: TenantDiscoveryRequest): Promise<DiscoveryResponse> {
  await loadTenant(deps, principal, tenantId);
  const request = await checkedBody(body, deps);
  const view = await discoverUnderPolicy({
    environment: deps.environment,
    credential: { kind: request.authScheme, username: request.serviceAccount, password: new SecretString(request.password) },
    emailAddress: request.emailAddress.toLowerCase(),
    autodiscoverUrl: request.autodiscoverUrl,
    ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}),
  });
  await auditDiscovery(deps, principal, tenantId, `${tenantPath(tenantId)}/ews-url-discovery`, view);
  return view;
}

function sameUrl(a: string, b: string | undefined): boolean {
  if (!b || !URL.canParse(b)) return false;
  return new URL(a).href.toLowerCase() === new URL(b).href.toLowerCase();
}

const common: Record<number, ResponseDescription> = {
  401: { description: 'No valid bearer token (WWW-Authenticate: Bearer).' },
  403: { description: 'The token has no admin role.' },
};
const ran: ResponseDescription = { description: 'Discovery ran (see outcome; a failed discovery is still 200, with code and the attempts).', schema: discoveryResponse };
const DISCOVERY_DESCRIPTION =
  'SOAP Autodiscover (GetUserSettings) and POX Autodiscover at https://{domain} and https://autodiscover.{domain}, or at autodiscoverUrl. Redirects (URL and address) are followed at most 5 times; ' +
  'every URL contacted and the EWS URL found must pass the outbound address policy (https; in production only public addresses), else the attempt is `refusedByPolicy` and nothing is sent. Ends within 30 s.';

export const ewsUrlDiscoveryRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-ews-url-discovery',
    route: 'admin/tenants/{tenantId}/ews-url-discovery',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'discoverEwsUrl',
        method: 'POST',
        summary: 'Find the EWS URL of an on-premises mailbox from its email address (before a group exists)',
        description: `${DISCOVERY_DESCRIPTION} The service account password is used for this request only: never stored, logged, audited or returned.`,
        tags: ['Connection tests'],
        body: tenantDiscoveryRequest,
        crossFieldProblems: autodiscoverUrlProblems,
        responses: { 200: ran, 400: { description: 'Validation failed; `errors` names each field by JSON pointer.' }, 404: { description: "Unknown tenant, or one outside the caller's scope." }, ...common },
        handle: async ({ deps, principal, params, body }) => ({ status: 200, body: await discoverForTenant(deps, principal, params.tenantId, body) }),
      }),
    ],
  },
  {
    name: 'admin-group-ews-url-discovery',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/ews-url-discovery',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'discoverGroupEwsUrl',
        method: 'POST',
        summary: "Find the EWS URL for an address with the group's service account",
        description: `${DISCOVERY_DESCRIPTION} Impersonation groups only; uses the group's stored credential. \`matchesGroupEwsUrl\` says whether the group's ewsUrl is the one found.`,
        tags: ['Connection tests'],
        body: groupDiscoveryRequest,
        crossFieldProblems: autodiscoverUrlProblems,
        responses: {
          200: ran,
          400: { description: 'Validation failed; `errors` names each field by JSON pointer.' },
          404: { description: "Unknown tenant or group, or a tenant outside the caller's scope." },
          409: { description: 'Not an impersonation group, or no credentials set.' },
          ...common,
        },
        handle: async ({ deps, principal, params, body }) => ({ status: 200, body: await discoverForGroup(deps, principal, params.tenantId, params.groupId, body) }),
      }),
    ],
  },
];
