/**
 * The records the admin API manages, as stored. They hold no secrets: credentials are kept in
 * Key Vault and only referenced here (secret name, version, dates).
 */

export type TenantStatus = 'active' | 'suspended';

export interface TenantRecord {
  readonly id: string;
  readonly displayName: string;
  /**
   * The customer's Entra tenant, where one is known (delegated access, product mail). Only a
   * verified admin consent or a Connector.Admin sets it (docs/security.md): the connector app's
   * tokens for this Entra tenant are used on this connector tenant's behalf.
   */
  readonly entraTenantId?: string;
  /** How the binding was proved: the customer's admin signed in (adminConsent) or a Connector.Admin set it (operator). */
  readonly entraTenantBoundBy?: EntraTenantBinding;
  /** A Connector.Admin allowed this tenant to share its Entra tenant with other connector tenants. */
  readonly allowSharedEntraTenant?: boolean;
  readonly status: TenantStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type EntraTenantBinding = 'adminConsent' | 'operator';

export type MailboxAccessType = 'impersonation' | 'appOnly' | 'delegated';
export type SyncFolderKind = 'mail' | 'calendar' | 'contacts' | 'tasks';
export type EwsAuthScheme = 'basic' | 'ntlm' | 'kerberos';
/** How the connector talks to a group's mailboxes. */
export type MailboxProtocol = 'graph' | 'ews';

/**
 * Where changes go. A slot the delivery work fills in: add fields to these variants (or new
 * variants) as delivery grows; the admin API validates what it knows.
 */
export type DeliveryTarget =
  | { readonly kind: 'webhook'; readonly url: string; readonly processAndDelete?: ProcessAndDeleteMode }
  | {
      readonly kind: 'queue';
      readonly queueName: string;
      /** App setting holding a connection string (local Azurite); otherwise accountUrl + the app's identity. */
      readonly connection?: string;
      /** The customer's queue service URL, e.g. https://account.queue.core.windows.net. */
      readonly accountUrl?: string;
      readonly processAndDelete?: ProcessAndDeleteMode;
    };

/** Inbox process-and-delete: after the target acknowledged a created message, delete it in Exchange. */
export type ProcessAndDeleteMode = 'hardDelete' | 'moveToDeletedItems';

/** What the first sync of a mailbox does with items that already exist. */
export type InitialSyncPolicy =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'since'; readonly since: string };

export interface ImpersonationSettings {
  /** Service account logon (UPN, DOMAIN\\user or SMTP address). */
  readonly serviceAccount: string;
  readonly authScheme: EwsAuthScheme;
  /** Set when authScheme is kerberos: where the service account's tickets come from. */
  readonly kerberos?: KerberosSettings;
}

/** A service-account group's Kerberos settings (HTTP Negotiate). Public facts only: the key stays in Key Vault. */
export interface KerberosSettings {
  /** The Kerberos realm (the AD DNS domain in upper case), e.g. CONTOSO.COM. */
  readonly realm: string;
  /** KDCs (domain controllers) as host or host:port; tried in order over TCP. */
  readonly kdcs: readonly string[];
  /** Exchange's HTTP service principal, e.g. HTTP/mail.contoso.com; absent: HTTP/<the EWS URL's host>. */
  readonly servicePrincipal?: string;
}

export interface AppOnlySettings {
  readonly entraTenantId: string;
  readonly clientId: string;
}

export type CredentialKind = 'password' | 'clientSecret' | 'certificate' | 'keytab';

/** Where a group's credential lives in Key Vault, and facts about it that are not secret. */
export interface CredentialReference {
  readonly kind: CredentialKind;
  readonly secretName: string;
  readonly secretVersion: string;
  readonly updatedAt: string;
  readonly expiresOn?: string;
  /** SHA-1 thumbprint (hex) of a certificate credential: public, needed for client assertions. */
  readonly certificateThumbprint?: string;
}

export interface GroupRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly name: string;
  /** The customer's own identifier for the group; unique in the tenant, fixed at creation. */
  readonly externalId: string;
  readonly mailboxAccessType: MailboxAccessType;
  /** Absent: 'ews' (every group stored before Graph support was an EWS group). */
  readonly protocol?: MailboxProtocol;
  /** Absent: the configured default (config.ews.defaultUrl). */
  readonly ewsUrl?: string;
  readonly impersonation?: ImpersonationSettings;
  readonly appOnly?: AppOnlySettings;
  readonly folders: readonly SyncFolderKind[];
  readonly pollIntervalMinutes: number;
  readonly delivery?: DeliveryTarget;
  readonly initialSync: InitialSyncPolicy;
  readonly enabled: boolean;
  readonly credential?: CredentialReference;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Contacts from mail (docs/delivery.md, "Contact candidates"); absent: off. */
  readonly contactCandidates?: ContactCandidateSettings;
}

/** A group's contacts-from-mail setting: off by default. */
export interface ContactCandidateSettings {
  readonly enabled: boolean;
  /** The tenant's own domains (subdomains included) whose addresses never become candidates; the synced mailbox's domain always counts as own. */
  readonly ownDomains: readonly string[];
  /** Address patterns (`*` = anything, case-insensitive) never made candidates, besides the built-in noreply/mailer-daemon/postmaster/bounce ones. */
  readonly excludePatterns: readonly string[];
}

/** The protocol a group's mailboxes are read with. */
export function groupProtocol(group: Pick<GroupRecord, 'protocol'>): MailboxProtocol {
  return group.protocol ?? 'ews';
}

const EXCHANGE_ONLINE_EWS_HOSTS = new Set(['outlook.office365.com', 'outlook.office.com']);

/**
 * The protocol a new group gets when the admin names none: Graph for app-only and delegated groups
 * on Exchange Online (no EWS URL, or Exchange Online's), because Exchange Online blocks EWS by
 * default since 2026-10-01 and turns it off on 2027-04-01; EWS for service-account groups
 * (on-premises Exchange has no Graph) and for groups pointed at an on-premises EWS URL.
 */
export function defaultProtocol(accessType: MailboxAccessType, ewsUrl: string | undefined): MailboxProtocol {
  if (accessType === 'impersonation') return 'ews';
  if (ewsUrl === undefined) return 'graph';
  try {
    return EXCHANGE_ONLINE_EWS_HOSTS.has(new URL(ewsUrl).hostname.toLowerCase()) ? 'graph' : 'ews';
  } catch {
    return 'ews';
  }
}

export type MailboxStatus = 'pending' | 'ok' | 'error' | 'needsReauthentication' | 'disabled';

export interface MailboxError {
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

/** Running totals the sync keeps per mailbox. */
export interface MailboxSyncCounts {
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
}

export interface MailboxRecord {
  readonly tenantId: string;
  readonly groupId: string;
  /** Lower-cased primary SMTP address: the mailbox's key in its group. */
  readonly smtpAddress: string;
  readonly displayName?: string;
  /** The customer's user or employee ID for this mailbox. */
  readonly userId?: string;
  readonly enabled: boolean;
  /** Written by the sync, read-only through the admin API. */
  readonly status: MailboxStatus;
  readonly lastError?: MailboxError;
  readonly lastSuccessfulSyncAt?: string;
  readonly counts: MailboxSyncCounts;
  /** The folders to sync (#16): well-known ones by kind, others by id or path; absent: the group's (or the delegated user's) folders. */
  readonly folders?: readonly FolderChoice[];
  /**
   * Delegated groups: the signed-in user whose own token reaches this mailbox (a shared mailbox, or
   * another user's folders they hold rights on). Absent: the user linked to the mailbox (their own).
   */
  readonly delegatedUserObjectId?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** One folder a mailbox entry syncs: the well-known folder of `kind`, or the folder with this id or at this path. */
export interface FolderChoice {
  readonly kind: SyncFolderKind;
  readonly id?: string;
  readonly path?: string;
}

export type AuditDetailValue = string | number | boolean | null;

export interface AuditRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly at: string;
  readonly actor: { readonly objectId: string; readonly name: string };
  /** e.g. 'tenant.created', 'group.updated', 'credentials.set'. */
  readonly action: string;
  /** The resource path, e.g. /tenants/{t}/groups/{g}. */
  readonly target: string;
  /** What changed: field names and non-secret values only. */
  readonly details: Readonly<Record<string, AuditDetailValue>>;
}
