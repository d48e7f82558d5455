/**
 * The client layer against canned HTTP answers: every failure Exchange can present reaches the
 * caller as its typed error, through the real ews-javascript-api request path.
 */
import assert from 'node:assert/strict';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { generate } from 'selfsigned';
import {
  createMailboxClient,
  EwsAuthenticationError,
  EwsConfigurationError,
  EwsDisabledError,
  EwsEndpointNotFoundError,
  EwsResponseError,
  EwsThrottledError,
  EwsTlsError,
  EwsUnavailableError,
  checkMailboxAccess,
  getFolder,
  getItems,
  parseRetryAfter,
  authenticationSchemes,
  type EwsCredential,
} from '../../shared/ews';
import { SecretString } from '../../shared/logging';
import { getFolderError, getFolderSuccess, getItemResponse, soapFault, startCannedEwsServer, type CannedEwsServer } from './canned-ews-server';

const basic: EwsCredential = { kind: 'basic', username: 'svc@contoso.com', password: new SecretString('p@ss') };
let server: CannedEwsServer;

before(async () => {
  server = await startCannedEwsServer();
});
after(async () => {
  await server.close();
});

function client(credential: EwsCredential = basic, extra: { timeoutInMs?: number; access?: 'impersonation' | 'appOnly' | 'delegated' } = {}) {
  return createMailboxClient(server.url, credential, { mailbox: 'alice@contoso.com', allowInsecureHttp: true, ...extra });
}

describe('requests', () => {
  test('impersonation sends Basic auth, ExchangeImpersonation and X-AnchorMailbox', async () => {
    server.respond = (_req, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(getFolderSuccess('Posteingang'));
    const folder = await getFolder(client(), { distinguished: 'inbox' });
    assert.equal(folder.displayName, 'Posteingang');
    assert.equal(folder.totalCount, 3);
    const request = server.requests.at(-1)!;
    assert.equal(request.headers.authorization, 'Basic ' + Buffer.from('svc@contoso.com:p@ss').toString('base64'));
    assert.equal(request.headers['x-anchormailbox'], 'alice@contoso.com');
    assert.match(request.body, /<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>alice@contoso.com<\/t:SmtpAddress>/);
    assert.match(request.body, /<t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>alice@contoso.com<\/t:EmailAddress>/);
  });

  test('delegated bearer access sends the token and no impersonation header', async () => {
    server.respond = (_req, res) => res.writeHead(200).end(getFolderSuccess());
    const bearer: EwsCredential = { kind: 'bearer', getToken: async () => new SecretString('eyJ.token.sig') };
    await getFolder(client(bearer, { access: 'delegated' }), { distinguished: 'inbox' });
    const request = server.requests.at(-1)!;
    assert.equal(request.headers.authorization, 'Bearer eyJ.token.sig');
    assert.doesNotMatch(request.body, /ExchangeImpersonation/);
  });

  test('a 401 with a bearer credential calls onUnauthorized and retries once with a new token', async () => {
    let calls = 0;
    server.respond = (_req, res) => (calls++ === 0 ? res.writeHead(401, { 'www-authenticate': 'Bearer' }).end() : res.writeHead(200).end(getFolderSuccess()));
    let tokens = 0;
    let refreshed = 0;
    const bearer: EwsCredential = { kind: 'bearer', getToken: async () => new SecretString(`token-${++tokens}`), onUnauthorized: () => void refreshed++ };
    await getFolder(client(bearer), { distinguished: 'inbox' });
    assert.equal(refreshed, 1);
    assert.equal(server.requests.at(-1)!.headers.authorization, 'Bearer token-2');
  });
});

describe('typed errors', () => {
  test('ErrorServerBusy SOAP fault → EwsThrottledError with the BackOffMilliseconds', async () => {
    server.respond = (_req, res) => res.writeHead(500, { 'content-type': 'text/xml' }).end(soapFault('ErrorServerBusy', 'The server cannot service this request right now. Try again later.', { BackOffMilliseconds: '29876' }));
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsThrottledError, String(error));
    assert.equal(error.code, 'ErrorServerBusy');
    assert.equal(error.retryAfterInMs, 29876);
  });

  for (const code of ['ErrorImpersonateUserDenied', 'ErrorNonExistentMailbox', 'ErrorAccessDenied', 'ErrorMailboxStoreUnavailable', 'ErrorSomethingNewFromExchange']) {
    test(`${code} SOAP fault → EwsResponseError with that code`, async () => {
      server.respond = (_req, res) => res.writeHead(500).end(soapFault(code, `Message for ${code}`));
      const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
      assert.ok(error instanceof EwsResponseError, String(error));
      assert.equal(error.code, code);
      assert.match(error.message, new RegExp(`GetFolder: ${code}: Message for ${code}`));
    });
  }

  test('an error response message (HTTP 200) → EwsResponseError by name', async () => {
    server.respond = (_req, res) => res.writeHead(200).end(getFolderError('ErrorFolderNotFound', 'The specified folder could not be found in the store.'));
    const error = await getFolder(client(), { id: 'AAMkBogus=' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsResponseError, String(error));
    assert.equal(error.code, 'ErrorFolderNotFound');
  });

  test('ErrorExceededConnectionCount → EwsThrottledError', async () => {
    server.respond = (_req, res) => res.writeHead(500).end(soapFault('ErrorExceededConnectionCount', 'You have exceeded the available concurrent connections for your account.'));
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsThrottledError);
    assert.equal(error.code, 'ErrorExceededConnectionCount');
    assert.equal(error.retryAfterInMs, undefined);
  });

  test('HTTP 429 with Retry-After → EwsThrottledError TooManyRequests', async () => {
    server.respond = (_req, res) => res.writeHead(429, { 'retry-after': '7' }).end();
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsThrottledError);
    assert.equal(error.code, 'TooManyRequests');
    assert.equal(error.retryAfterInMs, 7000);
    assert.equal(error.httpStatus, 429);
  });

  test('HTTP 503 → EwsThrottledError ServiceUnavailable', async () => {
    server.respond = (_req, res) => res.writeHead(503, { 'retry-after': '2' }).end('Service Unavailable');
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsThrottledError);
    assert.equal(error.code, 'ServiceUnavailable');
    assert.equal(error.retryAfterInMs, 2000);
  });

  test('HTTP 401 → EwsAuthenticationError listing the offered schemes', async () => {
    server.respond = (_req, res) => res.writeHead(401, { 'www-authenticate': ['Basic realm="mail.contoso.com"', 'NTLM', 'Negotiate'], 'x-ms-diagnostics': '2000001;reason="wrong password"' }).end();
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsAuthenticationError, String(error));
    assert.deepEqual(error.schemes, ['Basic', 'NTLM', 'Negotiate']);
    assert.equal(error.diagnostics, '2000001;reason="wrong password"');
    assert.doesNotMatch(error.message, /p@ss/);
  });

  test('HTTP 403 → EwsDisabledError', async () => {
    server.respond = (_req, res) => res.writeHead(403).end();
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsDisabledError);
  });

  test('HTTP 404 → EwsEndpointNotFoundError', async () => {
    server.respond = (_req, res) => res.writeHead(404).end();
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsEndpointNotFoundError);
    assert.equal(error.code, 'NotFound');
  });

  test('HTTP 502 and a 500 without a SOAP fault → EwsUnavailableError ServerError', async () => {
    for (const status of [502, 500]) {
      server.respond = (_req, res) => res.writeHead(status).end('<html>oops</html>');
      const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
      assert.ok(error instanceof EwsUnavailableError, `${status}: ${String(error)}`);
      assert.equal(error.code, 'ServerError');
    }
  });

  test('a reset connection → EwsUnavailableError ConnectionReset', async () => {
    server.respond = (_req, res) => res.socket?.destroy();
    const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsUnavailableError, String(error));
    assert.equal(error.code, 'ConnectionReset');
  });

  test('no answer within timeoutInMs → EwsUnavailableError Timeout', async () => {
    server.respond = () => undefined;
    const error = await getFolder(client(basic, { timeoutInMs: 300 }), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsUnavailableError, String(error));
    assert.equal(error.code, 'Timeout');
  });

  test('a closed port → EwsUnavailableError ConnectionRefused', async () => {
    const closed = await startCannedEwsServer();
    const url = closed.url;
    await closed.close();
    const error = await getFolder(createMailboxClient(url, basic, { mailbox: 'alice@contoso.com', allowInsecureHttp: true }), { distinguished: 'inbox' }).catch((e: unknown) => e);
    assert.ok(error instanceof EwsUnavailableError, String(error));
    assert.equal(error.code, 'ConnectionRefused');
  });

  test('an untrusted certificate → EwsTlsError', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
    const tls = createTlsServer({ key: pems.private, cert: pems.cert }, (_req, res) => res.end());
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/EWS/Exchange.asmx`;
      const error = await getFolder(createMailboxClient(url, basic, { mailbox: 'alice@contoso.com' }), { distinguished: 'inbox' }).catch((e: unknown) => e);
      assert.ok(error instanceof EwsTlsError, String(error));
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });
});

describe('connection test', () => {
  test('checkMailboxAccess returns the inbox, or the typed error as a value', async () => {
    server.respond = (_req, res) => res.writeHead(200).end(getFolderSuccess());
    const ok = await checkMailboxAccess(client());
    assert.equal(ok.ok && ok.inbox.displayName, 'Inbox');
    server.respond = (_req, res) => res.writeHead(500).end(soapFault('ErrorImpersonateUserDenied', 'The account does not have permission to impersonate the requested user.'));
    const denied = await checkMailboxAccess(client());
    assert.equal(!denied.ok && denied.error.code, 'ErrorImpersonateUserDenied');
  });
});

describe('batches', () => {
  test('getItems: a missing item is an error value while the others succeed', async () => {
    server.respond = (_req, res) => res.writeHead(200).end(getItemResponse([{ id: 'AAA1', subject: 'First' }, { errorCode: 'ErrorItemNotFound' }, { id: 'AAA3', subject: 'Third' }]));
    const results = await getItems(client(), ['AAA1', 'AAA2', 'AAA3']);
    assert.deepEqual(results.map((r) => [r.itemId, r.ok]), [['AAA1', true], ['AAA2', false], ['AAA3', true]]);
    const [first, missing] = results;
    assert.ok(first?.ok && first.value.kind === 'message');
    assert.equal(first.value.subject, 'First');
    assert.equal(first.value.bodyText, 'Hello & welcome');
    assert.equal(first.value.receivedAt, '2026-11-20T08:30:00.000Z');
    assert.deepEqual(first.value.from, { name: 'Bob', address: 'bob@contoso.com' });
    assert.deepEqual(missing?.ok === false && missing.error, { code: 'ErrorItemNotFound', message: 'ErrorItemNotFound happened' });
    assert.match(server.requests.at(-1)!.body, /<t:BodyType>Text<\/t:BodyType>/);
  });

  test('getItems: a mailbox-level code inside the batch fails the whole call', async () => {
    server.respond = (_req, res) => res.writeHead(200).end(getItemResponse([{ id: 'AAA1', subject: 'First' }, { errorCode: 'ErrorMailboxStoreUnavailable' }]));
    await assert.rejects(getItems(client(), ['AAA1', 'AAA2']), (e: unknown) => e instanceof EwsResponseError && e.code === 'ErrorMailboxStoreUnavailable');
  });
});

describe('secrets', () => {
  test('no error, however deeply inspected, carries the password or the Basic header', async () => {
    const basicHeader = Buffer.from('svc@contoso.com:p@ss').toString('base64');
    const responders: CannedEwsServer['respond'][] = [
      (_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end(),
      (_req, res) => res.writeHead(500).end(soapFault('ErrorImpersonateUserDenied', 'denied')),
      (_req, res) => res.writeHead(503).end(),
      (_req, res) => res.socket?.destroy(),
    ];
    for (const respond of responders) {
      server.respond = respond;
      const error = await getFolder(client(), { distinguished: 'inbox' }).catch((e: unknown) => e);
      const text = inspect(error, { depth: 20, showHidden: true }) + JSON.stringify(error);
      assert.ok(!text.includes('p@ss') && !text.includes(basicHeader), text.slice(0, 400));
    }
  });
});

describe('configuration', () => {
  test('http is refused unless allowed, and then only for loopback', () => {
    assert.throws(() => createMailboxClient('http://127.0.0.1/EWS/Exchange.asmx', basic, { mailbox: 'a@b.c' }), (e: unknown) => e instanceof EwsConfigurationError && e.code === 'InsecureEndpoint');
    assert.throws(() => createMailboxClient('http://mail.contoso.com/EWS/Exchange.asmx', basic, { mailbox: 'a@b.c', allowInsecureHttp: true }), (e: unknown) => e instanceof EwsConfigurationError && e.code === 'InsecureEndpoint');
    assert.doesNotThrow(() => createMailboxClient('https://mail.contoso.com/EWS/Exchange.asmx', basic, { mailbox: 'a@b.c' }));
  });

  test('app-only access refuses a password credential', () => {
    assert.throws(() => createMailboxClient('https://outlook.office365.com/EWS/Exchange.asmx', basic, { mailbox: 'a@b.c', access: 'appOnly' }), (e: unknown) => e instanceof EwsConfigurationError && e.code === 'UnsupportedAccess');
  });

  test('header parsing helpers', () => {
    assert.deepEqual(authenticationSchemes('Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token", Basic Realm=""'), ['Bearer', 'Basic']);
    assert.equal(parseRetryAfter('120'), 120_000);
    assert.equal(parseRetryAfter(new Date(Date.parse('2030-01-01T00:00:30Z')).toUTCString(), Date.parse('2030-01-01T00:00:00Z')), 30_000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});
