/**
 * The Graph client and mailbox source against recorded-shape Graph responses (no server: an
 * injected fetch answers as Graph documents it). Covers delta paging into a stored state, the
 * created/updated/readFlagChanged/deleted mapping, duplicates in a round, 410 → InvalidSyncState,
 * 429 → Throttled with Retry-After (never slept through), a 401 answered with one fresh token,
 * $batch 429s retried per request, and a hostile server whose nextLink points elsewhere.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createGraphClient } from '../../shared/graph/graph-client';
import { installTestTelemetry } from '../support/telemetry';
import { createGraphRetryPolicy } from '../../shared/graph/retry-policy';
import { SecretString } from '../../shared/logging';
import { createGraphMailboxSource, GRAPH_STATE_PREFIX } from '../../shared/sync/graph-mailbox-source';
import { MailboxSourceError } from '../../shared/sync/mailbox-source';

const ORIGIN = 'https://graph.test';
const MAILBOX = 'alice@contoso.com';
const USER = `${ORIGIN}/v1.0/users/${encodeURIComponent(MAILBOX)}`;

interface Call {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

type Answer = { status?: number; body?: unknown; headers?: Record<string, string> };

/** A fetch that records every call and answers from `route` (Graph's JSON shapes). */
function fakeGraph(route: (call: Call) => Answer) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const call: Call = { url: String(input), method: init?.method ?? 'GET', headers, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined };
    calls.push(call);
    const answer = route(call);
    const status = answer.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(answer.body ?? {}), { status, headers: { 'content-type': 'application/json', 'request-id': 'req-1', ...answer.headers } });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

function client(fetchImpl: typeof fetch, tokens: string[] = ['token-1', 'token-2']) {
  let next = 0;
  return createGraphClient(ORIGIN, MAILBOX, async () => new SecretString(tokens[Math.min(next++, tokens.length - 1)]!), { fetch: fetchImpl, timeoutInMs: 5_000 });
}

const noSleep = { sleep: async () => undefined, policy: createGraphRetryPolicy({ random: () => 0 }) };

function message(id: string, extra: Record<string, unknown> = {}) {
  return {
    '@odata.type': '#microsoft.graph.message', id, changeKey: `ck-${id}`, subject: `Subject ${id}`, isRead: false, hasAttachments: false,
    createdDateTime: '2026-01-01T10:00:00Z', lastModifiedDateTime: '2026-01-01T10:00:00Z', receivedDateTime: '2026-01-01T10:00:00Z',
    from: { emailAddress: { name: 'Bob', address: 'bob@contoso.com' } }, toRecipients: [{ emailAddress: { address: MAILBOX } }],
    body: { contentType: 'text', content: `Body ${id}` }, ...extra,
  };
}

describe('Graph mailbox source over recorded responses', () => {
  test('initial delta: pages follow nextLink into a deltaLink state, with $select, page size and immutable ids asked for', async () => {
    const graph = fakeGraph((call) => {
      if (call.url.includes('$skiptoken=abc')) return { body: { value: [message('m3'), message('m1', { subject: 'again' })], '@odata.deltaLink': `${USER}/mailFolders/inbox/messages/delta?$deltatoken=d1` } };
      if (call.url.includes('/mailFolders/inbox/messages/delta')) return { body: { value: [message('m1'), message('m2')], '@odata.nextLink': `${USER}/mailFolders/inbox/messages/delta?$skiptoken=abc` } };
      return { status: 404, body: { error: { code: 'ErrorItemNotFound', message: 'no' } } };
    });
    const source = createGraphMailboxSource(client(graph.fetchImpl), noSleep);
    const first = await source.listChanges('inbox', undefined, 2);
    assert.equal(first.includesLastItemInRange, false);
    assert.deepEqual(first.changes.map((c) => [c.type, c.itemId]), [['created', 'm1'], ['created', 'm2']]);
    assert.ok(first.syncState.startsWith(GRAPH_STATE_PREFIX));
    assert.equal(first.syncState.includes(ORIGIN), false, 'the state holds a path, never a host');
    const items = await source.getItems(['m1', 'm2']);
    assert.equal(graph.calls.length, 1, 'items come from the delta page itself: no second fetch');
    assert.deepEqual(items.map((i) => i.ok && i.item.subject), ['Subject m1', 'Subject m2']);
    const item = items[0]!.ok ? items[0]!.item : undefined;
    assert.equal(item?.kind, 'message');
    assert.equal((item as { bodyText?: string }).bodyText, 'Body m1');
    assert.deepEqual((item as { from?: unknown }).from, { name: 'Bob', address: 'bob@contoso.com' });
    const request = graph.calls[0]!;
    assert.match(request.url, /\$select=id,changeKey,/);
    assert.match(request.headers.prefer ?? '', /IdType="ImmutableId"/);
    assert.match(request.headers.prefer ?? '', /odata\.maxpagesize=2/);
    assert.equal(request.headers.authorization, 'Bearer token-1');
    assert.ok(request.headers['client-request-id']);

    const second = await source.listChanges('inbox', first.syncState, 2);
    assert.equal(second.includesLastItemInRange, true);
    assert.deepEqual(second.changes.map((c) => [c.type, c.itemId]), [['created', 'm3'], ['created', 'm1']], 'a repeated item appears once per page');
  });

  test('the next page listed ahead (as the engine does) keeps the items of the page before it: none lost', async () => {
    const graph = fakeGraph((call) => {
      if (call.url.includes('$skiptoken=abc')) return { body: { value: [message('m3')], '@odata.deltaLink': `${USER}/mailFolders/inbox/messages/delta?$deltatoken=d1` } };
      if (call.url.includes('/mailFolders/inbox/messages/delta')) return { body: { value: [message('m1'), message('m2')], '@odata.nextLink': `${USER}/mailFolders/inbox/messages/delta?$skiptoken=abc` } };
      return { status: 404, body: { error: { code: 'ErrorItemNotFound', message: 'no' } } };
    });
    const source = createGraphMailboxSource(client(graph.fetchImpl), noSleep);
    const first = await source.listChanges('inbox', undefined, 2);
    const second = await source.listChanges('inbox', first.syncState, 2);
    const firstItems = await source.getItems(first.changes.map((c) => c.itemId));
    assert.deepEqual(firstItems.map((i) => i.ok && i.item.subject), ['Subject m1', 'Subject m2'], 'the first page\'s messages are delivered');
    assert.deepEqual((await source.getItems(second.changes.map((c) => c.itemId))).map((i) => i.ok && i.item.subject), ['Subject m3']);
    assert.equal(graph.calls.length, 2, 'both pages served from the delta pages: no item fetched again');
  });

  test('incremental round: new, changed, read-flag-only and removed entries', async () => {
    const roundStart = Date.parse('2026-02-01T00:00:00Z');
    const state = `${GRAPH_STATE_PREFIX}${roundStart}:/users/${encodeURIComponent(MAILBOX)}/mailFolders/inbox/messages/delta?$deltatoken=d1`;
    const graph = fakeGraph(() => ({
      body: {
        value: [
          message('new', { createdDateTime: '2026-02-01T00:01:00Z', lastModifiedDateTime: '2026-02-01T00:01:00Z' }),
          message('edited', { lastModifiedDateTime: '2026-02-01T00:02:00Z' }),
          message('read', { isRead: true }),
          { id: 'gone', '@removed': { reason: 'deleted' } },
          { id: 'moved', '@removed': { reason: 'changed' } },
        ],
        '@odata.deltaLink': `${USER}/mailFolders/inbox/messages/delta?$deltatoken=d2`,
      },
    }));
    const source = createGraphMailboxSource(client(graph.fetchImpl), { ...noSleep, now: () => new Date('2026-02-02T00:00:00Z') });
    const page = await source.listChanges('inbox', state, 100);
    assert.deepEqual(page.changes.map((c) => [c.type, c.itemId, c.isRead]), [
      ['created', 'new', undefined],
      ['updated', 'edited', undefined],
      ['readFlagChanged', 'read', true],
      ['deleted', 'gone', undefined],
      ['deleted', 'moved', undefined],
    ]);
    assert.match(graph.calls[0]!.url, /\$deltatoken=d1$/);
    assert.ok(page.syncState.startsWith(`${GRAPH_STATE_PREFIX}${Date.parse('2026-02-02T00:00:00Z')}:`), 'the next round starts when this request was made');
  });

  test('410 SyncStateNotFound is InvalidSyncState; a 429 is Throttled with its Retry-After, not slept through', async () => {
    const state = `${GRAPH_STATE_PREFIX}1:/users/${encodeURIComponent(MAILBOX)}/contacts/delta?$deltatoken=old`;
    const expired = createGraphMailboxSource(client(fakeGraph(() => ({ status: 410, body: { error: { code: 'SyncStateNotFound', message: 'expired' } } })).fetchImpl), noSleep);
    await assert.rejects(expired.listChanges('contacts', state, 10), (error: unknown) => error instanceof MailboxSourceError && error.code === 'InvalidSyncState');

    const slept: number[] = [];
    const throttled = createGraphMailboxSource(
      client(fakeGraph(() => ({ status: 429, headers: { 'retry-after': '30' }, body: { error: { code: 'MailboxConcurrency', message: 'slow down' } } })).fetchImpl),
      { sleep: async (ms) => void slept.push(ms) },
    );
    await assert.rejects(throttled.listChanges('contacts', state, 10), (error: unknown) => error instanceof MailboxSourceError && error.code === 'Throttled' && error.retryAfterInMs === 30_000 && error.sourceCode === 'MailboxConcurrency');
    assert.deepEqual(slept, [], 'a 30 s back-off goes back to the queue');

    const rest = createGraphMailboxSource(client(fakeGraph(() => ({ status: 404, body: { error: { code: 'MailboxNotEnabledForRESTAPI', message: 'on-premises' } } })).fetchImpl), noSleep);
    await assert.rejects(rest.listChanges('contacts', state, 10), (error: unknown) => error instanceof MailboxSourceError && error.code === 'ProtocolDisabled' && error.sourceCode === 'MailboxNotEnabledForRESTAPI');
    const denied = createGraphMailboxSource(client(fakeGraph(() => ({ status: 403, body: { error: { code: 'ErrorAccessDenied', message: 'scope' } } })).fetchImpl), noSleep);
    await assert.rejects(denied.listChanges('contacts', state, 10), (error: unknown) => error instanceof MailboxSourceError && error.code === 'AccessDenied');
  });

  test('a 401 is answered once with a freshly acquired token', async () => {
    const graph = fakeGraph((call) =>
      call.headers.authorization === 'Bearer token-1'
        ? { status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'expired' } } }
        : { body: { value: [], '@odata.deltaLink': `${USER}/contacts/delta?$deltatoken=x` } },
    );
    const page = await createGraphMailboxSource(client(graph.fetchImpl), noSleep).listChanges('contacts', undefined, 10);
    assert.equal(page.includesLastItemInRange, true);
    assert.deepEqual(graph.calls.map((c) => c.headers.authorization), ['Bearer token-1', 'Bearer token-2']);
  });

  test('a token failure reaches the worker as itself (a user who must sign in again), not as a network error', async () => {
    const graph = fakeGraph(() => ({ body: { value: [] } }));
    const failing = createGraphClient(ORIGIN, MAILBOX, async () => {
      throw Object.assign(new Error('The user must sign in again.'), { code: 'ReauthenticationRequired' });
    }, { fetch: graph.fetchImpl });
    await assert.rejects(createGraphMailboxSource(failing, noSleep).listChanges('contacts', undefined, 10), (error: unknown) => error instanceof MailboxSourceError && error.code === 'ReauthenticationRequired');
    assert.equal(graph.calls.length, 0, 'nothing was sent without a token');
  });

  test('$batch: a 429 on one request retries that request only', async () => {
    let attachmentBatches = 0;
    const graph = fakeGraph((call) => {
      if (call.url.endsWith('/$batch')) {
        attachmentBatches++;
        const requests = (call.body as { requests: { id: string; url: string }[] }).requests;
        return {
          body: {
            responses: requests.map((r) =>
              r.url.includes('/messages/m2/') && attachmentBatches === 1
                ? { id: r.id, status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'ApplicationThrottled', message: 'x' } } }
                : { id: r.id, status: 200, body: { value: [{ '@odata.type': '#microsoft.graph.fileAttachment', id: `att-${r.id}`, name: 'a.pdf', contentType: 'application/pdf', size: 10, isInline: false }] } },
            ),
          },
        };
      }
      return { body: { value: [message('m1', { hasAttachments: true }), message('m2', { hasAttachments: true })], '@odata.deltaLink': `${USER}/mailFolders/inbox/messages/delta?$deltatoken=x` } };
    });
    const slept: number[] = [];
    const source = createGraphMailboxSource(client(graph.fetchImpl), { sleep: async (ms) => void slept.push(ms) });
    await source.listChanges('inbox', undefined, 10);
    const items = await source.getItems(['m1', 'm2']);
    assert.deepEqual(items.map((i) => i.ok && (i.item as unknown as { attachments: unknown[] }).attachments.length), [1, 1]);
    const batches = graph.calls.filter((c) => c.url.endsWith('/$batch')).map((c) => (c.body as { requests: unknown[] }).requests.length);
    assert.deepEqual(batches, [2, 1], 'the retry carries only the throttled request');
    assert.deepEqual(slept, [1000], 'its own Retry-After was honoured');
  });

  test('attacker: a hostile server cannot lead the token elsewhere with its nextLink or a redirect', async () => {
    const graph = fakeGraph((call) =>
      call.url.startsWith(ORIGIN) ? { body: { value: [message('m1')], '@odata.nextLink': 'https://evil.example/v1.0/users/alice/messages/delta?$skiptoken=steal' } } : { body: { value: [] } },
    );
    const source = createGraphMailboxSource(client(graph.fetchImpl), noSleep);
    await assert.rejects(source.listChanges('inbox', undefined, 10), (error: unknown) => error instanceof MailboxSourceError && error.sourceCode === 'ForeignLink');
    assert.equal(graph.calls.filter((c) => !c.url.startsWith(ORIGIN)).length, 0, 'nothing was sent to the foreign host');

    // A state in storage naming another host is refused the same way (never fetched).
    await assert.rejects(source.listChanges('inbox', `${GRAPH_STATE_PREFIX}0:https://evil.example/v1.0/users/x`, 10), (error: unknown) => error instanceof MailboxSourceError && error.code === 'InvalidSyncState');

    const redirecting = fakeGraph(() => ({ status: 302, headers: { location: 'https://evil.example/collect' } }));
    await assert.rejects(createGraphMailboxSource(client(redirecting.fetchImpl), noSleep).listChanges('contacts', undefined, 10), (error: unknown) => error instanceof MailboxSourceError && error.sourceCode === 'ForeignLink');
    assert.equal(redirecting.calls.length, 1);

    const junk = fakeGraph(() => ({ body: { value: 'not a list', '@odata.deltaLink': 42 } }));
    await assert.rejects(createGraphMailboxSource(client(junk.fetchImpl), noSleep).listChanges('contacts', undefined, 10), (error: unknown) => error instanceof MailboxSourceError && error.sourceCode === 'MalformedResponse');
  });

  test('tasks come from the default To Do list; calendar from a calendarView window in UTC', async () => {
    const graph = fakeGraph((call) => {
      if (call.url.endsWith('/todo/lists')) return { body: { value: [{ id: 'other', wellknownListName: 'none' }, { id: 'L1', wellknownListName: 'defaultList' }] } };
      if (call.url.includes('/todo/lists/L1/tasks/delta'))
        return { body: { value: [{ '@odata.etag': 'W/"e1"', id: 't1', title: 'Do it', status: 'inProgress', importance: 'high', dueDateTime: { dateTime: '2026-03-01T00:00:00.0000000', timeZone: 'UTC' } }], '@odata.deltaLink': `${USER}/todo/lists/L1/tasks/delta?$deltatoken=t` } };
      if (call.url.includes('/calendarView/delta'))
        return { body: { value: [{ id: 'e1', changeKey: 'c', subject: 'Meet', start: { dateTime: '2026-03-01T09:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2026-03-01T10:00:00.0000000', timeZone: 'UTC' }, attendees: [{ type: 'optional', emailAddress: { address: 'x@contoso.com' } }] }], '@odata.deltaLink': `${USER}/calendarView/delta?$deltatoken=c` } };
      return { status: 404, body: { error: { code: 'ErrorItemNotFound' } } };
    });
    const source = createGraphMailboxSource(client(graph.fetchImpl), { ...noSleep, now: () => new Date('2026-02-01T00:00:00Z') });
    const tasks = await source.listChanges('tasks', undefined, 10);
    const [task] = await source.getItems(tasks.changes.map((c) => c.itemId));
    assert.ok(task?.ok);
    assert.deepEqual([task.item.kind, task.item.subject, task.item.changeKey, (task.item as { status?: string }).status, (task.item as { dueDate?: string }).dueDate], ['task', 'Do it', 'W/"e1"', 'InProgress', '2026-03-01T00:00:00.000Z']);
    const calendar = await source.listChanges('calendar', undefined, 10);
    const url = graph.calls.find((c) => c.url.includes('calendarView'))!.url;
    assert.match(url, /startDateTime=2025-11-03T00%3A00%3A00.000Z&endDateTime=2027-02-01T00%3A00%3A00.000Z/);
    assert.match(graph.calls.find((c) => c.url.includes('calendarView'))!.headers.prefer ?? '', /outlook\.timezone="UTC"/);
    const [event] = await source.getItems(calendar.changes.map((c) => c.itemId));
    assert.ok(event?.ok);
    assert.deepEqual([(event.item as { start?: string }).start, (event.item as unknown as { optionalAttendees: unknown[] }).optionalAttendees], ['2026-03-01T09:00:00.000Z', [{ name: undefined, address: 'x@contoso.com' }]]);
  });
});

describe('Graph calls in traces', () => {
  test('each call is a client span named by its route template, without ids or addresses', async () => {
    const telemetry = installTestTelemetry();
    try {
      const graph = fakeGraph((call) =>
        call.url.includes('/messages/delta') ? { body: { value: [message('AAMkAGI2TG93AAA=')], '@odata.deltaLink': `${USER}/mailFolders/inbox/messages/delta?$deltatoken=d1` } } : { status: 404, body: { error: { code: 'ErrorItemNotFound', message: 'no' } } },
      );
      await createGraphMailboxSource(client(graph.fetchImpl), noSleep).listChanges('inbox', undefined, 10);
      const spans = telemetry.spans().filter((span) => span.name.startsWith('Graph '));
      assert.deepEqual(spans.map((span) => span.name), ['Graph GET /v1.0/users/{id}/mailFolders/inbox/messages/delta']);
      assert.equal(spans[0]!.attributes['http.response.status_code'], 200);
      assert.doesNotMatch(JSON.stringify(spans.map((span) => span.attributes)), /@|AAMk/, 'no mailbox address or item id in a span');
    } finally {
      await telemetry.shutdown();
    }
  });
});
