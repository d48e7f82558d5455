/**
 * "EWS URL from an email address": the connector's SOAP Autodiscover client against the
 * simulator's Autodiscover endpoint, and against hostile answers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { SecretString } from '../../shared/logging';
import { autodiscoverCandidates, discoverEwsUrl, EwsAuthenticationError, EwsConfigurationError, EwsEndpointNotFoundError, EwsError, EwsResponseError, type EwsCredential } from '../../shared/ews';
import { resolveTarget } from '../../shared/delivery/address-policy';
import { PASSWORDS, seedSmallOrganisation } from '../ews-simulator/fixture';
import { basicAuth, soapCall } from '../ews-simulator/soap-client';
import { soapEnvelope, startCannedEwsServer } from './canned-ews-server';

let sim: EwsSimulator;
const svc: EwsCredential = { kind: 'basic', username: 'svc@contoso.com', password: new SecretString(PASSWORDS.svc) };

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

test('the candidates are the domain and autodiscover.<domain> over https; hostile addresses are refused before any call', () => {
  assert.deepEqual(autodiscoverCandidates('Bob@Contoso.com'), ['https://contoso.com/autodiscover/autodiscover.svc', 'https://autodiscover.contoso.com/autodiscover/autodiscover.svc']);
  for (const hostile of ['bob@contoso.com/../x', 'bob@127.0.0.1', 'bob@evil.com:8080', 'bob@[::1]', 'no-at-sign', 'bob@-bad-.com']) {
    assert.throws(() => autodiscoverCandidates(hostile), (e: unknown) => e instanceof EwsConfigurationError && e.code === 'InvalidArgument', hostile);
  }
});

test('an address leads to its EWS URL, display name and primary SMTP address', async () => {
  const found = await discoverEwsUrl('bob@contoso.com', svc, { autodiscoverUrl: sim.autodiscoverUrl, allowInsecureHttp: true });
  assert.equal(found.ewsUrl, sim.url);
  assert.equal(found.primarySmtpAddress, 'bob@contoso.com');
  assert.equal(found.displayName, 'Bob Berg');
  assert.deepEqual(found.attempts, [{ url: sim.autodiscoverUrl, protocol: 'soap', outcome: 'found' }]);
  const ntlm = await discoverEwsUrl('alice@contoso.com', { kind: 'ntlm', username: 'svc@contoso.com', password: new SecretString(PASSWORDS.svc) }, { autodiscoverUrl: sim.autodiscoverUrl, allowInsecureHttp: true });
  assert.equal(ntlm.ewsUrl, sim.url);
});

test('unknown addresses and wrong passwords are told apart', async () => {
  await assert.rejects(discoverEwsUrl('nobody@contoso.com', svc, { autodiscoverUrl: sim.autodiscoverUrl, allowInsecureHttp: true }), (e: unknown) => e instanceof EwsResponseError && e.code === 'InvalidUser');
  // Another organisation's user is as unknown as a user that does not exist.
  await assert.rejects(discoverEwsUrl('frank@fabrikam.com', svc, { autodiscoverUrl: sim.autodiscoverUrl, allowInsecureHttp: true }), (e: unknown) => e instanceof EwsResponseError && e.code === 'InvalidUser');
  const wrong: EwsCredential = { kind: 'basic', username: 'svc@contoso.com', password: new SecretString('wrong-password') };
  await assert.rejects(discoverEwsUrl('bob@contoso.com', wrong, { autodiscoverUrl: sim.autodiscoverUrl, allowInsecureHttp: true }), (e: unknown) => {
    assert.ok(e instanceof EwsAuthenticationError);
    assert.doesNotMatch(String((e as Error).message), /wrong-password/);
    return true;
  });
});

test('the outbound address policy is asked before each candidate, and a refusal sends nothing', async () => {
  const asked: string[] = [];
  const error = await discoverEwsUrl('bob@contoso.com', svc, {
    autodiscoverUrl: sim.autodiscoverUrl,
    allowInsecureHttp: true,
    checkUrl: async (url) => {
      asked.push(url.href);
      throw new Error('private address');
    },
  }).catch((e: unknown) => e);
  assert.ok(error instanceof EwsEndpointNotFoundError, String(error));
  assert.match((error as Error).message, /refused by the outbound address policy/);
  assert.deepEqual(asked, [sim.autodiscoverUrl]);
});

test('a hostile Autodiscover server cannot point the connector at a plain-http or non-URL EWS endpoint', async () => {
  const hostile = await startCannedEwsServer();
  try {
    for (const ewsUrl of ['http://169.254.169.254/latest/meta-data', 'file:///etc/passwd', 'not a url']) {
      hostile.respond = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
        res.end(
          '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action></s:Header><s:Body>' +
            '<GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses><UserResponse><ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>' +
            `<UserSetting i:type="StringSetting"><Name>ExternalEwsUrl</Name><Value>${ewsUrl}</Value></UserSetting>` +
            '</UserSettings></UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>',
        );
      };
      const error = await discoverEwsUrl('bob@contoso.com', svc, { autodiscoverUrl: hostile.url.replace('/EWS/Exchange.asmx', '/autodiscover/autodiscover.svc'), allowInsecureHttp: true }).catch((e: unknown) => e);
      assert.ok(error instanceof EwsEndpointNotFoundError || error instanceof EwsConfigurationError, `${ewsUrl}: ${String(error)}`);
    }
  } finally {
    await hostile.close();
  }
});

test('the simulator serves POX Autodiscover too, with EXCH and EXPR EwsUrl and Error 500 for unknown users', async () => {
  const pox = sim.autodiscoverUrl.replace(/autodiscover\.svc$/, 'autodiscover.xml');
  const request = (address: string): string =>
    `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
  const call = (address: string, authorization?: string) => soapCall(pox, request(address), authorization ? { authorization } : {});
  const anonymous = await call('bob@contoso.com');
  assert.equal(anonymous.status, 401);
  const known = await call('bob@contoso.com', basicAuth('alice@contoso.com', PASSWORDS.alice));
  assert.equal(known.status, 200);
  assert.equal((known.body.match(/<EwsUrl>([^<]+)<\/EwsUrl>/g) ?? []).length, 2);
  assert.match(known.body, new RegExp(`<EwsUrl>${sim.url.replace(/[.]/g, '\\.')}</EwsUrl>`));
  assert.match(known.body, /<AutoDiscoverSMTPAddress>bob@contoso\.com<\/AutoDiscoverSMTPAddress>/);
  const unknown = await call('nobody@contoso.com', basicAuth('alice@contoso.com', PASSWORDS.alice));
  assert.match(unknown.body, /<ErrorCode>500<\/ErrorCode><Message>The email address can(?:'|&apos;)t be found\.<\/Message>/);
  const hostileAddress = await call('<x>&amp;@contoso.com', basicAuth('alice@contoso.com', PASSWORDS.alice));
  assert.equal(hostileAddress.status, 200, 'malformed request content is answered, not crashed on');
});

// ---- redirects, POX, and hostile Autodiscover servers --------------------------------------

const soapUserResponse = (inner: string): string =>
  '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
  '<GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses><UserResponse>' +
  inner +
  '</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>';
const soapRedirect = (kind: 'RedirectUrl' | 'RedirectAddress', target: string) => soapUserResponse(`<ErrorCode>${kind}</ErrorCode><ErrorMessage>Redirection.</ErrorMessage><RedirectTarget>${target}</RedirectTarget><UserSettingErrors/><UserSettings/>`);
const soapFound = (ewsUrl: string, smtp: string) =>
  soapUserResponse(`<ErrorCode>NoError</ErrorCode><ErrorMessage/><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings><UserSetting i:type="StringSetting"><Name>ExternalEwsUrl</Name><Value>${ewsUrl}</Value></UserSetting><UserSetting i:type="StringSetting"><Name>AutoDiscoverSMTPAddress</Name><Value>${smtp}</Value></UserSetting></UserSettings>`);
const poxAnswer = (account: string) =>
  '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">' +
  `<Account><AccountType>email</AccountType>${account}</Account></Response></Autodiscover>`;
const xml = (res: import('node:http').ServerResponse, body: string) => res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(body);

/**
 * The production outbound address policy (https, public addresses only) for every URL except the
 * test's own loopback server, which stands in for a customer's public Autodiscover host.
 */
function productionPolicyExcept(origin: string, seen: string[]): (url: URL) => Promise<void> {
  return async (url) => {
    seen.push(url.href);
    if (url.origin === origin) return;
    // mail.contoso.com stands for a public host; every other name resolves to a private address.
    await resolveTarget(url.href, 'production', async (host) => [{ address: host === 'mail.contoso.com' ? '20.1.2.3' : '10.1.2.3', family: 4 }]);
  };
}

test('SOAP RedirectUrl and RedirectAddress are followed, each hop asked of the policy first', async () => {
  const server = await startCannedEwsServer();
  try {
    const origin = new URL(server.url).origin;
    server.respond = (req, res) => {
      if (req.url === '/autodiscover/autodiscover.svc' && req.body.includes('>bob@contoso.com<')) return xml(res, soapRedirect('RedirectAddress', 'robert@contoso.com'));
      if (req.url === '/autodiscover/autodiscover.svc') return xml(res, soapRedirect('RedirectUrl', `${origin}/site2/autodiscover/autodiscover.svc`));
      return xml(res, soapFound('https://mail.contoso.com/EWS/Exchange.asmx', 'robert@contoso.com'));
    };
    const seen: string[] = [];
    const found = await discoverEwsUrl('bob@contoso.com', svc, { autodiscoverUrl: `${origin}/autodiscover/autodiscover.svc`, allowInsecureHttp: true, checkUrl: productionPolicyExcept(origin, seen) });
    assert.equal(found.ewsUrl, 'https://mail.contoso.com/EWS/Exchange.asmx');
    assert.equal(found.primarySmtpAddress, 'robert@contoso.com');
    assert.deepEqual(found.attempts.map((a) => [a.outcome, a.code, a.redirectTo]), [
      ['redirected', 'RedirectAddress', 'robert@contoso.com'],
      ['redirected', 'RedirectUrl', `${origin}/site2/autodiscover/autodiscover.svc`],
      ['found', undefined, undefined],
    ]);
    assert.deepEqual(server.requests.map((r) => r.url), ['/autodiscover/autodiscover.svc', '/autodiscover/autodiscover.svc', '/site2/autodiscover/autodiscover.svc']);
    // The discovered EWS URL is checked too: one that resolves to a private address is not handed out.
    assert.ok(seen.includes('https://mail.contoso.com/EWS/Exchange.asmx'));
    server.respond = (_req, res) => xml(res, soapFound('https://exchange.corp.contoso.com/EWS/Exchange.asmx', 'bob@contoso.com'));
    const privateEws = await discoverEwsUrl('bob@contoso.com', svc, { autodiscoverUrl: `${origin}/autodiscover/autodiscover.svc`, allowInsecureHttp: true, checkUrl: productionPolicyExcept(origin, []) }).catch((e: unknown) => e);
    assert.ok(privateEws instanceof EwsEndpointNotFoundError, String(privateEws));
    assert.match((privateEws as Error).message, /\(TargetAddressNotAllowed\)/);
  } finally {
    await server.close();
  }
});

test('as an attacker: redirects to the metadata service, private or plain-http addresses are refused by the production policy and never contacted', async () => {
  const server = await startCannedEwsServer();
  try {
    const origin = new URL(server.url).origin;
    for (const [protocol, target] of [
      ['soap', 'https://169.254.169.254/autodiscover/autodiscover.svc'],
      ['soap', 'https://10.0.0.5/autodiscover/autodiscover.svc'],
      ['soap', 'https://[::ffff:127.0.0.1]/autodiscover/autodiscover.svc'],
      ['pox', 'https://169.254.169.254/latest/meta-data/autodiscover.xml'],
      ['pox', 'https://internal.contoso.com/autodiscover/autodiscover.xml'],
    ] as const) {
      const before = server.requests.length;
      server.respond = (_req, res) => xml(res, protocol === 'soap' ? soapRedirect('RedirectUrl', target) : poxAnswer(`<Action>redirectUrl</Action><RedirectUrl>${target}</RedirectUrl>`));
      const seen: string[] = [];
      const path = protocol === 'soap' ? '/autodiscover/autodiscover.svc' : '/autodiscover/autodiscover.xml';
      const error = await discoverEwsUrl('bob@contoso.com', svc, { autodiscoverUrl: `${origin}${path}`, allowInsecureHttp: true, checkUrl: productionPolicyExcept(origin, seen) }).catch((e: unknown) => e);
      assert.ok(error instanceof EwsEndpointNotFoundError, `${target}: ${String(error)}`);
      assert.match((error as Error).message, /refused by the outbound address policy/);
      assert.ok(seen.includes(new URL(target).href), `${target} was put to the policy`);
      assert.equal(server.requests.length - before, 1, 'only the first server was contacted');
    }
    // A POX redirect to another address restarts discovery at that address's domain: its candidates are policy-checked too.
    server.respond = (_req, res) => xml(res, poxAnswer('<Action>redirectAddr</Action><RedirectAddr>admin@corp.internal.example</RedirectAddr>'));
    const seen: string[] = [];
    const error = await discoverEwsUrl('bob@contoso.com', svc, { autodiscoverUrl: `${origin}/autodiscover/autodiscover.xml`, allowInsecureHttp: true, checkUrl: productionPolicyExcept(origin, seen) }).catch((e: unknown) => e);
    // With an explicit Autodiscover URL, the same endpoint is asked for the new address; it redirects again: a loop.
    assert.ok(error instanceof EwsError && error.code === 'RedirectLoop', String(error));
    const derived = await discoverEwsUrl('bob@contoso.com', svc, { allowInsecureHttp: true, checkUrl: productionPolicyExcept(origin, []) }).catch((e: unknown) => e);
    assert.ok(derived instanceof EwsEndpointNotFoundError, String(derived));
    assert.match((derived as Error).message, /https:\/\/contoso\.com\/autodiscover\/autodiscover\.svc \(refused by the outbound address policy\)/);
  } finally {
    await server.close();
  }
});

test('as an attacker: redirect loops and endless redirects stop; huge and garbage answers are refused; the whole discovery is time-boxed', async () => {
  const server = await startCannedEwsServer();
  try {
    const origin = new URL(server.url).origin;
    const options = { autodiscoverUrl: `${origin}/autodiscover/autodiscover.svc`, allowInsecureHttp: true };
    server.respond = (req, res) => xml(res, soapRedirect('RedirectUrl', `${origin}${req.url === '/autodiscover/autodiscover.svc' ? '/b' : ''}/autodiscover/autodiscover.svc`));
    const loop = await discoverEwsUrl('bob@contoso.com', svc, options).catch((e: unknown) => e);
    assert.ok(loop instanceof EwsError && loop.code === 'RedirectLoop', String(loop));

    let hop = 0;
    server.respond = (_req, res) => xml(res, soapRedirect('RedirectUrl', `${origin}/hop${++hop}/autodiscover/autodiscover.svc`));
    const endless = await discoverEwsUrl('bob@contoso.com', svc, options).catch((e: unknown) => e);
    assert.ok(endless instanceof EwsError && endless.code === 'TooManyRedirects', String(endless));
    assert.equal(hop, 6, 'five redirects followed, the sixth refused');

    for (const [what, respond] of [
      ['huge', (_req: unknown, res: import('node:http').ServerResponse) => xml(res, soapFound('https://mail.contoso.com/EWS/Exchange.asmx', 'x'.repeat(3 * 1024 * 1024)))],
      ['html', (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')],
      ['garbage xml', (_req: unknown, res: import('node:http').ServerResponse) => xml(res, '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><unclosed></s:Body></s:Envelope>')],
      ['entities', (_req: unknown, res: import('node:http').ServerResponse) => xml(res, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&a;</s:Body></s:Envelope>')],
      ['not autodiscover', (_req: unknown, res: import('node:http').ServerResponse) => xml(res, soapEnvelope('<m:GetFolderResponse xmlns:m="x"/>'))],
    ] as const) {
      server.respond = respond;
      const error = await discoverEwsUrl('bob@contoso.com', svc, options).catch((e: unknown) => e);
      assert.ok(error instanceof EwsEndpointNotFoundError, `${what}: ${String(error)}`);
      assert.match((error as Error).message, /\((ResponseTooLarge|UnexpectedContentType|ProtocolError|MalformedResponse|XmlDtdRefused)\)/, what);
    }

    server.respond = () => undefined; // never answers
    const started = Date.now();
    const slow = await discoverEwsUrl('bob@contoso.com', svc, { ...options, totalTimeoutInMs: 1_500 }).catch((e: unknown) => e);
    assert.ok(Date.now() - started < 5_000, `ended after ${Date.now() - started} ms`);
    assert.ok(slow instanceof EwsError && (slow.code === 'Timeout' || (slow instanceof EwsEndpointNotFoundError && /Timeout/.test(slow.message))), String(slow));
  } finally {
    await server.close();
  }
});

test('POX Autodiscover against the simulator: EXPR EwsUrl, and Error 500 as an unknown user', async () => {
  const pox = sim.autodiscoverUrl.replace(/autodiscover\.svc$/, 'autodiscover.xml');
  const found = await discoverEwsUrl('bob@contoso.com', svc, { autodiscoverUrl: pox, allowInsecureHttp: true });
  assert.equal(found.ewsUrl, sim.url);
  assert.equal(found.primarySmtpAddress, 'bob@contoso.com');
  assert.deepEqual(found.attempts, [{ url: pox, protocol: 'pox', outcome: 'found' }]);
  await assert.rejects(discoverEwsUrl('nobody@contoso.com', svc, { autodiscoverUrl: pox, allowInsecureHttp: true }), (e: unknown) => e instanceof EwsResponseError && e.code === 'InvalidUser');
});
