/**
 * Graph writes against recorded-shape responses: read-flag updates and deletes as $batch
 * requests with one result per id (404 as a value), at most 4 requests per batch (one mailbox),
 * sendMail's body, and the EWS → Graph id translation for app-only (REST id lookup) and
 * delegated (translateExchangeIds) groups.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createGraphClient } from '../../shared/graph/graph-client';
import { deleteMessages, sendMail, translateEwsIds, updateIsRead } from '../../shared/graph/mail-actions';
import { SecretString } from '../../shared/logging';

const ORIGIN = 'https://graph.test';
const MAILBOX = 'alice@contoso.com';

interface Call {
  readonly url: string;
  readonly body: any;
}

function fake(answer: (call: Call) => unknown) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const call = { url: String(input), body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined };
    calls.push(call);
    const body = answer(call);
    return new Response(body === undefined ? null : JSON.stringify(body), { status: body === undefined ? 202 : 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { calls, client: createGraphClient(ORIGIN, MAILBOX, async () => new SecretString('t'), { fetch: fetchImpl }) };
}

/** Answers a $batch: 404 for ids named "gone", 200 otherwise. */
function batchAnswer(call: Call) {
  return {
    responses: call.body.requests.map((r: { id: string; url: string }) =>
      r.url.includes('gone') ? { id: r.id, status: 404, body: { error: { code: 'ErrorItemNotFound', message: 'gone' } } } : { id: r.id, status: 200, body: { id: 'x', changeKey: `ck-${r.id}` } },
    ),
  };
}

describe('Graph writes', () => {
  test('read flags: one PATCH per message in batches of at most 4, results per id', async () => {
    const { calls, client } = fake(batchAnswer);
    const ids = ['a', 'b', 'gone', 'd', 'e'];
    const results = await updateIsRead(client, ids, true);
    assert.deepEqual(results.map((r) => (r.ok ? `ok:${r.value.changeKey}` : `fail:${r.error.code}`)), ['ok:ck-0', 'ok:ck-1', 'fail:ErrorItemNotFound', 'ok:ck-3', 'ok:ck-4']);
    assert.deepEqual(calls.map((c) => c.body.requests.length), [4, 1]);
    assert.deepEqual(calls[0]!.body.requests[0], { id: '0', method: 'PATCH', url: `/users/${encodeURIComponent(MAILBOX)}/messages/a?$select=id,changeKey,isRead`, headers: { 'content-type': 'application/json', prefer: 'IdType="ImmutableId"' }, body: { isRead: true } });
  });

  test('process-and-delete modes: DELETE, or move to Deleted Items', async () => {
    const hard = fake(batchAnswer);
    await deleteMessages(hard.client, ['a'], 'hardDelete');
    assert.equal(hard.calls[0]!.body.requests[0].method, 'DELETE');
    const soft = fake(batchAnswer);
    const results = await deleteMessages(soft.client, ['a', 'gone'], 'moveToDeletedItems');
    assert.deepEqual(soft.calls[0]!.body.requests.map((r: { method: string; url: string; body: unknown }) => [r.method, r.url.endsWith('/move'), r.body]), [['POST', true, { destinationId: 'deleteditems' }], ['POST', true, { destinationId: 'deleteditems' }]]);
    assert.deepEqual(results.map((r) => r.ok), [true, false]);
  });

  test('sendMail keeps a copy in Sent Items and carries attachments inline', async () => {
    const { calls, client } = fake(() => undefined);
    await sendMail(client, { to: ['bob@contoso.com'], subject: 'Hi', body: { contentType: 'text', content: 'Hello' }, attachments: [{ name: 'a.txt', contentType: 'text/plain', contentBase64: 'aGk=' }] });
    assert.match(calls[0]!.url, /\/users\/alice%40contoso\.com\/sendMail$/);
    assert.equal(calls[0]!.body.saveToSentItems, true);
    assert.deepEqual(calls[0]!.body.message.toRecipients, [{ emailAddress: { address: 'bob@contoso.com' } }]);
    assert.deepEqual(calls[0]!.body.message.attachments, [{ '@odata.type': '#microsoft.graph.fileAttachment', name: 'a.txt', contentType: 'text/plain', contentBytes: 'aGk=' }]);
  });

  test('EWS ids → Graph ids: translateExchangeIds for delegated, REST-id lookup for app-only', async () => {
    const delegated = fake(() => ({ value: [{ sourceId: 'AA/B+C=', targetId: 'immutable-1' }] }));
    assert.deepEqual(await translateEwsIds(delegated.client, ['AA/B+C=', 'unknown'], 'delegated'), [{ ewsId: 'AA/B+C=', graphId: 'immutable-1' }, { ewsId: 'unknown', graphId: undefined }]);
    assert.deepEqual(delegated.calls[0]!.body, { inputIds: ['AA/B+C=', 'unknown'], sourceIdType: 'ewsId', targetIdType: 'restImmutableEntryId' });

    const appOnly = fake((call) => ({ responses: call.body.requests.map((r: { id: string; url: string }) => (r.url.includes('gone') ? { id: r.id, status: 404, body: {} } : { id: r.id, status: 200, body: { id: 'immutable-2' } })) }));
    assert.deepEqual(await translateEwsIds(appOnly.client, ['AA/B+C=', 'gone'], 'appOnly'), [{ ewsId: 'AA/B+C=', graphId: 'immutable-2' }, { ewsId: 'gone', graphId: undefined }]);
    assert.match(appOnly.calls[0]!.body.requests[0].url, /\/messages\/AA-B_C%3D\?\$select=id$/, 'the REST form of the EWS id');
  });
});
