/**
 * sendMessage writes what the caller gave it, character for character: ews-javascript-api
 * puts element text into the SOAP request without XML escaping, so markup, '&' in links or
 * '<' in a subject must be escaped exactly once by shared/ews (not by every caller).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { createMailboxClient, sendMessage } from '../../shared/ews';
import type { MailboxClient } from '../../shared/ews';
import { SecretString } from '../../shared/logging';
import { PASSWORDS, seedSmallOrganisation } from '../ews-simulator/fixture';

let sim: EwsSimulator;

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});

after(async () => {
  await sim.close();
});

function clientFor(mailbox: string): MailboxClient {
  return createMailboxClient(sim.url, { kind: 'basic', username: 'svc@contoso.com', password: new SecretString(PASSWORDS.svc) }, { mailbox, access: 'impersonation', allowInsecureHttp: true, timeoutInMs: 10_000 });
}

function received(mailbox: string, folder: 'inbox' | 'sentitems', subject: string) {
  return sim.store.folderItems(sim.store.getFolder(mailbox, { distinguished: folder })).find((item) => item.subject === subject);
}

test('an HTML body with markup, & and a query-string link arrives exactly as written', async () => {
  const subject = `Tom & Jerry <${Date.now()}>`;
  const html = '<p><b>Tom & Jerry</b> &amp; friends: <a href="https://example.com/x?a=1&b=2">open</a> 1 < 2 > 0</p>';
  await sendMessage(clientFor('alice@contoso.com'), {
    to: ['bob@contoso.com'],
    subject,
    body: { contentType: 'html', content: html },
    attachments: [{ name: 'R&D <notes>.txt', contentType: 'text/plain', contentBase64: Buffer.from('x').toString('base64') }],
  });
  const item = received('bob@contoso.com', 'inbox', subject);
  assert.ok(item, 'delivered with the subject unchanged');
  assert.deepEqual(item.body, { type: 'HTML', content: html });
  assert.deepEqual(item.attachments.map((a) => a.name), ['R&D <notes>.txt']);
  assert.equal(received('alice@contoso.com', 'sentitems', subject)?.body.content, html, 'the Sent Items copy too');
});

test('a text body keeps its characters (no double escaping of entities the sender typed)', async () => {
  const subject = `Plain ${Date.now()}`;
  const text = 'Q&A: use &lt;b&gt; for bold; a < b && c > d\nline two';
  await sendMessage(clientFor('alice@contoso.com'), { to: ['carol@contoso.com'], subject, body: { contentType: 'text', content: text } });
  assert.deepEqual(received('carol@contoso.com', 'inbox', subject)?.body, { type: 'Text', content: text });
});
