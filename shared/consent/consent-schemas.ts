/** Request and response shapes of the consent, invitation and delegated-user admin operations. */
import { z } from 'zod';
import { smtpAddress, syncFolderKind, text } from '../admin/schemas';

const isoDateTime = z.string().meta({ description: 'ISO 8601 date-time.' });

export const adminConsentLinkResponse = z
  .object({ url: z.string(), redirectUri: z.string(), expiresAt: isoDateTime })
  .meta({ id: 'AdminConsentLink', description: "Send `url` to an administrator of the customer's Entra tenant; it is single-use and expires." });

export const adminConsentStatusResponse = z
  .object({
    status: z.enum(['notRequested', 'granted', 'refused']),
    entraTenantId: z.string().optional(),
    at: isoDateTime.optional(),
    requestedBy: z.string().optional(),
    error: z.object({ code: z.string(), description: z.string() }).optional(),
  })
  .meta({ id: 'AdminConsentStatus' });

export const consentSettingsRequest = z
  .strictObject({
    senderMailbox: smtpAddress.optional().meta({ description: 'Mailbox invitation and re-authentication emails are sent from (via the connector app, app-only; needs admin consent).' }),
    emailInvitations: z.boolean().default(false),
    emailReauthentication: z.boolean().default(false),
    invitationSubject: text(200).optional(),
    invitationMessage: text(2000).optional(),
    alertContacts: z
      .array(smtpAddress)
      .max(20)
      .optional()
      .meta({ description: 'Who is emailed (from senderMailbox) when a group credential expires in 30, 14 or 7 days or has expired, and when a mailbox keeps failing.' }),
  })
  .meta({ id: 'ConsentSettings' });
export type ConsentSettingsRequest = z.output<typeof consentSettingsRequest>;

export const createInvitationsRequest = z
  .strictObject({
    mailboxes: z.array(smtpAddress).min(1).max(500),
    expiresInHours: z.number().int().min(1).max(30 * 24).optional().meta({ description: 'Default 168 (7 days).' }),
    sendEmail: z.boolean().default(false).meta({ description: "Email each invitation from the tenant's sender mailbox; otherwise hand out the links yourself." }),
    adminName: text(200).optional().meta({ description: 'Shown in the email as the inviting person (default: your name).' }),
    message: text(2000).optional().meta({ description: 'Added to the email text.' }),
  })
  .meta({ id: 'CreateInvitationsRequest' });
export type CreateInvitationsRequest = z.output<typeof createInvitationsRequest>;

const emailOutcome = z.object({ sentAt: isoDateTime.optional(), error: z.string().optional() });

export const createdInvitationsResponse = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        mailbox: z.string(),
        code: z.string().meta({ description: 'Shown once: only a digest is stored.' }),
        link: z.string(),
        expiresAt: isoDateTime,
        email: emailOutcome.optional(),
      }),
    ),
  })
  .meta({ id: 'CreatedInvitations' });

export const invitationListResponse = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        groupId: z.string(),
        mailbox: z.string(),
        purpose: z.enum(['signIn', 'reauthentication']),
        state: z.enum(['pending', 'accepted', 'revoked', 'expired']),
        createdAt: isoDateTime,
        expiresAt: isoDateTime,
        createdBy: z.string(),
        acceptedAt: isoDateTime.optional(),
        acceptedBy: z.string().optional(),
        email: emailOutcome.optional(),
      }),
    ),
  })
  .meta({ id: 'InvitationList' });

export const delegatedUserResponse = z
  .object({
    userObjectId: z.string(),
    userPrincipalName: z.string(),
    displayName: z.string().optional(),
    entraTenantId: z.string(),
    status: z.enum(['active', 'needsReauthentication']),
    link: z.object({ groupId: z.string(), mailbox: z.string(), folders: z.array(syncFolderKind).optional() }).optional(),
    error: z.object({ code: z.string(), message: z.string(), at: isoDateTime }).optional(),
    signedInAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'DelegatedUser' });

export const delegatedUserListResponse = z.object({ items: z.array(delegatedUserResponse) }).meta({ id: 'DelegatedUserList' });

export const delegatedUsersQuery = z.strictObject({
  status: z.enum(['all', 'errors', 'ok']).default('all').meta({ description: 'all users, users with errors (must sign in again), or users without errors.' }),
});

export const linkDelegatedUserRequest = z
  .strictObject({
    userObjectId: z.guid('must be a GUID').meta({ description: "The signed-in user's Entra object ID (from GET .../delegated-users)." }),
    folders: z.array(syncFolderKind).min(1).optional().meta({ description: "Item kinds to sync for this user (default: the group's folders)." }),
  })
  .meta({ id: 'LinkDelegatedUserRequest' });
export type LinkDelegatedUserRequest = z.output<typeof linkDelegatedUserRequest>;

export const deletedRegistrationsResponse = z
  .object({ users: z.number().int(), tokenCaches: z.number().int(), invitations: z.number().int() })
  .meta({ id: 'DeletedRegistrations' });

export const credentialStatusResponse = z
  .object({
    checkedAt: isoDateTime,
    items: z.array(
      z.object({
        owner: z.enum(['group', 'connectorApp']),
        tenantId: z.string().optional(),
        groupId: z.string().optional(),
        groupName: z.string().optional(),
        kind: z.string(),
        secretName: z.string(),
        expiresOn: isoDateTime,
        daysLeft: z.number().int(),
        state: z.enum(['expired', 'expiresWithin7Days', 'expiresWithin14Days', 'expiresWithin30Days']),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'CredentialStatus' });
