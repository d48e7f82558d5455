/**
 * Every response kind the simulator produces (success, per-item error, SOAP fault) validates
 * against Microsoft's EWS schema.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { seedSmallOrganisation, PASSWORDS } from './fixture';
import { ewsSchemaValidator, schemaSkipReason } from './schema-validator';
import { basicAuth, extract, soapCall } from './soap-client';

let sim: EwsSimulator;
const alice = basicAuth('alice@contoso.com', PASSWORDS.alice);
const skip = schemaSkipReason();

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

async function call(body: string, options: Parameters<typeof soapCall>[2] = { authorization: alice }): Promise<string> {
  const result = await soapCall(sim.url, body, options);
  return result.body;
}

const DEFAULT_ITEM_SHAPE = '<m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>';
const ALL_ITEM_SHAPE = '<m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent><t:AdditionalProperties><t:FieldURI FieldURI="item:Body"/><t:FieldURI FieldURI="message:BccRecipients"/></t:AdditionalProperties></m:ItemShape>';

test('every response kind validates against the EWS schema', { skip }, async () => {
  const bodies: Record<string, string> = {};
  bodies.getFolder = await call(
    '<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="calendar"/><t:DistinguishedFolderId Id="contacts"/><t:DistinguishedFolderId Id="tasks"/><t:FolderId Id="AAAAAA-malformed"/><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>',
  );
  bodies.findFolder = await call('<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="5" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>');
  bodies.syncHierarchy = await call('<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape></m:SyncFolderHierarchy>');
  bodies.syncHierarchyError = await call('<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:SyncState>garbage</m:SyncState></m:SyncFolderHierarchy>');
  bodies.findItem = await call(
    `<m:FindItem Traversal="Shallow">${DEFAULT_ITEM_SHAPE}<m:IndexedPageItemView MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/><m:Restriction><t:And><t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURIOrConstant><t:Constant Value="2025-03-01T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThanOrEqualTo><t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="false"/></t:FieldURIOrConstant></t:IsEqualTo></t:And></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`,
  );
  bodies.findAllKinds = await call(
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/><t:DistinguishedFolderId Id="contacts"/><t:DistinguishedFolderId Id="tasks"/></m:ParentFolderIds></m:FindItem>`,
  );
  bodies.calendarView = await call(
    `<m:FindItem Traversal="Shallow">${DEFAULT_ITEM_SHAPE}<m:CalendarView StartDate="2025-03-01T00:00:00Z" EndDate="2025-03-08T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`,
  );
  const ids = [...bodies.findAllKinds.matchAll(/<t:ItemId Id="([^"]+)"/g)].map((m) => m[1]!);
  const inboxIds = [...bodies.findItem.matchAll(/<t:ItemId Id="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(ids.length >= 3 && inboxIds.length === 3);
  const itemIds = [...ids, ...inboxIds].map((id) => `<t:ItemId Id="${id}"/>`).join('');
  bodies.getItemAll = await call(`<m:GetItem>${ALL_ITEM_SHAPE}<m:ItemIds>${itemIds}<t:ItemId Id="not-an-id"/></m:ItemIds></m:GetItem>`);
  bodies.getItemDefault = await call(`<m:GetItem>${DEFAULT_ITEM_SHAPE}<m:ItemIds>${itemIds}</m:ItemIds></m:GetItem>`);
  bodies.syncItems = await call(`<m:SyncFolderItems><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>5</m:MaxChangesReturned></m:SyncFolderItems>`);
  const state = extract(bodies.syncItems, /<m:SyncState>([^<]+)</)!;
  // A read-flag change on an item the first page reported.
  const firstSynced = extract(bodies.syncItems, /<t:ItemId Id="([^"]+)"/)!;
  await call(`<m:UpdateItem ConflictResolution="AutoResolve" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="${firstSynced}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>false</t:IsRead></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`);
  bodies.syncItemsChanges = await call(`<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:SyncState>${state}</m:SyncState><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`);
  bodies.syncItemsError = await call(`<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:SyncState>${state.slice(0, -6)}AAAAAA</m:SyncState><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`);
  bodies.createSaveOnly = await call(
    '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:Subject>Draft</t:Subject><t:Body BodyType="Text">Hi</t:Body><t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></m:Items></m:CreateItem>',
  );
  bodies.createSend = await call(
    '<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:SavedItemFolderId><t:DistinguishedFolderId Id="sentitems"/></m:SavedItemFolderId><m:Items><t:Message><t:Subject>Hello Bob</t:Subject><t:Body BodyType="HTML">&lt;b&gt;Hi&lt;/b&gt;</t:Body><t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></m:Items></m:CreateItem>',
  );
  bodies.createOthers = await call(
    '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Lunch</t:Subject><t:Start>2025-03-04T12:00:00Z</t:Start><t:End>2025-03-04T13:00:00Z</t:End></t:CalendarItem><t:Contact><t:GivenName>Eve</t:GivenName><t:Surname>Example</t:Surname></t:Contact><t:Task><t:Subject>Follow up</t:Subject></t:Task><t:Message><t:Subject>no disposition</t:Subject></t:Message></m:Items></m:CreateItem>',
  );
  const draftId = extract(bodies.createSaveOnly, /<t:ItemId Id="([^"]+)"/)!;
  bodies.updateItem = await call(
    `<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="${draftId}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>Draft v2</t:Subject></t:Message></t:SetItemField><t:DeleteItemField><t:FieldURI FieldURI="item:Categories"/></t:DeleteItemField></t:Updates></t:ItemChange><t:ItemChange><t:ItemId Id="${draftId}" ChangeKey="CQAAABYAAAAAAAAAAAAAAA=="/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:DateTimeReceived"/><t:Message><t:DateTimeReceived>2025-01-01T00:00:00Z</t:DateTimeReceived></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
  );
  bodies.moveItem = await call(`<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="inbox"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${draftId}"/><t:ItemId Id="${draftId}"/></m:ItemIds></m:MoveItem>`);
  const movedId = extract(bodies.moveItem, /<t:ItemId Id="([^"]+)"/)!;
  bodies.copyItem = await call(`<m:CopyItem><m:ToFolderId><t:DistinguishedFolderId Id="drafts"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${movedId}"/></m:ItemIds></m:CopyItem>`);
  bodies.deleteItem = await call(`<m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="${movedId}"/><t:ItemId Id="${movedId}"/></m:ItemIds></m:DeleteItem>`);
  const attachmentId = extract(bodies.getItemAll, /<t:AttachmentId Id="([^"]+)"/)!;
  bodies.getAttachment = await call(`<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="${attachmentId}"/><t:AttachmentId Id="bogus"/></m:AttachmentIds></m:GetAttachment>`);
  // Full directory data (names, company, phones, department, title, office) must validate too.
  sim.store.updateMailbox('bob@contoso.com', { attributes: { department: 'Operations', jobTitle: 'Operations Lead', companyName: 'Contoso', officeLocation: 'Redmond 18/2110', businessPhone: '+1 425 555 0102;+1 425 555 0122', mobilePhone: '+1 425 555 0192' } });
  sim.store.updateMailbox('carol@contoso.com', { attributes: { department: 'Sales', businessPhone: '+44 20 7946 0103' } });
  bodies.resolveOne = await call('<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>bob@contoso.com</m:UnresolvedEntry></m:ResolveNames>');
  assert.match(bodies.resolveOne, /<t:PhoneNumbers><t:Entry Key="BusinessPhone">\+1 425 555 0102<\/t:Entry><t:Entry Key="BusinessPhone2">/);
  bodies.resolveMany = await call('<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>c</m:UnresolvedEntry></m:ResolveNames>');
  bodies.resolveNone = await call('<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>zzz-nobody</m:UnresolvedEntry></m:ResolveNames>');
  bodies.convertId = await call(
    `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="${inboxIds[1]}" Mailbox="alice@contoso.com"/><t:AlternateId Format="EwsId" Id="junk" Mailbox="alice@contoso.com"/></m:SourceIds></m:ConvertId>`,
  );
  bodies.subscribe = await call('<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType><t:EventType>MovedEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>');
  const subscriptionId = extract(bodies.subscribe, /<m:SubscriptionId>([^<]+)</)!;
  const watermark = extract(bodies.subscribe, /<m:Watermark>([^<]+)</)!;
  bodies.getEventsEmpty = await call(`<m:GetEvents><m:SubscriptionId>${subscriptionId}</m:SubscriptionId><m:Watermark>${watermark}</m:Watermark></m:GetEvents>`);
  sim.store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }], subject: 'Event test' });
  await call(`<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="junkemail"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${inboxIds[2]}"/></m:ItemIds></m:MoveItem>`);
  bodies.getEvents = await call(`<m:GetEvents><m:SubscriptionId>${subscriptionId}</m:SubscriptionId><m:Watermark>${watermark}</m:Watermark></m:GetEvents>`);
  bodies.getEventsError = await call(`<m:GetEvents><m:SubscriptionId>nope</m:SubscriptionId><m:Watermark>${watermark}</m:Watermark></m:GetEvents>`);
  bodies.unsubscribe = await call(`<m:Unsubscribe><m:SubscriptionId>${subscriptionId}</m:SubscriptionId></m:Unsubscribe>`);
  bodies.unsubscribeError = await call(`<m:Unsubscribe><m:SubscriptionId>${subscriptionId}</m:SubscriptionId></m:Unsubscribe>`);
  bodies.createFolder = await call('<m:CreateFolder><m:ParentFolderId><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderId><m:Folders><t:Folder><t:DisplayName>Archive 2025</t:DisplayName></t:Folder><t:Folder><t:DisplayName>Archive 2025</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>');
  bodies.accessDenied = await call('<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>');
  // SOAP faults.
  bodies.faultSchema = await call('<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>513</m:MaxChangesReturned></m:SyncFolderItems>');
  bodies.faultImpersonation = await call('<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>', { authorization: alice, impersonate: 'bob@contoso.com' });
  sim.faults.add({ kind: 'serverBusy', operation: 'GetFolder', count: 1, backOffInMs: 5000 });
  bodies.faultBusy = await call('<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>');
  bodies.faultMalformed = await call('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:GetFolder', { authorization: alice });

  for (const [name, body] of Object.entries(bodies)) assert.match(body, /^<\?xml/, `${name} is an XML document`);
  const validator = ewsSchemaValidator()!;
  const successBodies = Object.entries(bodies).filter(([name]) => !name.startsWith('fault'));
  const results = await validator.validateMany(successBodies.map(([, body]) => body));
  const failures = successBodies.map(([name], i) => ({ name, errors: results[i]!.errors })).filter((r) => r.errors.length > 0);
  assert.deepEqual(failures, [], JSON.stringify(failures, null, 1));

  // The kinds of answers were really produced (this test would be vacuous otherwise).
  assert.match(bodies.getFolder, /ResponseCode>ErrorInvalidIdMalformed</);
  assert.match(bodies.getFolder, /<t:CalendarFolder>/);
  assert.match(bodies.getItemAll, /<t:MimeContent CharacterSet="UTF-8">/);
  assert.match(bodies.getItemAll, /<t:Contact>[\s\S]*<t:EmailAddresses>/);
  assert.match(bodies.syncItemsChanges, /<t:ReadFlagChange>/);
  assert.match(bodies.syncItemsError, /ErrorInvalidSyncStateData/);
  assert.match(bodies.updateItem, /ErrorInvalidPropertySet/);
  assert.match(bodies.createOthers, /ErrorMessageDispositionRequired/);
  assert.match(bodies.moveItem, /ErrorItemNotFound/);
  assert.match(bodies.resolveMany, /ResponseClass="Warning"/);
  assert.match(bodies.resolveNone, /ErrorNameResolutionNoResults/);
  assert.match(bodies.convertId, /<m:AlternateId [^>]*Format="HexEntryId"/);
  assert.match(bodies.getEvents, /<t:NewMailEvent>[\s\S]*<t:MovedEvent>/);
  assert.match(bodies.getEventsEmpty, /<t:StatusEvent>/);
  assert.match(bodies.unsubscribeError, /ErrorSubscriptionNotFound/);
  assert.match(bodies.createFolder, /ErrorFolderExists/);
  assert.match(bodies.accessDenied, /ErrorAccessDenied/);
  assert.match(bodies.faultSchema, /a:ErrorSchemaValidation/);
  assert.match(bodies.faultImpersonation, /a:ErrorImpersonateUserDenied/);
  assert.match(bodies.faultBusy, /<t:Value Name="BackOffMilliseconds">5000<\/t:Value>/);
  assert.match(bodies.faultMalformed, /a:ErrorSchemaValidation/);
});
