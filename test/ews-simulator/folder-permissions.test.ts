/**
 * Folder permissions and delegate access in the EWS simulator (#16): GetFolder with PermissionSet,
 * GetDelegate, and the access checks on folders and items of another user's mailbox, each with a
 * granted and a denied right; every answer validates against Microsoft's EWS schema.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { seedSmallOrganisation, PASSWORDS } from './fixture';
import { SchemaBatch } from './schema-validator';
import { basicAuth, extract, extractAll, soapCall } from './soap-client';

let sim: EwsSimulator;
const schema = new SchemaBatch();
const as = (user: 'alice' | 'bob' | 'carol') => basicAuth(`${user}@contoso.com`, PASSWORDS[user]);
const BOB = 'bob@contoso.com';

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
  sim.store.createItem(BOB, { distinguished: 'calendar' }, { kind: 'calendarItem', subject: 'Bob on site', start: new Date('2025-04-01T09:00:00Z'), end: new Date('2025-04-01T10:00:00Z') });
  sim.store.createItem(BOB, { distinguished: 'inbox' }, { kind: 'message', subject: 'Bob private mail' });
});
after(async () => {
  await sim.close();
});

async function call(user: 'alice' | 'bob' | 'carol', body: string): Promise<string> {
  const result = await soapCall(sim.url, body, { authorization: as(user) });
  assert.equal(result.status, 200, result.body.slice(0, 500));
  schema.add(body.slice(0, 80), result.body);
  return result.body;
}

const bobFolder = (name: string) => `<t:DistinguishedFolderId Id="${name}"><t:Mailbox><t:EmailAddress>${BOB}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`;
const getFolder = (name: string, extra = '') =>
  `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>${extra}</m:FolderShape><m:FolderIds>${bobFolder(name)}</m:FolderIds></m:GetFolder>`;
const syncItems = (name: string) =>
  `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>${bobFolder(name)}</m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`;
const code = (xml: string) => extract(xml, /<m:ResponseCode>([^<]+)<\/m:ResponseCode>/);

test('no right on the mailbox: ErrorAccessDenied; a folder permission opens exactly that folder', async () => {
  assert.equal(code(await call('alice', syncItems('calendar'))), 'ErrorAccessDenied');

  const calendar = sim.store.getFolder(BOB, { distinguished: 'calendar' });
  calendar.permissions = [{ user: 'alice@contoso.com', level: 'Reviewer' }];
  const granted = await call('alice', syncItems('calendar'));
  assert.equal(code(granted), 'NoError');
  assert.equal(extractAll(granted, /<t:Create>/g).length, 1, 'the calendar item is listed');

  // Reviewer reads but may not change: ErrorAccessDenied, as Exchange answers a write without the privilege.
  const calendarItem = sim.store.folderItems(calendar)[0]!;
  const deleted = await call('alice', `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="${calendarItem.id}"/></m:ItemIds></m:DeleteItem>`);
  assert.equal(code(deleted), 'ErrorAccessDenied');
  assert.ok(sim.store.getItem(calendarItem.id), 'the item is still there');
  calendar.permissions = [{ user: 'alice@contoso.com', level: 'Editor' }];
  const update = `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="${calendarItem.id}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Bob on site (moved)</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`;
  assert.equal(code(await call('alice', update)), 'NoError', 'an Editor may change it');
  calendar.permissions = [{ user: 'alice@contoso.com', level: 'Reviewer' }];

  // The Inbox of the same mailbox stays closed: no right looks like no folder (Exchange's answer).
  assert.equal(code(await call('alice', syncItems('inbox'))), 'ErrorFolderNotFound');
  const inboxItem = sim.store.folderItems(sim.store.getFolder(BOB, { distinguished: 'inbox' }))[0]!;
  const getItem = await call('alice', `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="${inboxItem.id}"/></m:ItemIds></m:GetItem>`);
  assert.equal(code(getItem), 'ErrorItemNotFound');
  // FindFolder lists only what may be read.
  const found = await call('alice', `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:ParentFolderIds>${bobFolder('msgfolderroot')}</m:ParentFolderIds></m:FindFolder>`);
  assert.deepEqual(extractAll(found, /<t:DisplayName>([^<]+)<\/t:DisplayName>/g), ['Calendar']);
  calendar.permissions = [];
});

test('GetFolder with PermissionSet shows the DACL (calendar variant on calendars) to the owner', async () => {
  sim.store.getFolder(BOB, { distinguished: 'calendar' }).permissions = [{ user: 'alice@contoso.com', level: 'Reviewer' }];
  sim.store.getFolder(BOB, { distinguished: 'inbox' }).permissions = [{ user: 'carol@contoso.com', level: 'Editor' }];
  const additional = '<t:AdditionalProperties><t:FieldURI FieldURI="folder:PermissionSet"/></t:AdditionalProperties>';
  const calendar = await call('bob', getFolder('calendar', additional));
  assert.match(calendar, /<t:CalendarPermissions>.*<t:DistinguishedUser>Default<\/t:DistinguishedUser>.*<t:PrimarySmtpAddress>alice@contoso.com<\/t:PrimarySmtpAddress>.*<t:CalendarPermissionLevel>Reviewer<\/t:CalendarPermissionLevel>/s);
  const inbox = await call('bob', getFolder('inbox', additional));
  assert.match(inbox, /<t:Permissions>.*<t:PrimarySmtpAddress>carol@contoso.com<\/t:PrimarySmtpAddress>.*<t:EditItems>All<\/t:EditItems>.*<t:PermissionLevel>Editor<\/t:PermissionLevel>/s);
  // Carol (Editor on the Inbox) reads it; Alice (calendar only) does not.
  assert.equal(code(await call('carol', syncItems('inbox'))), 'NoError');
  assert.equal(code(await call('alice', getFolder('inbox'))), 'ErrorFolderNotFound');
  sim.store.getFolder(BOB, { distinguished: 'calendar' }).permissions = [];
  sim.store.getFolder(BOB, { distinguished: 'inbox' }).permissions = [];
});

test('GetDelegate lists delegates and their levels; delegate access opens the delegated folders only', async () => {
  const request = `<m:GetDelegate IncludePermissions="true"><m:Mailbox><t:EmailAddress>${BOB}</t:EmailAddress></m:Mailbox></m:GetDelegate>`;
  const none = await call('bob', request);
  assert.match(none, /<m:GetDelegateResponse [^>]*ResponseClass="Success"/);
  assert.doesNotMatch(none, /<m:DelegateUser>/);

  sim.store.getMailbox(BOB)!.delegates = [{ user: 'alice@contoso.com', calendar: 'Editor', tasks: 'Reviewer' }];
  const listed = await call('bob', request);
  assert.match(listed, /<t:PrimarySmtpAddress>alice@contoso.com<\/t:PrimarySmtpAddress><t:DisplayName>Alice Anders<\/t:DisplayName>/);
  assert.match(listed, /<t:CalendarFolderPermissionLevel>Editor<\/t:CalendarFolderPermissionLevel><t:TasksFolderPermissionLevel>Reviewer<\/t:TasksFolderPermissionLevel><t:InboxFolderPermissionLevel>None<\/t:InboxFolderPermissionLevel>/);
  assert.equal(code(await call('alice', syncItems('calendar'))), 'NoError', 'a delegate reads the delegated calendar');
  assert.equal(code(await call('alice', syncItems('inbox'))), 'ErrorFolderNotFound', 'but not the Inbox');

  // Reading someone else's delegates needs full access to their mailbox.
  const refused = await call('carol', request);
  assert.match(refused, /<m:GetDelegateResponse [^>]*ResponseClass="Error"/);
  assert.equal(code(refused), 'ErrorAccessDenied');
  sim.store.getMailbox(BOB)!.delegates = [];
});

test('every answer validates against the EWS schema', async () => {
  await schema.assertAllValid();
});
