import type { AuditRecord, DeliveryStatusRecord, GroupRecord, MailboxRecord, TenantRecord } from '../storage';
import type { MailboxSyncProgress } from '../storage/sync-state-repository';
import type { MailboxNotificationStatus } from '../notifications/notification-status';
import { groupProtocol } from '../storage/records';
import type { AuditEntryResponse, CredentialStateResponse, GroupResponse, MailboxResponse, TenantResponse } from './schemas';

/** Stored records as the API shows them: an explicit allow-list of fields, never a spread. */
export function tenantView(tenant: TenantRecord): TenantResponse {
  return {
    id: tenant.id,
    displayName: tenant.displayName,
    ...(tenant.entraTenantId ? { entraTenantId: tenant.entraTenantId } : {}),
    ...(tenant.entraTenantId && tenant.entraTenantBoundBy ? { entraTenantBoundBy: tenant.entraTenantBoundBy } : {}),
    ...(tenant.allowSharedEntraTenant ? { allowSharedEntraTenant: true } : {}),
    status: tenant.status,
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
  };
}

export function credentialView(group: GroupRecord): CredentialStateResponse {
  const credential = group.credential;
  if (!credential) return { credentialSet: false };
  return {
    credentialSet: true,
    kind: credential.kind,
    reference: credential.secretName,
    version: credential.secretVersion,
    updatedAt: credential.updatedAt,
    ...(credential.expiresOn ? { expiresOn: credential.expiresOn } : {}),
    ...(credential.certificateThumbprint ? { certificateThumbprint: credential.certificateThumbprint } : {}),
  };
}

export function groupView(group: GroupRecord, defaultEwsUrl: string, delivery?: DeliveryStatusRecord): GroupResponse {
  const health = delivery
    ? {
        ...(delivery.lastDeliveredAt ? { lastDeliveredAt: delivery.lastDeliveredAt } : {}),
        ...(delivery.failingSince ? { failingSince: delivery.failingSince } : {}),
        ...(delivery.lastDeliveryError ? { lastDeliveryError: { code: delivery.lastDeliveryError.code, message: delivery.lastDeliveryError.message, at: delivery.lastDeliveryError.at } } : {}),
      }
    : undefined;
  return {
    id: group.id,
    tenantId: group.tenantId,
    name: group.name,
    externalId: group.externalId,
    mailboxAccessType: group.mailboxAccessType,
    protocol: groupProtocol(group),
    ewsUrl: group.ewsUrl ?? defaultEwsUrl,
    ...(group.impersonation
      ? {
          impersonation: {
            serviceAccount: group.impersonation.serviceAccount,
            authScheme: group.impersonation.authScheme,
            ...(group.impersonation.kerberos
              ? { kerberos: { realm: group.impersonation.kerberos.realm, kdcs: [...group.impersonation.kerberos.kdcs], ...(group.impersonation.kerberos.servicePrincipal ? { servicePrincipal: group.impersonation.kerberos.servicePrincipal } : {}) } }
              : {}),
          },
        }
      : {}),
    ...(group.appOnly ? { appOnly: { entraTenantId: group.appOnly.entraTenantId, clientId: group.appOnly.clientId } } : {}),
    folders: [...group.folders],
    pollIntervalMinutes: group.pollIntervalMinutes,
    ...(group.delivery ? { delivery: group.delivery } : {}),
    initialSync: group.initialSync,
    enabled: group.enabled,
    credentials: credentialView(group),
    contactCandidates: { enabled: group.contactCandidates?.enabled ?? false, ownDomains: [...(group.contactCandidates?.ownDomains ?? [])], excludePatterns: [...(group.contactCandidates?.excludePatterns ?? [])] },
    ...(health ? { deliveryHealth: health } : {}),
    createdAt: group.createdAt,
    updatedAt: group.updatedAt,
  };
}

export function mailboxView(mailbox: MailboxRecord, progress?: MailboxSyncProgress, notifications?: MailboxNotificationStatus): MailboxResponse {
  return {
    smtpAddress: mailbox.smtpAddress,
    ...(mailbox.displayName !== undefined ? { displayName: mailbox.displayName } : {}),
    ...(mailbox.userId !== undefined ? { userId: mailbox.userId } : {}),
    enabled: mailbox.enabled,
    status: mailbox.status,
    ...(mailbox.lastError ? { lastError: { code: mailbox.lastError.code, message: mailbox.lastError.message, at: mailbox.lastError.at } } : {}),
    ...(mailbox.lastSuccessfulSyncAt ? { lastSuccessfulSyncAt: mailbox.lastSuccessfulSyncAt } : {}),
    counts: { created: mailbox.counts.created, updated: mailbox.counts.updated, deleted: mailbox.counts.deleted },
    ...(mailbox.folders ? { folders: mailbox.folders.map((choice) => ({ kind: choice.kind, ...(choice.id !== undefined ? { id: choice.id } : {}), ...(choice.path !== undefined ? { path: choice.path } : {}) })) } : {}),
    ...(mailbox.delegatedUserObjectId ? { delegatedUserObjectId: mailbox.delegatedUserObjectId } : {}),
    ...(progress
      ? {
          syncProgress: {
            itemsSyncedInPass: progress.itemsSyncedInPass,
            continuationPending: progress.continuationPending,
            ...(progress.continuationReason ? { continuationReason: progress.continuationReason } : {}),
            lastRunAt: progress.lastRunAt,
          },
        }
      : {}),
    ...(notifications ? { notifications: { ...notifications } } : {}),
    createdAt: mailbox.createdAt,
    updatedAt: mailbox.updatedAt,
  };
}

export function auditView(entry: AuditRecord): AuditEntryResponse {
  return { id: entry.id, at: entry.at, actor: entry.actor, action: entry.action, target: entry.target, details: { ...entry.details } };
}
