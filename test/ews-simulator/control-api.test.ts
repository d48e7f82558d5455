/**
 * The simulator's JSON control API: message bodies survive creation and delivery (only attachment
 * content is base64), inputs are validated into 400 problems naming each field at fault, address
 * strings and plain-string bodies are accepted, unknown routes are 404, and no input crashes it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { SeededRandom } from '../../dev/ews-simulator/seed';
import { PASSWORDS, seedSmallOrganisation } from './fixture';
import { basicAuth, extract, soapCall } from './soap-client';

let sim: EwsSimulator;
const bob = basicAuth('bob@contoso.com', PASSWORDS.bob);
const carol = basicAuth('carol@contoso.com', PASSWORDS.carol);

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});

after(async () => {
  await sim.close();
});

interface ControlAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly json: unknown;
}

async function control(method: string, path: string, body?: unknown, rawBody?: string): Promise<ControlAnswer> {
  const response = await fetch(`${sim.controlUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    json = text;
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', json };
}

interface Problem {
  readonly status: number;
  readonly title: string;
  readonly errors?: { pointer: string; detail: string }[];
}

function pointers(answer: ControlAnswer): string[] {
  return ((answer.json as Problem).errors ?? []).map((e) => e.pointer).sort();
}

/** GetItem over EWS with the body as Text or HTML; returns the Body element's type and text. */
async function bodyOverEws(authorization: string, itemId: string, bodyType: 'Text' | 'HTML' | 'Best' = 'Best'): Promise<{ type: string | undefined; content: string | undefined; code: string | undefined }> {
  const result = await soapCall(
    sim.url,
    `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape><t:BodyType>${bodyType}</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="${itemId}"/></m:ItemIds></m:GetItem>`,
    { authorization },
  );
  return {
    code: extract(result.body, /<m:ResponseCode>([^<]+)</) ?? extract(result.body, /<faultcode[^>]*>([^<]+)</),
    type: extract(result.body, /<t:Body BodyType="([^"]+)"/),
    content: extract(result.body, /<t:Body [^>]*>([^<]*)<\/t:Body>/),
  };
}

test('deliver: a Text body given as {bodyType, content} (or {type, content}) reaches GetItem intact', async () => {
  const delivered = await control('POST', '/deliver', {
    from: { name: 'Dan Customer', address: 'dan@example.net' },
    toRecipients: [{ address: 'bob@contoso.com' }],
    subject: 'Pickup',
    body: { bodyType: 'Text', content: 'Please dispatch.' },
  });
  assert.equal(delivered.status, 201, JSON.stringify(delivered.json));
  const [copy] = delivered.json as { id: string; body: { type: string; content: string } }[];
  assert.deepEqual(copy!.body, { type: 'Text', content: 'Please dispatch.' });
  assert.deepEqual(await bodyOverEws(bob, copy!.id), { code: 'NoError', type: 'Text', content: 'Please dispatch.' });

  const typed = await control('POST', '/deliver', { from: 'dan@example.net', toRecipients: ['bob@contoso.com'], body: { type: 'Text', content: 'Second note.' } });
  assert.equal(typed.status, 201, JSON.stringify(typed.json));
  assert.equal((await bodyOverEws(bob, (typed.json as { id: string }[])[0]!.id)).content, 'Second note.');
});

test('create item: an HTML body is kept as HTML, converted to Text on request; attachment content stays base64-decoded bytes', async () => {
  const created = await control('POST', '/mailboxes/carol@contoso.com/items', {
    folder: 'inbox',
    item: {
      kind: 'message',
      subject: 'Rates',
      from: 'Dan Customer <dan@example.net>',
      body: { type: 'HTML', content: '<html><body><p>New <b>rates</b> attached</p></body></html>' },
      attachments: [{ name: 'rates.csv', contentType: 'text/csv', content: Buffer.from('a,b\n1,2\n').toString('base64') }],
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const item = created.json as { id: string; from: { name?: string; address: string }; attachments: { size: number }[] };
  assert.deepEqual(item.from, { name: 'Dan Customer', address: 'dan@example.net' });
  assert.equal(item.attachments[0]!.size, 8);
  const html = await bodyOverEws(carol, item.id, 'HTML');
  assert.equal(html.type, 'HTML');
  assert.match(html.content ?? '', /New &lt;b&gt;rates&lt;\/b&gt; attached/);
  const text = await bodyOverEws(carol, item.id, 'Text');
  assert.equal(text.type, 'Text');
  assert.match(text.content ?? '', /New rates attached/);
});

test('lenient shapes: address strings everywhere an EmailAddress goes, a plain-string body is Text', async () => {
  const delivered = await control('POST', '/deliver', {
    from: 'dan@example.net',
    toRecipients: ['bob@contoso.com', 'Carol Chen <carol@contoso.com>'],
    ccRecipients: 'alice@contoso.com',
    subject: 'Plain',
    body: 'Just text.',
  });
  assert.equal(delivered.status, 201, JSON.stringify(delivered.json));
  const copies = delivered.json as { id: string; mailbox: string; from: { address: string }; toRecipients: { name?: string; address: string }[] }[];
  assert.deepEqual(copies.map((c) => c.mailbox).sort(), ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com']);
  assert.deepEqual(copies[0]!.from, { address: 'dan@example.net' });
  assert.deepEqual(copies[0]!.toRecipients, [{ address: 'bob@contoso.com' }, { name: 'Carol Chen', address: 'carol@contoso.com' }]);
  const bobsCopy = copies.find((c) => c.mailbox === 'bob@contoso.com')!;
  assert.deepEqual(await bodyOverEws(bob, bobsCopy.id), { code: 'NoError', type: 'Text', content: 'Just text.' });

  const patched = await control('PATCH', `/items/${encodeURIComponent(bobsCopy.id)}`, { body: '<p>now html?</p>', toRecipients: 'bob@contoso.com' });
  assert.equal(patched.status, 200, JSON.stringify(patched.json));
  assert.deepEqual((patched.json as { body: unknown }).body, { type: 'Text', content: '<p>now html?</p>' });
});

test('wrong shapes answer 400 problems naming every field at fault, never 500', async () => {
  const missingFrom = await control('POST', '/deliver', { toRecipients: [{ address: 'bob@contoso.com' }], subject: 'x' });
  assert.equal(missingFrom.status, 400);
  assert.match(missingFrom.contentType, /application\/problem\+json/);
  assert.deepEqual(pointers(missingFrom), ['/from']);

  const several = await control('POST', '/deliver', { from: 42, toRecipients: [{ name: 'No address' }], receivedAt: 'yesterday', body: { type: 'Markdown', content: 'x' } });
  assert.equal(several.status, 400);
  assert.deepEqual(pointers(several), ['/body/type', '/from', '/receivedAt', '/toRecipients/0/address']);
  assert.equal((several.json as Problem).status, 400);

  const badItem = await control('POST', '/mailboxes/carol@contoso.com/items', { folder: 'inbox', item: { kind: 'calendarItem', subject: 'No times' } });
  assert.equal(badItem.status, 400);
  assert.deepEqual(pointers(badItem), ['/item/end', '/item/start']);

  const badKind = await control('POST', '/mailboxes/carol@contoso.com/items', { item: { kind: 'fax' } });
  assert.equal(badKind.status, 400);
  assert.deepEqual(pointers(badKind), ['/item/kind']);

  const badAttachment = await control('POST', '/mailboxes/carol@contoso.com/items', { item: { kind: 'message', attachments: [{ name: 'a', contentType: 'text/plain', content: 'not base64!!' }] } });
  assert.equal(badAttachment.status, 400);
  assert.deepEqual(pointers(badAttachment), ['/item/attachments/0/content']);

  const badFault = await control('POST', '/faults', { kind: 'meteorStrike', probability: 2 });
  assert.equal(badFault.status, 400);
  assert.deepEqual(pointers(badFault), ['/kind', '/probability']);

  const badMailbox = await control('POST', '/mailboxes', { smtpAddress: 'no-at-sign', displayName: 7 });
  assert.equal(badMailbox.status, 400);
  assert.deepEqual(pointers(badMailbox), ['/displayName', '/smtpAddress']);

  const badPatch = await control('PATCH', '/mailboxes/bob@contoso.com', { enabled: 'nope', passwordExpired: 1 });
  assert.equal(badPatch.status, 400);
  assert.deepEqual(pointers(badPatch), ['/enabled', '/passwordExpired']);

  const notJson = await control('POST', '/deliver', undefined, '{"from":');
  assert.equal(notJson.status, 400);
  const array = await control('POST', '/deliver', undefined, '[1,2]');
  assert.equal(array.status, 400);
  const prototypeKey = await control('POST', '/deliver', undefined, '{"from":"dan@example.net","__proto__":{"polluted":true},"toRecipients":["bob@contoso.com"]}');
  assert.equal(prototypeKey.status, 400);
  assert.deepEqual(pointers(prototypeKey), ['/__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);

  const badMode = await control('DELETE', '/items/whatever?mode=Shred');
  assert.equal(badMode.status, 400);
  const badLimit = await control('GET', '/requests?limit=lots');
  assert.equal(badLimit.status, 400);
});

test('unknown routes and unknown things are 404; duplicates 409', async () => {
  assert.equal((await control('GET', '/nope')).status, 404);
  assert.equal((await control('POST', '/mailboxes/bob@contoso.com/frobnicate', {})).status, 404);
  assert.equal((await control('PUT', '/mailboxes', {})).status, 404);
  assert.equal((await control('GET', '/mailboxes/nobody@contoso.com')).status, 404);
  assert.equal((await control('PATCH', '/mailboxes/nobody@contoso.com', { enabled: false })).status, 404);
  assert.equal((await control('POST', '/mailboxes/nobody@contoso.com/items', { item: { kind: 'message' } })).status, 404);
  assert.equal((await control('GET', '/items/AAAA')).status, 404);
  assert.equal((await control('PATCH', '/items/AAAA', { subject: 'x' })).status, 404);
  assert.equal((await control('PATCH', '/organisations/nope', { ewsEnabled: false })).status, 404);
  assert.equal((await control('PATCH', '/service-accounts/nobody@contoso.com', { enabled: false })).status, 404);
  assert.equal((await control('GET', '/mailboxes/bob@contoso.com/folders/nofolder')).status, 404);
  assert.equal((await control('GET', '/%E0%A4%A')).status, 404);
  const duplicate = await control('POST', '/mailboxes', { smtpAddress: 'bob@contoso.com', displayName: 'Bob again' });
  assert.equal(duplicate.status, 409);
});

/** Values a careless or hostile client might send. */
function randomJson(random: SeededRandom, depth = 0): unknown {
  const pick = random.int(0, depth > 2 ? 6 : 9);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random.int(-5, 5) * (random.next() < 0.5 ? 1e12 : 1);
    case 2:
      return random.next() < 0.5;
    case 3:
      return random.pick(['', 'x', 'bob@contoso.com', '2025-03-01T00:00:00Z', 'not-a-date', 'inbox', 'HardDelete', '\u0000\uFFFF', 'a'.repeat(5000), '__proto__', 'AAAA']);
    case 4:
      return random.pick(['message', 'calendarItem', 'contact', 'task', 'serverBusy', 'all', 'list', 'filter']);
    case 5:
      return Number.NaN;
    case 6:
      return random.pick([[], {}, 'Text', 'HTML']);
    case 7:
    case 8: {
      const keys = ['from', 'toRecipients', 'body', 'subject', 'kind', 'item', 'folder', 'content', 'attachments', 'start', 'end', 'scope', 'principal', 'mailboxes', 'smtpAddress', 'displayName', 'address', 'type', 'domains', 'id', 'name', 'receivedAt', 'probability', 'count', 'isRead', 'authentication', '__proto__', 'constructor'];
      const out: Record<string, unknown> = {};
      const count = random.int(0, 6);
      for (let i = 0; i < count; i++) out[random.pick(keys)] = randomJson(random, depth + 1);
      return out;
    }
    default: {
      const length = random.int(0, 4);
      return Array.from({ length }, () => randomJson(random, depth + 1));
    }
  }
}

test('fuzz: 1,500 random JSON bodies across every control route never produce a 5xx', async () => {
  const random = new SeededRandom('control-fuzz');
  const routes: [string, string][] = [
    ['POST', '/organisations'],
    ['PATCH', '/organisations/contoso'],
    ['POST', '/mailboxes'],
    ['PATCH', '/mailboxes/carol@contoso.com'],
    ['POST', '/mailboxes/carol@contoso.com/folders'],
    ['POST', '/mailboxes/carol@contoso.com/items'],
    ['POST', '/deliver'],
    ['POST', '/service-accounts'],
    ['PATCH', '/service-accounts/svc@contoso.com'],
    ['POST', '/impersonation-rights'],
    ['POST', '/application-access-policies'],
    ['POST', '/faults'],
  ];
  const items = (await control('GET', '/mailboxes/carol@contoso.com/folders/inbox?limit=3')).json as { items: { id: string }[] };
  const itemId = items.items[0]!.id;
  routes.push(['PATCH', `/items/${encodeURIComponent(itemId)}`], ['POST', `/items/${encodeURIComponent(itemId)}/move`]);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  for (let i = 0; i < 1500; i++) {
    const [method, path] = random.pick(routes);
    const body = random.next() < 0.9 ? randomJson(random) : { item: randomJson(random), folder: randomJson(random) };
    const answer = await control(method, path, body);
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    if (answer.status >= 500 || answer.status < 200) failures.push(`${method} ${path} ${JSON.stringify(body).slice(0, 200)} -> ${answer.status} ${JSON.stringify(answer.json).slice(0, 200)}`);
  }
  // Fault rules the fuzzer managed to create must not leak into other tests.
  sim.faults.clear();
  assert.deepEqual(failures.slice(0, 5), []);
  // The fuzzer reaches both the validation and the store (some inputs are accepted).
  assert.ok((statuses.get(400) ?? 0) > 100, JSON.stringify([...statuses]));
  assert.ok([...statuses].some(([status, count]) => status < 300 && count > 10), JSON.stringify([...statuses]));
  // After all that, the simulator still serves EWS.
  assert.equal((await bodyOverEws(bob, 'AAAA')).code, 'ErrorInvalidIdMalformed');
});
