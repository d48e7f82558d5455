/**
 * Authentication and impersonation matrix: Basic, NTLM (connection-oriented, via @ewsjs/xhr),
 * Bearer app-only and delegated tokens from the local identity provider; allowed and denied
 * cases with Exchange's answers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XhrApi } from '@ewsjs/xhr';
import * as ews from 'ews-javascript-api';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { demoIdentitySeed, startIdentityProvider, type RunningIdentityProvider } from '../../dev/identity';
import { projectRoot } from '../../dev/project-paths';
import { PASSWORDS, TENANT_ID, seedSmallOrganisation } from './fixture';
import { basicAuth, soapCall } from './soap-client';

const EWS = 'https://outlook.office365.com';
const APP_ID = 'c0ffee00-0000-4000-8000-00000000c0de';
let sim: EwsSimulator;
let idp: RunningIdentityProvider;

before(async () => {
  idp = await startIdentityProvider({ tlsCertificate: await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs')), seed: demoIdentitySeed(), port: 0 });
  sim = await startEwsSimulator({ seed: seedSmallOrganisation, identity: { jwksUri: (tid) => idp.jwksUri(tid) } });
});
after(async () => {
  await sim.close();
  await idp.close();
});

const GET_INBOX = '<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>';

function basicService(user: string, password: string, impersonate?: string): ews.ExchangeService {
  const svc = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
  svc.Credentials = new ews.WebCredentials(user, password);
  svc.Url = new ews.Uri(sim.url);
  if (impersonate) svc.ImpersonatedUserId = new ews.ImpersonatedUserId(ews.ConnectingIdType.SmtpAddress, impersonate);
  return svc;
}

function bearerService(token: string, impersonate?: string): ews.ExchangeService {
  const svc = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
  svc.Credentials = new ews.OAuthCredentials(token);
  svc.Url = new ews.Uri(sim.url);
  if (impersonate) svc.ImpersonatedUserId = new ews.ImpersonatedUserId(ews.ConnectingIdType.SmtpAddress, impersonate);
  return svc;
}

/**
 * ews-javascript-api rejects with a ServiceResponseException (ErrorCode) for response-message
 * errors and with SoapFaultDetails (ResponseCode) for SOAP faults.
 */
function code(expected: ews.ServiceError): (error: unknown) => boolean {
  return (error) => {
    const e = error as { ErrorCode?: ews.ServiceError; ResponseCode?: ews.ServiceError; message?: string; Message?: string };
    const actual = e.ResponseCode !== undefined && e.ResponseCode !== ews.ServiceError.NoError ? e.ResponseCode : e.ErrorCode;
    assert.equal(ews.ServiceError[actual ?? ews.ServiceError.NoError], ews.ServiceError[expected], String(e.message ?? e.Message));
    return true;
  };
}

async function inboxSubjects(svc: ews.ExchangeService, mailbox?: string): Promise<string[]> {
  const folder = mailbox ? new ews.FolderId(ews.WellKnownFolderName.Inbox, new ews.Mailbox(mailbox)) : new ews.FolderId(ews.WellKnownFolderName.Inbox);
  const result = await svc.FindItems(folder, new ews.ItemView(50));
  return result.Items.map((i) => i.Subject);
}

describe('Basic', () => {
  test('without credentials: 401 offering Basic, NTLM, Negotiate and Bearer, for POST and GET', async () => {
    const post = await soapCall(sim.url, GET_INBOX);
    assert.equal(post.status, 401);
    const offered = post.headers.get('www-authenticate') ?? '';
    for (const scheme of ['Basic realm=', 'NTLM', 'Negotiate', 'Bearer']) assert.ok(offered.includes(scheme), `${scheme} in ${offered}`);
    const get = await fetch(sim.url.toLowerCase());
    assert.equal(get.status, 401);
  });

  test('right password works; wrong password, disabled account and expired password get 401', async () => {
    assert.ok((await inboxSubjects(basicService('alice@contoso.com', PASSWORDS.alice))).includes('Order 100'));
    assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: basicAuth('CONTOSO\\alice', PASSWORDS.alice) })).status, 200);
    assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: basicAuth('alice@contoso.com', 'wrong') })).status, 401);
    await assert.rejects(inboxSubjects(basicService('alice@contoso.com', 'wrong')));
    sim.store.updateMailbox('carol@contoso.com', { passwordExpired: true });
    const expired = await soapCall(sim.url, GET_INBOX, { authorization: basicAuth('carol@contoso.com', PASSWORDS.carol) });
    assert.equal(expired.status, 401);
    assert.match(expired.headers.get('x-ms-diagnostics') ?? '', /password/i);
    sim.store.updateMailbox('carol@contoso.com', { passwordExpired: false, enabled: false });
    assert.equal((await soapCall(sim.url, GET_INBOX, { authorization: basicAuth('carol@contoso.com', PASSWORDS.carol) })).status, 401);
    sim.store.updateMailbox('carol@contoso.com', { enabled: true });
  });

  test('organisation with EWS disabled: 403 without a SOAP body', async () => {
    sim.store.updateOrganisation('contoso', { ewsEnabled: false });
    try {
      const blocked = await soapCall(sim.url, GET_INBOX, { authorization: basicAuth('alice@contoso.com', PASSWORDS.alice) });
      assert.equal(blocked.status, 403);
      assert.equal(blocked.body, '');
      await assert.rejects(inboxSubjects(basicService('alice@contoso.com', PASSWORDS.alice)));
    } finally {
      sim.store.updateOrganisation('contoso', { ewsEnabled: true });
    }
  });
});

describe('HTTPS', () => {
  test('the simulator serves TLS with the dev certificate; clients trusting it connect', async () => {
    const cert = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
    const secure = await startEwsSimulator({ seed: seedSmallOrganisation, tls: { cert: cert.cert, key: cert.key } });
    try {
      assert.match(secure.url, /^https:\/\/localhost:\d+\/EWS\/Exchange\.asmx$/);
      const svc = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
      svc.Credentials = new ews.WebCredentials('alice@contoso.com', PASSWORDS.alice);
      svc.Url = new ews.Uri(secure.url);
      assert.equal((await ews.Folder.Bind(svc, ews.WellKnownFolderName.Inbox)).TotalCount, 12);
    } finally {
      await secure.close();
    }
  });
});

describe('NTLM', () => {
  function ntlmService(user: string, password: string): ews.ExchangeService {
    const svc = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
    svc.XHRApi = new XhrApi().useNtlmAuthentication(user, password);
    svc.Credentials = new ews.WebCredentials(user, password);
    svc.Url = new ews.Uri(sim.url);
    return svc;
  }

  test('the NTLM handshake over one connection authenticates; a wrong password is refused', async () => {
    assert.ok((await inboxSubjects(ntlmService('alice@contoso.com', PASSWORDS.alice))).includes('Order 100'));
    assert.ok((await inboxSubjects(ntlmService('CONTOSO\\alice', PASSWORDS.alice))).includes('Order 100'));
    await assert.rejects(inboxSubjects(ntlmService('alice@contoso.com', 'wrong')));
    const ntlmEntries = sim.state.requestLog.filter((e) => e.scheme === 'NTLM');
    assert.ok(ntlmEntries.length >= 2);
  });
});

describe('ApplicationImpersonation (service accounts)', () => {
  test('scope all: the service account acts as any mailbox of its organisation', async () => {
    assert.deepEqual(await inboxSubjects(basicService('svc@contoso.com', PASSWORDS.svc, 'bob@contoso.com')), ['Bob private']);
    const entry = sim.state.requestLog.at(-1)!;
    assert.equal(entry.impersonated, true);
    assert.equal(entry.actingAs, 'bob@contoso.com');
  });

  test('scope filter department=Sales: carol yes, bob ErrorImpersonateUserDenied', async () => {
    assert.deepEqual(await inboxSubjects(basicService('svc-sales@contoso.com', PASSWORDS.svcSales, 'carol@contoso.com')), []);
    await assert.rejects(inboxSubjects(basicService('svc-sales@contoso.com', PASSWORDS.svcSales, 'bob@contoso.com')), code(ews.ServiceError.ErrorImpersonateUserDenied));
  });

  test('no right at all: ErrorImpersonateUserDenied; unknown or foreign mailbox: ErrorNonExistentMailbox', async () => {
    await assert.rejects(inboxSubjects(basicService('alice@contoso.com', PASSWORDS.alice, 'bob@contoso.com')), code(ews.ServiceError.ErrorImpersonateUserDenied));
    await assert.rejects(inboxSubjects(basicService('svc@contoso.com', PASSWORDS.svc, 'nobody@contoso.com')), code(ews.ServiceError.ErrorNonExistentMailbox));
    await assert.rejects(inboxSubjects(basicService('svc@contoso.com', PASSWORDS.svc, 'frank@fabrikam.com')), code(ews.ServiceError.ErrorNonExistentMailbox));
  });

  test('a service account without a mailbox must name one: ErrorMissingEmailAddress; FullAccess reaches shared mailboxes', async () => {
    await assert.rejects(inboxSubjects(basicService('svc@contoso.com', PASSWORDS.svc)), code(ews.ServiceError.ErrorMissingEmailAddress));
    assert.deepEqual(await inboxSubjects(basicService('alice@contoso.com', PASSWORDS.alice), 'dispatch@contoso.com'), ['Pickup request']);
    await assert.rejects(inboxSubjects(basicService('alice@contoso.com', PASSWORDS.alice), 'bob@contoso.com'), code(ews.ServiceError.ErrorAccessDenied));
  });
});

describe('Bearer', () => {
  const appToken = (overrides: Partial<Parameters<RunningIdentityProvider['control']['issueAccessToken']>[0]> = {}): string =>
    idp.control.issueAccessToken({ tenantId: TENANT_ID, audience: EWS, roles: ['full_access_as_app'], appId: APP_ID, ...overrides });
  const userToken = (upn: string, scp = 'EWS.AccessAsUser.All'): string =>
    idp.control.issueAccessToken({ tenantId: TENANT_ID, audience: EWS, scp, upn, appId: APP_ID });

  test('app-only with full_access_as_app and ExchangeImpersonation reaches the mailbox', async () => {
    assert.deepEqual(await inboxSubjects(bearerService(appToken(), 'bob@contoso.com')), ['Bob private']);
  });

  test('app-only without the ExchangeImpersonation header: ErrorInvalidExchangeImpersonationHeaderData', async () => {
    await assert.rejects(inboxSubjects(bearerService(appToken())), code(ews.ServiceError.ErrorInvalidExchangeImpersonationHeaderData));
  });

  test('app-only: missing role, wrong audience, unknown tenant, expired or forged token get 401 with diagnostics', async () => {
    const cases = {
      noRole: appToken({ roles: [] }),
      wrongAudience: appToken({ audience: 'https://graph.microsoft.com' }),
      unknownTenant: appToken({ tenantId: '00000000-0000-4000-8000-0000000000ee' }),
      expired: appToken({ expiresInSeconds: -600 }),
      forged: appToken().replace(/\.[^.]+$/, '.c2lnbmF0dXJl'),
    };
    for (const [name, token] of Object.entries(cases)) {
      const result = await soapCall(sim.url, GET_INBOX, { authorization: `Bearer ${token}`, impersonate: 'bob@contoso.com' });
      assert.equal(result.status, 401, name);
      assert.ok(result.headers.get('x-ms-diagnostics'), `${name} has x-ms-diagnostics`);
      assert.match(result.headers.get('www-authenticate') ?? '', /Bearer/, name);
    }
  });

  test("an app-only token cannot reach another organisation's mailbox: ErrorNonExistentMailbox", async () => {
    await assert.rejects(inboxSubjects(bearerService(appToken(), 'frank@fabrikam.com')), code(ews.ServiceError.ErrorNonExistentMailbox));
  });

  test('application access policy limits the app to its scope: ErrorAccessDenied outside it', async () => {
    const restrictedApp = 'c0ffee00-0000-4000-8000-0000000000aa';
    sim.store.addApplicationAccessPolicy({ organisationId: 'contoso', appId: restrictedApp, scope: { kind: 'list', mailboxes: ['alice@contoso.com'] } });
    const token = appToken({ appId: restrictedApp });
    assert.ok((await inboxSubjects(bearerService(token, 'alice@contoso.com'))).length > 0);
    await assert.rejects(inboxSubjects(bearerService(token, 'bob@contoso.com')), code(ews.ServiceError.ErrorAccessDenied));
  });

  test('delegated EWS.AccessAsUser.All: own and shared mailboxes yes, others ErrorAccessDenied, no impersonation header allowed', async () => {
    const token = userToken('alice@contoso.com');
    assert.ok((await inboxSubjects(bearerService(token))).includes('Order 100'));
    assert.deepEqual(await inboxSubjects(bearerService(token), 'dispatch@contoso.com'), ['Pickup request']);
    await assert.rejects(inboxSubjects(bearerService(token), 'bob@contoso.com'), code(ews.ServiceError.ErrorAccessDenied));
    await assert.rejects(inboxSubjects(bearerService(token, 'bob@contoso.com')), code(ews.ServiceError.ErrorInvalidExchangeImpersonationHeaderData));
    const wrongScope = await soapCall(sim.url, GET_INBOX, { authorization: `Bearer ${userToken('alice@contoso.com', 'Mail.Read')}` });
    assert.equal(wrongScope.status, 401);
  });
});
