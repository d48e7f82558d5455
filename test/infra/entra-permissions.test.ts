/**
 * The connector app registration (infra/entra/connector-app-permissions.json) asks for what the
 * EWS and Microsoft Graph back ends use, app-only and delegated, and nothing else; the
 * deployment guide names each one. Permission ids are Microsoft's published ids (Graph
 * permissions reference); a wrong id silently asks customers to consent to something else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../dev/project-paths';

const EXCHANGE = '00000002-0000-0ff1-ce00-000000000000';
const GRAPH = '00000003-0000-0000-c000-000000000000';

const EXPECTED: ReadonlyArray<{ api: string; name: string; type: 'Role' | 'Scope'; id: string }> = [
  { api: EXCHANGE, name: 'full_access_as_app', type: 'Role', id: 'dc890d15-9560-4a4c-9b7f-a736ec74ec40' },
  { api: EXCHANGE, name: 'EWS.AccessAsUser.All', type: 'Scope', id: '3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5' },
  { api: GRAPH, name: 'Mail.ReadWrite', type: 'Role', id: 'e2a3a72e-5f79-4c64-b1b1-878b674786c9' },
  { api: GRAPH, name: 'Mail.Send', type: 'Role', id: 'b633e1c5-b582-4048-a93e-9f11b44c7e96' },
  { api: GRAPH, name: 'Calendars.ReadWrite', type: 'Role', id: 'ef54d2bf-783f-4e0f-bca1-3210c0444d99' },
  { api: GRAPH, name: 'Contacts.ReadWrite', type: 'Role', id: '6918b873-d17a-4dc1-b314-35f528134491' },
  { api: GRAPH, name: 'Tasks.ReadWrite.All', type: 'Role', id: '44e666d1-d276-445b-a5fc-8815eeb81d55' },
  { api: GRAPH, name: 'Mail.ReadWrite', type: 'Scope', id: '024d486e-b451-40bb-833d-3e66d98c5c73' },
  { api: GRAPH, name: 'Mail.Send', type: 'Scope', id: 'e383f46e-2787-4529-855e-0e479a3ffac0' },
  { api: GRAPH, name: 'Calendars.ReadWrite', type: 'Scope', id: '1ec239c2-d7c9-4623-a91a-a9775856bb36' },
  { api: GRAPH, name: 'Contacts.ReadWrite', type: 'Scope', id: 'd56682ec-c09e-4743-aaf4-1a3aac4caa21' },
  { api: GRAPH, name: 'Tasks.ReadWrite', type: 'Scope', id: '2219042f-cab5-40cc-b0d2-16b1540b4c5f' },
  { api: GRAPH, name: 'offline_access', type: 'Scope', id: '7427e0e9-2fba-42fe-b0c0-848c9e6a8182' },
  { api: GRAPH, name: 'User.Read', type: 'Scope', id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d' },
];

interface RequiredResourceAccess {
  readonly resourceAppId: string;
  readonly resourceAccess: ReadonlyArray<{ readonly id: string; readonly type: string }>;
}

test('the connector app asks for exactly the EWS and Graph permissions the back ends use', () => {
  const file = JSON.parse(readFileSync(join(projectRoot(), 'infra', 'entra', 'connector-app-permissions.json'), 'utf8')) as RequiredResourceAccess[];
  const actual = file.flatMap((r) => r.resourceAccess.map((a) => `${r.resourceAppId} ${a.type} ${a.id}`)).sort();
  const expected = EXPECTED.map((e) => `${e.api} ${e.type} ${e.id}`).sort();
  assert.deepEqual(actual, expected);
  assert.equal(new Set(file.map((r) => r.resourceAppId)).size, file.length, 'one entry per API');
});

test('docs/deployment.md names every permission with its id and kind', () => {
  const docs = readFileSync(join(projectRoot(), 'docs', 'deployment.md'), 'utf8');
  for (const e of EXPECTED) {
    const row = docs.split('\n').find((line) => line.includes(e.id));
    assert.ok(row, `${e.name} (${e.id}) is not in docs/deployment.md`);
    assert.ok(row.includes(e.name), `the line with ${e.id} does not name ${e.name}`);
    assert.ok(row.includes(e.type === 'Role' ? 'Application' : 'Delegated'), `the line with ${e.id} does not say ${e.type === 'Role' ? 'Application' : 'Delegated'}`);
  }
});
