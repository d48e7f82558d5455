/**
 * The control API (JSON over HTTP under /_simulator/): set up organisations, mailboxes, service
 * accounts, rights and items; deliver mail; read the request log and counters; inject faults.
 * It is a test/dev back door, served on its own path prefix, never through the EWS endpoint.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpProblem, validationProblem } from '../../shared/http/problem';
import { readRequestBody } from './http-body';
import { ControlInputError, controlInput, countQuery, deleteModeQuery, integerQuery, toFolderRef } from './control-input';
import type { EwsStore, Folder, Item, Mailbox } from './model';
import { StoreError } from './model';
import { itemChangeKey } from './item-xml';
import type { SimulatorState } from './server';

/** Largest control request body accepted (attachments are base64 in JSON). */
const MAX_CONTROL_BODY_BYTES = 32 * 1024 * 1024;

function notFound(detail: string): HttpProblem {
  return new HttpProblem(404, 'NotFound', 'Not found', detail);
}

function badRequest(detail: string): HttpProblem {
  return new HttpProblem(400, 'BadRequest', 'The request is not valid', detail);
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

/** The request body as parsed JSON (an object); the shape is checked by control-input.ts. Also used by the Graph simulator's control API. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const received = await readRequestBody(req, MAX_CONTROL_BODY_BYTES);
  if (received === 'tooLarge') throw new HttpProblem(413, 'PayloadTooLarge', 'Payload too large', `Control requests are limited to ${MAX_CONTROL_BODY_BYTES} bytes.`);
  const text = received.toString('utf8');
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw badRequest('The body is not valid JSON.');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('The body must be a JSON object.');
  return parsed;
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
  if (status === 204) {
    res.writeHead(204);
    res.end();
    return;
  }
  const text = JSON.stringify(body, (_k, v: unknown) => (v instanceof Set ? [...v] : v));
  res.writeHead(status, { 'content-type': contentType });
  res.end(text);
}

function sendProblem(res: ServerResponse, problem: HttpProblem, instance: string): void {
  send(res, problem.status, problem.toDetails(instance), 'application/problem+json; charset=utf-8');
}

/** Store failures as HTTP: missing things 404, duplicates 409, bad requests 400. */
function storeProblem(error: StoreError): HttpProblem {
  switch (error.code) {
    case 'ErrorDuplicate':
      return new HttpProblem(409, 'Conflict', 'Conflict', error.message);
    case 'ErrorItemNotFound':
    case 'ErrorFolderNotFound':
    case 'ErrorNonExistentMailbox':
    case 'ErrorInvalidIdMalformed':
      return new HttpProblem(404, 'NotFound', 'Not found', error.message);
    case 'ErrorInvalidOperation':
    case 'ErrorInvalidRequest':
      return badRequest(error.message);
  }
}

function pathParts(rawUrl: string | undefined): { parts: string[]; query: URLSearchParams } | undefined {
  const url = new URL(rawUrl ?? '/', 'http://simulator');
  try {
    return { parts: url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent), query: url.searchParams };
  } catch {
    return undefined;
  }
}

export async function handleControlRequest(req: IncomingMessage, res: ServerResponse, state: SimulatorState): Promise<void> {
  const method = req.method ?? 'GET';
  const instance = (req.url ?? '/').split('?')[0]!;
  try {
    const target = pathParts(req.url);
    if (!target) throw notFound(`No control route ${method} ${instance}`);
    const result = await dispatch(method, target.parts, target.query, req, state);
    send(res, result.status ?? 200, result.body);
  } catch (error) {
    if (error instanceof ControlInputError) return sendProblem(res, validationProblem(error.errors), instance);
    if (error instanceof HttpProblem) return sendProblem(res, error, instance);
    if (error instanceof StoreError) return sendProblem(res, storeProblem(error), instance);
    // A defect in the simulator: say so plainly (tests treat any 5xx from the control API as a bug).
    sendProblem(res, new HttpProblem(500, 'SimulatorDefect', 'The simulator failed', error instanceof Error ? error.message : String(error)), instance);
  }
}

interface Result {
  readonly status?: number;
  readonly body: unknown;
}

async function dispatch(method: string, parts: string[], query: URLSearchParams, req: IncomingMessage, state: SimulatorState): Promise<Result> {
  const store = state.store;
  if (parts.length > 4) throw notFound(`No control route ${method} /${parts.join('/')}`);
  const [resource, id, sub, subId] = parts;
  const route = `${method} ${resource ?? ''}${id !== undefined ? '/:id' : ''}${sub !== undefined ? `/${sub}` : ''}${subId !== undefined ? '/:sub' : ''}`;
  switch (route) {
    case 'GET ':
    case 'GET health':
      return { body: { status: 'ok', organisations: store.organisations().length, mailboxes: store.mailboxes().length } };
    case 'GET organisations':
      return { body: store.organisations() };
    case 'POST organisations':
      return { status: 201, body: store.addOrganisation(controlInput.newOrganisation(await readJson(req))) };
    case 'PATCH organisations/:id': {
      const patch = controlInput.organisationPatch(await readJson(req));
      if (!store.getOrganisation(id!)) throw notFound(`No organisation ${id}`);
      return { body: store.updateOrganisation(id!, patch) };
    }
    case 'GET mailboxes':
      return { body: store.mailboxes(query.get('organisationId') ?? undefined).map(mailboxJson) };
    case 'POST mailboxes':
      return { status: 201, body: mailboxJson(store.addMailbox(controlInput.newMailbox(await readJson(req)))) };
    case 'GET mailboxes/:id':
      return { body: mailboxJson(requireMailbox(store, id!)) };
    case 'PATCH mailboxes/:id': {
      const patch = controlInput.mailboxPatch(await readJson(req));
      requireMailbox(store, id!);
      return { body: mailboxJson(store.updateMailbox(id!, patch)) };
    }
    case 'GET mailboxes/:id/folders':
      return { body: [...requireMailbox(store, id!).folders.values()].map((f) => folderJson(store, f)) };
    case 'POST mailboxes/:id/folders': {
      const input = controlInput.newFolder(await readJson(req));
      requireMailbox(store, id!);
      const folder = store.createFolder(id!, input.parent, input.displayName, input.folderClass);
      return { status: 201, body: folderJson(store, folder) };
    }
    case 'GET mailboxes/:id/folders/:sub': {
      if (sub !== 'folders') break;
      const limit = countQuery('limit', query.get('limit'), 100);
      const folder = store.getFolder(requireMailbox(store, id!).smtpAddress, toFolderRef(subId!));
      return { body: { folder: folderJson(store, folder), items: store.folderItems(folder).slice(-limit).map(itemJson) } };
    }
    case 'PUT mailboxes/:id/folder-permissions/:sub': {
      // Replaces the folder's DACL for other users, as EWS UpdateFolder with a PermissionSet does.
      if (sub !== 'folder-permissions') break;
      const input = controlInput.folderPermissions(await readJson(req));
      const folder = store.getFolder(requireMailbox(store, id!).smtpAddress, toFolderRef(subId!));
      folder.permissions = input.permissions;
      return { body: { folderId: folder.id, permissions: folder.permissions } };
    }
    case 'PUT mailboxes/:id/delegates': {
      const input = controlInput.delegates(await readJson(req));
      const mailbox = requireMailbox(store, id!);
      mailbox.delegates = input.delegates;
      return { body: { delegates: mailbox.delegates } };
    }
    case 'POST mailboxes/:id/items': {
      const input = controlInput.createItem(await readJson(req));
      requireMailbox(store, id!);
      return { status: 201, body: itemJson(store.createItem(id!, input.folder, input.item)) };
    }
    case 'GET items/:id':
      return { body: itemJson(requireItem(store, id!)) };
    case 'PATCH items/:id': {
      const body = await readJson(req);
      const item = requireItem(store, id!);
      return { body: itemJson(store.updateItem(item.id, controlInput.itemPatch(body, item.kind))) };
    }
    case 'DELETE items/:id': {
      const mode = deleteModeQuery(query.get('mode'));
      store.deleteItem(requireItem(store, id!).id, mode);
      return { status: 204, body: null };
    }
    case 'POST items/:id/move': {
      const input = controlInput.moveItem(await readJson(req));
      return { body: itemJson(store.moveItem(requireItem(store, id!).id, input.folder)) };
    }
    case 'POST deliver':
      return { status: 201, body: store.deliverMail(controlInput.mailToDeliver(await readJson(req))).map(itemJson) };
    case 'POST service-accounts':
      return { status: 201, body: redactPassword(store.addServiceAccount(controlInput.newServiceAccount(await readJson(req)))) };
    case 'GET service-accounts':
      return { body: store.serviceAccounts(query.get('organisationId') ?? undefined).map(redactPassword) };
    case 'PATCH service-accounts/:id': {
      const patch = controlInput.serviceAccountPatch(await readJson(req));
      if (!store.getServiceAccount(id!)) throw notFound(`No service account ${id}`);
      return { body: redactPassword(store.updateServiceAccount(id!, patch)) };
    }
    case 'POST impersonation-rights': {
      const grant = controlInput.impersonationGrant(await readJson(req));
      return { status: 201, body: store.grantImpersonation(grant.organisationId !== undefined ? grant : { principal: grant.principal, scope: grant.scope }) };
    }
    case 'GET impersonation-rights/:id':
      return { body: store.impersonationRights(id!) };
    case 'DELETE impersonation-rights/:id':
      store.revokeImpersonation(id!);
      return { status: 204, body: null };
    case 'POST application-access-policies': {
      const policy = controlInput.applicationAccessPolicy(await readJson(req));
      if (!store.getOrganisation(policy.organisationId)) throw badRequest(`No organisation ${policy.organisationId}`);
      return { status: 201, body: store.addApplicationAccessPolicy(policy) };
    }
    case 'GET requests': {
      const limit = countQuery('limit', query.get('limit'), 100);
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
      return { status: 201, body: state.faults.add(controlInput.faultRule(await readJson(req))) };
    case 'DELETE faults':
      state.faults.clear(integerQuery('seed', query.get('seed')));
      return { status: 204, body: null };
    case 'DELETE faults/:id':
      if (!state.faults.remove(id!)) throw notFound('No such fault rule.');
      return { status: 204, body: null };
    case 'GET push-subscriptions':
      return { body: state.subscriptions.push.list() };
    case 'DELETE push-subscriptions/:id':
      // Exchange loses push subscriptions on a restart or failover without telling the subscriber.
      if (!state.subscriptions.push.drop(id!)) throw notFound('No such active push subscription.');
      return { status: 204, body: null };
    case 'GET push-settings':
      return { body: { minuteInMs: state.subscriptions.push.minuteInMs, callbacksUnreachable: state.subscriptions.push.callbacksUnreachable } };
    case 'PATCH push-settings': {
      const settings = controlInput.pushSettings(await readJson(req));
      if (settings.minuteInMs !== undefined) state.subscriptions.push.minuteInMs = settings.minuteInMs;
      if (settings.callbacksUnreachable !== undefined) state.subscriptions.push.callbacksUnreachable = settings.callbacksUnreachable;
      return { body: { minuteInMs: state.subscriptions.push.minuteInMs, callbacksUnreachable: state.subscriptions.push.callbacksUnreachable } };
    }
  }
  throw notFound(`No control route ${method} /${parts.join('/')}`);
}

function requireMailbox(store: EwsStore, address: string): Mailbox {
  const mailbox = store.getMailbox(address);
  if (!mailbox) throw notFound(`No mailbox ${address}`);
  return mailbox;
}

function requireItem(store: EwsStore, itemId: string): Item {
  const item = store.getItem(itemId);
  if (!item) throw notFound('No such item.');
  return item;
}

function redactPassword<T extends { password?: string }>(account: T): Omit<T, 'password'> & { hasPassword: boolean } {
  const { password, ...rest } = account;
  return { ...rest, hasPassword: password !== undefined };
}
