/**
 * "EWS URL from an email address": the connector's SOAP Autodiscover client against the
 * simulator's Autodiscover endpoint, and against hostile answers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { SecretString } from '../../shared/logging';
import { autodiscoverCandidates, discoverEwsUrl, EwsAuthenticationError, EwsConfigurationError, EwsEndpointNotFoundError, EwsResponseError, type EwsCredential } from '../../shared/ews';
import { PASSWORDS, seedSmallOrganisation } from '../ews-simulator/fixture';
import { basicAuth, soapCall } from '../ews-simulator/soap-client';
import { startCannedEwsServer } from './canned-ews-server';

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
  assert.deepEqual(found.attempts, [{ url: sim.autodiscoverUrl, outcome: 'found' }]);
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
