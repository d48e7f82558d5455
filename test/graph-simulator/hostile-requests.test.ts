/**
 * Hostile and malformed requests (seeded, reproducible with GRAPH_FUZZ_SEED): random paths,
 * methods, query options, headers and bodies never make the simulator answer 5xx, and every error
 * is in Graph's error shape with request ids.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seededRandom } from '../../dev/ews-simulator/faults';
import { validateErrorBody } from '../../dev/graph-simulator/csdl';
import { startGraphFixture, type GraphFixture } from './fixture';

let f: GraphFixture;
before(async () => {
  f = await startGraphFixture();
});
after(async () => {
  await f.close();
});

const SEGMENTS = ['users', 'me', 'alice@contoso.com', 'ALICE@CONTOSO.COM', 'frank@fabrikam.com', 'd1000000-0000-4000-8000-000000000a11', 'mailFolders', 'inbox', 'deleteditems', 'messages', 'delta', 'delta()', 'move', 'sendMail', 'calendarView', 'contactFolders', 'contacts', 'todo', 'lists', 'tasks', 'attachments', 'events', 'translateExchangeIds', '$batch', '..', '%00', '%2F', "'", '<x>', 'AAMkAG', 'a'.repeat(300), '%E0%A4%A', ''];
const QUERIES = ['', '?$select=subject', '?$select=', '?$select=,,,', '?$deltatoken=', '?$skiptoken=abc', '?$deltatoken=' + 'A'.repeat(500), '?startDateTime=x&endDateTime=y', '?startDateTime=2025-01-01T00:00:00Z&endDateTime=2024-01-01T00:00:00Z', '?$top=-1', '?includeHiddenFolders=maybe'];
const BODIES: unknown[] = [undefined, null, 42, 'text', [], {}, { isRead: 'yes' }, { categories: [1, 2] }, { destinationId: '' }, { destinationId: 'nowhere' }, { message: null }, { message: { toRecipients: 'bob' } }, { message: { toRecipients: [{ emailAddress: { address: 'not-an-address' } }], attachments: [{ '@odata.type': '#microsoft.graph.itemAttachment' }] } }, { inputIds: 'x', sourceIdType: 'nope' }, { requests: 'x' }, { requests: [{}] }, { requests: [{ id: '1', method: 'TRACE', url: 'x' }] }, { __proto__: { polluted: true } }];
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'];

test('random hostile requests never get a 5xx and every error has Graph\'s shape', async () => {
  const seed = Number(process.env.GRAPH_FUZZ_SEED ?? 7);
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const token = f.appToken();
  for (let i = 0; i < 400; i++) {
    const depth = 1 + Math.floor(random() * 6);
    // Most requests start like real ones, so the routes behind the user segment are reached.
    const prefix = random() < 0.7 ? `users/${pick(['alice@contoso.com', 'dispatch@contoso.com', 'frank@fabrikam.com', 'nobody@contoso.com'])}/` : '';
    const path = prefix + Array.from({ length: depth }, () => pick(SEGMENTS)).join('/');
    const method = pick(METHODS);
    const body = method === 'GET' || method === 'DELETE' ? undefined : pick(BODIES);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (random() < 0.3) headers.prefer = pick(['odata.maxpagesize=0', 'odata.maxpagesize=99999999', 'IdType="ImmutableId"', 'outlook.body-content-type="rtf"', 'garbage']);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const raw = method === 'GET' || method === 'DELETE' ? undefined : random() < 0.1 ? '{"unterminated' : body === undefined ? undefined : JSON.stringify(body);
    const url = `${f.graph.url}/${path}${pick(QUERIES)}`;
    const response = await fetch(url, { method, headers, ...(raw !== undefined ? { body: raw } : {}) });
    const text = await response.text();
    const label = `seed ${seed} #${i}: ${method} ${url} ${raw ?? ''} -> ${response.status} ${text.slice(0, 200)}`;
    assert.ok(response.status < 500, label);
    assert.ok(response.headers.get('request-id'), label);
    if (response.status >= 400) assert.deepEqual(validateErrorBody(JSON.parse(text)), [], label);
  }
});
