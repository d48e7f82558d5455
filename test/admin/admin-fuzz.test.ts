import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seededRandom as prng } from '../../dev/ews-simulator/faults';
import { startAdminStack } from './admin-stack';
import type { AdminStack } from './admin-stack';

const SEED = Number(process.env.FUZZ_SEED ?? 20250101);
const REQUESTS = 1200;

const HOSTILE_STRINGS = [
  "' or PartitionKey ne '",
  "x' or RowKey gt ''",
  "$filter=PartitionKey eq 'x'",
  '../../admin/tenants',
  '%2e%2e%2f',
  '%00',
  '\u0000',
  '\u202e\u202dRTL',
  '\u200b\u200c\u200d\ufeff',
  'ＡＢＣ＠ｃｏｎｔｏｓｏ．ｃｏｍ',
  '😀'.repeat(50),
  '\ud800',
  '\udfff\ud800',
  '<script>alert(1)</script>',
  '${7*7}{{7*7}}',
  '\\\\server\\share',
  'a'.repeat(5000),
  'a@b',
  'alice@contoso.com\r\nBcc: evil@example.com',
  "alice'--@contoso.com",
  '',
  ' ',
  'null',
  '__proto__',
];

const HOSTILE_VALUES: unknown[] = [
  null, true, false, 0, -1, 1e308, -1e308, 3.5, 2 ** 53 + 1, [], {}, [[[[]]]], { __proto__: { admin: true } }, { constructor: { prototype: {} } },
  'x'.repeat(300_000), ...HOSTILE_STRINGS,
];

const RAW_BODIES = [
  '{', '}', '[', '{"a":', 'null', '"string"', '42', 'true', '{"displayName": "x",}', "{'displayName': 'x'}", '\u0000{}', '{"displayName":"\\ud800"}',
  '{"__proto__":{"isAdmin":true},"displayName":"x"}', '{"displayName":"x","displayName":"y"}', '[' .repeat(5000) + ']'.repeat(5000),
  '{"a":' .repeat(3000) + '1' + '}'.repeat(3000), Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('latin1'), '{"displayName": 1e99999}',
];

let stack: AdminStack;
let tenantId = '';
let groupId = '';

before(async () => {
  stack = await startAdminStack();
  const tenant = await stack.request('POST', '/api/admin/tenants', { body: { displayName: 'Fuzz target' } });
  tenantId = tenant.body.id;
  const group = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, {
    body: { name: 'G', externalId: 'fuzz', mailboxAccessType: 'impersonation', ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx', impersonation: { serviceAccount: 'svc@contoso.com' } },
  });
  groupId = group.body.id;
  await stack.request('POST', `/api/admin/tenants/${tenantId}/groups/${groupId}/mailboxes`, { body: { smtpAddress: 'alice@contoso.com' } });
});

after(async () => {
  await stack.close();
});

/** Percent-encodes, sending lone surrogates as the invalid UTF-8 bytes a hostile client would. */
function encodeLoosely(value: string): string {
  return value.split(/([\ud800-\udfff])/).map((part) => (/^[\ud800-\udfff]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part))).join('');
}

interface FuzzCase {
  method: string;
  path: string;
  body?: unknown;
  rawBody?: string;
  headers: Record<string, string>;
}

function generator(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const idish = () => pick([...HOSTILE_STRINGS.slice(0, 16), crypto.randomUUID()]);
  const segment = (value: string) => (random() < 0.7 ? encodeLoosely(value) : value.replace(/[/?#\s]/g, '_'));
  // DELETEs aim at hostile or unknown IDs only, so the target tenant and group survive the run.
  const route = (method: string): { path: string; methods: readonly string[] } => {
    const real = method !== 'DELETE';
    const t = segment(real && random() < 0.9 ? tenantId : idish());
    const g = segment(real && random() < 0.9 ? groupId : idish());
    const m = segment(random() < 0.7 ? 'alice@contoso.com' : pick(HOSTILE_STRINGS));
    return pick([
      { path: '/api/admin/tenants', methods: ['GET', 'POST'] },
      { path: `/api/admin/tenants/${t}`, methods: ['GET', 'PATCH', 'DELETE'] },
      { path: `/api/admin/tenants/${t}/audit`, methods: ['GET'] },
      { path: `/api/admin/tenants/${t}/groups`, methods: ['GET', 'POST'] },
      { path: `/api/admin/tenants/${t}/groups/${g}`, methods: ['GET', 'PATCH', 'DELETE'] },
      { path: `/api/admin/tenants/${t}/groups/${g}/credentials`, methods: ['GET', 'PUT'] },
      { path: `/api/admin/tenants/${t}/groups/${g}/mailboxes`, methods: ['GET', 'POST'] },
      { path: `/api/admin/tenants/${t}/groups/${g}/mailbox-imports`, methods: ['POST'] },
      { path: `/api/admin/tenants/${t}/groups/${g}/mailboxes/${m}`, methods: ['GET', 'PATCH', 'DELETE'] },
      { path: `/api/admin/tenants/${t}/groups/${g}/connection-tests`, methods: ['POST'] },
    ]);
  };
  const field = () => pick(['displayName', 'status', 'entraTenantId', 'name', 'externalId', 'mailboxAccessType', 'ewsUrl', 'impersonation', 'appOnly', 'folders', 'pollIntervalMinutes', 'delivery', 'initialSync', 'enabled', 'smtpAddress', 'userId', 'password', 'clientSecret', 'certificate', 'expiresOn', 'mailboxes', 'mode', 'targetMailbox', pick(HOSTILE_STRINGS)]);
  const object = (depth = 0): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const count = Math.floor(random() * 5);
    for (let i = 0; i < count; i++) out[field()] = depth < 2 && random() < 0.2 ? object(depth + 1) : pick(HOSTILE_VALUES);
    return out;
  };
  const query = () =>
    pick([
      '',
      `?limit=${pick(['0', '-1', '201', 'abc', '1e3', '50', ''])}`,
      `?continuationToken=${encodeLoosely(pick([...HOSTILE_STRINGS, Buffer.from('{"nextPartitionKey":1}').toString('base64'), Buffer.from('{"nextPartitionKey":"x","nextRowKey":"y"}').toString('base64')]))}`,
      '?$filter=PartitionKey%20ne%20%27%27',
      `?limit=2&limit=3&unknown=${encodeLoosely(pick(HOSTILE_STRINGS))}`,
    ]);
  return (): FuzzCase => {
    // Mostly a method the route accepts (so requests reach validation), sometimes any method.
    const anyMethod = pick(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']);
    const target = route(anyMethod);
    const method = target.methods.includes(anyMethod) || random() < 0.1 ? anyMethod : pick(target.methods.filter((m) => m !== 'DELETE'));
    const headers: Record<string, string> = {};
    const roll = random();
    if (roll < 0.1) headers['content-type'] = pick(['text/plain', 'application/xml', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', '']);
    else headers['content-type'] = 'application/json';
    if (random() < 0.15) headers['if-match'] = pick(['*', 'W/"garbage"', '"', pick(HOSTILE_STRINGS).replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '')]);
    const base: FuzzCase = { method, path: target.path + (method === 'GET' ? query() : ''), headers };
    const shape = random();
    if (method === 'GET' || method === 'DELETE') return base;
    if (shape < 0.3) return { ...base, rawBody: pick(RAW_BODIES) };
    if (shape < 0.4) return { ...base, body: pick(HOSTILE_VALUES) };
    if (shape < 0.5) return { ...base, body: { mailboxes: Array.from({ length: 1 + Math.floor(random() * 20) }, () => (random() < 0.5 ? object() : { smtpAddress: pick(HOSTILE_STRINGS) })) } };
    return { ...base, body: object() };
  };
}

test(`fuzz: ${REQUESTS} malformed or hostile requests (seed ${SEED}) never produce a 5xx`, async () => {
  const next = generator(prng(SEED));
  const cases = Array.from({ length: REQUESTS }, next);
  const statuses = new Map<number, number>();
  const serverErrors: string[] = [];
  const badProblems: string[] = [];
  let index = 0;
  const worker = async () => {
    while (index < cases.length) {
      const fuzz = cases[index++]!;
      const response = await stack.request(fuzz.method, fuzz.path, { body: fuzz.body, rawBody: fuzz.rawBody, headers: fuzz.headers });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status >= 500) serverErrors.push(`${response.status} ${fuzz.method} ${fuzz.path.slice(0, 120)} ${String(fuzz.rawBody ?? JSON.stringify(fuzz.body)).slice(0, 120)}`);
      // Our handlers answer errors as problem+json; the host's own 404/405 for unknown routes have no body.
      if (response.status >= 400 && response.text && !/problem\+json/.test(response.headers.get('content-type') ?? '')) {
        badProblems.push(`${response.status} ${response.headers.get('content-type')} ${fuzz.method} ${fuzz.path.slice(0, 80)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  assert.deepEqual(serverErrors, [], `5xx answers:\n${serverErrors.join('\n')}`);
  assert.deepEqual(badProblems.slice(0, 5), []);
  const histogram = [...statuses.entries()].sort(([a], [b]) => a - b);
  // The run must have exercised validation, not just bounced off one check.
  for (const expected of [400, 404]) assert.ok(statuses.has(expected), `no ${expected} seen: ${JSON.stringify(histogram)}`);
  assert.ok([...statuses.keys()].some((status) => status < 300), `no success seen: ${JSON.stringify(histogram)}`);
  console.log(`fuzz status histogram: ${JSON.stringify(histogram)}`);

  // No request reached the handlers' catch-all for unexpected failures.
  assert.equal(stack.logs.filter((line) => line.startsWith('error')).length, 0, stack.logs.filter((line) => line.startsWith('error')).slice(0, 3).join('\n'));
});
