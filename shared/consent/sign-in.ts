/**
 * Per-user sign-in for delegated groups: the invitation link opens the start endpoint, which
 * redirects to Entra's authorize endpoint (auth code + PKCE S256, signed state, nonce, the
 * invited address as login hint). The callback redeems the code with MSAL, checks the ID
 * token (tenant, nonce, user), stores the user's token cache in Key Vault, marks the
 * invitation accepted, resumes a mailbox that was waiting for the user and queues its sync at
 * once (best effort: the group's next poll syncs it anyway).
 */
import { verifiedEntraTenant } from '../admin/tenant-binding';
import { ConsentStateError } from '../auth/consent-state';
import { GLOBAL_GRAPH_RESOURCE } from '../graph/endpoints';
import { groupProtocol } from '../storage/records';
import { toEntraAuthError } from '../auth/entra-errors';
import { userTokenCacheSecretName } from '../auth/token-cache-store';
import type { Logger } from '../logging';
import { SecretString } from '../logging/secret-string';
import { PreconditionFailedError } from '../storage';
import type { MailboxRecord } from '../storage';
import type { DelegatedUserRecord } from '../storage/delegated-users-repository';
import type { InvitationRecord } from '../storage/invitations-repository';
import { newSyncJob } from '../sync/sync-jobs';
import type { ConsentDependencies } from './consent-dependencies';
import { invitationIdOf, invitationState, normaliseInvitationCode } from './invitations';
import { signInRedirectUri } from './redirect-uris';
import type { BrowserStep, ResultPage } from './result-page';
import { stateProblemPage } from './state-pages';

const tenantNotVerified: ResultPage = {
  status: 409,
  code: 'TenantNotVerified',
  title: 'Not ready yet',
  message: "Your organisation's administrator has not connected it yet (admin consent). Ask your administrator, then open this link again.",
};

export type SignInStart = BrowserStep;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const invalidInvitation: ResultPage = {
  status: 404,
  code: 'InvitationInvalid',
  title: 'Invitation not found',
  message: 'This invitation link is not valid. Check that you opened the whole link, or ask your administrator for a new invitation.',
};

function unusable(record: InvitationRecord, now: Date): ResultPage | undefined {
  const state = invitationState(record, now);
  if (state === 'expired') return { status: 410, code: 'InvitationExpired', title: 'Invitation expired', message: 'This invitation has expired. Ask your administrator for a new one.' };
  if (state === 'accepted') return { status: 410, code: 'InvitationUsed', title: 'Invitation already used', message: 'This invitation was already used to sign in. Ask your administrator for a new one if you need to sign in again.' };
  if (state === 'revoked') return { status: 410, code: 'InvitationRevoked', title: 'Invitation withdrawn', message: 'This invitation was withdrawn by your administrator.' };
  return undefined;
}

/**
 * What a user consents to when signing in: Graph's delegated mailbox permissions for a group on
 * protocol graph, EWS.AccessAsUser.All otherwise. One resource per request (Entra's rule); the
 * refresh token then serves the connector's tokens for that resource.
 */
export const GRAPH_DELEGATED_SIGNIN_SCOPES: readonly string[] = ['Mail.ReadWrite', 'Mail.ReadWrite.Shared', 'Mail.Send', 'Calendars.ReadWrite', 'Contacts.ReadWrite', 'Tasks.ReadWrite', 'Calendars.Read.Shared', 'Contacts.Read.Shared'].map((scope) => `${GLOBAL_GRAPH_RESOURCE}/${scope}`);

async function signInScopes(deps: ConsentDependencies, invitation: InvitationRecord): Promise<string[]> {
  const group = await deps.groups.find(invitation.tenantId, invitation.groupId);
  return group && groupProtocol(group) === 'graph' ? [...GRAPH_DELEGATED_SIGNIN_SCOPES] : [deps.connectorApp.ewsDelegatedScope];
}

/** GET consent/signin?tenant=&code= */
export async function startSignIn(deps: ConsentDependencies, query: URLSearchParams): Promise<SignInStart> {
  const tenantId = query.get('tenant') ?? '';
  const code = normaliseInvitationCode(query.get('code'));
  if (!GUID.test(tenantId) || !code) return { kind: 'page', page: invalidInvitation };
  const invitation = await deps.invitations.find(tenantId.toLowerCase(), invitationIdOf(code));
  if (!invitation) return { kind: 'page', page: invalidInvitation };
  const problem = unusable(invitation, deps.now());
  if (problem) return { kind: 'page', page: problem };
  const tenant = await deps.tenants.find(invitation.tenantId);
  if (!tenant) return { kind: 'page', page: invalidInvitation };
  // Users sign in only into the organisation the tenant is provably bound to (docs/security.md).
  const entraTenantId = verifiedEntraTenant(tenant);
  if (!entraTenantId) return { kind: 'page', page: tenantNotVerified };
  const issued = await deps.states.issue({ purpose: 'signIn', tenantId: tenant.id, invitationId: invitation.id, entraTenantId });
  const { challenge } = await deps.states.pkce(issued.stateId);
  const application = await deps.connectorApp.application(entraTenantId);
  const location = await application.getAuthCodeUrl({
    scopes: await signInScopes(deps, invitation),
    redirectUri: signInRedirectUri(deps.publicBaseUrl),
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state: issued.state,
    nonce: await deps.states.nonce(issued.stateId),
    loginHint: invitation.mailbox,
    responseMode: 'query',
  });
  return { kind: 'redirect', location };
}

function claimString(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** GET consent/signin/callback?code=&state= (or error=&error_description=&state=) */
export async function completeSignIn(deps: ConsentDependencies, query: URLSearchParams, log?: Logger): Promise<ResultPage> {
  let claims;
  try {
    claims = await deps.states.verify(query.get('state'), 'signIn');
  } catch (error: unknown) {
    if (error instanceof ConsentStateError) return stateProblemPage(error);
    throw error;
  }
  if (!(await deps.consents.consumeState(claims.stateId, claims.purpose, claims.expiresAt))) {
    return stateProblemPage(new ConsentStateError('StateReplayed', 'This sign-in response was already used. Open your invitation link again.'));
  }
  const entraError = query.get('error');
  if (entraError) {
    const description = (query.get('error_description') ?? '').replace(/[\u0000-\u001f]/g, ' ').slice(0, 600);
    return { status: 400, code: 'SignInRefused', title: 'Sign-in was not completed', message: `Entra ID reported: ${description || entraError}. Open your invitation link to try again.` };
  }
  const authCode = query.get('code');
  const invitation = claims.invitationId ? await deps.invitations.find(claims.tenantId, claims.invitationId) : undefined;
  const tenant = await deps.tenants.find(claims.tenantId);
  if (!authCode || !invitation || !tenant) return invalidInvitation;
  const problem = unusable(invitation, deps.now());
  if (problem) return problem;

  const { verifier } = await deps.states.pkce(claims.stateId);
  const nonce = await deps.states.nonce(claims.stateId);
  const application = await deps.connectorApp.application(tenant.entraTenantId);
  let result;
  try {
    result = await application.acquireTokenByCode({ code: authCode, scopes: await signInScopes(deps, invitation), redirectUri: signInRedirectUri(deps.publicBaseUrl), codeVerifier: verifier, nonce, state: query.get('state')! }, { code: authCode, state: query.get('state')! });
  } catch (error: unknown) {
    const entra = toEntraAuthError(error, { ...(tenant.entraTenantId ? { tenantId: tenant.entraTenantId } : {}), clientId: deps.connectorApp.clientId });
    return { status: 400, code: 'SignInFailed', title: 'Sign-in could not be completed', message: `${entra.message} Open your invitation link to try again.` };
  }
  const idClaims = (result.idTokenClaims ?? {}) as Record<string, unknown>;
  const tid = claimString(idClaims, 'tid')?.toLowerCase();
  const oid = claimString(idClaims, 'oid')?.toLowerCase();
  const username = (claimString(idClaims, 'preferred_username') ?? claimString(idClaims, 'upn') ?? '').toLowerCase();
  if (claimString(idClaims, 'nonce') !== nonce) return { status: 400, code: 'NonceMismatch', title: 'Sign-in could not be completed', message: 'The sign-in response did not match this request. Open your invitation link again.' };
  if (!tid || !oid) return { status: 400, code: 'SignInFailed', title: 'Sign-in could not be completed', message: 'Entra ID did not identify the user.' };
  const expectedTenant = verifiedEntraTenant(tenant);
  if (!expectedTenant || expectedTenant.toLowerCase() !== tid || (claims.entraTenantId && claims.entraTenantId.toLowerCase() !== tid)) {
    return { status: 403, code: 'WrongOrganisation', title: 'Wrong organisation', message: 'You signed in with an account of another organisation. Sign in with your work account.' };
  }
  if (username !== invitation.mailbox) {
    return { status: 403, code: 'WrongUser', title: 'Different account', message: `This invitation is for ${invitation.mailbox}, but you signed in as ${username}. Open the link again and sign in as ${invitation.mailbox}.` };
  }

  const key = { tenantId: tenant.id, userObjectId: oid };
  await deps.tokenCaches.write(key, new SecretString(application.getTokenCache().serialize()));
  const at = deps.now().toISOString();
  const existing = await deps.users.find(tenant.id, oid);
  const keepFolders = existing?.link?.mailbox === invitation.mailbox && existing.link.folders ? { folders: existing.link.folders } : {};
  const user: DelegatedUserRecord = {
    tenantId: tenant.id,
    userObjectId: oid,
    entraTenantId: tid,
    homeAccountId: result.account?.homeAccountId ?? `${oid}.${tid}`,
    userPrincipalName: username,
    ...(claimString(idClaims, 'name') ? { displayName: claimString(idClaims, 'name')! } : {}),
    link: { groupId: invitation.groupId, mailbox: invitation.mailbox, ...keepFolders },
    status: 'active',
    tokenCacheSecretName: userTokenCacheSecretName(key),
    invitationId: invitation.id,
    signedInAt: at,
    createdAt: existing?.createdAt ?? at,
    updatedAt: at,
  };
  await deps.users.upsert(user);
  const { etag, ...pending } = invitation;
  await deps.invitations.replace({ ...pending, status: 'accepted', acceptedAt: at, acceptedBy: { userObjectId: oid, userPrincipalName: username } }, etag);
  deps.tokens.forget(tenant.id, oid);
  const mailbox = await resumeMailbox(deps, tenant.id, invitation.groupId, invitation.mailbox);
  if (mailbox?.enabled && mailbox.status !== 'needsReauthentication') await queueSyncAfterSignIn(deps, mailbox, log);
  // Mailboxes linked to the user (shared mailboxes, colleagues' folders) waited for the same sign-in.
  for await (const linked of deps.mailboxes.linkedTo(tenant.id, oid)) {
    if (linked.groupId === invitation.groupId && linked.smtpAddress === invitation.mailbox) continue;
    const resumed = await resumeMailbox(deps, tenant.id, linked.groupId, linked.smtpAddress);
    if (resumed?.enabled && linked.status === 'needsReauthentication' && resumed.status === 'pending') await queueSyncAfterSignIn(deps, resumed, log);
  }
  await deps.audit.append({ tenantId: tenant.id, actor: { objectId: oid, name: username }, action: 'delegatedUser.signedIn', target: `/tenants/${tenant.id}/groups/${invitation.groupId}/mailboxes/${invitation.mailbox}`, details: { purpose: invitation.purpose } }, deps.now());
  return { status: 200, code: 'SignInCompleted', title: "You're connected", message: `Thank you, ${username}. Your mailbox is connected; you can close this page.` };
}

/**
 * A mailbox paused for re-authentication goes back to pending, so a sync job runs it again.
 * Returns the mailbox as it now stands (undefined when the group has no such mailbox).
 */
export async function resumeMailbox(deps: ConsentDependencies, tenantId: string, groupId: string, mailbox: string): Promise<MailboxRecord | undefined> {
  let current;
  for (let attempt = 0; attempt < 3; attempt++) {
    current = await deps.mailboxes.find(tenantId, groupId, mailbox);
    if (!current || current.status !== 'needsReauthentication') return current;
    const { etag, lastError: _lastError, ...rest } = current;
    const resumed: MailboxRecord = { ...rest, status: 'pending', updatedAt: deps.now().toISOString() };
    try {
      await deps.mailboxes.replace(resumed, etag);
      return resumed;
    } catch (error: unknown) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
  return current;
}

/**
 * Syncs the user's mailbox now rather than at the group's next poll, so they see their mail
 * within seconds. Best effort: the user is signed in either way, and the next poll queues the
 * mailbox if this message was lost.
 */
async function queueSyncAfterSignIn(deps: ConsentDependencies, mailbox: MailboxRecord, log: Logger | undefined): Promise<void> {
  try {
    await deps.syncJobs.enqueue(newSyncJob(mailbox.tenantId, mailbox.groupId, mailbox.smtpAddress, 'signIn', deps.now()));
    log?.info('Sync queued after sign-in', { tenantId: mailbox.tenantId, groupId: mailbox.groupId, mailbox: mailbox.smtpAddress });
  } catch (error: unknown) {
    log?.warn('Could not queue the sync after sign-in; the next poll of the group syncs the mailbox', {
      tenantId: mailbox.tenantId,
      groupId: mailbox.groupId,
      mailbox: mailbox.smtpAddress,
      error,
    });
  }
}
