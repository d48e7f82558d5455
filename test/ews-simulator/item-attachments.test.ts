/**
 * Item attachments (an attached message): sent through the simulator, read back with GetItem and
 * GetAttachment (schema-valid), and named in the connector's mapped item.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { createMailboxClient, getItems, type EwsMessage } from '../../shared/ews';
import { SecretString } from '../../shared/logging';
import { seedSmallOrganisation, PASSWORDS } from './fixture';
import { SchemaBatch, schemaSkipReason } from './schema-validator';
import { basicAuth, extract, soapCall } from './soap-client';

let sim: EwsSimulator;
/** Every 200 answer of this file, validated in one xmllint run by the last test. */
const schema = new SchemaBatch();

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

async function call(body: string): Promise<string> {
  const result = await soapCall(sim.url, body, { authorization: basicAuth('alice@contoso.com', PASSWORDS.alice) });
  schema.add(body.slice(0, 60), result.body);
  return result.body;
}

test('a forwarded message travels as an item attachment, readable whole and named in the mapped item', async () => {
  await call(
    '<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:Message><t:Subject>FW: complaint</t:Subject><t:Body BodyType="Text">See attached.</t:Body>' +
      '<t:Attachments><t:ItemAttachment><t:Name>Original complaint</t:Name><t:Message><t:Subject>My parcel &lt;b&gt;never&lt;/b&gt; came</t:Subject><t:Body BodyType="Text">Order 4711</t:Body>' +
      '<t:ToRecipients><t:Mailbox><t:EmailAddress>alice@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients><t:From><t:Mailbox><t:EmailAddress>dan@example.net</t:EmailAddress></t:Mailbox></t:From></t:Message></t:ItemAttachment>' +
      '<t:FileAttachment><t:Name>photo.txt</t:Name><t:Content>cGhvdG8=</t:Content></t:FileAttachment></t:Attachments>' +
      '<t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></m:Items></m:CreateItem>',
  );
  const received = sim.store.folderItems(sim.store.getFolder('bob@contoso.com', { distinguished: 'inbox' })).find((i) => i.subject === 'FW: complaint')!;
  assert.ok(received, 'bob received the forward');
  assert.deepEqual(received.attachments.map((a) => [a.name, a.contentType, !!a.attachedMessage]), [
    ['Original complaint', 'message/rfc822', true],
    ['photo.txt', 'application/octet-stream', false],
  ]);

  const bob = basicAuth('bob@contoso.com', PASSWORDS.bob);
  const item = await soapCall(sim.url, `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape><m:ItemIds><t:ItemId Id="${received.id}"/></m:ItemIds></m:GetItem>`, { authorization: bob });
  assert.match(item.body, /<t:ItemAttachment><t:AttachmentId Id="[^"]+"\/><t:Name>Original complaint<\/t:Name><t:ContentType>message\/rfc822<\/t:ContentType>/);
  const mime = Buffer.from(extract(item.body, /<t:MimeContent CharacterSet="UTF-8">([^<]+)</)!, 'base64').toString('utf8');
  assert.match(mime, /Content-Type: message\/rfc822; name="Original complaint"/);
  const attachmentId = extract(item.body, /<t:ItemAttachment><t:AttachmentId Id="([^"]+)"/)!;
  const attachment = await soapCall(sim.url, `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="${attachmentId}"/></m:AttachmentIds></m:GetAttachment>`, { authorization: bob });
  assert.match(attachment.body, /<t:ItemAttachment>[\s\S]*<t:Message><t:ItemClass>IPM\.Note<\/t:ItemClass><t:Subject>My parcel &lt;b&gt;never&lt;\/b&gt; came<\/t:Subject>/);
  assert.match(attachment.body, /<t:From><t:Mailbox><t:Name>dan@example\.net<\/t:Name><t:EmailAddress>dan@example\.net<\/t:EmailAddress>/);
  schema.add('GetItem with an item attachment', item.body);
  schema.add('GetAttachment of an item attachment', attachment.body);

  // The connector's mapping names both attachments with their kind.
  const client = createMailboxClient(sim.url, { kind: 'basic', username: 'svc@contoso.com', password: new SecretString(PASSWORDS.svc) }, { mailbox: 'bob@contoso.com', allowInsecureHttp: true });
  const [result] = await getItems(client, [received.id], { bodyType: 'text' });
  assert.ok(result?.ok, JSON.stringify(result));
  const message = result.value as EwsMessage;
  assert.deepEqual(
    message.attachments.map((a) => [a.kind, a.name]),
    [
      ['item', 'Original complaint'],
      ['file', 'photo.txt'],
    ],
  );
  assert.equal(message.hasAttachments, true);
});

test('every answer above validates against the EWS schema', { skip: schemaSkipReason() }, async () => {
  await schema.assertAllValid();
});
