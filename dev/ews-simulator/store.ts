/**
 * The in-memory store behind the EWS simulator (implements EwsStore from model.ts).
 * Maps by id for lookups, per-folder append-only change logs for sync, a store-wide counter
 * for ids so a seeded store is reproducible.
 */
import { encodeId } from './ids';
import {
  type ApplicationAccessPolicy,
  type Attachment,
  type CalendarItem,
  type Contact,
  DISTINGUISHED_FOLDER_NAMES,
  type DeleteMode,
  type DistinguishedFolderName,
  type EwsStore,
  type Folder,
  type FolderRef,
  type HierarchyChange,
  type ImpersonationRight,
  type Item,
  type ItemChangeKind,
  type ItemPatch,
  type MailToDeliver,
  type Mailbox,
  type Message,
  type NewAttachment,
  type NewItem,
  type NewMailbox,
  type NewOrganisation,
  type NewServiceAccount,
  type Organisation,
  type RightScope,
  type ServiceAccount,
  type StoreEvent,
  StoreError,
  type StoreOptions,
  type Task,
} from './model';

interface FolderTemplate {
  readonly name: DistinguishedFolderName;
  readonly displayName: string;
  readonly folderClass: string;
  readonly parent: DistinguishedFolderName | undefined;
  readonly hidden: boolean;
}

const FOLDER_TEMPLATES: readonly FolderTemplate[] = [
  { name: 'root', displayName: '', folderClass: '', parent: undefined, hidden: true },
  { name: 'msgfolderroot', displayName: 'Top of Information Store', folderClass: 'IPF.Note', parent: 'root', hidden: false },
  { name: 'inbox', displayName: 'Inbox', folderClass: 'IPF.Note', parent: 'msgfolderroot', hidden: false },
  { name: 'calendar', displayName: 'Calendar', folderClass: 'IPF.Appointment', parent: 'msgfolderroot', hidden: false },
  { name: 'contacts', displayName: 'Contacts', folderClass: 'IPF.Contact', parent: 'msgfolderroot', hidden: false },
  { name: 'tasks', displayName: 'Tasks', folderClass: 'IPF.Task', parent: 'msgfolderroot', hidden: false },
  { name: 'notes', displayName: 'Notes', folderClass: 'IPF.StickyNote', parent: 'msgfolderroot', hidden: false },
  { name: 'journal', displayName: 'Journal', folderClass: 'IPF.Journal', parent: 'msgfolderroot', hidden: false },
  { name: 'sentitems', displayName: 'Sent Items', folderClass: 'IPF.Note', parent: 'msgfolderroot', hidden: false },
  { name: 'deleteditems', displayName: 'Deleted Items', folderClass: 'IPF.Note', parent: 'msgfolderroot', hidden: false },
  { name: 'drafts', displayName: 'Drafts', folderClass: 'IPF.Note', parent: 'msgfolderroot', hidden: false },
  { name: 'outbox', displayName: 'Outbox', folderClass: 'IPF.Note', parent: 'msgfolderroot', hidden: false },
  { name: 'junkemail', displayName: 'Junk Email', folderClass: 'IPF.Note', parent: 'msgfolderroot', hidden: false },
  { name: 'recoverableitemsroot', displayName: 'Recoverable Items', folderClass: '', parent: 'root', hidden: true },
  { name: 'recoverableitemsdeletions', displayName: 'Deletions', folderClass: '', parent: 'recoverableitemsroot', hidden: true },
];

const ITEM_CLASS: Record<Item['kind'], string> = { message: 'IPM.Note', calendarItem: 'IPM.Appointment', contact: 'IPM.Contact', task: 'IPM.Task' };

function lower(value: string): string {
  return value.trim().toLowerCase();
}

function domainOf(address: string): string {
  return lower(address.slice(address.lastIndexOf('@') + 1));
}

/** A folder as saved in a snapshot. */
export interface FolderSnapshot extends Omit<Folder, 'itemIds'> {
  readonly itemIds: readonly string[];
}

/** A mailbox as saved in a snapshot (Maps as arrays). */
export interface MailboxSnapshot extends Omit<Mailbox, 'folders' | 'distinguishedFolders' | 'hierarchyLog'> {
  readonly folders: readonly FolderSnapshot[];
  readonly distinguishedFolders: readonly (readonly [DistinguishedFolderName, string])[];
  readonly hierarchyLog: readonly HierarchyChange[];
}

/** The whole store as plain data (Dates and bytes still typed; persistence.ts encodes them). */
export interface StoreSnapshot {
  /** The id counter: ids issued after a restore continue from here. */
  readonly counter: number;
  readonly organisations: readonly Organisation[];
  readonly mailboxes: readonly MailboxSnapshot[];
  readonly serviceAccounts: readonly ServiceAccount[];
  readonly impersonationRights: readonly ImpersonationRight[];
  readonly applicationAccessPolicies: readonly ApplicationAccessPolicy[];
  readonly items: readonly Item[];
}

/** Exchange-like in-memory store. */
export class InMemoryEwsStore implements EwsStore {
  readonly now: () => Date;
  private counter = 0;
  private readonly orgs = new Map<string, Organisation>();
  private readonly boxes = new Map<string, Mailbox>();
  private readonly addressIndex = new Map<string, string>();
  private readonly accounts = new Map<string, ServiceAccount>();
  private readonly rights: ImpersonationRight[] = [];
  private readonly policies: ApplicationAccessPolicy[] = [];
  private readonly folderIndex = new Map<string, Folder>();
  private readonly itemIndex = new Map<string, Item>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly mutationListeners = new Set<() => void>();
  /** Bumped on every mutation made through the store's methods. */
  private revision = 0;

  constructor(options: StoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  // ---- organisations -------------------------------------------------------------------

  addOrganisation(input: NewOrganisation): Organisation {
    if (this.orgs.has(input.id)) throw new StoreError('ErrorDuplicate', `organisation ${input.id} exists`);
    const org: Organisation = {
      id: input.id,
      name: input.name,
      domains: input.domains.map(lower),
      ...(input.entraTenantId ? { entraTenantId: lower(input.entraTenantId) } : {}),
      ewsEnabled: input.ewsEnabled ?? true,
      authentication: { basic: true, ntlm: true, oauth: true, ...input.authentication },
      maxConcurrency: input.maxConcurrency ?? 27,
    };
    this.orgs.set(org.id, org);
    this.changed();
    return org;
  }

  getOrganisation(id: string): Organisation | undefined {
    return this.orgs.get(id);
  }

  organisations(): Organisation[] {
    return [...this.orgs.values()];
  }

  organisationForDomain(domain: string): Organisation | undefined {
    const wanted = lower(domain);
    for (const org of this.orgs.values()) if (org.domains.includes(wanted)) return org;
    return undefined;
  }

  organisationForTenant(entraTenantId: string): Organisation | undefined {
    const wanted = lower(entraTenantId);
    for (const org of this.orgs.values()) if (org.entraTenantId === wanted) return org;
    return undefined;
  }

  updateOrganisation(id: string, patch: Partial<Omit<Organisation, 'id'>>): Organisation {
    const org = this.orgs.get(id);
    if (!org) throw new StoreError('ErrorInvalidRequest', `no organisation ${id}`);
    if (patch.name !== undefined) org.name = patch.name;
    if (patch.domains !== undefined) org.domains = patch.domains.map(lower);
    if (patch.entraTenantId !== undefined) org.entraTenantId = lower(patch.entraTenantId);
    if (patch.ewsEnabled !== undefined) org.ewsEnabled = patch.ewsEnabled;
    if (patch.authentication !== undefined) org.authentication = { ...org.authentication, ...patch.authentication };
    if (patch.maxConcurrency !== undefined) org.maxConcurrency = patch.maxConcurrency;
    this.changed();
    return org;
  }

  private organisationFor(address: string, explicit: string | undefined): Organisation {
    const org = explicit ? this.orgs.get(explicit) : this.organisationForDomain(domainOf(address));
    if (!org) throw new StoreError('ErrorInvalidRequest', `no organisation for ${address}`);
    return org;
  }

  // ---- mailboxes -----------------------------------------------------------------------

  addMailbox(input: NewMailbox): Mailbox {
    const smtpAddress = lower(input.smtpAddress);
    if (!smtpAddress.includes('@')) throw new StoreError('ErrorInvalidRequest', `not an SMTP address: ${input.smtpAddress}`);
    if (this.addressIndex.has(smtpAddress)) throw new StoreError('ErrorDuplicate', `address ${smtpAddress} is taken`);
    const org = this.organisationFor(smtpAddress, input.organisationId);
    const mailbox: Mailbox = {
      smtpAddress,
      organisationId: org.id,
      displayName: input.displayName,
      kind: input.kind ?? 'user',
      aliases: (input.aliases ?? []).map(lower),
      userPrincipalName: lower(input.userPrincipalName ?? smtpAddress),
      ...(input.entraObjectId ? { entraObjectId: lower(input.entraObjectId) } : {}),
      ...(input.password !== undefined ? { password: input.password } : {}),
      passwordExpired: input.passwordExpired ?? false,
      enabled: input.enabled ?? true,
      attributes: Object.fromEntries(Object.entries(input.attributes ?? {}).map(([k, v]) => [lower(k), v])),
      fullAccess: (input.fullAccess ?? []).map(lower),
      folders: new Map(),
      distinguishedFolders: new Map(),
      hierarchyLog: [],
    };
    this.boxes.set(smtpAddress, mailbox);
    for (const address of [smtpAddress, mailbox.userPrincipalName, ...mailbox.aliases]) this.addressIndex.set(address, smtpAddress);
    for (const template of FOLDER_TEMPLATES) {
      const parentId = template.parent ? mailbox.distinguishedFolders.get(template.parent) : undefined;
      const folder = this.newFolder(mailbox, parentId, template.displayName, template.folderClass, template.hidden);
      folder.distinguishedName = template.name;
      mailbox.distinguishedFolders.set(template.name, folder.id);
    }
    this.changed();
    return mailbox;
  }

  getMailbox(addressOrUpn: string): Mailbox | undefined {
    const key = this.addressIndex.get(lower(addressOrUpn));
    return key ? this.boxes.get(key) : undefined;
  }

  mailboxes(organisationId?: string): Mailbox[] {
    const all = [...this.boxes.values()];
    return organisationId ? all.filter((m) => m.organisationId === organisationId) : all;
  }

  updateMailbox(
    address: string,
    patch: Partial<Pick<Mailbox, 'displayName' | 'password' | 'passwordExpired' | 'enabled' | 'attributes' | 'fullAccess' | 'entraObjectId' | 'aliases'>>,
  ): Mailbox {
    const mailbox = this.requireMailbox(address);
    if (patch.displayName !== undefined) mailbox.displayName = patch.displayName;
    if (patch.password !== undefined) mailbox.password = patch.password;
    if (patch.passwordExpired !== undefined) mailbox.passwordExpired = patch.passwordExpired;
    if (patch.enabled !== undefined) mailbox.enabled = patch.enabled;
    if (patch.attributes !== undefined) mailbox.attributes = Object.fromEntries(Object.entries(patch.attributes).map(([k, v]) => [lower(k), v]));
    if (patch.fullAccess !== undefined) mailbox.fullAccess = patch.fullAccess.map(lower);
    if (patch.entraObjectId !== undefined) mailbox.entraObjectId = lower(patch.entraObjectId);
    if (patch.aliases !== undefined) {
      for (const alias of mailbox.aliases) this.addressIndex.delete(alias);
      mailbox.aliases = patch.aliases.map(lower);
      for (const alias of mailbox.aliases) this.addressIndex.set(alias, mailbox.smtpAddress);
    }
    this.changed();
    return mailbox;
  }

  private requireMailbox(address: string): Mailbox {
    const mailbox = this.getMailbox(address);
    if (!mailbox) throw new StoreError('ErrorNonExistentMailbox', `no mailbox ${address}`);
    return mailbox;
  }

  // ---- service accounts and rights -------------------------------------------------------

  addServiceAccount(input: NewServiceAccount): ServiceAccount {
    const upn = lower(input.userPrincipalName);
    if (this.accounts.has(upn)) throw new StoreError('ErrorDuplicate', `service account ${upn} exists`);
    const org = this.organisationFor(upn, input.organisationId);
    const account: ServiceAccount = {
      userPrincipalName: upn,
      organisationId: org.id,
      displayName: input.displayName ?? upn,
      ...(input.password !== undefined ? { password: input.password } : {}),
      passwordExpired: input.passwordExpired ?? false,
      enabled: input.enabled ?? true,
    };
    this.accounts.set(upn, account);
    this.changed();
    return account;
  }

  getServiceAccount(userPrincipalName: string): ServiceAccount | undefined {
    return this.accounts.get(lower(userPrincipalName));
  }

  serviceAccounts(organisationId?: string): ServiceAccount[] {
    const all = [...this.accounts.values()];
    return organisationId ? all.filter((a) => a.organisationId === organisationId) : all;
  }

  updateServiceAccount(userPrincipalName: string, patch: Partial<Pick<ServiceAccount, 'displayName' | 'password' | 'passwordExpired' | 'enabled'>>): ServiceAccount {
    const account = this.accounts.get(lower(userPrincipalName));
    if (!account) throw new StoreError('ErrorInvalidRequest', `no service account ${userPrincipalName}`);
    Object.assign(account, patch);
    this.changed();
    return account;
  }

  grantImpersonation(right: Omit<ImpersonationRight, 'organisationId'> & { organisationId?: string }): ImpersonationRight {
    const principal = lower(right.principal);
    const org = this.organisationFor(principal, right.organisationId);
    const scope: RightScope = right.scope.kind === 'list' ? { kind: 'list', mailboxes: right.scope.mailboxes.map(lower) } : right.scope;
    const stored: ImpersonationRight = { organisationId: org.id, principal, scope };
    this.rights.push(stored);
    this.changed();
    return stored;
  }

  revokeImpersonation(principal: string): void {
    const wanted = lower(principal);
    for (let i = this.rights.length - 1; i >= 0; i--) if (this.rights[i]!.principal === wanted) this.rights.splice(i, 1);
    this.changed();
  }

  impersonationRights(principal: string): ImpersonationRight[] {
    const wanted = lower(principal);
    return this.rights.filter((r) => r.principal === wanted);
  }

  addApplicationAccessPolicy(policy: ApplicationAccessPolicy): ApplicationAccessPolicy {
    const stored = { ...policy, appId: lower(policy.appId) };
    this.policies.push(stored);
    this.changed();
    return stored;
  }

  applicationAccessPolicies(organisationId: string, appId: string): ApplicationAccessPolicy[] {
    const wanted = lower(appId);
    return this.policies.filter((p) => p.organisationId === organisationId && p.appId === wanted);
  }

  scopeCovers(scope: RightScope, mailbox: Mailbox): boolean {
    switch (scope.kind) {
      case 'all':
        return true;
      case 'list':
        return scope.mailboxes.some((address) => this.getMailbox(address) === mailbox);
      case 'filter':
        return (mailbox.attributes[lower(scope.attribute)] ?? '').toLowerCase() === scope.equals.toLowerCase();
    }
  }

  // ---- folders -------------------------------------------------------------------------

  private newFolder(mailbox: Mailbox, parentId: string | undefined, displayName: string, folderClass: string, hidden: boolean): Folder {
    const folder: Folder = {
      id: encodeId('folder', mailbox.smtpAddress, ++this.counter),
      mailbox: mailbox.smtpAddress,
      displayName,
      folderClass,
      parentId,
      version: 1,
      itemIds: new Set(),
      changeLog: [],
      hidden,
    };
    mailbox.folders.set(folder.id, folder);
    this.folderIndex.set(folder.id, folder);
    mailbox.hierarchyLog.push({ sequence: mailbox.hierarchyLog.length + 1, kind: 'create', folderId: folder.id });
    return folder;
  }

  getFolder(mailbox: string, ref: FolderRef): Folder {
    const box = this.requireMailbox(mailbox);
    const id = typeof ref === 'string' ? ref : box.distinguishedFolders.get(ref.distinguished);
    const folder = id ? box.folders.get(id) : undefined;
    if (!folder) throw new StoreError('ErrorFolderNotFound', `no such folder in ${box.smtpAddress}`);
    return folder;
  }

  findFolderById(folderId: string): Folder | undefined {
    return this.folderIndex.get(folderId);
  }

  createFolder(mailbox: string, parent: FolderRef, displayName: string, folderClass = 'IPF.Note'): Folder {
    const box = this.requireMailbox(mailbox);
    const parentFolder = this.getFolder(box.smtpAddress, parent);
    if (this.childFolders(parentFolder).some((f) => f.displayName.toLowerCase() === displayName.toLowerCase())) {
      throw new StoreError('ErrorDuplicate', `a folder named ${displayName} exists there`);
    }
    const folder = this.newFolder(box, parentFolder.id, displayName, folderClass, parentFolder.hidden);
    this.emit({ type: 'Created', mailbox: box.smtpAddress, folderId: folder.id, parentFolderId: parentFolder.id, timeStamp: this.now() });
    return folder;
  }

  childFolders(folder: Folder): Folder[] {
    const box = this.requireMailbox(folder.mailbox);
    const children: Folder[] = [];
    for (const candidate of box.folders.values()) if (candidate.parentId === folder.id) children.push(candidate);
    return children;
  }

  // ---- items ---------------------------------------------------------------------------

  createItem(mailbox: string, folder: FolderRef, input: NewItem): Item {
    const box = this.requireMailbox(mailbox);
    const target = this.getFolder(box.smtpAddress, folder);
    const item = this.buildItem(box.smtpAddress, target.id, input);
    this.insert(item, target);
    this.emit({ type: 'Created', mailbox: box.smtpAddress, itemId: item.id, parentFolderId: target.id, timeStamp: item.lastModifiedTime });
    return item;
  }

  getItem(itemId: string): Item | undefined {
    return this.itemIndex.get(itemId);
  }

  folderItems(folder: Folder): Item[] {
    const items: Item[] = [];
    for (const id of folder.itemIds) {
      const item = this.itemIndex.get(id);
      if (item) items.push(item);
    }
    return items;
  }

  updateItem(itemId: string, patch: ItemPatch): Item {
    const item = this.requireItem(itemId);
    const keys = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
    if (keys.length === 0) return item;
    applyPatch(item, patch, this.now());
    item.version++;
    item.lastModifiedTime = this.now();
    const folder = this.folderIndex.get(item.folderId)!;
    const readOnly = keys.length === 1 && keys[0] === 'isRead' && item.kind === 'message';
    this.log(folder, readOnly ? 'readFlag' : 'update', item.id, readOnly ? (item as Message).isRead : undefined);
    this.emit({ type: 'Modified', mailbox: item.mailbox, itemId: item.id, parentFolderId: folder.id, timeStamp: item.lastModifiedTime });
    return item;
  }

  deleteItem(itemId: string, mode: DeleteMode): void {
    const item = this.requireItem(itemId);
    if (mode === 'HardDelete') {
      const folder = this.folderIndex.get(item.folderId)!;
      this.remove(item, folder);
      this.emit({ type: 'Deleted', mailbox: item.mailbox, itemId: item.id, parentFolderId: folder.id, timeStamp: this.now() });
      return;
    }
    const target: DistinguishedFolderName = mode === 'SoftDelete' ? 'recoverableitemsdeletions' : 'deleteditems';
    const current = this.folderIndex.get(item.folderId)!;
    if (current.distinguishedName === target) {
      // Exchange: MoveToDeletedItems on an item already in Deleted Items soft-deletes it.
      this.moveItem(itemId, { distinguished: 'recoverableitemsdeletions' });
      return;
    }
    this.moveItem(itemId, { distinguished: target });
  }

  moveItem(itemId: string, target: FolderRef): Item {
    return this.relocate(itemId, target, 'Moved');
  }

  copyItem(itemId: string, target: FolderRef): Item {
    return this.relocate(itemId, target, 'Copied');
  }

  private relocate(itemId: string, target: FolderRef, how: 'Moved' | 'Copied'): Item {
    const item = this.requireItem(itemId);
    const source = this.folderIndex.get(item.folderId)!;
    // A folder id may name a folder of another mailbox: Exchange moves and copies across mailboxes
    // (the caller needs rights on both; the EWS layer checks that).
    const destination = typeof target === 'string' ? this.folderIndex.get(target) : this.getFolder(item.mailbox, target);
    if (!destination) throw new StoreError('ErrorFolderNotFound', 'no such folder');
    const owner = destination.mailbox;
    const copy = structuredClone(item) as Item & { id: string; folderId: string; mailbox: string };
    copy.id = encodeId('item', owner, ++this.counter);
    copy.mailbox = owner;
    copy.folderId = destination.id;
    copy.version = 1;
    copy.lastModifiedTime = this.now();
    copy.attachments = item.attachments.map((a) => ({ ...a, id: encodeId('attachment', owner, ++this.counter) }));
    // A move within the mailbox keeps the item's identity (Graph immutable ids follow it); a copy, or a
    // move to another mailbox, is a new item there.
    copy.immutableOrigin = how === 'Moved' && owner === item.mailbox ? (item.immutableOrigin ?? item.id) : undefined;
    if (how === 'Moved') this.remove(item, source);
    this.insert(copy, destination);
    if (owner !== item.mailbox) {
      // Each mailbox sees its own side: the source loses the item (when moved), the destination gains one.
      if (how === 'Moved') this.emit({ type: 'Deleted', mailbox: item.mailbox, itemId: item.id, parentFolderId: source.id, timeStamp: copy.lastModifiedTime });
      this.emit({ type: 'Created', mailbox: owner, itemId: copy.id, parentFolderId: destination.id, timeStamp: copy.lastModifiedTime });
      return copy;
    }
    this.emit({
      type: how,
      mailbox: item.mailbox,
      itemId: copy.id,
      oldItemId: item.id,
      parentFolderId: destination.id,
      oldParentFolderId: source.id,
      timeStamp: copy.lastModifiedTime,
    });
    return copy;
  }

  deliverMail(mail: MailToDeliver): Message[] {
    const receivedAt = mail.receivedAt ?? this.now();
    const recipients = [...(mail.toRecipients ?? []), ...(mail.ccRecipients ?? []), ...(mail.bccRecipients ?? [])];
    const seen = new Set<string>();
    const delivered: Message[] = [];
    const internetMessageId = mail.internetMessageId ?? `<${(++this.counter).toString(36)}.${receivedAt.getTime().toString(36)}@${domainOf(mail.from.address)}>`;
    for (const recipient of recipients) {
      const box = this.getMailbox(recipient.address);
      if (!box || seen.has(box.smtpAddress)) continue;
      seen.add(box.smtpAddress);
      const inbox = this.getFolder(box.smtpAddress, { distinguished: 'inbox' });
      const message = this.buildItem(box.smtpAddress, inbox.id, {
        kind: 'message',
        from: mail.from,
        sender: mail.from,
        toRecipients: mail.toRecipients ?? [],
        ccRecipients: mail.ccRecipients ?? [],
        // Only the recipient's own Bcc line is visible to it.
        bccRecipients: (mail.bccRecipients ?? []).filter((r) => this.getMailbox(r.address) === box),
        subject: mail.subject ?? '',
        body: mail.body ?? { type: 'Text', content: '' },
        ...(mail.attachments ? { attachments: mail.attachments } : {}),
        importance: mail.importance ?? 'Normal',
        categories: mail.categories ?? [],
        internetMessageId,
        ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
        dateTimeReceived: receivedAt,
        dateTimeCreated: receivedAt,
        dateTimeSent: mail.sentAt ?? receivedAt,
        isRead: false,
      }) as Message;
      this.insert(message, inbox);
      this.emit({ type: 'NewMail', mailbox: box.smtpAddress, itemId: message.id, parentFolderId: inbox.id, timeStamp: receivedAt });
      this.emit({ type: 'Created', mailbox: box.smtpAddress, itemId: message.id, parentFolderId: inbox.id, timeStamp: receivedAt });
      delivered.push(message);
    }
    return delivered;
  }

  onChange(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Called after every mutation made through the store's methods, including directory changes
   * (organisations, mailboxes, accounts, rights) that emit no StoreEvent. Used for persistence.
   */
  onMutation(listener: () => void): () => void {
    this.mutationListeners.add(listener);
    return () => this.mutationListeners.delete(listener);
  }

  /** A number that changes whenever the store changes (through its methods). */
  get changeRevision(): number {
    return this.revision;
  }

  // ---- snapshots (persistence) ----------------------------------------------------------------

  /**
   * Everything needed to rebuild this store: ids, ChangeKeys and change logs included, so ids stay
   * stable and SyncStates stay valid across a restart. The result shares the live item objects:
   * serialize it at once.
   */
  snapshot(): StoreSnapshot {
    return {
      counter: this.counter,
      organisations: [...this.orgs.values()],
      mailboxes: [...this.boxes.values()].map((mailbox) => ({
        ...mailbox,
        folders: [...mailbox.folders.values()].map((folder) => ({ ...folder, itemIds: [...folder.itemIds] })),
        distinguishedFolders: [...mailbox.distinguishedFolders],
        hierarchyLog: mailbox.hierarchyLog,
      })),
      serviceAccounts: [...this.accounts.values()],
      impersonationRights: this.rights,
      applicationAccessPolicies: this.policies,
      items: [...this.itemIndex.values()],
    };
  }

  /** Loads a snapshot into this store, which must be empty. */
  restore(snapshot: StoreSnapshot): void {
    if (this.orgs.size > 0 || this.boxes.size > 0 || this.itemIndex.size > 0) throw new Error('restore needs an empty store');
    this.counter = snapshot.counter;
    for (const org of snapshot.organisations) this.orgs.set(org.id, org);
    for (const saved of snapshot.mailboxes) {
      const { folders, distinguishedFolders, hierarchyLog, ...fields } = saved;
      const mailbox: Mailbox = { ...fields, folders: new Map(), distinguishedFolders: new Map(distinguishedFolders), hierarchyLog: [...hierarchyLog] };
      for (const savedFolder of folders) {
        const folder: Folder = { ...savedFolder, itemIds: new Set(savedFolder.itemIds), changeLog: [...savedFolder.changeLog] };
        mailbox.folders.set(folder.id, folder);
        this.folderIndex.set(folder.id, folder);
      }
      this.boxes.set(mailbox.smtpAddress, mailbox);
      for (const address of [mailbox.smtpAddress, mailbox.userPrincipalName, ...mailbox.aliases]) this.addressIndex.set(address, mailbox.smtpAddress);
    }
    for (const account of snapshot.serviceAccounts) this.accounts.set(account.userPrincipalName, account);
    this.rights.push(...snapshot.impersonationRights);
    this.policies.push(...snapshot.applicationAccessPolicies);
    for (const item of snapshot.items) this.itemIndex.set(item.id, item);
    this.changed();
  }

  // ---- internals -----------------------------------------------------------------------

  private requireItem(itemId: string): Item {
    const item = this.itemIndex.get(itemId);
    if (!item) throw new StoreError('ErrorItemNotFound', 'The specified object was not found in the store.');
    return item;
  }

  private insert(item: Item, folder: Folder): void {
    this.itemIndex.set(item.id, item);
    folder.itemIds.add(item.id);
    this.log(folder, 'create', item.id);
  }

  private remove(item: Item, folder: Folder): void {
    this.itemIndex.delete(item.id);
    folder.itemIds.delete(item.id);
    this.log(folder, 'delete', item.id);
  }

  private log(folder: Folder, kind: ItemChangeKind, itemId: string, isRead?: boolean): void {
    folder.changeLog.push({ sequence: folder.changeLog.length + 1, kind, itemId, isRead });
  }

  private emit(event: StoreEvent): void {
    this.changed();
    for (const listener of this.listeners) listener(event);
  }

  /** Every mutation ends here (item and folder changes through emit). */
  private changed(): void {
    this.revision++;
    for (const listener of this.mutationListeners) listener();
  }

  private newAttachment(mailbox: string, input: NewAttachment, now: Date): Attachment {
    return {
      id: encodeId('attachment', mailbox, ++this.counter),
      name: input.name,
      contentType: input.contentType,
      contentId: input.contentId || undefined,
      isInline: input.isInline ?? false,
      lastModifiedTime: input.lastModifiedTime ?? now,
      content: input.content,
      attachedMessage: input.attachedMessage,
    };
  }

  /**
   * Builds the stored item. Every item of one kind is created by one object literal with all
   * properties present (absent optional ones are undefined) in a fixed order, so they share one
   * hidden class: conditional spreads gave each combination its own shape, which made filling a
   * large store several times slower. Optional strings keep the old rule: empty means absent.
   */
  private buildItem(mailbox: string, folderId: string, input: NewItem): Item {
    const now = this.now();
    const created = input.dateTimeCreated ?? now;
    const id = encodeId('item', mailbox, ++this.counter);
    const attachments = input.attachments && input.attachments.length > 0 ? input.attachments.map((a) => this.newAttachment(mailbox, a, now)) : [];
    const body = input.body ?? { type: 'Text' as const, content: '' };
    const categories = input.categories ?? [];
    const importance = input.importance ?? 'Normal';
    const sensitivity = input.sensitivity ?? 'Normal';
    const received = input.dateTimeReceived ?? created;
    const internetMessageId = input.internetMessageId || undefined;
    const inReplyTo = input.inReplyTo || undefined;
    const extendedProperties = input.extendedProperties && input.extendedProperties.length > 0 ? [...input.extendedProperties] : undefined;
    switch (input.kind) {
      case 'message': {
        const message: Message = {
          id,
          kind: 'message',
          mailbox,
          folderId,
          version: 1,
          itemClass: input.itemClass ?? ITEM_CLASS.message,
          subject: input.subject ?? '',
          body,
          categories,
          importance,
          sensitivity,
          dateTimeCreated: created,
          dateTimeReceived: received,
          lastModifiedTime: now,
          attachments,
          internetMessageId,
          inReplyTo,
          immutableOrigin: undefined,
          extendedProperties,
          from: input.from || undefined,
          sender: (input.sender ?? input.from) || undefined,
          toRecipients: input.toRecipients ?? [],
          ccRecipients: input.ccRecipients ?? [],
          bccRecipients: input.bccRecipients ?? [],
          replyTo: input.replyTo ?? [],
          dateTimeSent: input.dateTimeSent || undefined,
          isRead: input.isRead ?? true,
          isDraft: input.isDraft ?? false,
          isReadReceiptRequested: input.isReadReceiptRequested ?? false,
          isDeliveryReceiptRequested: input.isDeliveryReceiptRequested ?? false,
          meeting: input.meeting,
        };
        return message;
      }
      case 'calendarItem': {
        const calendarItem: CalendarItem = {
          id,
          kind: 'calendarItem',
          mailbox,
          folderId,
          version: 1,
          itemClass: input.itemClass ?? ITEM_CLASS.calendarItem,
          subject: input.subject ?? '',
          body,
          categories,
          importance,
          sensitivity,
          dateTimeCreated: created,
          dateTimeReceived: received,
          lastModifiedTime: now,
          attachments,
          internetMessageId,
          inReplyTo,
          immutableOrigin: undefined,
          extendedProperties,
          start: input.start,
          end: input.end,
          isAllDayEvent: input.isAllDayEvent ?? false,
          location: input.location ?? '',
          organizer: input.organizer || undefined,
          requiredAttendees: input.requiredAttendees ?? [],
          optionalAttendees: input.optionalAttendees ?? [],
          legacyFreeBusyStatus: input.legacyFreeBusyStatus ?? 'Busy',
          uid: input.uid ?? `040000008200E00074C5B7101A82E008${this.counter.toString(16).padStart(16, '0').toUpperCase()}`,
          isCancelled: input.isCancelled ?? false,
          myResponseType: input.myResponseType,
          recurrence: input.recurrence,
          modifiedOccurrences: undefined,
          deletedOccurrences: undefined,
        };
        return calendarItem;
      }
      case 'contact': {
        const displayName = input.displayName ?? ([input.givenName, input.surname].filter(Boolean).join(' ') || input.subject || '');
        const contact: Contact = {
          id,
          kind: 'contact',
          mailbox,
          folderId,
          version: 1,
          itemClass: input.itemClass ?? ITEM_CLASS.contact,
          subject: input.subject ?? displayName,
          body,
          categories,
          importance,
          sensitivity,
          dateTimeCreated: created,
          dateTimeReceived: received,
          lastModifiedTime: now,
          attachments,
          internetMessageId,
          inReplyTo,
          immutableOrigin: undefined,
          extendedProperties,
          givenName: input.givenName || undefined,
          surname: input.surname || undefined,
          displayName,
          fileAs: input.fileAs ?? (input.surname && input.givenName ? `${input.surname}, ${input.givenName}` : displayName),
          companyName: input.companyName || undefined,
          jobTitle: input.jobTitle || undefined,
          department: input.department || undefined,
          emailAddresses: input.emailAddresses ?? [],
          phoneNumbers: input.phoneNumbers ?? [],
        };
        return contact;
      }
      case 'task': {
        const task: Task = {
          id,
          kind: 'task',
          mailbox,
          folderId,
          version: 1,
          itemClass: input.itemClass ?? ITEM_CLASS.task,
          subject: input.subject ?? '',
          body,
          categories,
          importance,
          sensitivity,
          dateTimeCreated: created,
          dateTimeReceived: received,
          lastModifiedTime: now,
          attachments,
          internetMessageId,
          inReplyTo,
          immutableOrigin: undefined,
          extendedProperties,
          dueDate: input.dueDate || undefined,
          startDate: input.startDate || undefined,
          completeDate: input.completeDate || undefined,
          status: input.status ?? 'NotStarted',
          percentComplete: input.percentComplete ?? (input.status === 'Completed' ? 100 : 0),
        };
        return task;
      }
    }
  }
}

function applyPatch(item: Item, patch: ItemPatch, now: Date): void {
  if (patch.subject !== undefined) item.subject = patch.subject;
  if (patch.body !== undefined) item.body = patch.body;
  if (patch.categories !== undefined) item.categories = patch.categories;
  if (patch.importance !== undefined) item.importance = patch.importance;
  if (patch.sensitivity !== undefined) item.sensitivity = patch.sensitivity;
  if (patch.setExtendedProperties !== undefined || patch.removeExtendedProperties !== undefined) {
    const replaced = new Set([...(patch.removeExtendedProperties ?? []), ...(patch.setExtendedProperties ?? []).map((p) => p.key)]);
    const kept = (item.extendedProperties ?? []).filter((p) => !replaced.has(p.key));
    const next = [...kept, ...(patch.setExtendedProperties ?? [])];
    item.extendedProperties = next.length > 0 ? next : undefined;
  }
  switch (item.kind) {
    case 'message':
      if (patch.isRead !== undefined) item.isRead = patch.isRead;
      if (patch.isDraft !== undefined) item.isDraft = patch.isDraft;
      if (patch.from === null) item.from = undefined;
      else if (patch.from !== undefined) item.from = patch.from;
      if (patch.toRecipients !== undefined) item.toRecipients = patch.toRecipients;
      if (patch.ccRecipients !== undefined) item.ccRecipients = patch.ccRecipients;
      if (patch.bccRecipients !== undefined) item.bccRecipients = patch.bccRecipients;
      break;
    case 'calendarItem':
      if (patch.start !== undefined) item.start = patch.start;
      if (patch.end !== undefined) item.end = patch.end;
      if (patch.location !== undefined) item.location = patch.location;
      if (patch.isAllDayEvent !== undefined) item.isAllDayEvent = patch.isAllDayEvent;
      if (patch.requiredAttendees !== undefined) item.requiredAttendees = patch.requiredAttendees;
      if (patch.optionalAttendees !== undefined) item.optionalAttendees = patch.optionalAttendees;
      if (patch.isCancelled !== undefined) item.isCancelled = patch.isCancelled;
      if (patch.myResponseType !== undefined) item.myResponseType = patch.myResponseType;
      if (patch.legacyFreeBusyStatus !== undefined) item.legacyFreeBusyStatus = patch.legacyFreeBusyStatus;
      if (patch.modifiedOccurrences !== undefined) item.modifiedOccurrences = patch.modifiedOccurrences;
      if (patch.deletedOccurrences !== undefined) item.deletedOccurrences = patch.deletedOccurrences;
      break;
    case 'contact':
      setOptional(item, 'givenName', patch.givenName);
      setOptional(item, 'surname', patch.surname);
      setOptional(item, 'companyName', patch.companyName);
      setOptional(item, 'jobTitle', patch.jobTitle);
      if (patch.displayName !== undefined) item.displayName = patch.displayName;
      if (patch.fileAs !== undefined) item.fileAs = patch.fileAs;
      if (patch.emailAddresses !== undefined) item.emailAddresses = patch.emailAddresses;
      if (patch.phoneNumbers !== undefined) item.phoneNumbers = patch.phoneNumbers;
      break;
    case 'task':
      setOptional(item, 'dueDate', patch.dueDate);
      setOptional(item, 'startDate', patch.startDate);
      if (patch.status !== undefined) {
        item.status = patch.status;
        if (patch.status === 'Completed') {
          item.percentComplete = 100;
          item.completeDate = now;
        }
      }
      if (patch.percentComplete !== undefined) item.percentComplete = patch.percentComplete;
      break;
  }
}

/** Sets or clears an optional field; clearing writes undefined (not delete) so the object keeps its shape. */
function setOptional<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | null | undefined): void {
  if (value === null) target[key] = undefined as T[K];
  else if (value !== undefined) target[key] = value;
}

/** Creates an empty store. */
export function createEwsStore(options: StoreOptions = {}): EwsStore {
  return new InMemoryEwsStore(options);
}

export { DISTINGUISHED_FOLDER_NAMES };
