/**
 * Every admin API route and operation, declared once: functions/admin-*.ts register these
 * with the Functions host, and openapi.ts publishes them. Handlers stay small: they call the
 * services and map records to views.
 */
import type { Page, Stored } from '../storage';
import { operation } from './admin-endpoint';
import type { AdminRoute, OperationInput, ResponseDescription } from './admin-endpoint';
import { runConnectionTest } from './connection-test-service';
import { credentialBodyProblems, setGroupCredentials } from './credential-service';
import { createGroup, createGroupBodyProblems, deleteGroup, groupPath, listGroups, loadGroup, updateGroup, updateGroupBodyProblems } from './group-service';
import { createMailbox, deleteMailbox, importMailboxes, listMailboxes, listMailboxFolders, loadMailbox, mailboxBodyProblems, mailboxPath, updateMailbox } from './mailbox-service';
import { auditView, credentialView, groupView, mailboxView, tenantView } from './representations';
import { mailboxNotificationStatus } from '../notifications/notification-status';
import {
  auditEntryResponse,
  connectionTestRequest,
  connectionTestResponse,
  createGroupRequest,
  createMailboxRequest,
  createTenantRequest,
  credentialStateResponse,
  groupResponse,
  importMailboxesRequest,
  folderTreeResponse,
  importMailboxesResponse,
  mailboxResponse,
  pageOf,
  pagingQuery,
  pingResponse,
  setCredentialsRequest,
  tenantResponse,
  updateGroupRequest,
  updateMailboxRequest,
  updateTenantRequest,
} from './schemas';
import type { PagingQuery } from './schemas';
import { createTenant, deleteTenant, listTenants, loadTenant, tenantPath, updateTenant } from './tenant-service';

const API_BASE = '/api/admin';
export const MAX_IMPORT_BODY_BYTES = 2 * 1024 * 1024;

function pageView<T, V>(page: Page<Stored<T>>, view: (record: T) => V): { items: V[]; continuationToken?: string } {
  // Not map(view): views take optional extras, and map would hand them the index.
  return { items: page.items.map((item) => view(item)), ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) };
}

function pageRequest(query: PagingQuery): { maxPageSize: number; continuationToken?: string } {
  return { maxPageSize: query.limit, ...(query.continuationToken ? { continuationToken: query.continuationToken } : {}) };
}

const common: Record<number, ResponseDescription> = {
  401: { description: 'No valid bearer token (WWW-Authenticate: Bearer).' },
  403: { description: 'The token has no admin role, or the operation needs Connector.Admin.' },
};
const notFound: ResponseDescription = { description: 'Unknown ID, or a tenant outside the caller\'s scope.' };
const invalid: ResponseDescription = { description: 'Validation failed; `errors` names each field by JSON pointer.' };
const changed: ResponseDescription = { description: 'If-Match did not match the current ETag.' };

function defaultEwsUrl(input: OperationInput<unknown, unknown>): string {
  return input.deps.defaultEwsUrl;
}

export const pingRoute: AdminRoute = {
  name: 'admin-ping',
  route: 'admin/ping',
  params: [],
  operations: [
    operation({
      operationId: 'ping',
      method: 'GET',
      summary: 'Authenticated ping: who am I?',
      tags: ['Admin'],
      responses: { 200: { description: 'The caller as the token describes it.', schema: pingResponse }, ...common },
      handle: async ({ principal }) => ({
        status: 200,
        body: {
          name: principal.name,
          objectId: principal.objectId,
          roles: [...principal.roles],
          scope: principal.scope.kind === 'all' ? 'all tenants' : `tenants: ${principal.scope.tenantIds.join(', ')}`,
        },
      }),
    }),
  ],
};

export const tenantRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-tenants',
    route: 'admin/tenants',
    params: [],
    operations: [
      operation({
        operationId: 'listTenants',
        method: 'GET',
        summary: 'List tenants (a tenant admin sees only its own)',
        tags: ['Tenants'],
        query: pagingQuery,
        responses: { 200: { description: 'A page of tenants.', schema: pageOf(tenantResponse, 'TenantPage') }, 400: invalid, ...common },
        handle: async ({ deps, principal, query }) => ({ status: 200, body: pageView(await listTenants(deps, principal, pageRequest(query)), tenantView) }),
      }),
      operation({
        operationId: 'createTenant',
        method: 'POST',
        summary: 'Create a tenant (Connector.Admin only)',
        tags: ['Tenants'],
        body: createTenantRequest,
        responses: { 201: { description: 'Created.', schema: tenantResponse }, 400: invalid, ...common },
        handle: async ({ deps, principal, body }) => {
          const tenant = await createTenant(deps, principal, body);
          return { status: 201, body: tenantView(tenant), etag: tenant.etag, location: API_BASE + tenantPath(tenant.id) };
        },
      }),
    ],
  },
  {
    name: 'admin-tenant',
    route: 'admin/tenants/{tenantId}',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'getTenant',
        method: 'GET',
        summary: 'Get a tenant',
        tags: ['Tenants'],
        responses: { 200: { description: 'The tenant (ETag header set).', schema: tenantResponse }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => {
          const tenant = await loadTenant(deps, principal, params.tenantId);
          return { status: 200, body: tenantView(tenant), etag: tenant.etag };
        },
      }),
      operation({
        operationId: 'updateTenant',
        method: 'PATCH',
        summary: 'Change a tenant (optional If-Match)',
        tags: ['Tenants'],
        body: updateTenantRequest,
        responses: { 200: { description: 'Updated.', schema: tenantResponse }, 400: invalid, 404: notFound, 412: changed, ...common },
        handle: async ({ deps, principal, params, body, ifMatch }) => {
          const tenant = await updateTenant(deps, principal, params.tenantId, body, ifMatch);
          return { status: 200, body: tenantView(tenant), etag: tenant.etag };
        },
      }),
      operation({
        operationId: 'deleteTenant',
        method: 'DELETE',
        summary: 'Delete a tenant without groups (Connector.Admin only)',
        tags: ['Tenants'],
        responses: { 204: { description: 'Deleted.' }, 404: notFound, 409: { description: 'The tenant still has groups.' }, 412: changed, ...common },
        handle: async ({ deps, principal, params, ifMatch }) => {
          await deleteTenant(deps, principal, params.tenantId, ifMatch);
          return { status: 204 };
        },
      }),
    ],
  },
  {
    name: 'admin-audit',
    route: 'admin/tenants/{tenantId}/audit',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'listAuditEntries',
        method: 'GET',
        summary: 'The tenant\'s audit trail, newest first',
        tags: ['Audit'],
        query: pagingQuery,
        responses: { 200: { description: 'A page of audit entries.', schema: pageOf(auditEntryResponse, 'AuditEntryPage') }, 404: notFound, ...common },
        handle: async ({ deps, principal, params, query }) => {
          await loadTenant(deps, principal, params.tenantId);
          return { status: 200, body: pageView(await deps.audit.page(params.tenantId, pageRequest(query)), auditView) };
        },
      }),
    ],
  },
];

export const groupRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-groups',
    route: 'admin/tenants/{tenantId}/groups',
    params: ['tenantId'],
    operations: [
      operation({
        operationId: 'listGroups',
        method: 'GET',
        summary: 'List the tenant\'s groups',
        tags: ['Groups'],
        query: pagingQuery,
        responses: { 200: { description: 'A page of groups.', schema: pageOf(groupResponse, 'GroupPage') }, 404: notFound, ...common },
        handle: async (input) => {
          const page = await listGroups(input.deps, input.principal, input.params.tenantId, pageRequest(input.query));
          return { status: 200, body: pageView(page, (group) => groupView(group, defaultEwsUrl(input))) };
        },
      }),
      operation({
        operationId: 'createGroup',
        method: 'POST',
        summary: 'Create a group',
        tags: ['Groups'],
        body: createGroupRequest,
        crossFieldProblems: createGroupBodyProblems,
        responses: { 201: { description: 'Created.', schema: groupResponse }, 400: invalid, 404: notFound, 409: { description: 'The external ID is taken in this tenant.' }, ...common },
        handle: async (input) => {
          const group = await createGroup(input.deps, input.principal, input.params.tenantId, input.body);
          return { status: 201, body: groupView(group, defaultEwsUrl(input)), etag: group.etag, location: API_BASE + groupPath(group.tenantId, group.id) };
        },
      }),
    ],
  },
  {
    name: 'admin-group',
    route: 'admin/tenants/{tenantId}/groups/{groupId}',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'getGroup',
        method: 'GET',
        summary: 'Get a group',
        tags: ['Groups'],
        responses: { 200: { description: 'The group with its delivery health (ETag header set).', schema: groupResponse }, 404: notFound, ...common },
        handle: async (input) => {
          const group = await loadGroup(input.deps, input.principal, input.params.tenantId, input.params.groupId);
          const delivery = await input.deps.deliveryStatus.find(group.tenantId, group.id);
          return { status: 200, body: groupView(group, defaultEwsUrl(input), delivery), etag: group.etag };
        },
      }),
      operation({
        operationId: 'updateGroup',
        method: 'PATCH',
        summary: 'Change a group (externalId and mailboxAccessType are read-only)',
        tags: ['Groups'],
        body: updateGroupRequest,
        crossFieldProblems: updateGroupBodyProblems,
        responses: { 200: { description: 'Updated.', schema: groupResponse }, 400: invalid, 404: notFound, 412: changed, ...common },
        handle: async (input) => {
          const group = await updateGroup(input.deps, input.principal, input.params.tenantId, input.params.groupId, input.body, input.ifMatch);
          return { status: 200, body: groupView(group, defaultEwsUrl(input)), etag: group.etag };
        },
      }),
      operation({
        operationId: 'deleteGroup',
        method: 'DELETE',
        summary: 'Delete a group, its mailboxes and its stored credential',
        tags: ['Groups'],
        responses: { 204: { description: 'Deleted.' }, 404: notFound, 412: changed, ...common },
        handle: async ({ deps, principal, params, ifMatch }) => {
          await deleteGroup(deps, principal, params.tenantId, params.groupId, ifMatch);
          return { status: 204 };
        },
      }),
    ],
  },
  {
    name: 'admin-group-credentials',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/credentials',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'getGroupCredentials',
        method: 'GET',
        summary: 'Credential state (never the value)',
        tags: ['Credentials'],
        responses: { 200: { description: 'Reference, dates, whether set.', schema: credentialStateResponse }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => ({ status: 200, body: credentialView(await loadGroup(deps, principal, params.tenantId, params.groupId)) }),
      }),
      operation({
        operationId: 'setGroupCredentials',
        method: 'PUT',
        summary: 'Set or rotate the group\'s credential (write-only; stored in Key Vault)',
        tags: ['Credentials'],
        body: setCredentialsRequest,
        crossFieldProblems: credentialBodyProblems,
        responses: {
          200: { description: 'Stored; the new Key Vault version is in use.', schema: credentialStateResponse },
          400: invalid,
          404: notFound,
          503: { description: 'Key Vault unavailable; nothing changed.' },
          ...common,
        },
        handle: async ({ deps, principal, params, body }) => ({
          status: 200,
          body: credentialView(await setGroupCredentials(deps, principal, params.tenantId, params.groupId, body)),
        }),
      }),
    ],
  },
  {
    name: 'admin-connection-tests',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/connection-tests',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'runConnectionTest',
        method: 'POST',
        summary: 'Test the group\'s connection to Exchange step by step',
        description: 'Steps: configuration, credentialExpiry, tokenAcquisition (app-only), endpointReachable, authentication, ewsEnabled, impersonation, folderAccess. Each passed/failed/skipped with durationInMs and an actionable message; `warnings` lists what needs action soon (a credential expiring within 30 days). A failed test is still 200.',
        tags: ['Connection tests'],
        body: connectionTestRequest,
        responses: {
          200: { description: 'The test ran (see outcome).', schema: connectionTestResponse },
          400: invalid,
          404: notFound,
          409: { description: 'Delegated groups are tested per user.' },
          ...common,
        },
        handle: async ({ deps, principal, params, body }) => ({ status: 200, body: await runConnectionTest(deps, principal, params.tenantId, params.groupId, body) }),
      }),
    ],
  },
];

export const mailboxRoutes: readonly AdminRoute[] = [
  {
    name: 'admin-mailboxes',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'listMailboxes',
        method: 'GET',
        summary: 'List the group\'s mailboxes with their sync status',
        tags: ['Mailboxes'],
        query: pagingQuery,
        responses: { 200: { description: 'A page of mailboxes.', schema: pageOf(mailboxResponse, 'MailboxPage') }, 404: notFound, ...common },
        handle: async ({ deps, principal, params, query }) => ({
          status: 200,
          body: pageView(await listMailboxes(deps, principal, params.tenantId, params.groupId, pageRequest(query)), mailboxView),
        }),
      }),
      operation({
        operationId: 'createMailbox',
        method: 'POST',
        summary: 'Add a mailbox to the group',
        tags: ['Mailboxes'],
        body: createMailboxRequest,
        crossFieldProblems: mailboxBodyProblems,
        responses: { 201: { description: 'Created.', schema: mailboxResponse }, 400: invalid, 404: notFound, 409: { description: 'Already in the group.' }, ...common },
        handle: async ({ deps, principal, params, body }) => {
          const mailbox = await createMailbox(deps, principal, params.tenantId, params.groupId, body);
          return {
            status: 201,
            body: mailboxView(mailbox),
            etag: mailbox.etag,
            location: API_BASE + mailboxPath(params.tenantId, params.groupId, encodeURIComponent(mailbox.smtpAddress)),
          };
        },
      }),
    ],
  },
  {
    name: 'admin-mailbox-imports',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailbox-imports',
    params: ['tenantId', 'groupId'],
    operations: [
      operation({
        operationId: 'importMailboxes',
        method: 'POST',
        summary: 'Add or update many mailboxes at once (up to 1000 rows, 2 MiB)',
        description: 'Each row succeeds or fails on its own; the result lists every row in order. outcome: succeeded | partiallySucceeded | failed.',
        tags: ['Mailboxes'],
        body: importMailboxesRequest,
        maxBodyBytes: MAX_IMPORT_BODY_BYTES,
        responses: { 200: { description: 'Per-row results.', schema: importMailboxesResponse }, 400: invalid, 404: notFound, 413: { description: 'Body over 2 MiB.' }, ...common },
        handle: async ({ deps, principal, params, body }) => ({ status: 200, body: await importMailboxes(deps, principal, params.tenantId, params.groupId, body) }),
      }),
    ],
  },
  {
    name: 'admin-mailbox-folders',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}/folders',
    params: ['tenantId', 'groupId', 'mailbox'],
    operations: [
      operation({
        operationId: 'listMailboxFolders',
        method: 'GET',
        summary: "List the mailbox's folder tree, to choose folders to sync",
        description:
          "Read live from Exchange with the credential the sync uses (for a linked mailbox: the delegated user's own token): EWS FindFolder (Deep) or Graph mailFolders with childFolders, contact folders and To Do lists. Folders the account has no right to see are not listed.",
        tags: ['Mailboxes'],
        responses: { 200: { description: 'The folders, with their paths and ids.', schema: folderTreeResponse }, 404: notFound, 502: { description: 'Exchange refused or failed (problem+json with its code).' }, ...common },
        handle: async ({ deps, principal, params }) => ({ status: 200, body: await listMailboxFolders(deps, principal, params.tenantId, params.groupId, params.mailbox) }),
      }),
    ],
  },
  {
    name: 'admin-mailbox',
    route: 'admin/tenants/{tenantId}/groups/{groupId}/mailboxes/{mailbox}',
    params: ['tenantId', 'groupId', 'mailbox'],
    operations: [
      operation({
        operationId: 'getMailbox',
        method: 'GET',
        summary: 'Get a mailbox and its sync status',
        tags: ['Mailboxes'],
        responses: { 200: { description: 'The mailbox with its sync progress (ETag header set).', schema: mailboxResponse }, 404: notFound, ...common },
        handle: async ({ deps, principal, params }) => {
          const mailbox = await loadMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox);
          const [progress, subscriptions] = await Promise.all([
            deps.syncProgress.readProgress(params.tenantId, params.groupId, mailbox.smtpAddress),
            deps.notificationSubscriptions?.listMailbox(params.tenantId, params.groupId, mailbox.smtpAddress) ?? [],
          ]);
          return { status: 200, body: mailboxView(mailbox, progress, mailboxNotificationStatus(subscriptions, deps.now())), etag: mailbox.etag };
        },
      }),
      operation({
        operationId: 'updateMailbox',
        method: 'PATCH',
        summary: 'Change a mailbox (display name, user ID, enabled)',
        tags: ['Mailboxes'],
        body: updateMailboxRequest,
        crossFieldProblems: mailboxBodyProblems,
        responses: { 200: { description: 'Updated.', schema: mailboxResponse }, 400: invalid, 404: notFound, 412: changed, ...common },
        handle: async ({ deps, principal, params, body, ifMatch }) => {
          const mailbox = await updateMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox, body, ifMatch);
          return { status: 200, body: mailboxView(mailbox), etag: mailbox.etag };
        },
      }),
      operation({
        operationId: 'deleteMailbox',
        method: 'DELETE',
        summary: 'Remove a mailbox from the group',
        tags: ['Mailboxes'],
        responses: { 204: { description: 'Deleted.' }, 404: notFound, 412: changed, ...common },
        handle: async ({ deps, principal, params, ifMatch }) => {
          await deleteMailbox(deps, principal, params.tenantId, params.groupId, params.mailbox, ifMatch);
          return { status: 204 };
        },
      }),
    ],
  },
];
