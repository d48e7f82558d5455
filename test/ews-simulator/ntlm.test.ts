import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createNtlmChallenge,
  NtlmAuthenticator,
  NtlmAvId,
  NtlmFlag,
  ntHash,
  ntlmV2Hash,
  parseNtlmMessage,
  verifyNtlmAuthenticate,
  type NtlmAuthenticateMessage,
  type NtlmNegotiateMessage,
  type NtlmStep,
} from '../../dev/ews-simulator/ntlm';

/** The independent NTLM client that @ewsjs/xhr uses (plain JS, no types). */
interface NtlmClient {
  createType1Message(workstation: string, domain: string): string;
  decodeType2Message(header: string): unknown;
  createType3Message(type2: unknown, user: string, password: string, workstation: string, domain: string): string;
}
const ntlmClient = require('@ewsjs/ntlm-client') as NtlmClient;

const PASSWORDS: Record<string, string> = { alice: 'Alice-Pa55w0rd!', 'svc-connector': 'Svc-Connector-Pa55!' };
const IDENTITY = { targetName: 'CONTOSO', dnsDomain: 'contoso.com' };

/** Accepts alice, CONTOSO\alice and alice@contoso.com, as an AD-backed server would. */
function lookupPassword(user: string, domain: string): string | undefined {
  const [name, upnDomain] = user.toLowerCase().split('@');
  if (upnDomain !== undefined && upnDomain !== 'contoso.com') return undefined;
  if (domain !== '' && !['contoso', 'contoso.com'].includes(domain.toLowerCase())) return undefined;
  return PASSWORDS[name!];
}

const GET_FOLDER_RESPONSE = `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header><h:ServerVersionInfo xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" MajorVersion="15" MinorVersion="20" MajorBuildNumber="6" MinorBuildNumber="0" Version="V2018_01_08"/></s:Header>
  <s:Body>
    <m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
      <m:ResponseMessages>
        <m:GetFolderResponseMessage ResponseClass="Success">
          <m:ResponseCode>NoError</m:ResponseCode>
          <m:Folders>
            <t:Folder><t:FolderId Id="AAMkADinbox" ChangeKey="AQAAABYAAAA="/><t:DisplayName>Inbox</t:DisplayName><t:TotalCount>3</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>1</t:UnreadCount></t:Folder>
          </m:Folders>
        </m:GetFolderResponseMessage>
      </m:ResponseMessages>
    </m:GetFolderResponse>
  </s:Body>
</s:Envelope>`;

/** A tiny IIS-like server: NTLM per connection, then a canned EWS answer naming the user. */
async function startServer(authenticator: NtlmAuthenticator, steps: NtlmStep[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const step = authenticator.authenticate(req.socket, req.headers.authorization);
      steps.push(step);
      if (step.kind === 'authenticated') {
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'x-authenticated-user': `${step.domain}\\${step.user}` });
        res.end(GET_FOLDER_RESPONSE);
        return;
      }
      const values = step.kind === 'challenge' ? [step.wwwAuthenticate] : [...step.wwwAuthenticate];
      res.writeHead(401, { 'www-authenticate': values, 'content-type': 'text/plain' });
      res.end('401 Unauthorized');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/EWS/Exchange.asmx` };
}

interface SimpleResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  localPort: number;
}

function send(url: string, agent: Agent, authorization?: string): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: authorization ? { authorization } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), localPort: req.socket?.localPort ?? -1 }));
    });
    req.on('error', reject);
    req.end('<soap/>');
  });
}

function wwwAuthenticate(response: SimpleResponse): string {
  const value = response.headers['www-authenticate'];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** Runs the three-leg handshake with the independent client over one keep-alive socket. */
async function handshake(url: string, agent: Agent, user: string, password: string, domain = ''): Promise<{ challenge: SimpleResponse; final: SimpleResponse }> {
  const challenge = await send(url, agent, ntlmClient.createType1Message('WS01', domain));
  assert.equal(challenge.status, 401);
  const type2 = ntlmClient.decodeType2Message(wwwAuthenticate(challenge));
  const final = await send(url, agent, ntlmClient.createType3Message(type2, user, password, 'WS01', domain));
  return { challenge, final };
}

describe('NTLM hashes match the MS-NLMP section 4.2 test vectors', () => {
  it('computes NTOWFv1 and NTOWFv2 for User/Domain/Password', () => {
    const nt = ntHash('Password');
    assert.equal(nt.toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
    assert.equal(ntlmV2Hash(nt, 'User', 'Domain').toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
  });
});

describe('NTLM handshake over HTTP with the @ewsjs/ntlm-client implementation', () => {
  const steps: NtlmStep[] = [];
  let server: Server;
  let url: string;
  const authenticator = new NtlmAuthenticator({ identity: IDENTITY, lookupPassword });

  before(async () => ({ server, url } = await startServer(authenticator, steps)));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function agent(): Agent {
    return new Agent({ keepAlive: true, maxSockets: 1 });
  }

  it('answers a request without credentials with 401 offering Negotiate and NTLM', async () => {
    const a = agent();
    const response = await send(url, a);
    a.destroy();
    assert.equal(response.status, 401);
    assert.equal(wwwAuthenticate(response), 'Negotiate, NTLM');
  });

  it('issues a challenge naming the domain, with target info, echoing the client flags', async () => {
    const a = agent();
    const response = await send(url, a, ntlmClient.createType1Message('WS01', ''));
    a.destroy();
    assert.equal(response.status, 401);
    const challenge = parseNtlmMessage(wwwAuthenticate(response));
    assert.equal(challenge.type, 'challenge');
    if (challenge.type !== 'challenge') return;
    // The client asked for OEM strings and extended session security (and not Unicode).
    assert.ok(challenge.flags & NtlmFlag.Oem);
    assert.equal(challenge.flags & NtlmFlag.Unicode, 0);
    assert.ok(challenge.flags & NtlmFlag.ExtendedSessionSecurity);
    assert.ok(challenge.flags & NtlmFlag.TargetInfo);
    assert.equal(challenge.targetName, 'CONTOSO');
    const av = new Map(challenge.targetInfo.map((pair) => [pair.id, pair.value]));
    assert.equal(av.get(NtlmAvId.NbDomainName)?.toString('utf16le'), 'CONTOSO');
    assert.equal(av.get(NtlmAvId.DnsDomainName)?.toString('utf16le'), 'contoso.com');
    assert.equal(av.get(NtlmAvId.Timestamp)?.length, 8);
    assert.notDeepEqual(challenge.serverChallenge, Buffer.alloc(8));
  });

  it('authenticates the right password, and keeps the connection authenticated', async () => {
    const a = agent();
    const { challenge, final } = await handshake(url, a, 'alice', PASSWORDS.alice!);
    assert.equal(final.status, 200, final.body);
    assert.equal(final.headers['x-authenticated-user'], '\\alice');
    assert.equal(final.localPort, challenge.localPort, 'handshake must stay on one socket');
    const followUp = await send(url, a);
    assert.equal(followUp.status, 200);
    assert.equal(followUp.localPort, challenge.localPort);
    a.destroy();
  });

  it('accepts the user with a NetBIOS domain and as a UPN', async () => {
    for (const [user, domain] of [['alice', 'CONTOSO'], ['alice@contoso.com', '']] as const) {
      const a = agent();
      const { final } = await handshake(url, a, user, PASSWORDS.alice!, domain);
      a.destroy();
      assert.equal(final.status, 200, `${domain}\\${user}`);
    }
  });

  it('refuses a wrong password and an unknown user with 401', async () => {
    const before = steps.length;
    for (const [user, password] of [['alice', 'wrong-password'], ['mallory', 'anything']] as const) {
      const a = agent();
      const { final } = await handshake(url, a, user, password);
      a.destroy();
      assert.equal(final.status, 401);
      assert.equal(wwwAuthenticate(final), 'Negotiate, NTLM');
    }
    const reasons = steps.slice(before).flatMap((step) => (step.kind === 'rejected' ? [step.reason] : []));
    assert.deepEqual(reasons, ['wrong-password', 'unknown-user']);
  });

  it('refuses an AUTHENTICATE sent on a different connection than its challenge', async () => {
    const first = agent();
    const challenge = await send(url, first, ntlmClient.createType1Message('WS01', ''));
    const type2 = ntlmClient.decodeType2Message(wwwAuthenticate(challenge));
    const type3 = ntlmClient.createType3Message(type2, 'alice', PASSWORDS.alice!, 'WS01', '');
    const second = agent();
    const response = await send(url, second, type3);
    first.destroy();
    second.destroy();
    assert.equal(response.status, 401);
    assert.deepEqual(steps.at(-1), { kind: 'rejected', reason: 'no-challenge', wwwAuthenticate: ['Negotiate', 'NTLM'] });
  });

  it('does not accept the same AUTHENTICATE twice on one connection', async () => {
    const a = agent();
    const challenge = await send(url, a, ntlmClient.createType1Message('WS01', ''));
    const type3 = ntlmClient.createType3Message(ntlmClient.decodeType2Message(wwwAuthenticate(challenge)), 'alice', PASSWORDS.alice!, 'WS01', '');
    assert.equal((await send(url, a, type3)).status, 200);
    assert.equal((await send(url, a, type3)).status, 401);
    a.destroy();
  });
});

describe('NTLM through ews-javascript-api with XhrApi.useNtlmAuthentication', () => {
  let server: Server;
  let url: string;
  before(async () => ({ server, url } = await startServer(new NtlmAuthenticator({ identity: IDENTITY, lookupPassword }), [])));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function bindInbox(user: string, password: string): Promise<string> {
    const ews = await import('ews-javascript-api');
    const { XhrApi } = await import('@ewsjs/xhr');
    const service = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013_SP1);
    service.Url = new ews.Uri(url);
    service.Credentials = new ews.WebCredentials(user, password);
    service.XHRApi = new XhrApi().useNtlmAuthentication(user, password);
    const inbox = await ews.Folder.Bind(service, ews.WellKnownFolderName.Inbox);
    return inbox.DisplayName;
  }

  it('binds to the Inbox with the right password', async () => {
    assert.equal(await bindInbox('CONTOSO\\alice', PASSWORDS.alice!), 'Inbox');
  });

  it('fails with the wrong password', async () => {
    await assert.rejects(bindInbox('CONTOSO\\alice', 'not-the-password'));
  });
});

describe('NTLMv1 verification (off by default)', () => {
  // MS-NLMP 4.2.2: User/Domain/Password, server challenge 0123456789abcdef, no extended session security.
  const serverChallenge = Buffer.from('0123456789abcdef', 'hex');
  const ntlmV1Response = Buffer.from('67c43011f30298a2ad35ece64f16331c44bdbed927841f94', 'hex');
  const negotiate: NtlmNegotiateMessage = { type: 'negotiate', flags: NtlmFlag.Unicode | NtlmFlag.Ntlm, domain: '', workstation: '', raw: Buffer.alloc(0) };
  const { state } = createNtlmChallenge(negotiate, { targetName: 'Domain', dnsDomain: 'domain.example' }, { serverChallenge });
  const message = (ntResponse: Buffer): NtlmAuthenticateMessage => ({
    type: 'authenticate',
    flags: undefined,
    lmResponse: Buffer.alloc(24),
    ntResponse,
    domainBytes: Buffer.from('Domain', 'utf16le'),
    userBytes: Buffer.from('User', 'utf16le'),
    workstationBytes: Buffer.from('COMPUTER', 'utf16le'),
    encryptedRandomSessionKey: Buffer.alloc(0),
    raw: Buffer.alloc(0),
  });
  const lookup = (user: string): string | undefined => (user === 'User' ? 'Password' : undefined);

  it('refuses NTLMv1 unless enabled', () => {
    assert.deepEqual(verifyNtlmAuthenticate(message(ntlmV1Response), state, lookup), { ok: false, reason: 'ntlmv1-refused' });
  });

  it('accepts the specification response when enabled and refuses a tampered one', () => {
    const accepted = verifyNtlmAuthenticate(message(ntlmV1Response), state, lookup, { acceptNtlmV1: true });
    assert.deepEqual(accepted, { ok: true, user: 'User', domain: 'Domain', workstation: 'COMPUTER', protocol: 'NTLMv1' });
    const tampered = Buffer.from(ntlmV1Response);
    tampered[0] = tampered[0]! ^ 1;
    assert.deepEqual(verifyNtlmAuthenticate(message(tampered), state, lookup, { acceptNtlmV1: true }), { ok: false, reason: 'wrong-password' });
  });

  it('rejects garbage tokens as malformed', () => {
    assert.deepEqual(verifyNtlmAuthenticate('NTLM AAAA', state, lookup), { ok: false, reason: 'malformed-message' });
  });
});
