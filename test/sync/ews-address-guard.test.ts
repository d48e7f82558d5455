/**
 * The outbound address policy at connect time (docs/security.md): in production an EWS host is
 * resolved through publicOnlyLookup at every connection, so a name that resolves to loopback or
 * private space (DNS rebinding after the URL was accepted, or a row stored around the API) never
 * gets a connection, and a private IP literal is refused before any socket is opened.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import type { AddressInfo, Server } from 'node:net';
import { after, before, test } from 'node:test';
import { publicOnlyLookup, TARGET_ADDRESS_REFUSED } from '../../shared/delivery/address-policy';
import { getFolder, isEwsError } from '../../shared/ews';
import { SecretString } from '../../shared/logging';
import type { GroupRecord } from '../../shared/storage';
import { openMailboxClient } from '../../shared/sync/mailbox-access';
import { MailboxSourceError } from '../../shared/sync/mailbox-source';

let server: Server;
let port: number;
let connections = 0;

before(async () => {
  server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function group(ewsUrl: string): GroupRecord {
  const at = new Date().toISOString();
  return {
    tenantId: 't1', id: 'g1', name: 'On-premises', externalId: 'onprem', mailboxAccessType: 'impersonation', ewsUrl,
    impersonation: { serviceAccount: 'svc@contoso.com', authScheme: 'basic' },
    credential: { kind: 'password', secretName: 'grp-g1', secretVersion: '1', updatedAt: at },
    folders: ['mail'], pollIntervalMinutes: 5, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
  };
}

const production = { environment: 'production' as const, defaultEwsUrl: 'https://outlook.office365.com/EWS/Exchange.asmx', authorityHost: 'https://login.microsoftonline.com', readSecret: async () => new SecretString('Svc-Pass1') };

test('the guarded resolver refuses loopback names in production and passes them in development', async () => {
  const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('production')('localhost', { all: true }, (error) => resolve(error)));
  assert.equal(refused?.code, TARGET_ADDRESS_REFUSED);
  const allowed = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('development')('localhost', { all: true }, (error) => resolve(error)));
  assert.equal(allowed, null);
});

test('an EWS host name resolving to loopback gets no connection; the error names the policy, not the port', async (t) => {
  // The machine's own name stands for a public name whose DNS answer turned private after it was accepted.
  const name = hostname();
  const addresses = await lookup(name, { all: true }).catch(() => []);
  if (addresses.length === 0 || !addresses.every((a) => a.address.startsWith('127.') || a.address === '::1')) {
    t.skip(`${name} does not resolve to loopback here`);
    return;
  }
  const client = await openMailboxClient(group(`https://${name}:${port}/EWS/Exchange.asmx`), { smtpAddress: 'alice@contoso.com' }, production);
  const failure = await getFolder(client, { distinguished: 'inbox' }).then(
    () => assert.fail('the call must not succeed'),
    (error: unknown) => error,
  );
  assert.ok(isEwsError(failure), String(failure));
  assert.equal(failure.code, 'TargetAddressNotAllowed');
  assert.equal(connections, 0, 'nothing was sent to the loopback server');
});

test('a private IP literal is refused before any socket is opened (sockets skip the resolver for literals)', async () => {
  for (const url of [`https://127.0.0.1:${port}/EWS/Exchange.asmx`, 'https://10.0.0.5/EWS/Exchange.asmx', 'https://[::1]/EWS/Exchange.asmx', 'https://169.254.169.254/EWS/Exchange.asmx']) {
    await assert.rejects(openMailboxClient(group(url), { smtpAddress: 'alice@contoso.com' }, production), (error: unknown) => error instanceof MailboxSourceError && error.code === 'Configuration');
  }
  assert.equal(connections, 0);
});
