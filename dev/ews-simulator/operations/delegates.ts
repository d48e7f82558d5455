/** GetDelegate: a mailbox's delegates and the levels they hold on its well-known folders. */
import type { DelegateGrant, PermissionLevel } from '../model';
import { hasMailboxAccess, resolveMailbox } from '../request-context';
import { EwsError, responseMessage, responseMessageHead } from '../soap';
import { attr, child, childText, esc } from '../xml';
import { asEwsError, type Operation } from './common';

/** DelegateFolderPermissionLevelType knows only None, Editor, Reviewer, Author and Custom. */
function delegateLevel(level: PermissionLevel | undefined): string {
  switch (level) {
    case undefined:
    case 'None':
      return 'None';
    case 'Owner':
    case 'PublishingEditor':
    case 'Editor':
      return 'Editor';
    case 'PublishingAuthor':
    case 'Author':
    case 'NoneditingAuthor':
      return 'Author';
    case 'Reviewer':
      return 'Reviewer';
    default:
      return 'Custom';
  }
}

function delegateXml(grant: DelegateGrant, displayName: string | undefined, includePermissions: boolean): string {
  const permissions = includePermissions
    ? '<t:DelegatePermissions>' +
      `<t:CalendarFolderPermissionLevel>${delegateLevel(grant.calendar)}</t:CalendarFolderPermissionLevel>` +
      `<t:TasksFolderPermissionLevel>${delegateLevel(grant.tasks)}</t:TasksFolderPermissionLevel>` +
      `<t:InboxFolderPermissionLevel>${delegateLevel(grant.inbox)}</t:InboxFolderPermissionLevel>` +
      `<t:ContactsFolderPermissionLevel>${delegateLevel(grant.contacts)}</t:ContactsFolderPermissionLevel>` +
      '</t:DelegatePermissions>'
    : '';
  return (
    `<t:UserId><t:PrimarySmtpAddress>${esc(grant.user)}</t:PrimarySmtpAddress>${displayName ? `<t:DisplayName>${esc(displayName)}</t:DisplayName>` : ''}</t:UserId>` +
    permissions +
    `<t:ReceiveCopiesOfMeetingMessages>${grant.receiveCopiesOfMeetingMessages === true}</t:ReceiveCopiesOfMeetingMessages>` +
    `<t:ViewPrivateItems>${grant.viewPrivateItems === true}</t:ViewPrivateItems>`
  );
}

/**
 * The answer is itself a response message (GetDelegateResponse carries ResponseClass and ResponseCode)
 * holding one DelegateUserResponseMessageType per delegate. Reading another mailbox's delegates needs
 * full access to it (the owner, or FullAccess), else ErrorAccessDenied.
 */
export const getDelegate: Operation = (ctx, request) => {
  const includePermissions = attr(request, 'IncludePermissions') === 'true';
  try {
    const address = childText(child(request, 'Mailbox') ?? request, 'EmailAddress');
    const mailbox = resolveMailbox(ctx, address);
    if (!hasMailboxAccess(ctx, mailbox)) throw new EwsError('ErrorAccessDenied');
    const delegates = mailbox.delegates ?? [];
    const messages = delegates.map((grant) => responseMessage('DelegateUserResponseMessageType', `<m:DelegateUser>${delegateXml(grant, ctx.store.getMailbox(grant.user)?.displayName, includePermissions)}</m:DelegateUser>`)).join('');
    return `${responseMessageHead().status}${delegates.length > 0 ? `<m:ResponseMessages>${messages}</m:ResponseMessages>` : ''}<m:DeliverMeetingRequests>DelegatesAndMe</m:DeliverMeetingRequests>`;
  } catch (error) {
    return responseMessageHead(asEwsError(error)).status;
  }
};
