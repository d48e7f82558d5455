/**
 * The official JavaScript client (@microsoft/microsoft-graph-client), unmodified, against the
 * simulator: only baseUrl differs, and customHosts lets its auth middleware send the token to
 * a host that is not graph.microsoft.com.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatchRequestContent, BatchResponseContent, Client, GraphError, PageIterator } from '@microsoft/microsoft-graph-client';
import type { Message } from '@microsoft/microsoft-graph-types';
import { encodeId } from '../../dev/ews-simulator/ids';
import { toRestId } from '../../dev/graph-simulator/ids';
import { startGraphFixture, type GraphFixture } from './fixture';

let f: GraphFixture;
let client: Client;
before(async () => {
  f = await startGraphFixture();
  const token = f.appToken();
  client = Client.initWithMiddleware({
    authProvider: { getAccessToken: async () => token },
    baseUrl: `${f.graph.origin}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(f.graph.origin).hostname]),
  });
});
after(async () => {
  await f.close();
});

test('delta with PageIterator follows nextLinks to the deltaLink', async () => {
  const first = await client.api('/users/alice@contoso.com/mailFolders/inbox/messages/delta').header('Prefer', 'odata.maxpagesize=5').select(['subject', 'isRead']).get();
  const subjects: string[] = [];
  const iterator = new PageIterator(client, first, (message: Message) => {
    subjects.push(message.subject ?? '');
    return true;
  }, { headers: { Prefer: 'odata.maxpagesize=5' } });
  await iterator.iterate();
  assert.equal(subjects.length, 12);
  assert.ok(iterator.getDeltaLink()?.includes('$deltatoken='));
});

test('errors surface as GraphError with status and Graph code', async () => {
  await assert.rejects(client.api(`/users/alice@contoso.com/messages/${toRestId(encodeId('item', 'alice@contoso.com', 999_999))}`).get(), (error: unknown) => {
    assert.ok(error instanceof GraphError);
    assert.equal(error.statusCode, 404);
    assert.equal(error.code, 'ErrorItemNotFound');
    return true;
  });
});

test('JSON batching through BatchRequestContent', async () => {
  const content = new BatchRequestContent([
    { id: '1', request: new Request(`${f.graph.url}/users/alice@contoso.com/mailFolders/inbox`, { method: 'GET' }) },
    { id: '2', request: new Request(`${f.graph.url}/users/bob@contoso.com/mailFolders/inbox`, { method: 'GET' }), dependsOn: ['1'] },
  ]);
  const response = await client.api('/$batch').post(await content.getContent());
  const parsed = new BatchResponseContent(response);
  assert.equal(parsed.getResponseById('1')?.status, 200);
  assert.equal(parsed.getResponseById('2')?.status, 200);
  assert.equal(((await parsed.getResponseById('2')!.json()) as { displayName: string }).displayName, 'Inbox');
});

test('sendMail (202, no body), PATCH and DELETE through the client', async () => {
  await client.api('/users/alice@contoso.com/sendMail').post({ message: { subject: 'Via SDK', toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }] } });
  const bobInbox = f.graph.store.getFolder('bob@contoso.com', { distinguished: 'inbox' });
  const delivered = f.graph.store.folderItems(bobInbox).find((i) => i.subject === 'Via SDK')!;
  const id = delivered.id.replace(/\//g, '-').replace(/\+/g, '_');
  const patched = (await client.api(`/users/bob@contoso.com/messages/${id}`).patch({ isRead: true })) as Message;
  assert.equal(patched.isRead, true);
  await client.api(`/users/bob@contoso.com/messages/${id}`).delete();
  assert.equal(f.graph.store.getItem(delivered.id), undefined);
});
