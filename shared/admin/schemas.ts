/**
 * The admin API's request and response shapes, declared once. Requests are validated with
 * them (strict objects: unknown fields are rejected) and the OpenAPI document is generated
 * from them, so the document cannot drift from what the API accepts.
 */
import { z } from 'zod';
import { QUEUE_CONNECTION_SETTING } from '../delivery/queue-connection-setting';

/** Rejects control characters and unpaired surrogates (they break storage and logs). */
function isCleanText(value: string): boolean {
  return !/[\p{Cc}\p{Cs}]/u.test(value);
}

export function text(maxLength: number) {
  return z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(maxLength, `must be at most ${maxLength} characters`)
    .refine(isCleanText, 'must not contain control characters or unpaired surrogates');
}

const entraId = z.guid('must be a GUID').meta({ description: 'A GUID (Entra tenant or application ID).' });
const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2025-01-31T00:00:00Z' });
export const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an absolute https URL' })
  .max(2048, 'must be at most 2048 characters')
  .refine(isCleanText, 'must not contain control characters');
export const smtpAddress = z
  .email('must be an SMTP address such as alice@contoso.com')
  .max(320, 'must be at most 320 characters')
  .meta({ description: 'Primary SMTP address (case-insensitive).', example: 'alice@contoso.com' });

export const pagingQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50).meta({ description: 'Page size, 1-200.' }),
  continuationToken: z.string().max(4096).optional().meta({ description: 'From the previous page\'s `continuationToken`.' }),
});

// ---- Tenants ---------------------------------------------------------------------------

export const tenantStatus = z.enum(['active', 'suspended']);

export const createTenantRequest = z
  .strictObject({
    displayName: text(256),
    entraTenantId: entraId.optional().meta({
      description:
        "Connector.Admin only, audited. Normally left out: the customer's admin proves the binding by granting admin consent (POST .../consent).",
    }),
    allowSharedEntraTenant: z.boolean().optional().meta({
      description: 'Connector.Admin only: allow this tenant to use an Entra tenant another connector tenant is already bound to.',
    }),
    status: tenantStatus.default('active'),
  })
  .meta({ id: 'CreateTenantRequest', description: 'Connector.Admin only.' });

export const updateTenantRequest = z
  .strictObject({
    displayName: text(256).optional(),
    entraTenantId: entraId.nullable().optional().meta({ description: 'Connector.Admin only (audited); null removes the binding. Tenant admins get 403.' }),
    allowSharedEntraTenant: z.boolean().optional().meta({ description: 'Connector.Admin only.' }),
    status: tenantStatus.optional().meta({ description: 'Connector.Admin only: suspending and lifting a suspension. Tenant admins get 403.' }),
  })
  .meta({ id: 'UpdateTenantRequest', description: 'Fields present are changed; others are kept.' });

export const tenantResponse = z
  .strictObject({
    id: z.string(),
    displayName: z.string(),
    entraTenantId: z.string().optional(),
    entraTenantBoundBy: z.enum(['adminConsent', 'operator']).optional().meta({
      description: "How the Entra tenant binding was proved: the customer's administrator signed in and consented (adminConsent), or a Connector.Admin set it (operator).",
    }),
    allowSharedEntraTenant: z.boolean().optional(),
    status: tenantStatus,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Tenant' });

// ---- Groups ----------------------------------------------------------------------------

export const mailboxAccessType = z.enum(['impersonation', 'appOnly', 'delegated']).meta({
  description:
    'impersonation: an Exchange service account with the ApplicationImpersonation role (on-premises; Basic, NTLM or Kerberos). ' +
    'appOnly: an Entra app with full_access_as_app (Exchange Online). delegated: each user signs in.',
});
export const mailboxProtocol = z.enum(['graph', 'ews']).meta({
  description:
    "graph: Microsoft Graph (Exchange Online; app-only or delegated). ews: Exchange Web Services (on-premises Exchange; Exchange Online only for allow-listed apps until EWS is turned off on 2027-04-01). " +
    'Default on creation: graph for appOnly and delegated groups on Exchange Online, ews for impersonation groups and groups with an on-premises ewsUrl. ' +
    'Switching an existing group from ews to graph does not deliver existing items again (docs/graph.md).',
});
export const syncFolderKind = z.enum(['mail', 'calendar', 'contacts', 'tasks']);

const KERBEROS_REALM = /^[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?(?:\.[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?)*$/;
const KDC_ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))?$/;
const SERVICE_PRINCIPAL = /^[A-Za-z][A-Za-z0-9-]{0,31}\/[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export const kerberosSettings = z
  .strictObject({
    realm: z.string().max(253).regex(KERBEROS_REALM, 'must be the Kerberos realm in upper case, e.g. CONTOSO.COM (the Active Directory DNS domain)'),
    kdcs: z
      .array(z.string().max(260).regex(KDC_ADDRESS, 'must be a KDC host name or address, optionally with :port, e.g. dc01.contoso.com or dc01.contoso.com:88'))
      .min(1, 'must name at least one KDC (domain controller)')
      .max(10, 'must name at most 10 KDCs')
      .meta({ description: 'KDCs (domain controllers) as host or host:port (default port 88), tried in order over TCP. No DNS SRV lookup is made.' }),
    servicePrincipal: z
      .string()
      .regex(SERVICE_PRINCIPAL, 'must be a service principal name such as HTTP/mail.contoso.com (service/host, no realm)')
      .optional()
      .meta({ description: "Exchange's HTTP service principal name. Default: HTTP/<the EWS URL's host>. With a load balancer, the SPN registered on Exchange's alternate service account (ASA)." }),
  })
  .meta({ id: 'KerberosSettings', description: "authScheme kerberos: where the service account's tickets come from. The key (password or keytab) is set with PUT .../credentials and kept in Key Vault." });

const impersonationSettings = z.strictObject({
  serviceAccount: text(256).meta({ description: 'Service account logon: UPN, DOMAIN\\user or SMTP address. With kerberos, its user name (sAMAccountName) in the realm is the Kerberos principal.' }),
  authScheme: z.enum(['basic', 'ntlm', 'kerberos']).default('basic').meta({ description: 'basic, ntlm, or kerberos (HTTP Negotiate with a Kerberos ticket; needs kerberos settings).' }),
  kerberos: kerberosSettings.optional(),
});

const appOnlySettings = z.strictObject({
  entraTenantId: entraId,
  clientId: entraId,
});

const processAndDelete = z.enum(['hardDelete', 'moveToDeletedItems']).optional().meta({
  description: 'Inbox process-and-delete: after the target acknowledged a new message, delete it in Exchange.',
});

export const deliveryTarget = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('webhook'), url: httpUrl, processAndDelete }),
    z.strictObject({
      kind: z.literal('queue'),
      queueName: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a Storage queue name (3-63 lower-case letters, digits, hyphens)'),
      connection: z
        .string()
        .regex(QUEUE_CONNECTION_SETTING, 'must name an app setting the operator provided for queue targets: CUSTOMER_QUEUE or CUSTOMER_QUEUE_<name>')
        .optional()
        .meta({ description: 'An operator-provided app setting (CUSTOMER_QUEUE or CUSTOMER_QUEUE_<name>) holding a connection string. No other app setting can be named.' }),
      accountUrl: httpUrl.optional().meta({ description: 'The queue service URL, e.g. https://account.queue.core.windows.net (reached with the app\'s identity).' }),
      processAndDelete,
    }),
  ])
  .meta({ id: 'DeliveryTarget' });

export const initialSyncPolicy = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('all') }),
    z.strictObject({ kind: z.literal('none') }),
    z.strictObject({ kind: z.literal('since'), since: isoDateTime }),
  ])
  .meta({ id: 'InitialSyncPolicy', description: 'What the first sync does with items that already exist.' });

const folders = z
  .array(syncFolderKind)
  .min(1, 'must name at least one folder')
  .max(4)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a folder');

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, 'must be at most 253 characters')
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain name such as contoso.com');

const addressPattern = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[a-z0-9.!#$%&'+/=?^_`{|}~@*-]+$/, 'may hold address characters and * only, e.g. noreply@* or *@newsletter.example.com');

export const contactCandidateSettings = z
  .strictObject({
    enabled: z.boolean().meta({ description: 'Derive contact candidates from the senders and recipients of synced mail (default off).' }),
    ownDomains: z.array(domainName).max(100, 'must hold at most 100 domains').default([]).meta({
      description: "The tenant's own domains (subdomains included): their addresses never become candidates. The synced mailbox's own domain always counts. Set by administrators only; never learned from mail.",
    }),
    excludePatterns: z.array(addressPattern).max(100, 'must hold at most 100 patterns').default([]).meta({
      description: 'Address patterns (* matches anything) never made candidates, besides the built-in noreply@*, no-reply@*, donotreply@*, mailer-daemon@*, postmaster@*, bounce*@*, notifications@*.',
    }),
  })
  .meta({ id: 'ContactCandidateSettings' });

export const createGroupRequest = z
  .strictObject({
    name: text(256),
    externalId: text(128).meta({ description: 'Your identifier for the group; unique in the tenant; cannot change after creation.' }),
    mailboxAccessType,
    protocol: mailboxProtocol.optional(),
    ewsUrl: httpUrl.optional().meta({
      description: 'EWS endpoint. Required for impersonation; defaults to the configured EWS URL (Exchange Online) otherwise. https only (http on loopback in development).',
    }),
    impersonation: impersonationSettings.optional(),
    appOnly: appOnlySettings.optional(),
    folders: folders.default(['mail']),
    pollIntervalMinutes: z.number().int().min(1).max(1440).default(5),
    delivery: deliveryTarget.optional(),
    initialSync: initialSyncPolicy.default({ kind: 'all' }),
    enabled: z.boolean().default(true),
    contactCandidates: contactCandidateSettings.optional(),
  })
  .meta({ id: 'CreateGroupRequest' });

export const updateGroupRequest = z
  .strictObject({
    name: text(256).optional(),
    externalId: z.unknown().optional().meta({ description: 'Read-only after creation: sending a different value is rejected.' }),
    mailboxAccessType: z.unknown().optional().meta({ description: 'Read-only after creation (credentials are bound to it).' }),
    protocol: mailboxProtocol.optional(),
    ewsUrl: httpUrl.nullable().optional(),
    impersonation: impersonationSettings.optional(),
    appOnly: appOnlySettings.optional(),
    folders: folders.optional(),
    pollIntervalMinutes: z.number().int().min(1).max(1440).optional(),
    delivery: deliveryTarget.nullable().optional(),
    initialSync: initialSyncPolicy.optional(),
    enabled: z.boolean().optional(),
    contactCandidates: contactCandidateSettings.optional().meta({ description: 'Replaces the whole setting.' }),
  })
  .meta({ id: 'UpdateGroupRequest', description: 'Fields present are changed; null clears an optional field.' });

export const credentialKind = z.enum(['password', 'clientSecret', 'certificate', 'keytab']);

export const credentialStateResponse = z
  .strictObject({
    credentialSet: z.boolean(),
    kind: credentialKind.optional(),
    reference: z.string().optional().meta({ description: 'Key Vault secret name holding the value.' }),
    version: z.string().optional().meta({ description: 'Key Vault secret version in use.' }),
    updatedAt: z.string().optional(),
    expiresOn: z.string().optional(),
    certificateThumbprint: z.string().optional(),
  })
  .meta({ id: 'CredentialState', description: 'Facts about the stored credential. The value itself is never returned.' });

export const deliveryHealth = z
  .strictObject({
    lastDeliveredAt: z.string().optional().meta({ description: 'When a change batch last reached the target.' }),
    failingSince: z.string().optional().meta({ description: 'Set while deliveries to the target fail; cleared by the next success.' }),
    lastDeliveryError: z.strictObject({ code: z.string(), message: z.string(), at: z.string() }).optional(),
  })
  .meta({ id: 'DeliveryHealth', description: 'How delivery to the target is going (GET of one group only; absent until the first delivery attempt).' });

export const groupResponse = z
  .strictObject({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    externalId: z.string(),
    mailboxAccessType,
    protocol: mailboxProtocol,
    ewsUrl: z.string(),
    impersonation: impersonationSettings.optional(),
    appOnly: appOnlySettings.optional(),
    folders: z.array(syncFolderKind),
    pollIntervalMinutes: z.number(),
    delivery: deliveryTarget.optional(),
    initialSync: initialSyncPolicy,
    enabled: z.boolean(),
    credentials: credentialStateResponse,
    contactCandidates: contactCandidateSettings,
    deliveryHealth: deliveryHealth.optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Group' });

// ---- Credentials -----------------------------------------------------------------------

export const setCredentialsRequest = z
  .strictObject({
    password: z.string().min(1).max(1024).optional().meta({ description: 'impersonation groups: the service account password.', writeOnly: true }),
    clientSecret: z.string().min(1).max(1024).optional().meta({ description: 'appOnly groups: the Entra app client secret.', writeOnly: true }),
    certificate: z
      .string()
      .min(1)
      .max(24 * 1024, "must be at most 24 KiB (Key Vault holds at most 25 KB per secret)")
      .optional()
      .meta({ description: 'appOnly groups: PEM holding the certificate and its unencrypted private key.', writeOnly: true }),
    keytab: z
      .string()
      .max(24 * 1024, 'must be at most 24 KiB of base64 (Key Vault holds at most 25 KB per secret)')
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be the keytab file in base64')
      .optional()
      .meta({ description: "impersonation groups with authScheme kerberos: the service account's keytab (ktpass or ktutil output), base64. Alternative to password.", writeOnly: true }),
    expiresOn: isoDateTime.optional().meta({ description: 'When the password or client secret expires (recorded; a certificate\'s own expiry is used for certificates).' }),
  })
  .meta({ id: 'SetCredentialsRequest', description: 'Exactly one of password, keytab, clientSecret, certificate. Values are stored in Key Vault and never returned.' });

// ---- Mailboxes -------------------------------------------------------------------------

export const mailboxStatus = z.enum(['pending', 'ok', 'error', 'needsReauthentication', 'disabled']);

/** A folder id as EWS (base64) and Graph (base64url) write them; anything else is not an id. */
const folderId = z
  .string()
  .min(1, 'must not be empty')
  .max(512, 'must be at most 512 characters')
  .regex(/^[A-Za-z0-9+/=_-]+$/, 'must be a folder id as listed by GET .../folders (letters, digits, + / = _ -)');

/**
 * A folder path: display names from the top of the mailbox joined by '/'. Names may hold any
 * printable character Exchange allows (they are compared, never put into a URL or XML as a path);
 * empty, '.' and '..' segments are refused so a path cannot pretend to climb the tree.
 */
const folderPath = z
  .string()
  .min(1, 'must not be empty')
  .max(1024, 'must be at most 1024 characters')
  .refine(isCleanText, 'must not contain control characters or unpaired surrogates')
  .refine((value) => !/[\u202a-\u202e\u2066-\u2069]/u.test(value), 'must not contain bidirectional override characters')
  .refine((value) => value.split('/').every((segment) => segment.trim() !== '' && segment !== '.' && segment !== '..'), "must be folder names separated by '/', with no empty, '.' or '..' segment (e.g. Inbox/Projects)")
  .refine((value) => value.split('/').length <= 32, 'must be at most 32 folders deep');

export const folderChoice = z
  .strictObject({
    kind: syncFolderKind.meta({ description: 'What the folder holds: mail, calendar, contacts or tasks.' }),
    id: folderId.optional().meta({ description: "The protocol's folder id (from GET .../mailboxes/{mailbox}/folders)." }),
    path: folderPath.optional().meta({ description: "Display names from the top of the mailbox, '/'-separated, e.g. Inbox/Projects (case-insensitive)." }),
  })
  .superRefine((value, context) => {
    if (value.id !== undefined && value.path !== undefined) context.addIssue({ code: 'custom', path: ['path'], message: 'must not be given together with id: choose the folder by id or by path' });
  })
  .meta({ id: 'FolderChoice', description: 'A folder to sync: the well-known folder of `kind` (no id, no path), or a specific folder by id or path.' });

const folderChoices = z
  .array(folderChoice)
  .min(1, 'must name at least one folder')
  .max(50, 'must name at most 50 folders')
  .superRefine((list, context) => {
    const seen = new Map<string, number>();
    list.forEach((choice, index) => {
      const key = `${choice.kind}|${choice.id ?? ''}|${(choice.path ?? '').toLowerCase()}`;
      const first = seen.get(key);
      if (first !== undefined) context.addIssue({ code: 'custom', path: [index], message: `repeats folder ${first}` });
      else seen.set(key, index);
    });
  })
  .meta({ description: "The folders this mailbox syncs (default: the group's folders, or the delegated user's)." });

const delegatedUserObjectId = z
  .guid('must be a GUID')
  .meta({
    description:
      "Delegated groups only: the signed-in user (GET .../delegated-users) whose own token reaches this mailbox: a shared mailbox or another user's folders they hold rights on (FullAccess, delegate access, folder permissions). Absent: the user linked to the mailbox.",
  });

export const createMailboxRequest = z
  .strictObject({
    smtpAddress,
    displayName: text(256).optional(),
    userId: text(256).optional().meta({ description: 'Your user or employee ID for this mailbox.' }),
    enabled: z.boolean().default(true),
    folders: folderChoices.optional(),
    delegatedUserObjectId: delegatedUserObjectId.optional(),
  })
  .meta({ id: 'CreateMailboxRequest' });

export const updateMailboxRequest = z
  .strictObject({
    displayName: text(256).nullable().optional(),
    userId: text(256).nullable().optional(),
    enabled: z.boolean().optional(),
    folders: folderChoices.nullable().optional().meta({ description: "null: back to the group's folders." }),
    delegatedUserObjectId: delegatedUserObjectId.nullable().optional(),
  })
  .meta({ id: 'UpdateMailboxRequest', description: 'smtpAddress and the sync status are read-only.' });

export const mailboxResponse = z
  .strictObject({
    smtpAddress: z.string(),
    displayName: z.string().optional(),
    userId: z.string().optional(),
    enabled: z.boolean(),
    status: mailboxStatus,
    lastError: z.strictObject({ code: z.string(), message: z.string(), at: z.string() }).optional(),
    lastSuccessfulSyncAt: z.string().optional(),
    counts: z.strictObject({ created: z.number(), updated: z.number(), deleted: z.number() }),
    folders: z.array(folderChoice).optional().meta({ description: 'The folders this mailbox syncs; absent: the group\'s.' }),
    delegatedUserObjectId: z.string().optional().meta({ description: 'Delegated groups: the user whose token reaches this (linked) mailbox.' }),
    syncProgress: z
      .strictObject({
        itemsSyncedInPass: z.number().meta({ description: 'Changes delivered by the current pass (the initial sync, or a full re-sync) so far.' }),
        continuationPending: z.boolean().meta({ description: 'The last run stopped early and a follow-up run is queued.' }),
        continuationReason: z.string().optional().meta({ description: 'Why: timeBudget, throttled, noConcurrencySlot, ...' }),
        lastRunAt: z.string(),
      })
      .optional()
      .meta({ description: 'Progress of the running sync (GET of one mailbox only; absent before the first run).' }),
    notifications: z
      .strictObject({
        protocol: z.enum(['graph', 'ews']),
        state: z.enum(['active', 'renewing', 'failed', 'unsupported']).meta({ description: "The worst state among the mailbox's subscriptions. active: changes arrive within seconds and the mailbox is polled only at the safety interval; anything else: polled at the group's interval." }),
        lastNotificationAt: z.string().optional(),
        expiresAt: z.string().optional().meta({ description: 'The earliest subscription expiry (renewed well before).' }),
      })
      .optional()
      .meta({ description: 'Change notifications of the mailbox (GET of one mailbox only; absent when notifications are off or not set up yet). docs/notifications.md.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Mailbox' });

export const MAX_IMPORT_ROWS = 1000;

export const importMailboxesRequest = z
  .strictObject({
    mode: z.enum(['upsert', 'createOnly']).default('upsert').meta({
      description: 'upsert: existing mailboxes get the given displayName/userId/enabled. createOnly: existing ones are reported as failed (Conflict).',
    }),
    mailboxes: z
      .array(z.unknown().meta({ description: 'A CreateMailboxRequest; rows are validated one by one.' }))
      .min(1, 'must hold at least one row')
      .max(MAX_IMPORT_ROWS, `must hold at most ${MAX_IMPORT_ROWS} rows`),
  })
  .meta({ id: 'ImportMailboxesRequest' });

const fieldProblem = z.strictObject({ pointer: z.string(), detail: z.string() });

export const importRowResult = z.strictObject({
  index: z.number().int(),
  smtpAddress: z.string().optional(),
  result: z.enum(['created', 'updated', 'unchanged', 'failed']),
  error: z.strictObject({ code: z.string(), detail: z.string(), errors: z.array(fieldProblem).optional() }).optional(),
});

export const importMailboxesResponse = z
  .strictObject({
    outcome: z.enum(['succeeded', 'partiallySucceeded', 'failed']),
    summary: z.strictObject({ total: z.number(), created: z.number(), updated: z.number(), unchanged: z.number(), failed: z.number() }),
    results: z.array(importRowResult),
  })
  .meta({ id: 'ImportMailboxesResult' });

// ---- Connection tests ------------------------------------------------------------------

export const connectionTestRequest = z
  .strictObject({
    targetMailbox: smtpAddress.optional().meta({ description: 'Mailbox to open; default: the group\'s first mailbox.' }),
    delegatedUserObjectId: z.guid('must be a GUID').optional().meta({ description: 'Delegated groups: check every mailbox of the group this user is linked to (their own and the linked ones), folder by folder.' }),
  })
  .meta({ id: 'ConnectionTestRequest' });

export const connectionTestStepName = z.enum([
  'configuration',
  'credentialExpiry',
  'tokenAcquisition',
  'endpointReachable',
  // Impersonation (on-premises) groups: the EWS URL Autodiscover names for the target mailbox; informative, never fails the test.
  'autodiscover',
  'authentication',
  'ewsEnabled',
  'impersonation',
  'folderAccess',
  // Graph groups (protocol graph):
  'graphRoles',
  'mailboxReachable',
  'rbacScope',
]);

export const folderRight = z
  .strictObject({
    mailbox: z.string(),
    kind: syncFolderKind,
    id: z.string().optional(),
    path: z.string().optional(),
    access: z.enum(['granted', 'denied', 'notFound', 'error']),
    code: z.string().optional().meta({ description: "Exchange's or Graph's code, e.g. ErrorAccessDenied." }),
    message: z.string(),
  })
  .meta({ id: 'FolderRight' });

export const folderNode = z
  .strictObject({
    id: z.string(),
    parentId: z.string().optional(),
    displayName: z.string(),
    path: z.string().meta({ description: "Display names from the top of the mailbox, '/'-separated: what a FolderChoice's path names." }),
    kind: syncFolderKind.optional().meta({ description: 'What the folder holds (absent: a kind the connector does not sync, e.g. notes).' }),
    childFolderCount: z.number().int().optional(),
  })
  .meta({ id: 'MailboxFolder' });

export const folderTreeResponse = z
  .strictObject({
    mailbox: z.string(),
    protocol: z.enum(['graph', 'ews']),
    folders: z.array(folderNode),
    truncated: z.boolean().meta({ description: 'More than 5,000 folders: the list was cut.' }),
  })
  .meta({ id: 'MailboxFolderTree' });

export const connectionTestResponse = z
  .strictObject({
    outcome: z.enum(['passed', 'failed']),
    ewsUrl: z.string(),
    protocol: z.enum(['graph', 'ews']).optional().meta({ description: 'The protocol tested (the group\'s).' }),
    graphEndpoint: z.string().optional().meta({ description: 'Graph groups: the Graph endpoint tested.' }),
    targetMailbox: z.string().optional(),
    startedAt: z.string(),
    warnings: z
      .array(z.string())
      .optional()
      .meta({ description: 'Things to act on soon that do not fail the test, e.g. a credential expiring within 30 days.' }),
    folderRights: z
      .array(folderRight)
      .optional()
      .meta({ description: 'Per mailbox and folder it syncs: whether the right to read it is there (granted, denied, notFound, error). Any but granted fails the test.' }),
    steps: z.array(
      z.strictObject({
        name: connectionTestStepName,
        status: z.enum(['passed', 'failed', 'skipped']),
        durationInMs: z.number(),
        message: z.string(),
        code: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'ConnectionTestResult' });

// ---- Audit, ping, problems -------------------------------------------------------------

export const auditEntryResponse = z
  .strictObject({
    id: z.string(),
    at: z.string(),
    actor: z.strictObject({ objectId: z.string(), name: z.string() }),
    action: z.string(),
    target: z.string(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  })
  .meta({ id: 'AuditEntry' });

export const pingResponse = z
  .strictObject({ name: z.string(), objectId: z.string(), roles: z.array(z.string()), scope: z.string() })
  .meta({ id: 'Ping' });

export const problemResponse = z
  .strictObject({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    code: z.string().optional(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(fieldProblem).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details; `errors` names each field at fault by JSON pointer.' });

export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z.strictObject({ items: z.array(item), continuationToken: z.string().optional() }).meta({ id });
}

export type CreateTenantRequest = z.output<typeof createTenantRequest>;
export type UpdateTenantRequest = z.output<typeof updateTenantRequest>;
export type TenantResponse = z.output<typeof tenantResponse>;
export type CreateGroupRequest = z.output<typeof createGroupRequest>;
export type UpdateGroupRequest = z.output<typeof updateGroupRequest>;
export type GroupResponse = z.output<typeof groupResponse>;
export type CredentialStateResponse = z.output<typeof credentialStateResponse>;
export type SetCredentialsRequest = z.output<typeof setCredentialsRequest>;
export type CreateMailboxRequest = z.output<typeof createMailboxRequest>;
export type UpdateMailboxRequest = z.output<typeof updateMailboxRequest>;
export type MailboxResponse = z.output<typeof mailboxResponse>;
export type ImportMailboxesRequest = z.output<typeof importMailboxesRequest>;
export type ImportMailboxesResponse = z.output<typeof importMailboxesResponse>;
export type ImportRowResult = z.output<typeof importRowResult>;
export type ConnectionTestRequest = z.output<typeof connectionTestRequest>;
export type ConnectionTestResponse = z.output<typeof connectionTestResponse>;
export type ConnectionTestStepName = z.output<typeof connectionTestStepName>;
export type FolderTreeResponse = z.output<typeof folderTreeResponse>;
export type AuditEntryResponse = z.output<typeof auditEntryResponse>;
export type PingResponse = z.output<typeof pingResponse>;
export type PagingQuery = z.output<typeof pagingQuery>;
