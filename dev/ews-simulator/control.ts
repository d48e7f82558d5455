/**
 * The control API (JSON over HTTP under /_simulator/): set up organisations, mailboxes, service
 * accounts, rights and items; deliver mail; read the request log and counters; inject faults.
 * It is a test/dev back door, served on its own path prefix, never through the EWS endpoint.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NewFaultRule } from './faults';
import type { DeleteMode, DistinguishedFolderName, EwsStore, Folder, FolderRef, Item, ItemPatch, MailToDeliver, Mailbox, NewItem, RightScope } from './model';
import { DISTINGUISHED_FOLDER_NAMES, StoreError } from './model';
import { itemChangeKey } from './item-xml';
import type { SimulatorState } from './server';

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const DATE_KEYS = new Set([
  'start',
  'end',
  'dueDate',
  'startDate',
  'completeDate',
  'dateTimeCreated',
  'dateTimeReceived',
  'dateTimeSent',
  'receivedAt',
  'sentAt',
  'lastModifiedTime',
]);

/** JSON → values with Dates and attachment bytes restored. */
function revive(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => revive(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = revive(v, k);
    return out;
  }
  if (typeof value === 'string' && DATE_KEYS.has(key)) {
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw new ControlError(400, `${key} is not a date: ${value}`);
    return date;
  }
  if (typeof value === 'string' && key === 'content') return Buffer.from(value, 'base64');
  return value;
}

function folderRef(value: unknown): FolderRef {
  if (typeof value !== 'string' || !value) return { distinguished: 'inbox' };
  return (DISTINGUISHED_FOLDER_NAMES as readonly string[]).includes(value) ? { distinguished: value as DistinguishedFolderName } : value;
}

function itemJson(item: Item): Record<string, unknown> {
  const { attachments, ...rest } = item;
  return {
    ...rest,
    changeKey: itemChangeKey(item),
    attachments: attachments.map((a) => ({ id: a.id, name: a.name, contentType: a.contentType, isInline: a.isInline, size: a.content.byteLength })),
  };
}

function folderJson(store: EwsStore, folder: Folder): Record<string, unknown> {
  return {
    id: folder.id,
    distinguishedName: folder.distinguishedName,
    displayName: folder.displayName,
    folderClass: folder.folderClass,
    parentId: folder.parentId,
    totalCount: folder.itemIds.size,
    childFolderCount: store.childFolders(folder).length,
    changeCount: folder.changeLog.length,
  };
}

function mailboxJson(mailbox: Mailbox): Record<string, unknown> {
  const { folders, distinguishedFolders, hierarchyLog, password, ...rest } = mailbox;
  void distinguishedFolders;
  void hierarchyLog;
  return { ...rest, hasPassword: password !== undefined, folderCount: folders.size };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return revive(parsed) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ControlError) throw error;
    throw new ControlError(400, 'Body must be a JSON object.');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (v instanceof Set ? [...v] : v));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

export async function handleControlRequest(req: IncomingMessage, res: ServerResponse, state: SimulatorState): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  try {
    const result = await dispatch(method, parts, url.searchParams, req, state);
    send(res, result.status ?? 200, result.body);
  } catch (error) {
    if (error instanceof ControlError) return send(res, error.status, { error: error.message });
    if (error instanceof StoreError) return send(res, error.code === 'ErrorDuplicate' ? 409 : 404, { error: error.message, code: error.code });
    send(res, 500, { error: error instanceof Error ? error.message : String(error) });
  }
}

interface Result {
  readonly status?: number;
  readonly body: unknown;
}

async function dispatch(method: string, parts: string[], query: URLSearchParams, req: IncomingMessage, state: SimulatorState): Promise<Result> {
  const store = state.store;
  const [resource, id, sub, subId] = parts;
  const route = `${method} ${resource ?? ''}${id !== undefined ? '/:id' : ''}${sub !== undefined ? `/${sub}` : ''}${subId !== undefined ? '/:sub' : ''}`;
  switch (route) {
    case 'GET ':
    case 'GET health':
      return { body: { status: 'ok', organisations: store.organisations().length, mailboxes: store.mailboxes().length } };
    case 'GET organisations':
      return { body: store.organisations() };
    case 'POST organisations':
      return { status: 201, body: store.addOrganisation((await readJson(req)) as never) };
    case 'PATCH organisations/:id':
      return { body: store.updateOrganisation(id!, (await readJson(req)) as never) };
    case 'GET mailboxes':
      return { body: store.mailboxes(query.get('organisationId') ?? undefined).map(mailboxJson) };
    case 'POST mailboxes':
      return { status: 201, body: mailboxJson(store.addMailbox((await readJson(req)) as never)) };
    case 'GET mailboxes/:id':
      return { body: mailboxJson(requireMailbox(store, id!)) };
    case 'PATCH mailboxes/:id':
      return { body: mailboxJson(store.updateMailbox(id!, (await readJson(req)) as never)) };
    case 'GET mailboxes/:id/folders':
      return { body: [...requireMailbox(store, id!).folders.values()].map((f) => folderJson(store, f)) };
    case 'POST mailboxes/:id/folders': {
      const body = await readJson(req);
      const folder = store.createFolder(id!, folderRef(body.parent ?? 'msgfolderroot'), String(body.displayName ?? ''), typeof body.folderClass === 'string' ? body.folderClass : undefined);
      return { status: 201, body: folderJson(store, folder) };
    }
    case 'GET mailboxes/:id/folders/:sub': {
      void sub;
      const folder = store.getFolder(id!, folderRef(subId));
      const limit = Number(query.get('limit') ?? '100');
      return { body: { folder: folderJson(store, folder), items: store.folderItems(folder).slice(-limit).map(itemJson) } };
    }
    case 'POST mailboxes/:id/items': {
      const body = await readJson(req);
      const item = store.createItem(id!, folderRef(body.folder), body.item as NewItem);
      return { status: 201, body: itemJson(item) };
    }
    case 'GET items/:id': {
      const item = store.getItem(id!);
      if (!item) throw new ControlError(404, 'No such item.');
      return { body: itemJson(item) };
    }
    case 'PATCH items/:id':
      return { body: itemJson(store.updateItem(id!, (await readJson(req)) as ItemPatch)) };
    case 'DELETE items/:id':
      store.deleteItem(id!, (query.get('mode') ?? 'HardDelete') as DeleteMode);
      return { status: 204, body: null };
    case 'POST items/:id/move': {
      const body = await readJson(req);
      return { body: itemJson(store.moveItem(id!, folderRef(body.folder))) };
    }
    case 'POST deliver':
      return { status: 201, body: store.deliverMail((await readJson(req)) as unknown as MailToDeliver).map(itemJson) };
    case 'POST service-accounts':
      return { status: 201, body: redactPassword(store.addServiceAccount((await readJson(req)) as never)) };
    case 'GET service-accounts':
      return { body: store.serviceAccounts(query.get('organisationId') ?? undefined).map(redactPassword) };
    case 'PATCH service-accounts/:id':
      return { body: redactPassword(store.updateServiceAccount(id!, (await readJson(req)) as never)) };
    case 'POST impersonation-rights': {
      const body = await readJson(req);
      return { status: 201, body: store.grantImpersonation({ principal: String(body.principal ?? ''), scope: (body.scope ?? { kind: 'all' }) as RightScope, ...(typeof body.organisationId === 'string' ? { organisationId: body.organisationId } : {}) }) };
    }
    case 'GET impersonation-rights/:id':
      return { body: store.impersonationRights(id!) };
    case 'DELETE impersonation-rights/:id':
      store.revokeImpersonation(id!);
      return { status: 204, body: null };
    case 'POST application-access-policies':
      return { status: 201, body: store.addApplicationAccessPolicy((await readJson(req)) as never) };
    case 'GET requests': {
      const limit = Number(query.get('limit') ?? '100');
      const operation = query.get('operation');
      const entries = operation ? state.requestLog.filter((e) => e.operation === operation) : state.requestLog;
      return { body: entries.slice(-limit) };
    }
    case 'DELETE requests':
      state.requestLog.length = 0;
      state.counters.clear();
      return { status: 204, body: null };
    case 'GET counters':
      return { body: Object.fromEntries(state.counters) };
    case 'GET faults':
      return { body: state.faults.list() };
    case 'POST faults':
      return { status: 201, body: state.faults.add((await readJson(req)) as unknown as NewFaultRule) };
    case 'DELETE faults': {
      const seed = query.get('seed');
      state.faults.clear(seed !== null ? Number(seed) : undefined);
      return { status: 204, body: null };
    }
    case 'DELETE faults/:id':
      if (!state.faults.remove(id!)) throw new ControlError(404, 'No such fault rule.');
      return { status: 204, body: null };
    default:
      throw new ControlError(404, `No control route ${method} /${parts.join('/')}`);
  }
}

function requireMailbox(store: EwsStore, address: string): Mailbox {
  const mailbox = store.getMailbox(address);
  if (!mailbox) throw new ControlError(404, `No mailbox ${address}`);
  return mailbox;
}

function redactPassword<T extends { password?: string }>(account: T): Omit<T, 'password'> & { hasPassword: boolean } {
  const { password, ...rest } = account;
  return { ...rest, hasPassword: password !== undefined };
}
