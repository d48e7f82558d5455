/**
 * Where widely used EWS clients lean on Exchange's exact behaviour (issue: Exchange fidelity):
 * version negotiation, FindFolder restrictions, ConvertId owners, MAPI properties on folders and
 * items. Every answer here also validates against Microsoft's EWS schema when it is available.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { seedSmallOrganisation, PASSWORDS } from './fixture';
import { SchemaBatch, schemaSkipReason } from './schema-validator';
import { basicAuth, extract, extractAll, soapCall, type SoapCallOptions } from './soap-client';

let sim: EwsSimulator;
/** Every 200 answer of this file, validated in one xmllint run by the last test. */
const schema = new SchemaBatch();
const alice = basicAuth('alice@contoso.com', PASSWORDS.alice);

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

/** Calls as alice and checks the answer against the schema (when ../shared/ews-schema is there). */
async function call(body: string, options: SoapCallOptions = {}): Promise<{ status: number; body: string }> {
  const result = await soapCall(sim.url, body, { authorization: alice, ...options });
  if (result.status === 200) schema.add(body.slice(0, 60), result.body);
  return result;
}

const tag = (hex: string, type: string): string => `<t:ExtendedFieldURI PropertyTag="${hex}" PropertyType="${type}"/>`;

function extendedValue(xml: string, hex: string): string | undefined {
  return extract(xml, new RegExp(`<t:ExtendedFieldURI PropertyTag="${hex}" PropertyType="[A-Za-z]+"/><t:Value>([^<]*)</t:Value>`));
}

const FIND_DEEP = (restriction: string, shape = '<t:BaseShape>Default</t:BaseShape>'): string =>
  `<m:FindFolder Traversal="Deep"><m:FolderShape>${shape}</m:FolderShape><m:Restriction>${restriction}</m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>`;

test('an unknown RequestServerVersion is a bare ErrorInvalidRequest fault without ServerVersionInfo; stepping down works', async () => {
  const body = '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>';
  const tooNew = await soapCall(sim.url, body, { authorization: alice, version: 'Exchange2019' });
  assert.equal(tooNew.status, 500);
  assert.match(tooNew.body, /<faultcode[^>]*>a:ErrorInvalidRequest<\/faultcode>/);
  assert.match(tooNew.body, /<faultstring xml:lang="en-US">The request is invalid\.<\/faultstring>/);
  assert.doesNotMatch(tooNew.body, /ServerVersionInfo/, 'a client must not learn a version from this answer');
  const stepped = await call(body, { version: 'Exchange2016' });
  assert.equal(stepped.status, 200);
  assert.match(stepped.body, /<h:ServerVersionInfo /);
});

test('FindFolder honours restrictions on folder fields and PR_CONTAINER_CLASS', async () => {
  const byName = await call(FIND_DEEP('<t:IsEqualTo><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURIOrConstant><t:Constant Value="Inbox"/></t:FieldURIOrConstant></t:IsEqualTo>'));
  assert.deepEqual(extractAll(byName.body, /<t:DisplayName>([^<]+)</g), ['Inbox']);
  assert.match(byName.body, /TotalItemsInView="1"/);

  const all = await call(FIND_DEEP('<t:Exists><t:FieldURI FieldURI="folder:DisplayName"/></t:Exists>', '<t:BaseShape>AllProperties</t:BaseShape>'));
  const classes = extractAll(all.body, /<t:FolderClass>([^<]+)</g);
  const mailOnly = await call(
    FIND_DEEP(`<t:IsEqualTo>${tag('0x3613', 'String')}<t:FieldURIOrConstant><t:Constant Value="IPF.Note"/></t:FieldURIOrConstant></t:IsEqualTo>`, '<t:BaseShape>AllProperties</t:BaseShape>'),
  );
  const mailClasses = extractAll(mailOnly.body, /<t:FolderClass>([^<]+)</g);
  assert.ok(mailClasses.length > 0 && mailClasses.length < classes.length, `${mailClasses.length} of ${classes.length}`);
  assert.ok(mailClasses.every((c) => c === 'IPF.Note'));

  const notMail = await call(FIND_DEEP(`<t:Not><t:IsEqualTo>${tag('0x3613', 'String')}<t:FieldURIOrConstant><t:Constant Value="IPF.Note"/></t:FieldURIOrConstant></t:IsEqualTo></t:Not>`));
  const either = await call(
    FIND_DEEP(
      '<t:Or><t:IsEqualTo><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURIOrConstant><t:Constant Value="Inbox"/></t:FieldURIOrConstant></t:IsEqualTo>' +
        '<t:Contains ContainmentMode="Prefixed" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="folder:DisplayName"/><t:Constant Value="cal"/></t:Contains></t:Or>',
    ),
  );
  assert.deepEqual(extractAll(either.body, /<t:DisplayName>([^<]+)</g).sort(), ['Calendar', 'Inbox']);
  const total = Number(extract(all.body, /TotalItemsInView="(\d+)"/));
  assert.equal(Number(extract(notMail.body, /TotalItemsInView="(\d+)"/)) + mailClasses.length, total);
  const notInbox = await call(FIND_DEEP('<t:IsNotEqualTo><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURIOrConstant><t:Constant Value="Inbox"/></t:FieldURIOrConstant></t:IsNotEqualTo>'));
  assert.equal(Number(extract(notInbox.body, /TotalItemsInView="(\d+)"/)), total - 1);
});

test('ConvertId answers with the id owner even when the Mailbox attribute names someone else', async () => {
  const found = await call('<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="1" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>');
  const id = extract(found.body, /<t:ItemId Id="([^"]+)"/)!;
  const hex = await call(`<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="${id}" Mailbox="bob@contoso.com"/></m:SourceIds></m:ConvertId>`);
  assert.match(hex.body, /ResponseClass="Success"/);
  assert.match(hex.body, /Mailbox="alice@contoso\.com"/);
  const hexId = extract(hex.body, /Format="HexEntryId" Id="([^"]+)"/)!;
  // An entry id carries its store: asked about it "in bob's mailbox", Exchange still names alice.
  const back = await call(`<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><t:AlternateId Format="HexEntryId" Id="${hexId}" Mailbox="bob@contoso.com"/></m:SourceIds></m:ConvertId>`);
  assert.match(back.body, /ResponseClass="Success"/);
  assert.equal(extract(back.body, /Format="EwsId" Id="([^"]+)"/), id);
  assert.match(back.body, /Mailbox="alice@contoso\.com"/);
  // Still refused: garbage, and ids of mailboxes the caller cannot open.
  const bobs = sim.store.folderItems(sim.store.getFolder('bob@contoso.com', { distinguished: 'inbox' }))[0]!.id;
  const refused = await call(
    `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="AAAAnot-an-id" Mailbox="alice@contoso.com"/><t:AlternateId Format="EwsId" Id="${bobs}" Mailbox="alice@contoso.com"/></m:SourceIds></m:ConvertId>`,
  );
  assert.deepEqual(extractAll(refused.body, /<m:ResponseCode>([^<]+)</g), ['ErrorInvalidIdMalformed', 'ErrorAccessDenied']);
});

test('GetFolder and FindFolder return the MAPI folder properties clients build trees from', async () => {
  await call('<m:CreateFolder><m:ParentFolderId><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderId><m:Folders><t:Folder><t:DisplayName>Orders 2025</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>');
  const tags = [
    ['0x360a', 'Boolean'],
    ['0x3613', 'String'],
    ['0x3602', 'Integer'],
    ['0x3603', 'Integer'],
    ['0x6638', 'Integer'],
    ['0xe08', 'Long'],
    ['0x10f4', 'Boolean'],
    ['0x10f3', 'String'],
    ['0x670a', 'SystemTime'],
    ['0x670b', 'Integer'],
  ];
  const shape = `<t:BaseShape>Default</t:BaseShape><t:AdditionalProperties>${tags.map(([hex, type]) => tag(hex!, type!)).join('')}</t:AdditionalProperties>`;
  const inbox = await call(`<m:GetFolder><m:FolderShape>${shape}</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`);
  assert.equal(extendedValue(inbox.body, '0x360a'), 'true', 'Inbox has a child folder');
  assert.equal(extendedValue(inbox.body, '0x3613'), 'IPF.Note');
  assert.equal(extendedValue(inbox.body, '0x3602'), extract(inbox.body, /<t:TotalCount>(\d+)</));
  assert.equal(extendedValue(inbox.body, '0x3603'), extract(inbox.body, /<t:UnreadCount>(\d+)</));
  assert.equal(extendedValue(inbox.body, '0x6638'), extract(inbox.body, /<t:ChildFolderCount>(\d+)</));
  assert.ok(Number(extendedValue(inbox.body, '0xe08')) > 0);
  assert.equal(extendedValue(inbox.body, '0x10f4'), 'false');
  assert.equal(extendedValue(inbox.body, '0x10f3'), 'Inbox');
  assert.match(extendedValue(inbox.body, '0x670a') ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.equal(extendedValue(inbox.body, '0x670b'), '0');

  const tree = await call(`<m:FindFolder Traversal="Shallow"><m:FolderShape>${shape}</m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindFolder>`);
  assert.match(tree.body, /<t:DisplayName>Orders 2025<\/t:DisplayName>/);
  assert.equal(extendedValue(tree.body, '0x360a'), 'false');
  assert.equal(extendedValue(tree.body, '0x3602'), '0');
  assert.equal(extendedValue(tree.body, '0x670a'), undefined, 'an empty folder has no last commit time in the simulator');
});

test('items sort and restrict by MAPI tags, and carry the same values GetItem shows', async () => {
  const view = (extra: string): string =>
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="message:IsRead"/><t:FieldURI FieldURI="message:InternetMessageId"/><t:FieldURI FieldURI="item:Size"/>${tag('0xe23', 'Integer')}${tag('0xe07', 'Integer')}${tag('0x1035', 'String')}${tag('0xe08', 'Integer')}</t:AdditionalProperties></m:ItemShape>${extra}<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`;
  const ascending = await call(view(`<m:SortOrder><t:FieldOrder Order="Ascending">${tag('0xe23', 'Integer')}</t:FieldOrder></m:SortOrder>`));
  assert.match(ascending.body, /ResponseClass="Success"/);
  const items = extractAll(ascending.body, /(<t:Message>[\s\S]*?<\/t:Message>)/g);
  assert.equal(items.length, 12);
  const numbers = items.map((x) => Number(extendedValue(x, '0xe23')));
  assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
  assert.equal(new Set(numbers).size, 12);
  assert.deepEqual(
    items.map((x) => extract(x, /<t:Subject>([^<]+)</)),
    Array.from({ length: 12 }, (_, i) => `Order ${100 + i}`),
    'article numbers follow creation order',
  );
  for (const x of items) {
    const flags = Number(extendedValue(x, '0xe07'));
    assert.equal((flags & 1) === 1, extract(x, /<t:IsRead>([^<]+)</) === 'true', 'MSGFLAG_READ agrees with IsRead');
    assert.equal(extendedValue(x, '0x1035'), extract(x, /<t:InternetMessageId>([^<]+)</));
    assert.equal(extendedValue(x, '0xe08'), extract(x, /<t:Size>(\d+)</), 'PR_MESSAGE_SIZE agrees with Size');
  }
  const descending = await call(view(`<m:SortOrder><t:FieldOrder Order="Descending">${tag('0xe23', 'Integer')}</t:FieldOrder></m:SortOrder>`));
  assert.deepEqual(
    extractAll(descending.body, /<t:Subject>([^<]+)</g),
    items.map((x) => extract(x, /<t:Subject>([^<]+)</)).reverse(),
  );

  const after = await call(view(`<m:Restriction><t:IsGreaterThan>${tag('0xe23', 'Integer')}<t:FieldURIOrConstant><t:Constant Value="${numbers[8]}"/></t:FieldURIOrConstant></t:IsGreaterThan></m:Restriction>`));
  assert.deepEqual(extractAll(after.body, /<t:Subject>([^<]+)</g).sort(), ['Order 109', 'Order 110', 'Order 111']);
  const unread = await call(view(`<m:Restriction><t:IsEqualTo>${tag('0xe07', 'Integer')}<t:FieldURIOrConstant><t:Constant Value="0"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`));
  assert.equal(extractAll(unread.body, /<t:Subject>([^<]+)</g).length, 8, 'unread, no attachment, not from me: 8 of the 12');
  const byMessageId = await call(view(`<m:Restriction><t:IsEqualTo>${tag('0x1035', 'String')}<t:FieldURIOrConstant><t:Constant Value="&lt;order-105@example.net&gt;"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`));
  assert.deepEqual(extractAll(byMessageId.body, /<t:Subject>([^<]+)</g), ['Order 105']);
  const neverReplied = await call(view(`<m:Restriction><t:Exists>${tag('0x1081', 'Integer')}</t:Exists></m:Restriction>`));
  assert.match(neverReplied.body, /TotalItemsInView="0"/, 'PR_LAST_VERB_EXECUTED is unset on items never replied to');
});

test('an unsupported path is refused with the path echoed, schema-valid, for queries and sorts', async () => {
  const restriction = await call(
    '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Culture"/><t:FieldURIOrConstant><t:Constant Value="en-US"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>',
  );
  assert.match(restriction.body, /<m:ResponseCode>ErrorUnsupportedPathForQuery</);
  assert.match(restriction.body, /<m:MessageXml><t:FieldURI FieldURI="item:Culture"\/><\/m:MessageXml>/);
  const sort = await call(
    '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:Culture"/></t:FieldOrder></m:SortOrder><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>',
  );
  assert.match(sort.body, /<m:ResponseCode>ErrorUnsupportedPathForSortGroup</);
  assert.match(sort.body, /<m:MessageXml><t:FieldURI FieldURI="item:Culture"\/><\/m:MessageXml>/);
  const folder = await call(FIND_DEEP('<t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsEqualTo>'));
  assert.match(folder.body, /<m:ResponseCode>ErrorUnsupportedPathForQuery</);
  assert.match(folder.body, /<m:MessageXml><t:FieldURI FieldURI="item:Subject"\/><\/m:MessageXml>/);
  // Any MAPI property can be queried, as in Exchange: items without it just do not match.
  const unset = await call(
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:Restriction><t:IsEqualTo>${tag('0x7ffe', 'Integer')}<t:FieldURIOrConstant><t:Constant Value="1"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`,
  );
  assert.match(unset.body, /ResponseClass="Success"[\s\S]*TotalItemsInView="0"/);
});

test('hostile attribute values in an echoed path are escaped', async () => {
  const result = await soapCall(
    sim.url,
    '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:Restriction><t:Exists><t:FieldURI FieldURI="&quot;&gt;&lt;x/&gt;&amp;"/></t:Exists></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>',
    { authorization: alice },
  );
  assert.match(result.body, /ErrorUnsupportedPathForQuery/);
  assert.match(result.body, /FieldURI="&quot;&gt;&lt;x\/&gt;&amp;"/);
  assert.doesNotMatch(result.body, /<x\/>/);
});

test('clients set, read, restrict on and delete their own MAPI properties (named and tagged)', async () => {
  const named = '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="ConnectorExternalId" PropertyType="String"/>';
  const guidNamed = '<t:ExtendedFieldURI PropertySetId="00020329-0000-0000-C000-000000000046" PropertyName="Tags" PropertyType="StringArray"/>';
  const tagged = tag('0x7ffd', 'Integer');
  const created = await call(
    `<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="contacts"/></m:SavedItemFolderId><m:Items><t:Contact><t:ExtendedProperty>${named}<t:Value>crm-42</t:Value></t:ExtendedProperty><t:ExtendedProperty>${guidNamed}<t:Values><t:Value>a</t:Value><t:Value>b &amp; c</t:Value></t:Values></t:ExtendedProperty><t:ExtendedProperty>${tagged}<t:Value>7</t:Value></t:ExtendedProperty><t:GivenName>Erin</t:GivenName><t:Surname>External</t:Surname></t:Contact></m:Items></m:CreateItem>`,
  );
  assert.match(created.body, /ResponseClass="Success"/);
  const id = extract(created.body, /<t:ItemId Id="([^"]+)"/)!;
  const shape = `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="contacts:DisplayName"/>${named}${guidNamed}${tagged}</t:AdditionalProperties></m:ItemShape>`;
  const read = await call(`<m:GetItem>${shape}<m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`);
  assert.match(read.body, /PropertyName="ConnectorExternalId" PropertyType="String"\/><t:Value>crm-42<\/t:Value>/);
  assert.match(read.body, /PropertyName="Tags" PropertyType="StringArray"\/><t:Values><t:Value>a<\/t:Value><t:Value>b &amp; c<\/t:Value><\/t:Values>/);
  assert.match(read.body, /PropertyTag="0x7ffd" PropertyType="Integer"\/><t:Value>7<\/t:Value>/);

  const find = (restriction: string) =>
    call(`<m:FindItem Traversal="Shallow">${shape}<m:Restriction>${restriction}</m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`);
  const byExternalId = await find(`<t:IsEqualTo>${named}<t:FieldURIOrConstant><t:Constant Value="crm-42"/></t:FieldURIOrConstant></t:IsEqualTo>`);
  assert.deepEqual(extractAll(byExternalId.body, /<t:DisplayName>([^<]+)</g), ['Erin External']);
  // The same property spelled with the PublicStrings GUID is the same property.
  const byGuid = await find('<t:Exists><t:ExtendedFieldURI PropertySetId="00020329-0000-0000-c000-000000000046" PropertyName="ConnectorExternalId" PropertyType="String"/></t:Exists>');
  assert.deepEqual(extractAll(byGuid.body, /<t:DisplayName>([^<]+)</g), ['Erin External']);
  const greater = await find(`<t:IsGreaterThan>${tagged}<t:FieldURIOrConstant><t:Constant Value="6"/></t:FieldURIOrConstant></t:IsGreaterThan>`);
  assert.deepEqual(extractAll(greater.body, /<t:DisplayName>([^<]+)</g), ['Erin External']);

  const changeKey = extract(read.body, /ChangeKey="([^"]+)"/)!;
  const updated = await call(
    `<m:UpdateItem ConflictResolution="NeverOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="${id}" ChangeKey="${changeKey}"/><t:Updates><t:SetItemField>${named}<t:Contact><t:ExtendedProperty>${named}<t:Value>crm-43</t:Value></t:ExtendedProperty></t:Contact></t:SetItemField><t:DeleteItemField>${tagged}</t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
  );
  assert.match(updated.body, /ResponseClass="Success"/);
  assert.notEqual(extract(updated.body, /ChangeKey="([^"]+)"/), changeKey, 'a property change is a new version');
  const reread = await call(`<m:GetItem>${shape}<m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`);
  assert.match(reread.body, /<t:Value>crm-43<\/t:Value>/);
  assert.doesNotMatch(reread.body, /0x7ffd/);

  // Computed properties cannot be written, and a malformed path is refused, not stored.
  const computed = await call(`<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:ExtendedProperty>${tag('0xe23', 'Integer')}<t:Value>1</t:Value></t:ExtendedProperty><t:Subject>x</t:Subject></t:Message></m:Items></m:CreateItem>`);
  assert.match(computed.body, /ErrorInvalidPropertySet/);
  const malformed = await call('<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1" PropertyName="x" DistinguishedPropertySetId="PublicStrings" PropertyType="String"/><t:Value>1</t:Value></t:ExtendedProperty><t:Subject>x</t:Subject></t:Message></m:Items></m:CreateItem>');
  assert.match(malformed.body, /ErrorInvalidPropertyRequest/);
  const wrongType = await call(`<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:ExtendedProperty>${tagged}<t:Value>seven</t:Value></t:ExtendedProperty><t:Subject>x</t:Subject></t:Message></m:Items></m:CreateItem>`);
  assert.match(wrongType.body, /ErrorInvalidValueForProperty/);
});

test('items move and copy across mailboxes the caller can open, and both change streams show it', async () => {
  const syncOf = async (mailbox: string, state?: string) => {
    const page = await call(
      `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>${mailbox}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:SyncFolderId>${state ? `<m:SyncState>${state}</m:SyncState>` : ''}<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`,
    );
    return { body: page.body, state: extract(page.body, /<m:SyncState>([^<]+)</)! };
  };
  const dispatchBefore = await syncOf('dispatch@contoso.com');
  const aliceBefore = await syncOf('alice@contoso.com');
  const pickup = sim.store.folderItems(sim.store.getFolder('dispatch@contoso.com', { distinguished: 'inbox' }))[0]!;
  const aliceInbox = sim.store.getFolder('alice@contoso.com', { distinguished: 'inbox' });
  const moved = await call(`<m:MoveItem><m:ToFolderId><t:FolderId Id="${aliceInbox.id}"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${pickup.id}"/></m:ItemIds></m:MoveItem>`);
  assert.match(moved.body, /ResponseClass="Success"/);
  const newId = extract(moved.body, /<t:ItemId Id="([^"]+)"/)!;
  assert.equal(sim.store.getItem(newId)?.mailbox, 'alice@contoso.com');
  assert.equal(sim.store.getItem(pickup.id), undefined);
  assert.match((await syncOf('dispatch@contoso.com', dispatchBefore.state)).body, new RegExp(`<t:Delete><t:ItemId Id="${pickup.id.replace(/[+/=]/g, '.')}"`));
  assert.match((await syncOf('alice@contoso.com', aliceBefore.state)).body, new RegExp(`<t:Create><t:Message><t:ItemId Id="${newId.replace(/[+/=]/g, '.')}"`));

  // Into a mailbox the caller cannot open: refused, and nothing moves.
  const bobInbox = sim.store.getFolder('bob@contoso.com', { distinguished: 'inbox' });
  const denied = await call(`<m:CopyItem><m:ToFolderId><t:FolderId Id="${bobInbox.id}"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${newId}"/></m:ItemIds></m:CopyItem>`);
  assert.match(denied.body, /ErrorAccessDenied/);
  assert.equal(sim.store.folderItems(bobInbox).length, 1);
});

test('every answer above validates against the EWS schema', { skip: schemaSkipReason() }, async () => {
  await schema.assertAllValid();
});
