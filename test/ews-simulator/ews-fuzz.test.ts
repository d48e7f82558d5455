/**
 * Hostile and broken input at the EWS endpoint: garbage bodies, malformed and hostile XML, huge
 * bodies and seeded mutations of valid requests for every operation. Whatever arrives, the
 * simulator answers like Exchange (a response message or a SOAP fault, well-formed XML, or 413 for
 * an oversized body), never with ErrorInternalServerError (our catch-all for a crash) and never by
 * dropping the connection.
 */
import assert from 'node:assert/strict';
import { DOMParser, XMLSerializer, type Element } from '@xmldom/xmldom';
import { after, before, test } from 'node:test';
import { SeededRandom } from '../../dev/ews-simulator/seed';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { PASSWORDS, seedSmallOrganisation } from './fixture';
import { basicAuth, extract, soapCall, soapEnvelope } from './soap-client';

let sim: EwsSimulator;
const alice = basicAuth('alice@contoso.com', PASSWORDS.alice);
const MAX_BODY = 256 * 1024;

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation, maxRequestBodyInBytes: MAX_BODY });
});
after(async () => {
  await sim.close();
});

interface Verdict {
  readonly ok: boolean;
  readonly why: string;
}

/** What a well-behaved Exchange answer looks like. */
async function judge(body: string | Buffer, headers: Record<string, string> = {}): Promise<Verdict & { status: number; text: string }> {
  let response: Response;
  try {
    response = await fetch(sim.url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', authorization: alice, ...headers }, body });
  } catch (error) {
    return { ok: false, why: `connection failed: ${String(error)}`, status: 0, text: '' };
  }
  const text = await response.text();
  const verdict = (ok: boolean, why: string): Verdict & { status: number; text: string } => ({ ok, why, status: response.status, text });
  if (response.status === 413) return verdict(true, '413');
  if (response.status !== 200 && response.status !== 500) return verdict(false, `status ${response.status}`);
  if (/ErrorInternalServerError/.test(text)) return verdict(false, `ErrorInternalServerError: ${extract(text, /<faultstring[^>]*>([^<]*)</) ?? text.slice(0, 300)}`);
  const problems: string[] = [];
  try {
    new DOMParser({ onError: (level, message) => void (level !== 'warning' && problems.push(message)) }).parseFromString(text, 'text/xml');
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  if (problems.length > 0) return verdict(false, `response is not well-formed XML: ${problems[0]}`);
  if (response.status === 500 && !/<s:Fault>|<soap:Fault>|:Fault>/.test(text)) return verdict(false, '500 without a SOAP fault');
  if (response.status === 200 && !/ResponseMessages|ResponseCode/.test(text)) return verdict(false, '200 without response messages');
  return verdict(true, 'ok');
}

test('garbage and hostile bodies get SOAP faults, oversized ones 413, and the endpoint keeps working', async () => {
  const deep = '<a>'.repeat(50_000) + '</a>'.repeat(50_000);
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>' +
    soapEnvelope('<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>&lol4;</m:UnresolvedEntry></m:ResolveNames>').replace(/^<\?xml[^>]*\?>/, '');
  const external = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + soapEnvelope('<m:ResolveNames><m:UnresolvedEntry>&xxe;</m:UnresolvedEntry></m:ResolveNames>').replace(/^<\?xml[^>]*\?>/, '');
  const anItemId = sim.store.folderItems(sim.store.getFolder('alice@contoso.com', { distinguished: 'drafts' }))[0]?.id ?? sim.store.createItem('alice@contoso.com', { distinguished: 'drafts' }, { kind: 'message', subject: 'x' }).id;
  const cases: [string, string | Buffer][] = [
    ['empty', ''],
    ['spaces', '   \n'],
    ['text', 'hello'],
    ['json', '{"GetItem":{}}'],
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff))],
    ['invalid utf-8', Buffer.from([0x3c, 0xff, 0xfe, 0x3e, 0xc3, 0x28])],
    ['lone angle', '<'],
    ['unclosed envelope', soapEnvelope('<m:GetFolder>').slice(0, -20)],
    ['not soap', '<?xml version="1.0"?><root/>'],
    ['envelope, no body', '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>'],
    ['empty body element', '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>'],
    ['text in body', '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>GetItem</soap:Body></soap:Envelope>'],
    ['unknown operation', soapEnvelope('<m:DoSomethingNasty/>')],
    ['operation in no namespace', soapEnvelope('<GetItem/>')],
    ['operation in types namespace', soapEnvelope('<t:GetItem/>')],
    ['empty operations', soapEnvelope('<m:GetItem/>')],
    ['deep nesting', soapEnvelope(`<m:GetItem>${deep}</m:GetItem>`)],
    ['billion laughs', laughs],
    ['external entity', external],
    ['processing instructions and comments', soapEnvelope('<!-- hi --><?pi x?><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>')],
    ['bad version', soapEnvelope('<m:GetFolder/>', { version: 'Exchange1999' })],
    ['bad impersonation header', soapEnvelope('<m:GetFolder/>').replace('<soap:Header>', '<soap:Header><t:ExchangeImpersonation><t:ConnectingSID/></t:ExchangeImpersonation>')],
    ['impersonation of garbage', soapEnvelope('<m:GetFolder/>', { impersonate: '\u0001<>&amp;' })],
    ['header not an element list', soapEnvelope('<m:GetFolder/>').replace('<soap:Header>', '<soap:Header>text')],
    ['oversized', 'x'.repeat(MAX_BODY + 10)],
    // Request values echoed in MessageXml must be escaped.
    ['hostile FieldURI in a restriction', soapEnvelope(`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:Restriction><t:Exists><t:FieldURI FieldURI="a&lt;b&amp;&quot;c"/></t:Exists></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`)],
    ['hostile FieldURI in an update', soapEnvelope(`<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="${anItemId}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="a&lt;b&amp;&quot;c"/><t:Message><t:Subject>x</t:Subject></t:Message></t:SetItemField><t:DeleteItemField><t:FieldURI FieldURI="&lt;/t:FieldURI&gt;"/></t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)],
  ];
  const failures: string[] = [];
  for (const [name, body] of cases) {
    const verdict = await judge(body);
    if (!verdict.ok) failures.push(`${name}: ${verdict.why}`);
    if (name === 'oversized') assert.equal(verdict.status, 413);
    if (name === 'external entity') assert.doesNotMatch(verdict.text, /root:/);
  }
  assert.deepEqual(failures, []);
  const healthy = await soapCall(sim.url, '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>', { authorization: alice });
  assert.equal(extract(healthy.body, /<m:ResponseCode>([^<]+)</), 'NoError');
});

test('garbage Authorization headers are refused with 401, never a crash', async () => {
  const request = soapEnvelope('<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>');
  const headers = [
    'Basic',
    'Basic ',
    'Basic !!!',
    `Basic ${Buffer.from('no-colon').toString('base64')}`,
    `Basic ${Buffer.from(':').toString('base64')}`,
    `Basic ${Buffer.from('\u0000:\u0000').toString('base64')}`,
    `Basic ${'A'.repeat(12_000)}`,
    'Bearer',
    'Bearer x.y.z',
    `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"tid":"x"}').toString('base64url')}.`,
    'Bearer eyJ.eyJ.sig',
    'NTLM',
    'NTLM AAAA',
    `NTLM ${Buffer.from('NTLMSSP\u0000\u0003\u0000\u0000\u0000' + 'x'.repeat(40)).toString('base64')}`,
    `NTLM ${Buffer.from('NTLMSSP\u0000\u0001\u0000\u0000\u0000').toString('base64')}`,
    'Negotiate YIIB',
    'Digest username="alice"',
    '\u00e9\u00e9',
  ];
  const failures: string[] = [];
  for (const authorization of headers) {
    let status = 0;
    try {
      const response = await fetch(sim.url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', authorization }, body: request });
      status = response.status;
      await response.arrayBuffer();
    } catch (error) {
      failures.push(`${authorization.slice(0, 40)}: ${String(error)}`);
      continue;
    }
    if (status !== 401) failures.push(`${authorization.slice(0, 40)}: ${status}`);
  }
  assert.deepEqual(failures, []);
});

/** Valid requests for every operation (ids filled in from the live store). */
async function validRequests(): Promise<string[]> {
  const inbox = sim.store.folderItems(sim.store.getFolder('alice@contoso.com', { distinguished: 'inbox' }));
  const ids = inbox.map((item) => item.id);
  const withAttachment = inbox.find((item) => item.attachments.length > 0)!;
  const subscribe = await soapCall(
    sim.url,
    '<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>',
    { authorization: alice },
  );
  const subscriptionId = extract(subscribe.body, /<m:SubscriptionId>([^<]+)</)!;
  const watermark = extract(subscribe.body, /<m:Watermark>([^<]+)</)!;
  const sync = await soapCall(sim.url, '<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>3</m:MaxChangesReturned></m:SyncFolderItems>', { authorization: alice });
  const syncState = extract(sync.body, /<m:SyncState>([^<]+)</)!;
  const shape = '<m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType><t:IncludeMimeContent>true</t:IncludeMimeContent><t:AdditionalProperties><t:FieldURI FieldURI="item:Body"/><t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress1"/></t:AdditionalProperties></m:ItemShape>';
  const folder = (id: string): string => `<t:DistinguishedFolderId Id="${id}"/>`;
  return [
    `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>${folder('inbox')}${folder('calendar')}<t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>dispatch@contoso.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>`,
    `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="5" Offset="1" BasePoint="Beginning"/><m:ParentFolderIds>${folder('msgfolderroot')}</m:ParentFolderIds></m:FindFolder>`,
    `<m:CreateFolder><m:ParentFolderId>${folder('inbox')}</m:ParentFolderId><m:Folders><t:Folder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>Fuzz</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>`,
    `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:SyncFolderId>${folder('msgfolderroot')}</m:SyncFolderId></m:SyncFolderHierarchy>`,
    `<m:SyncFolderItems>${shape}<m:SyncFolderId>${folder('inbox')}</m:SyncFolderId><m:SyncState>${syncState}</m:SyncState><m:Ignore><t:ItemId Id="${ids[4]}"/></m:Ignore><m:MaxChangesReturned>10</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>`,
    `<m:FindItem Traversal="Shallow">${shape}<m:IndexedPageItemView MaxEntriesReturned="3" Offset="0" BasePoint="End"/><m:Restriction><t:And><t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURIOrConstant><t:Constant Value="2025-03-01T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThanOrEqualTo><t:Not><t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="order"/></t:Contains></t:Not><t:Or><t:Exists><t:FieldURI FieldURI="item:Categories"/></t:Exists><t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="false"/></t:FieldURIOrConstant></t:IsEqualTo></t:Or></t:And></m:Restriction><m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:Subject"/></t:FieldOrder></m:SortOrder><m:ParentFolderIds>${folder('inbox')}</m:ParentFolderIds></m:FindItem>`,
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:FractionalPageItemView MaxEntriesReturned="2" Numerator="1" Denominator="3"/><m:ParentFolderIds>${folder('inbox')}</m:ParentFolderIds></m:FindItem>`,
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:CalendarView MaxEntriesReturned="5" StartDate="2025-03-01T00:00:00Z" EndDate="2025-03-08T00:00:00Z"/><m:ParentFolderIds>${folder('calendar')}</m:ParentFolderIds></m:FindItem>`,
    `<m:GetItem>${shape}<m:ItemIds><t:ItemId Id="${ids[0]}"/><t:ItemId Id="${withAttachment.id}"/></m:ItemIds></m:GetItem>`,
    `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>${folder('drafts')}</m:SavedItemFolderId><m:Items><t:Message><t:Subject>Draft</t:Subject><t:Body BodyType="HTML">&lt;p&gt;Hi&lt;/p&gt;</t:Body><t:Attachments><t:FileAttachment><t:Name>a.txt</t:Name><t:ContentType>text/plain</t:ContentType><t:Content>aGk=</t:Content></t:FileAttachment></t:Attachments><t:ToRecipients><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients><t:IsRead>true</t:IsRead></t:Message></m:Items></m:CreateItem>`,
    `<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:Message><t:Subject>Hello</t:Subject><t:Body BodyType="Text">Hi</t:Body><t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients><t:CcRecipients><t:Mailbox><t:EmailAddress>x@example.net</t:EmailAddress></t:Mailbox></t:CcRecipients></t:Message></m:Items></m:CreateItem>`,
    `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Lunch</t:Subject><t:Start>2025-03-04T12:00:00Z</t:Start><t:End>2025-03-04T13:00:00Z</t:End><t:IsAllDayEvent>false</t:IsAllDayEvent><t:Location>Cafe</t:Location><t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem><t:Contact><t:GivenName>Eve</t:GivenName><t:Surname>Example</t:Surname><t:EmailAddresses><t:Entry Key="EmailAddress1">eve@example.net</t:Entry></t:EmailAddresses><t:PhoneNumbers><t:Entry Key="MobilePhone">555-0100</t:Entry></t:PhoneNumbers></t:Contact><t:Task><t:Subject>Follow up</t:Subject><t:DueDate>2025-03-05T00:00:00Z</t:DueDate><t:PercentComplete>50</t:PercentComplete><t:Status>InProgress</t:Status></t:Task></m:Items></m:CreateItem>`,
    `<m:UpdateItem ConflictResolution="AutoResolve" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="${ids[1]}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>Changed</t:Subject></t:Message></t:SetItemField><t:AppendToItemField><t:FieldURI FieldURI="item:Body"/><t:Message><t:Body BodyType="Text">more</t:Body></t:Message></t:AppendToItemField><t:DeleteItemField><t:FieldURI FieldURI="item:Categories"/></t:DeleteItemField><t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>true</t:IsRead></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
    `<m:MoveItem><m:ToFolderId>${folder('junkemail')}</m:ToFolderId><m:ItemIds><t:ItemId Id="${ids[5]}"/></m:ItemIds></m:MoveItem>`,
    `<m:CopyItem><m:ToFolderId>${folder('drafts')}</m:ToFolderId><m:ItemIds><t:ItemId Id="${ids[6]}"/></m:ItemIds></m:CopyItem>`,
    `<m:DeleteItem DeleteType="SoftDelete" AffectedTaskOccurrences="AllOccurrences" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="${ids[7]}"/></m:ItemIds></m:DeleteItem>`,
    `<m:GetAttachment><m:AttachmentShape><t:IncludeMimeContent>false</t:IncludeMimeContent></m:AttachmentShape><m:AttachmentIds><t:AttachmentId Id="${withAttachment.attachments[0]!.id}"/></m:AttachmentIds></m:GetAttachment>`,
    '<m:ResolveNames ReturnFullContactData="true" SearchScope="ActiveDirectoryContacts"><m:UnresolvedEntry>bob</m:UnresolvedEntry></m:ResolveNames>',
    `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="${ids[2]}" Mailbox="alice@contoso.com"/></m:SourceIds></m:ConvertId>`,
    `<m:GetEvents><m:SubscriptionId>${subscriptionId}</m:SubscriptionId><m:Watermark>${watermark}</m:Watermark></m:GetEvents>`,
    `<m:Unsubscribe><m:SubscriptionId>${subscriptionId}</m:SubscriptionId></m:Unsubscribe>`,
  ];
}

const GARBAGE_TEXT = ['', ' ', '-1', '0', '99999999999999999999', '1e309', 'NaN', 'abc', 'true', '2025-13-45T25:61:00Z', '0001-01-01T00:00:00Z', 'AAAA', '====', '\u0000', 'x'.repeat(20_000), 'inbox', 'Default', 'HTML', '<b>'];

function elements(root: Element): Element[] {
  const out: Element[] = [];
  const walk = (element: Element): void => {
    out.push(element);
    for (let node = element.firstChild; node; node = node.nextSibling) if (node.nodeType === 1) walk(node as Element);
  };
  walk(root);
  return out;
}

/** Applies one random structural or value mutation to the operation element. */
function mutate(random: SeededRandom, operation: Element): void {
  const all = elements(operation);
  const target = random.pick(all);
  const doc = operation.ownerDocument!;
  switch (random.int(0, 7)) {
    case 0:
      if (target !== operation) target.parentNode!.removeChild(target);
      break;
    case 1:
      target.textContent = random.pick(GARBAGE_TEXT);
      break;
    case 2: {
      const attributes = Array.from({ length: target.attributes.length }, (_, i) => target.attributes.item(i)!.name);
      if (attributes.length > 0) target.setAttribute(random.pick(attributes), random.pick(GARBAGE_TEXT));
      else target.setAttribute('Id', random.pick(GARBAGE_TEXT));
      break;
    }
    case 3:
      if (target !== operation) target.parentNode!.insertBefore(target.cloneNode(true), target);
      break;
    case 4:
      while (target.firstChild) target.removeChild(target.firstChild);
      break;
    case 5:
      target.appendChild(doc.createElementNS(random.chance(0.5) ? 'http://schemas.microsoft.com/exchange/services/2006/types' : 'urn:unknown', random.pick(['t:ItemId', 't:FolderId', 't:Mailbox', 't:Surprise', 'x:Thing', 't:Constant'])));
      break;
    case 6: {
      // Move an element somewhere else in the request.
      const destination = random.pick(all);
      if (target !== operation && !elements(target).includes(destination)) destination.appendChild(target);
      break;
    }
    default:
      for (const attribute of Array.from({ length: target.attributes.length }, (_, i) => target.attributes.item(i)!.name)) if (!attribute.startsWith('xmlns')) target.removeAttribute(attribute);
  }
}

test('fuzz: 1,200 seeded mutations of valid requests for every operation never crash the endpoint', async () => {
  const templates = await validRequests();
  // Each valid request is answered without a crash first (the base line for the mutations).
  for (const template of templates) {
    const verdict = await judge(soapEnvelope(template));
    assert.ok(verdict.ok, `${template.slice(0, 60)}: ${verdict.why}`);
  }
  const random = new SeededRandom('ews-fuzz');
  const failures: string[] = [];
  const serializer = new XMLSerializer();
  const codes = new Set<string>();
  for (let i = 0; i < 1200; i++) {
    const doc = new DOMParser().parseFromString(soapEnvelope(random.pick(templates)), 'text/xml');
    const body = doc.documentElement!.getElementsByTagNameNS('http://schemas.xmlsoap.org/soap/envelope/', 'Body').item(0)!;
    const operation = Array.from({ length: body.childNodes.length }, (_, k) => body.childNodes.item(k)).find((n) => n?.nodeType === 1) as Element;
    for (let m = random.int(1, 3); m > 0; m--) mutate(random, operation);
    const request = serializer.serializeToString(doc);
    const verdict = await judge(request);
    for (const match of verdict.text.matchAll(/<(?:m:ResponseCode|e:ResponseCode[^>]*)>([A-Za-z]+)</g)) codes.add(match[1]!);
    if (!verdict.ok) failures.push(`${verdict.why}\n    request: ${request.replace(/^.*<soap:Body>/, '').slice(0, 400)}`);
  }
  assert.equal(failures.length, 0, `${failures.length} crashes, first ones:\n${failures.slice(0, 6).join('\n')}`);
  // The mutations reach deep into the operations: successes, per-item errors and faults alike.
  assert.ok(codes.has('NoError') && codes.has('ErrorSchemaValidation') && codes.size >= 12, [...codes].join(' '));
});
