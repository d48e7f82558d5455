/**
 * The admin API operations for consent, invitations, delegated users and credential expiry,
 * declared like the other admin routes (same auth, validation, problem+json and OpenAPI).
 */
import { operation } from '../admin/admin-endpoint';
import type { AdminRoute, ResponseDescription } from '../admin/admin-endpoint';
import { loadGroup } from '../admin/group-service';
import { loadMailbox } from '../admin/mailbox-service';
import { loadTenant } from '../admin/tenant-service';
import { secretNames } from '../secrets/secret-names';
import { SecretNotFoundError } from '../secrets/errors';
import type { CredentialExpiryEntry } from './credential-status';
import { connectorSecretEntry, groupCredentialEntry } from './credential-status';
import { consentDependencies } from './consent-composition';
import {
  adminConsentLinkResponse,
  adminConsentStatusResponse,
  consentSettingsRequest,
  createdInvitationsResponse,
  createInvitationsRequest,
  credentialStatusResponse,
  delegatedUserListResponse,
  delegatedUserResponse,
  delegatedUsersQuery,
  deletedRegistrationsResponse,
  invitationListResponse,
  linkDelegatedUserRequest,
} from './consent-schemas';
import { createAdminConsentLink } from './admin-consent';
import { createInvitations } from './invitations';
import { deleteRegistrations, linkDelegatedUser, listDelegatedUsers, listInvitations } from './registrations';

const common: Record<number, ResponseDescription> = {
  401: { description: 'No valid bearer token (WWW-Authenticate: Bearer).' },
  403: { description: 'The token has no admin role.' },
};
const notFound: ResponseDescription = { description: "Unknown ID, or a tenant outside the caller's scope." };
const invalid: ResponseDescription = { description: 'Validation failed; `errors` names each field by JSON pointer.' };

function actorOf(principal: { objectId: string; name: string }): { objectId: string; name: string } {
  return { objectId: principal.objectId, name: principal.name };
}

export const adminConsentRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-consent',
    route: 'admin/tenants/{tenantId}/consent',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'getAdminConsent',
        method: 'GET',
        summary: "Whether the customer's admin consented to the connector app",
        tags: ['Consent'],
        responses: { 200: { description: 'The last recorded answer.', schema: adminConsentStatusResponse }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => {
          await loadTenant(deps, principal, params.tenantId);
          const record = await consentDependencies().consents.findAdminConsent(params.tenantId);
          if (!record) return { status: 200, body: { status: 'notRequested' } };
          return {
            status: 200,
            body: { status: record.status, ...(record.entraTenantId ? { entraTenantId: record.entraTenantId } : {}), at: record.at, requestedBy: record.requestedBy.name, ...(record.error ? { error: record.error } : {}) },
          };
        },
      }),
      operation({
        operationId: 'createAdminConsentLink',
        method: 'POST',
        summary: 'Create an admin-consent link for the connector app (single-use, expires in 30 minutes)',
        tags: ['Consent'],
        responses: { 200: { description: 'The link to send to the customer admin.', schema: adminConsentLinkResponse }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => {
          const tenant = await loadTenant(deps, principal, params.tenantId);
          return { status: 200, body: await createAdminConsentLink(consentDependencies(), tenant, actorOf(principal)) };
        },
      }),
    ],
  },
  {
    name: 'admin-consent-settings',
    route: 'admin/tenants/{tenantId}/consent-settings',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'getConsentSettings',
        method: 'GET',
        summary: 'Invitation and re-authentication email settings',
        tags: ['Consent'],
        responses: { 200: { description: 'The settings.', schema: consentSettingsRequest }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => {
          await loadTenant(deps, principal, params.tenantId);
          const settings = await consentDependencies().consents.findSettings(params.tenantId);
          const { etag: _etag, tenantId: _tenantId, updatedAt: _updatedAt, ...body } = settings ?? { etag: '', tenantId: '', updatedAt: '', emailInvitations: false, emailReauthentication: false };
          return { status: 200, body };
        },
      }),
      operation({
        operationId: 'setConsentSettings',
        method: 'PUT',
        summary: 'Set the sender mailbox and whether invitations and re-authentication requests are emailed',
        tags: ['Consent'],
        body: consentSettingsRequest,
        responses: { 200: { description: 'Saved.', schema: consentSettingsRequest }, 400: invalid, 404: notFound, ...common },
        handle: async ({ deps, principal, params, body }) => {
          await loadTenant(deps, principal, params.tenantId);
          const consent = consentDependencies();
          const senderMailbox = body.senderMailbox?.toLowerCase();
          const alertContacts = body.alertContacts ? [...new Set(body.alertContacts.map((address) => address.toLowerCase()))] : undefined;
          await consent.consents.saveSettings({ ...body, ...(senderMailbox ? { senderMailbox } : {}), ...(alertContacts ? { alertContacts } : {}), tenantId: params.tenantId, updatedAt: deps.now().toISOString() });
          await deps.audit.append({ tenantId: params.tenantId, actor: actorOf(principal), action: 'consentSettings.updated', target: `/tenants/${params.tenantId}/consent-settings`, details: { senderMailbox: senderMailbox ?? null, emailInvitations: body.emailInvitations, emailReauthentication: body.emailReauthentication, alertContacts: alertContacts?.length ?? 0 } }, deps.now());
          return { status: 200, body: { ...body, ...(senderMailbox ? { senderMailbox } : {}), ...(alertContacts ? { alertContacts } : {}) } };
        },
      }),
    ],
  },
];

export const invitationRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-group-invitations',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/invitations',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'createInvitations',
        method: 'POST',
        summary: 'Invite users of a delegated group to sign in (returns each code and link once)',
        tags: ['Invitations'],
        body: createInvitationsRequest,
        responses: { 201: { description: 'Created.', schema: createdInvitationsResponse }, 400: invalid, 404: notFound, 409: { description: 'The group is not a delegated group.' }, ...common },
        handle: async ({ deps, principal, params, body }) => {
          const tenant = await loadTenant(deps, principal, params.tenantId);
          const group = await loadGroup(deps, principal, params.tenantId, params.groupId);
          const issued = await createInvitations(consentDependencies(), tenant, group, actorOf(principal), body);
          return {
            status: 201,
            body: { items: issued.map(({ record, code, link }) => ({ id: record.id, mailbox: record.mailbox, code, link, expiresAt: record.expiresAt, ...(record.email ? { email: record.email } : {}) })) },
          };
        },
      }),
    ],
  },
  {
    name: 'admin-invitations',
    route: 'admin/tenants/{tenantId}/invitations',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'listInvitations',
        method: 'GET',
        summary: "The tenant's invitations, newest first (codes are never shown again)",
        tags: ['Invitations'],
        responses: { 200: { description: 'Invitations.', schema: invitationListResponse }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => {
          await loadTenant(deps, principal, params.tenantId);
          return { status: 200, body: { items: await listInvitations(consentDependencies(), params.tenantId) } };
        },
      }),
    ],
  },
  {
    name: 'admin-registrations',
    route: 'admin/tenants/{tenantId}/registrations',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'deleteRegistrations',
        method: 'DELETE',
        summary: "Delete every delegated user's stored sign-in (token caches in Key Vault) and every invitation of the tenant",
        tags: ['Invitations'],
        responses: { 200: { description: 'What was deleted.', schema: deletedRegistrationsResponse }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => {
          await loadTenant(deps, principal, params.tenantId);
          return { status: 200, body: await deleteRegistrations(consentDependencies(), actorOf(principal), params.tenantId) };
        },
      }),
    ],
  },
];

export const delegatedUserRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-delegated-users',
    route: 'admin/tenants/{tenantId}/delegated-users',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'listDelegatedUsers',
        method: 'GET',
        summary: 'Users who signed in (load external users): all, with errors, or without errors',
        tags: ['Delegated users'],
        query: delegatedUsersQuery,
        responses: { 200: { description: 'Users, each error with its message.', schema: delegatedUserListResponse }, 400: invalid, 404: notFound, ...common },
        handle: async ({ deps, principal, params, query }) => {
          await loadTenant(deps, principal, params.tenantId);
          return { status: 200, body: { items: await listDelegatedUsers(consentDependencies(), params.tenantId, query.status) } };
        },
      }),
    ],
  },
  {
    name: 'admin-mailbox-delegated-user',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/delegated-user',
    params: ['tenantId', 'groupId', 'mailbox'],
    operations: [
      operation({
        operationId: 'linkDelegatedUser',
        method: 'PUT',
        summary: 'Link a signed-in user to this mailbox and choose the item kinds to sync',
        tags: ['Delegated users'],
        body: linkDelegatedUserRequest,
        responses: { 200: { description: 'Linked.', schema: delegatedUserResponse }, 400: invalid, 404: notFound, 409: { description: 'Not a delegated group, or the mailbox is linked to someone else.' }, ...common },
        handle: async ({ deps, principal, params, body }) => {
          await loadMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox);
          return { status: 200, body: await linkDelegatedUser(consentDependencies(), actorOf(principal), params.tenantId, params.groupId, params.mailbox, body) };
        },
      }),
    ],
  },
];

export const credentialStatusRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-credential-status',
    route: 'admin/credential-status',
    params: [],
    operations: [
      operation({
        operationId: 'getCredentialStatus',
        method: 'GET',
        summary: 'Credentials that expired or expire within 30, 14 or 7 days (group secrets and certificates; the connector app secret for operator admins)',
        tags: ['Credentials'],
        responses: { 200: { description: 'Soonest first.', schema: credentialStatusResponse }, ...common },
        handle: async ({ deps, principal }) => {
          const now = deps.now();
          const items: CredentialExpiryEntry[] = [];
          const consent = consentDependencies();
          const tenantIds: string[] = [];
          if (principal.scope.kind === 'all') for await (const tenant of deps.tenants.list()) tenantIds.push(tenant.id);
          else tenantIds.push(...principal.scope.tenantIds.map((id) => id.toLowerCase()));
          for (const tenantId of tenantIds) {
            for await (const group of deps.groups.list(tenantId)) {
              const entry = groupCredentialEntry(group, now);
              if (entry) items.push(entry);
            }
          }
          if (principal.scope.kind === 'all') {
            try {
              const entry = await consent.vault.getSecretEntry(secretNames.connectorAppClientSecret());
              const connector = connectorSecretEntry(secretNames.connectorAppClientSecret(), entry.reference.expiresOn, now);
              if (connector) items.push(connector);
            } catch (error: unknown) {
              if (!(error instanceof SecretNotFoundError)) throw error;
            }
          }
          items.sort((a, b) => a.expiresOn.localeCompare(b.expiresOn));
          return { status: 200, body: { checkedAt: now.toISOString(), items } };
        },
      }),
    ],
  },
];

export const CONSENT_ADMIN_ROUTES: readonly AdminRoute[] = [...adminConsentRoutes, ...invitationRoutes, ...delegatedUserRoutes, ...credentialStatusRoutes];
