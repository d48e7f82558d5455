/**
 * The Graph simulator's directory reads as Graph answers them: GET /users with $filter
 * (startswith / eq, or / and) and $search (only with ConsistencyLevel: eventual), paging by
 * nextLink, the directory permission; GET /users/{id}/people ranked by correspondence. As an
 * attacker: an unescaped quote in a $filter literal changes or breaks the query (what the
 * connector must escape), another organisation's users never appear.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphCall, startGraphFixture, type GraphFixture } from './fixture';

let f: GraphFixture;
let token: string;

before(async () => {
  f = await startGraphFixture();
  token = f.appToken(['User.Read.All', 'People.Read.All']);
  f.graph.store.updateMailbox('bob@contoso.com', { attributes: { department: 'Operations', jobTitle: 'Operations Lead', businessPhone: '+1 425 555 0102', mobilePhone: '+1 425 555 0192' } });
});
after(async () => {
  await f?.close();
});

type Users = { value: { displayName: string; mail: string; businessPhones: string[]; mobilePhone: string | null; jobTitle: string | null; department?: string | null }[]; '@odata.nextLink'?: string; '@odata.count'?: number };
const names = (body: Users) => body.value.map((u) => u.displayName);

describe('Graph simulator: GET /users', () => {
  it('$filter startswith and eq, joined by or / and, case-insensitive; only the caller organisation', async () => {
    const starts = await graphCall<Users>(f.graph, token, "/users?$filter=startswith(displayName,'c')");
    assert.equal(starts.status, 200);
    assert.deepEqual(names(starts.body), ['Carol Chen', 'Contoso Dispatch']);
    const either = await graphCall<Users>(f.graph, token, "/users?$filter=mail eq 'BOB@contoso.com' or startswith(givenName,'ali')");
    assert.deepEqual(names(either.body), ['Alice Anders', 'Bob Berg']);
    const both = await graphCall<Users>(f.graph, token, "/users?$filter=startswith(displayName,'c') and startswith(mail,'carol')");
    assert.deepEqual(names(both.body), ['Carol Chen']);
    const all = await graphCall<Users>(f.graph, token, '/users');
    assert.ok(!names(all.body).includes('Frank Fabrikam'), 'another organisation is not in the directory');
    const bob = all.body.value.find((u) => u.mail === 'bob@contoso.com')!;
    assert.deepEqual([bob.jobTitle, bob.businessPhones, bob.mobilePhone, bob.department], ['Operations Lead', ['+1 425 555 0102'], '+1 425 555 0192', undefined], 'department only with $select');
    const selected = await graphCall<Users>(f.graph, token, "/users?$filter=mail eq 'bob@contoso.com'&$select=displayName,department");
    assert.deepEqual(selected.body.value, [{ id: (selected.body.value[0] as unknown as { id: string }).id, displayName: 'Bob Berg', department: 'Operations' }]);
  });

  it('$search needs ConsistencyLevel: eventual, then matches words by prefix, with $count', async () => {
    const refused = await graphCall<{ error: { code: string; message: string } }>(f.graph, token, '/users?$search="displayName:chen"');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'Request_UnsupportedQuery');
    assert.match(refused.body.error.message, /ConsistencyLevel: eventual/);
    const found = await graphCall<Users>(f.graph, token, '/users?$search="displayName:chen" OR "mail:bob"&$count=true', { headers: { consistencylevel: 'eventual' } });
    assert.equal(found.status, 200);
    assert.deepEqual(names(found.body), ['Bob Berg', 'Carol Chen']);
    assert.equal(found.body['@odata.count'], 2);
    const noProperty = await graphCall<{ error: { code: string } }>(f.graph, token, '/users?$search="chen"', { headers: { consistencylevel: 'eventual' } });
    assert.equal(noProperty.status, 400);
  });

  it('pages with $top and @odata.nextLink', async () => {
    const first = await graphCall<Users>(f.graph, token, '/users?$top=3');
    assert.equal(first.body.value.length, 3);
    assert.ok(first.body['@odata.nextLink']);
    const second = await graphCall<Users>(f.graph, token, first.body['@odata.nextLink']!);
    assert.equal(second.body.value.length, 1);
    assert.equal(second.body['@odata.nextLink'], undefined);
    assert.equal((await graphCall(f.graph, token, '/users?$top=0')).status, 400);
  });

  it('without a directory permission: 403 Authorization_RequestDenied', async () => {
    const response = await graphCall<{ error: { code: string } }>(f.graph, f.appToken(['Mail.Read']), '/users');
    assert.equal(response.status, 403);
    assert.equal(response.body.error.code, 'Authorization_RequestDenied');
  });

  it('attacker: an unescaped quote in a literal widens or breaks the filter; doubled quotes keep it a literal', async () => {
    const typed = "zzz') or startswith(displayName,'A";
    const injected = await graphCall<Users>(f.graph, token, `/users?$filter=${encodeURIComponent(`startswith(displayName,'${typed}')`)}`);
    assert.deepEqual(names(injected.body), ['Alice Anders'], 'an unescaped literal lets the text add its own clause');
    const escaped = await graphCall<Users>(f.graph, token, `/users?$filter=${encodeURIComponent(`startswith(displayName,'${typed.replaceAll("'", "''")}')`)}`);
    assert.equal(escaped.status, 200);
    assert.deepEqual(names(escaped.body), []);
    const broken = await graphCall<{ error: { code: string } }>(f.graph, token, `/users?$filter=${encodeURIComponent("startswith(displayName,'O'Brien')")}`);
    assert.equal(broken.status, 400);
  });
});

describe('Graph simulator: GET /users/{id}/people', () => {
  it('ranks correspondents first, includes colleagues with phones, filters by $search', async () => {
    const people = await graphCall<{ value: { displayName: string; scoredEmailAddresses: { address: string }[]; phones: { type: string; number: string }[]; personType: { subclass: string } }[] }>(f.graph, token, '/users/alice@contoso.com/people');
    assert.equal(people.status, 200);
    assert.equal(people.body.value[0]?.scoredEmailAddresses[0]?.address, 'dan@example.net', 'the most frequent correspondent first');
    assert.equal(people.body.value[0]?.personType.subclass, 'PersonalContact', 'Dan is also in her Contacts');
    const bob = await graphCall<{ value: { displayName: string; phones: { type: string; number: string }[]; personType: { subclass: string } }[] }>(f.graph, token, '/users/alice@contoso.com/people?$search="bob"');
    assert.deepEqual(bob.body.value.map((p) => p.displayName), ['Bob Berg']);
    assert.deepEqual(bob.body.value[0]?.phones, [{ type: 'business', number: '+1 425 555 0102' }, { type: 'mobile', number: '+1 425 555 0192' }]);
    assert.equal(bob.body.value[0]?.personType.subclass, 'OrganizationUser');
  });

  it('needs People.Read.All for an app; a delegated user with People.Read reads only their own', async () => {
    assert.equal((await graphCall(f.graph, f.appToken(['User.Read.All']), '/users/alice@contoso.com/people')).status, 403);
    const own = f.userToken('alice@contoso.com', 'People.Read');
    assert.equal((await graphCall(f.graph, own, '/me/people')).status, 200);
    assert.equal((await graphCall(f.graph, own, '/users/bob@contoso.com/people')).status, 403);
  });
});
