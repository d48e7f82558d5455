/**
 * Per-request context: who calls, as whom (impersonation), which version, and the rules that
 * decide which mailboxes, folders and items the request may reach (with Exchange's error codes).
 */
import type { Caller } from './auth';
import { decodeId, decodeOccurrenceId } from './ids';
import type { DistinguishedFolderName, EwsStore, Folder, Item, Mailbox } from './model';
import { DISTINGUISHED_FOLDER_NAMES } from './model';
import { canReadFolder, canWriteFolder, holdsAnyFolderRight, isRootFolder } from './folder-permissions';
import { EwsError, SoapFault, messageXmlValues } from './soap';
import type { SubscriptionRegistry } from './subscriptions';
import { attr, child, childText, path, type Element } from './xml';

export interface RequestContext {
  readonly store: EwsStore;
  readonly caller: Caller;
  /** The mailbox the request acts as: the impersonated one, or the caller's own (undefined for mailbox-less accounts). */
  readonly actingAs: Mailbox | undefined;
  readonly impersonated: boolean;
  readonly requestVersion: string;
  readonly subscriptions: SubscriptionRegistry;
  /** Secret that authenticates sync states issued by this simulator instance. */
  readonly syncStateKey: Buffer;
}

/** Who the request is, for rights: the acting mailbox's address and UPN, or a mailbox-less account's principal. */
export function principalsOf(ctx: RequestContext): Set<string> {
  const principals = new Set<string>();
  if (ctx.actingAs) {
    principals.add(ctx.actingAs.smtpAddress);
    principals.add(ctx.actingAs.userPrincipalName);
  } else if (ctx.caller.kind === 'account') {
    principals.add(ctx.caller.principal);
  }
  return principals;
}

/** Own mailbox, or FullAccess granted: every folder may be read and changed. */
export function hasMailboxAccess(ctx: RequestContext, mailbox: Mailbox): boolean {
  if (mailbox.organisationId !== ctx.caller.organisationId) return false;
  if (ctx.actingAs === mailbox) return true;
  const principals = principalsOf(ctx);
  return mailbox.fullAccess.some((p) => principals.has(p));
}

/** Whether the acting identity may open `mailbox`: own, FullAccess, or folder permissions / delegate access on some of its folders. */
export function canOpen(ctx: RequestContext, mailbox: Mailbox): boolean {
  if (hasMailboxAccess(ctx, mailbox)) return true;
  return mailbox.organisationId === ctx.caller.organisationId && holdsAnyFolderRight(mailbox, principalsOf(ctx));
}

/** Whether the folder may be read: full mailbox access, or a folder permission / delegate level of Reviewer or more. */
export function canReadFolderOf(ctx: RequestContext, folder: Folder): boolean {
  const mailbox = ctx.store.getMailbox(folder.mailbox);
  if (!mailbox) return false;
  return hasMailboxAccess(ctx, mailbox) || canReadFolder(mailbox, folder, principalsOf(ctx));
}

/**
 * Reading a folder of someone else's mailbox without a right on it: Exchange answers
 * ErrorFolderNotFound (and ErrorItemNotFound for its items), as for a folder that does not exist
 * ("Handling delegation-related errors in EWS"). The roots may be named to find shared folders below.
 */
export function requireFolderRead(ctx: RequestContext, folder: Folder): Folder {
  if (canReadFolderOf(ctx, folder) || isRootFolder(folder)) return folder;
  throw new EwsError('ErrorFolderNotFound');
}

/** Changing items of a folder one may only read: ErrorAccessDenied, as Exchange answers. */
export function requireFolderWrite(ctx: RequestContext, folder: Folder): void {
  const mailbox = ctx.store.getMailbox(folder.mailbox);
  if (mailbox && (hasMailboxAccess(ctx, mailbox) || canWriteFolder(mailbox, folder, principalsOf(ctx)))) return;
  throw new EwsError('ErrorAccessDenied');
}

/** Resolves a mailbox named in a request (t:Mailbox/t:EmailAddress), or the acting one. */
export function resolveMailbox(ctx: RequestContext, address: string | undefined): Mailbox {
  if (address === undefined || address === '') {
    if (!ctx.actingAs) throw new EwsError('ErrorMissingEmailAddress');
    return ctx.actingAs;
  }
  const mailbox = ctx.store.getMailbox(address);
  if (!mailbox || mailbox.organisationId !== ctx.caller.organisationId) {
    throw new EwsError('ErrorNonExistentMailbox', undefined, messageXmlValues({ SmtpAddress: address }));
  }
  if (!mailbox.enabled) throw new EwsError('ErrorMailboxStoreUnavailable');
  if (!canOpen(ctx, mailbox)) throw new EwsError('ErrorAccessDenied');
  return mailbox;
}

function mailboxOfId(ctx: RequestContext, address: string): Mailbox {
  const mailbox = ctx.store.getMailbox(address);
  if (!mailbox) throw new EwsError('ErrorItemNotFound');
  if (!canOpen(ctx, mailbox)) throw new EwsError('ErrorAccessDenied');
  if (!mailbox.enabled) throw new EwsError('ErrorMailboxStoreUnavailable');
  return mailbox;
}

/** A t:FolderId or t:DistinguishedFolderId element → folder. */
export function resolveFolder(ctx: RequestContext, element: Element): Folder {
  if (element.localName === 'DistinguishedFolderId') {
    const name = attr(element, 'Id') as DistinguishedFolderName | undefined;
    if (!name || !(DISTINGUISHED_FOLDER_NAMES as readonly string[]).includes(name)) throw new EwsError('ErrorFolderNotFound');
    const address = childText(child(element, 'Mailbox') ?? element, 'EmailAddress');
    const mailbox = resolveMailbox(ctx, child(element, 'Mailbox') ? address : undefined);
    return requireFolderRead(ctx, ctx.store.getFolder(mailbox.smtpAddress, { distinguished: name }));
  }
  const id = attr(element, 'Id') ?? '';
  if (id === '') throw new EwsError('ErrorInvalidIdEmpty');
  const decoded = decodeId(id);
  if (!decoded || decoded.kind !== 'folder') throw new EwsError('ErrorInvalidIdMalformed');
  const mailbox = mailboxOfId(ctx, decoded.mailbox);
  const folder = mailbox.folders.get(id);
  if (!folder) throw new EwsError('ErrorFolderNotFound');
  return requireFolderRead(ctx, folder);
}

/** The first folder-id child (FolderId or DistinguishedFolderId) of a container element. */
export function folderIdElements(container: Element | undefined): Element[] {
  if (!container) return [];
  const result: Element[] = [];
  for (let node = container.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node.localName === 'FolderId' || node.localName === 'DistinguishedFolderId')) result.push(node as Element);
  }
  return result;
}

/** A t:ItemId element → item (ErrorInvalidIdMalformed / ErrorItemNotFound / ErrorAccessDenied). */
export function resolveItem(ctx: RequestContext, element: Element): Item {
  return resolveItemById(ctx, attr(element, 'Id') ?? '');
}

export function resolveItemById(ctx: RequestContext, id: string): Item {
  if (id === '') throw new EwsError('ErrorInvalidIdEmpty');
  const decoded = decodeId(id);
  if (!decoded || decoded.kind !== 'item') throw new EwsError('ErrorInvalidIdMalformed');
  mailboxOfId(ctx, decoded.mailbox);
  const item = ctx.store.getItem(id);
  if (!item) throw new EwsError('ErrorItemNotFound');
  const folder = ctx.store.findFolderById(item.folderId);
  // An item in a folder one may not read does not exist for the caller.
  if (folder && !canReadFolderOf(ctx, folder)) throw new EwsError('ErrorItemNotFound');
  return item;
}

export function itemIdElements(container: Element | undefined): Element[] {
  if (!container) return [];
  const result: Element[] = [];
  for (let node = container.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && node.localName === 'ItemId') result.push(node as Element);
  }
  return result;
}

/** Reads the ExchangeImpersonation header's target address (SmtpAddress, PrimarySmtpAddress or PrincipalName). */
export function impersonationTarget(header: Element | undefined): string | undefined {
  const sid = header ? path(header, 'ConnectingSID') : undefined;
  if (!sid) return undefined;
  return childText(sid, 'PrimarySmtpAddress') ?? childText(sid, 'SmtpAddress') ?? childText(sid, 'PrincipalName') ?? childText(sid, 'SID') ?? '';
}

/**
 * Decides whom the request acts as, applying Exchange's impersonation rules; failures are SOAP
 * faults, as Exchange reports header errors before any operation runs.
 */
export function decideActingMailbox(store: EwsStore, caller: Caller, target: string | undefined): { actingAs: Mailbox | undefined; impersonated: boolean } {
  const own = caller.mailbox ? store.getMailbox(caller.mailbox) : undefined;
  if (caller.kind === 'app') {
    if (target === undefined) throw new SoapFault('ErrorInvalidExchangeImpersonationHeaderData');
  } else if (caller.scheme === 'Bearer' && target !== undefined) {
    throw new SoapFault('ErrorInvalidExchangeImpersonationHeaderData', 'ExchangeImpersonation SOAP header must not exist for this type of OAuth token.');
  }
  if (target === undefined) return { actingAs: own, impersonated: false };
  const mailbox = target ? store.getMailbox(target) : undefined;
  if (!mailbox || mailbox.organisationId !== caller.organisationId) {
    throw new SoapFault('ErrorNonExistentMailbox', undefined, messageXmlValues({ SmtpAddress: target }));
  }
  if (caller.kind === 'app') {
    const policies = store.applicationAccessPolicies(caller.organisationId, caller.appId ?? caller.principal);
    if (policies.length > 0 && !policies.some((p) => store.scopeCovers(p.scope, mailbox))) throw new SoapFault('ErrorAccessDenied');
  } else if (!(own && own === mailbox)) {
    const rights = store.impersonationRights(caller.principal).filter((r) => r.organisationId === caller.organisationId);
    if (!rights.some((r) => store.scopeCovers(r.scope, mailbox))) throw new SoapFault('ErrorImpersonateUserDenied');
  }
  if (!mailbox.enabled) throw new SoapFault('ErrorAccountDisabled');
  return { actingAs: mailbox, impersonated: true };
}

/**
 * What an item reference in GetItem/UpdateItem/DeleteItem names: an item, or one occurrence of a
 * recurring master (an occurrence id, or OccurrenceItemId with RecurringMasterId and
 * InstanceIndex), or a series' master through one of its occurrences (RecurringMasterItemId).
 */
export function resolveCalendarTarget(ctx: RequestContext, element: Element): { readonly item: Item; readonly occurrenceIndex?: number } {
  if (element.localName === 'OccurrenceItemId') {
    const master = resolveItemById(ctx, attr(element, 'RecurringMasterId') ?? '');
    const index = Number(attr(element, 'InstanceIndex'));
    if (!Number.isInteger(index) || index < 1) throw new EwsError('ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange');
    return { item: master, occurrenceIndex: index };
  }
  const id = attr(element, element.localName === 'RecurringMasterItemId' ? 'OccurrenceId' : 'Id') ?? '';
  const occurrence = decodeOccurrenceId(id);
  if (occurrence) {
    mailboxOfId(ctx, occurrence.mailbox);
    const master = ctx.store.getItem(occurrence.masterId);
    if (!master) throw new EwsError('ErrorItemNotFound');
    return element.localName === 'RecurringMasterItemId' ? { item: master } : { item: master, occurrenceIndex: occurrence.index };
  }
  return { item: resolveItemById(ctx, id) };
}
