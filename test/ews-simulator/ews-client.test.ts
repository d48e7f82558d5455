/**
 * Round trips through ews-javascript-api (an unmodified third-party EWS client) with Basic
 * credentials: every operation the simulator implements.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as ews from 'ews-javascript-api';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { PASSWORDS, seedSmallOrganisation } from './fixture';

let sim: EwsSimulator;

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

function service(user: string, password: string): ews.ExchangeService {
  const svc = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
  svc.Credentials = new ews.WebCredentials(user, password);
  svc.Url = new ews.Uri(sim.url);
  return svc;
}

const alice = (): ews.ExchangeService => service('alice@contoso.com', PASSWORDS.alice);

test('GetFolder: distinguished folders with counts, and a shared mailbox through FullAccess', async () => {
  const inbox = await ews.Folder.Bind(alice(), ews.WellKnownFolderName.Inbox);
  assert.equal(inbox.DisplayName, 'Inbox');
  assert.equal(inbox.TotalCount, 12);
  assert.equal(inbox.UnreadCount, 8);
  const dispatch = await ews.Folder.Bind(alice(), new ews.FolderId(ews.WellKnownFolderName.Inbox, new ews.Mailbox('dispatch@contoso.com')));
  assert.equal(dispatch.TotalCount, 1);
  await assert.rejects(
    ews.Folder.Bind(alice(), new ews.FolderId(ews.WellKnownFolderName.Inbox, new ews.Mailbox('bob@contoso.com'))),
    (error: ews.ServiceResponseException) => error.ErrorCode === ews.ServiceError.ErrorAccessDenied,
  );
});

test('FindFolder: deep traversal lists the IPM subtree', async () => {
  const view = new ews.FolderView(100);
  view.Traversal = ews.FolderTraversal.Deep;
  const result = await alice().FindFolders(ews.WellKnownFolderName.MsgFolderRoot, view);
  const names = result.Folders.map((f) => f.DisplayName);
  for (const name of ['Inbox', 'Calendar', 'Contacts', 'Tasks', 'Sent Items', 'Deleted Items', 'Drafts', 'Junk Email']) assert.ok(names.includes(name), name);
  assert.ok(!names.includes('Recoverable Items'));
});

test('FindItem: paging with TotalItemsInView/MoreAvailable and a restriction on DateTimeReceived and IsRead', async () => {
  const svc = alice();
  const first = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(5, 0));
  assert.equal(first.TotalCount, 12);
  assert.equal(first.MoreAvailable, true);
  assert.equal(first.NextPageOffset, 5);
  assert.deepEqual(
    first.Items.map((i) => i.Subject),
    ['Order 111', 'Order 110', 'Order 109', 'Order 108', 'Order 107'],
  );
  const last = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(5, 10));
  assert.equal(last.Items.length, 2);
  assert.equal(last.MoreAvailable, false);
  const filter = new ews.SearchFilter.SearchFilterCollection(ews.LogicalOperator.And, [
    new ews.SearchFilter.IsGreaterThanOrEqualTo(ews.ItemSchema.DateTimeReceived, new ews.DateTime('2025-03-01T10:00:00Z')),
    new ews.SearchFilter.IsEqualTo(ews.EmailMessageSchema.IsRead, false),
  ]);
  const unread = await svc.FindItems(ews.WellKnownFolderName.Inbox, filter, new ews.ItemView(50));
  assert.equal(unread.TotalCount, 8);
  const notFilter = new ews.SearchFilter.Not(new ews.SearchFilter.IsLessThan(ews.ItemSchema.DateTimeReceived, new ews.DateTime('2025-03-01T18:00:00Z')));
  const late = await svc.FindItems(ews.WellKnownFolderName.Inbox, notFilter, new ews.ItemView(50));
  assert.deepEqual(late.Items.map((i) => i.Subject).sort(), ['Order 110', 'Order 111']);
});

test('GetItem: batched with a per-item ErrorItemNotFound, bodies in Text and HTML, attachments loaded', async () => {
  const svc = alice();
  const found = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(12));
  const ids = found.Items.map((i) => i.Id);
  const deletedId = ids[11]!;
  await (await ews.Item.Bind(svc, deletedId)).Delete(ews.DeleteMode.HardDelete);
  const properties = new ews.PropertySet(ews.BasePropertySet.FirstClassProperties);
  properties.RequestedBodyType = ews.BodyType.Text;
  const responses = await svc.BindToItems(ids, properties);
  assert.equal(responses.Count, 12);
  const results = responses.Responses.map((r) => r.Result);
  assert.equal(results.filter((r) => r === ews.ServiceResult.Success).length, 11);
  assert.equal(responses.Responses[11]!.ErrorCode, ews.ServiceError.ErrorItemNotFound);
  const html = responses.Responses.map((r) => r.Item).find((i) => i?.Subject === 'Order 101')!;
  assert.equal(html.Body.BodyType, ews.BodyType.Text);
  assert.equal(html.Body.Text, 'Order 101 & details');
  assert.equal((html as ews.EmailMessage).From.Address, 'dan@example.net');
  assert.equal(html.HasAttachments, true);
  const attachment = html.Attachments._getItem(0) as ews.FileAttachment;
  assert.equal(attachment.Name, 'invoice.txt');
  await attachment.Load();
  assert.equal(Buffer.from(attachment.Base64Content, 'base64').toString(), 'invoice 101');
});

test('CreateItem: SendAndSaveCopy delivers to the recipient Inbox and keeps a copy in Sent Items; SaveOnly makes a draft', async () => {
  const message = new ews.EmailMessage(alice());
  message.Subject = 'Shipment update';
  message.Body = new ews.MessageBody(ews.BodyType.HTML, '<p>On its way</p>');
  message.ToRecipients.Add('bob@contoso.com');
  message.CcRecipients.Add('someone@example.org');
  await message.SendAndSaveCopy();
  const bob = service('bob@contoso.com', PASSWORDS.bob);
  const bobInbox = await bob.FindItems(ews.WellKnownFolderName.Inbox, new ews.SearchFilter.IsEqualTo(ews.ItemSchema.Subject, 'Shipment update'), new ews.ItemView(10));
  assert.equal(bobInbox.TotalCount, 1);
  const received = (await ews.EmailMessage.Bind(bob, bobInbox.Items[0]!.Id)) as ews.EmailMessage;
  assert.equal(received.From.Address, 'alice@contoso.com');
  assert.equal(received.IsRead, false);
  const sent = await alice().FindItems(ews.WellKnownFolderName.SentItems, new ews.ItemView(10));
  assert.ok(sent.Items.some((i) => i.Subject === 'Shipment update'));

  const draft = new ews.EmailMessage(alice());
  draft.Subject = 'Draft only';
  draft.ToRecipients.Add('carol@contoso.com');
  await draft.Save(ews.WellKnownFolderName.Drafts);
  assert.ok(draft.Id.UniqueId);
  const carol = service('carol@contoso.com', PASSWORDS.carol);
  const carolInbox = await carol.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(10));
  assert.equal(carolInbox.TotalCount, 0);
});

test('CreateItem: calendar item, contact and task', async () => {
  const svc = alice();
  const appointment = new ews.Appointment(svc);
  appointment.Subject = 'Quarterly review';
  appointment.Start = new ews.DateTime('2025-04-01T09:00:00Z');
  appointment.End = new ews.DateTime('2025-04-01T10:00:00Z');
  appointment.Location = 'Board room';
  await appointment.Save(ews.SendInvitationsMode.SendToNone);
  const loaded = await ews.Appointment.Bind(svc, appointment.Id);
  assert.equal(loaded.Location, 'Board room');
  assert.equal(loaded.Start.ToISOString(), '2025-04-01T09:00:00.000Z');

  const contact = new ews.Contact(svc);
  contact.GivenName = 'Grace';
  contact.Surname = 'Hopper';
  contact.EmailAddresses._setItem(ews.EmailAddressKey.EmailAddress1, new ews.EmailAddress('grace@example.org'));
  await contact.Save(ews.WellKnownFolderName.Contacts);
  const loadedContact = await ews.Contact.Bind(svc, contact.Id);
  assert.equal(loadedContact.DisplayName, 'Grace Hopper');
  assert.equal(loadedContact.EmailAddresses._getItem(ews.EmailAddressKey.EmailAddress1).Address, 'grace@example.org');

  const task = new ews.Task(svc);
  task.Subject = 'Renew contract';
  task.DueDate = new ews.DateTime('2025-05-01T00:00:00Z');
  await task.Save(ews.WellKnownFolderName.Tasks);
  const loadedTask = await ews.Task.Bind(svc, task.Id);
  assert.equal(loadedTask.Status, ews.TaskStatus.NotStarted);
});

test('UpdateItem: IsRead, Categories and Subject change the ChangeKey; NeverOverwrite with a stale key conflicts', async () => {
  const svc = alice();
  const found = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.SearchFilter.IsEqualTo(ews.ItemSchema.Subject, 'Order 105'), new ews.ItemView(1));
  const message = (await ews.EmailMessage.Bind(svc, found.Items[0]!.Id)) as ews.EmailMessage;
  const oldKey = message.Id.ChangeKey;
  message.IsRead = true;
  message.Subject = 'Order 105 (handled)';
  message.Categories.Add('Handled');
  await message.Update(ews.ConflictResolutionMode.AutoResolve);
  const reloaded = (await ews.EmailMessage.Bind(svc, found.Items[0]!.Id)) as ews.EmailMessage;
  assert.equal(reloaded.Subject, 'Order 105 (handled)');
  assert.equal(reloaded.IsRead, true);
  assert.deepEqual(reloaded.Categories.GetEnumerator(), ['Handled']);
  assert.notEqual(reloaded.Id.ChangeKey, oldKey);

  const stale = (await ews.EmailMessage.Bind(svc, found.Items[0]!.Id)) as ews.EmailMessage;
  stale.Id.ChangeKey = oldKey;
  stale.Subject = 'lost update';
  await assert.rejects(stale.Update(ews.ConflictResolutionMode.NeverOverwrite), (error: ews.ServiceResponseException) => error.ErrorCode === ews.ServiceError.ErrorIrresolvableConflict);
});

test('DeleteItem and MoveItem: items move to Deleted Items with new ids; hard delete removes them', async () => {
  const svc = alice();
  const found = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.SearchFilter.IsEqualTo(ews.ItemSchema.Subject, 'Order 104'), new ews.ItemView(1));
  const item = found.Items[0]!;
  await item.Delete(ews.DeleteMode.MoveToDeletedItems);
  const deleted = await svc.FindItems(ews.WellKnownFolderName.DeletedItems, new ews.SearchFilter.IsEqualTo(ews.ItemSchema.Subject, 'Order 104'), new ews.ItemView(1));
  assert.equal(deleted.TotalCount, 1);
  assert.notEqual(deleted.Items[0]!.Id.UniqueId, item.Id.UniqueId);
  const moved = await deleted.Items[0]!.Move(ews.WellKnownFolderName.Inbox);
  assert.ok(moved);
  const back = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.SearchFilter.IsEqualTo(ews.ItemSchema.Subject, 'Order 104'), new ews.ItemView(1));
  assert.equal(back.TotalCount, 1);
  await back.Items[0]!.Delete(ews.DeleteMode.HardDelete);
  await assert.rejects(ews.Item.Bind(svc, back.Items[0]!.Id), (error: ews.ServiceResponseException) => error.ErrorCode === ews.ServiceError.ErrorItemNotFound);
});

test('ResolveNames and ConvertId', async () => {
  const svc = alice();
  const resolved = await svc.ResolveName('bob', ews.ResolveNameSearchLocation.DirectoryOnly, true);
  assert.equal(resolved.Count, 1);
  assert.equal(resolved._getItem(0).Mailbox.Address, 'bob@contoso.com');
  const fromContacts = await svc.ResolveName('Dan', ews.ResolveNameSearchLocation.ContactsOnly, false);
  assert.equal(fromContacts._getItem(0).Mailbox.Address, 'dan@example.net');

  const found = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(1));
  const id = found.Items[0]!.Id.UniqueId;
  const hex = (await svc.ConvertId(new ews.AlternateId(ews.IdFormat.EwsId, id, 'alice@contoso.com'), ews.IdFormat.HexEntryId)) as ews.AlternateId;
  assert.match(hex.UniqueId, /^[0-9A-F]+$/);
  const back = (await svc.ConvertId(new ews.AlternateId(ews.IdFormat.HexEntryId, hex.UniqueId, 'alice@contoso.com'), ews.IdFormat.EwsId)) as ews.AlternateId;
  assert.equal(back.UniqueId, id);
});

test('Pull subscription: events with watermarks, then Unsubscribe makes the subscription unknown', async () => {
  const svc = alice();
  const subscription = await svc.SubscribeToPullNotifications([new ews.FolderId(ews.WellKnownFolderName.Inbox)], 5, null as unknown as string, ews.EventType.NewMail, ews.EventType.Created);
  sim.store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }], subject: 'Pull me' });
  const events = await subscription.GetEvents();
  const types = events.ItemEvents.map((e) => e.EventType);
  assert.deepEqual(types, [ews.EventType.NewMail, ews.EventType.Created]);
  const again = await subscription.GetEvents();
  assert.equal(again.ItemEvents.length, 0);
  await subscription.Unsubscribe();
  await assert.rejects(subscription.GetEvents(), (error: ews.ServiceResponseException) => error.ErrorCode === ews.ServiceError.ErrorSubscriptionNotFound);
});

test('SyncFolderHierarchy reports created folders; SyncFolderItems pages through a folder changing between pages', async () => {
  const svc = alice();
  const hierarchy = await svc.SyncFolderHierarchy(new ews.FolderId(ews.WellKnownFolderName.MsgFolderRoot), ews.PropertySet.FirstClassProperties, null as unknown as string);
  assert.ok(hierarchy.Count >= 10);
  const folder = new ews.Folder(svc);
  folder.DisplayName = 'Customers';
  await folder.Save(ews.WellKnownFolderName.Inbox);
  const delta = await svc.SyncFolderHierarchy(new ews.FolderId(ews.WellKnownFolderName.MsgFolderRoot), ews.PropertySet.FirstClassProperties, hierarchy.SyncState);
  assert.equal(delta.Count, 1);
  assert.equal(delta._getItem(0).ChangeType, ews.ChangeType.Create);
  assert.equal(delta._getItem(0).Folder.DisplayName, 'Customers');

  const target = await svc.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(100));
  const expected = new Set(target.Items.map((i) => i.Id.UniqueId));
  const seen = new Map<string, ews.ChangeType>();
  const mirror = new Set<string>();
  let state: string | null = null;
  let pages = 0;
  let changed = false;
  let deletedMidSync = '';
  for (;;) {
    const page: ews.ChangeCollection<ews.ItemChange> = await svc.SyncFolderItems(new ews.FolderId(ews.WellKnownFolderName.Inbox), ews.PropertySet.IdOnly, null as unknown as ews.ItemId[], 4, ews.SyncFolderItemsScope.NormalItems, state as unknown as string);
    pages++;
    for (const change of page.GetEnumerator()) {
      seen.set(change.ItemId.UniqueId, change.ChangeType);
      // What a client mirroring the folder would hold.
      if (change.ChangeType === ews.ChangeType.Delete) mirror.delete(change.ItemId.UniqueId);
      else mirror.add(change.ItemId.UniqueId);
    }
    state = page.SyncState;
    if (!changed) {
      // Between pages: new mail arrives and an item already reported is deleted.
      changed = true;
      const [delivered] = sim.store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }], subject: 'Arrived mid-sync' });
      expected.add(delivered!.id);
      const firstReported = page._getItem(0).ItemId.UniqueId;
      sim.store.deleteItem(firstReported, 'HardDelete');
      deletedMidSync = firstReported;
      expected.delete(firstReported);
    }
    if (!page.MoreChangesAvailable) break;
  }
  assert.ok(pages >= 3);
  const deleted = [...seen].filter(([, type]) => type === ews.ChangeType.Delete).map(([id]) => id);
  // Earlier tests deleted items too: each delete of an item reported on an earlier page comes as Delete.
  assert.ok(deleted.includes(deletedMidSync));
  const arrived = [...expected].find((id) => sim.store.getItem(id)?.subject === 'Arrived mid-sync')!;
  assert.equal(seen.get(arrived), ews.ChangeType.Create);
  assert.deepEqual(mirror, expected);
  const done = await svc.SyncFolderItems(new ews.FolderId(ews.WellKnownFolderName.Inbox), ews.PropertySet.IdOnly, null as unknown as ews.ItemId[], 512, ews.SyncFolderItemsScope.NormalItems, state as unknown as string);
  assert.equal(done.Count, 0);
  assert.equal(done.MoreChangesAvailable, false);
});
