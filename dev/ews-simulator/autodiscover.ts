/**
 * Autodiscover as Exchange serves it, so a client can go from an email address to the EWS URL:
 *
 * - SOAP Autodiscover (`/autodiscover/autodiscover.svc`, MS-OXWSADISC): GetUserSettings with
 *   WS-Addressing headers; per-user answers (NoError, or InvalidUser for an address the
 *   organisation does not have) and per-setting errors (InvalidSetting for a name it does not know).
 * - POX Autodiscover (`/autodiscover/autodiscover.xml`, MS-OXDSCLI): the Outlook request schema;
 *   the EXCH/EXPR protocol blocks carry EwsUrl; an unknown address is Error 500
 *   "The email address can't be found."
 *
 * Both need an authenticated caller, as Exchange's Autodiscover virtual directory does. The EWS
 * URL advertised is the one the client reached this server by (its Host header), which is what a
 * correctly configured Exchange advertises as its external URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, type Authenticator, type Caller } from './auth';
import { readRequestBody } from './http-body';
import type { EwsStore, Mailbox } from './model';
import { SERVER_VERSION } from './soap';
import { XmlParseError, child, childText, children, esc, parseXml } from './xml';

export const AUTODISCOVER_SOAP_PATH = '/autodiscover/autodiscover.svc';
export const AUTODISCOVER_POX_PATH = '/autodiscover/autodiscover.xml';

const NS_AUTODISCOVER = 'http://schemas.microsoft.com/exchange/2010/Autodiscover';
const NS_ADDRESSING = 'http://www.w3.org/2005/08/addressing';
const NS_POX_RESPONSE = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
const NS_POX_OUTLOOK = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const MAX_AUTODISCOVER_BODY_IN_BYTES = 1024 * 1024;
const MAX_USERS_PER_REQUEST = 100;

export interface AutodiscoverContext {
  readonly store: EwsStore;
  readonly authenticators: readonly Authenticator[];
  /** The EWS path on this server, appended to the origin the client used. */
  readonly ewsPath: string;
}

/** True for the two Autodiscover paths (any case, as IIS matches them). */
export function isAutodiscoverPath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === AUTODISCOVER_SOAP_PATH || lower === AUTODISCOVER_POX_PATH;
}

export async function handleAutodiscover(req: IncomingMessage, res: ServerResponse, ctx: AutodiscoverContext, tls: boolean): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!.toLowerCase();
  const body = req.method === 'POST' ? await readRequestBody(req, MAX_AUTODISCOVER_BODY_IN_BYTES) : Buffer.alloc(0);
  if (body === 'tooLarge') {
    res.writeHead(413, { 'content-length': '0', connection: 'close' });
    res.end();
    return;
  }
  const host = req.headers.host ?? 'localhost';
  const outcome = await authenticate(ctx.authenticators, { authorization: req.headers.authorization, connection: req.socket, host: host.split(':')[0]! });
  if (outcome.kind !== 'authenticated') {
    const offered = outcome.kind === 'challenge' ? outcome.wwwAuthenticate : outcome.kind === 'rejected' ? (outcome.wwwAuthenticate ?? outcome.offered) : outcome.offered;
    res.writeHead(outcome.kind === 'rejected' ? outcome.status : 401, { 'content-length': '0', 'www-authenticate': [...offered] });
    res.end();
    return;
  }
  if (req.method !== 'POST') {
    // Exchange answers a GET on the POX endpoint with an Error 600 (invalid request) document.
    return sendXml(res, 200, poxError('600', 'Invalid Request'));
  }
  const ewsUrl = `${tls ? 'https' : 'http'}://${host}${ctx.ewsPath}`;
  const text = body.toString('utf8');
  if (path === AUTODISCOVER_POX_PATH) return answerPox(res, ctx, outcome.caller, text, ewsUrl);
  return answerSoap(res, ctx, outcome.caller, text, ewsUrl);
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(xml);
}

/** The mailbox behind an address, only within the caller's own organisation. */
function lookUp(ctx: AutodiscoverContext, caller: Caller, address: string): Mailbox | undefined {
  const mailbox = ctx.store.getMailbox(address.trim().toLowerCase());
  return mailbox && mailbox.organisationId === caller.organisationId && mailbox.enabled ? mailbox : undefined;
}

// ---- POX ------------------------------------------------------------------------------------

function poxError(code: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<Autodiscover xmlns="${NS_POX_RESPONSE}"><Response><Error Time="${new Date().toISOString().slice(11, 19)}" Id="${Math.floor(Math.random() * 2 ** 31)}">` +
    `<ErrorCode>${code}</ErrorCode><Message>${esc(message)}</Message><DebugData /></Error></Response></Autodiscover>`
  );
}

function answerPox(res: ServerResponse, ctx: AutodiscoverContext, caller: Caller, text: string, ewsUrl: string): void {
  let address: string | undefined;
  try {
    const request = child(parseXml(text).documentElement!, 'Request');
    address = request ? childText(request, 'EMailAddress') : undefined;
  } catch (error) {
    if (!(error instanceof XmlParseError)) throw error;
  }
  if (!address) return sendXml(res, 200, poxError('600', 'Invalid Request'));
  const mailbox = lookUp(ctx, caller, address);
  if (!mailbox) return sendXml(res, 200, poxError('500', "The email address can't be found."));
  const protocol = (type: string): string => `<Protocol><Type>${type}</Type><Server>${esc(new URL(ewsUrl).hostname)}</Server><ASUrl>${esc(ewsUrl)}</ASUrl><EwsUrl>${esc(ewsUrl)}</EwsUrl></Protocol>`;
  sendXml(
    res,
    200,
    '<?xml version="1.0" encoding="utf-8"?>' +
      `<Autodiscover xmlns="${NS_POX_RESPONSE}"><Response xmlns="${NS_POX_OUTLOOK}">` +
      `<User><DisplayName>${esc(mailbox.displayName)}</DisplayName><AutoDiscoverSMTPAddress>${esc(mailbox.smtpAddress)}</AutoDiscoverSMTPAddress></User>` +
      `<Account><AccountType>email</AccountType><Action>settings</Action>${protocol('EXCH')}${protocol('EXPR')}</Account>` +
      '</Response></Autodiscover>',
  );
}

// ---- SOAP -----------------------------------------------------------------------------------

type SettingValue = (mailbox: Mailbox, ewsUrl: string) => string;

/** The user settings the simulator knows (UserSettingName values). */
const SETTINGS: Readonly<Record<string, SettingValue>> = {
  UserDisplayName: (m) => m.displayName,
  AutoDiscoverSMTPAddress: (m) => m.smtpAddress,
  InternalEwsUrl: (_m, url) => url,
  ExternalEwsUrl: (_m, url) => url,
  EwsSupportedSchemas: () => 'Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016',
  CasVersion: () => `${SERVER_VERSION.major}.${String(SERVER_VERSION.minor).padStart(2, '0')}.${SERVER_VERSION.majorBuild}.${SERVER_VERSION.minorBuild}`,
};

function soapEnvelope(action: string, body: string): string {
  const v = SERVER_VERSION;
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="${NS_ADDRESSING}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">${NS_AUTODISCOVER}/Autodiscover/${action}</a:Action>` +
    `<h:ServerVersionInfo xmlns:h="${NS_AUTODISCOVER}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><h:MajorVersion>${v.major}</h:MajorVersion><h:MinorVersion>${v.minor}</h:MinorVersion><h:MajorBuildNumber>${v.majorBuild}</h:MajorBuildNumber><h:MinorBuildNumber>${v.minorBuild}</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo>` +
    `</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

function soapFault(code: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>' +
    `<faultcode>${esc(code)}</faultcode><faultstring xml:lang="en-US">${esc(message)}</faultstring>` +
    '</s:Fault></s:Body></s:Envelope>'
  );
}

function userResponse(mailbox: Mailbox | undefined, address: string, requested: readonly string[], ewsUrl: string): string {
  if (!mailbox) {
    return `<UserResponse><ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: '${esc(address)}'</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings/></UserResponse>`;
  }
  let settings = '';
  let errors = '';
  for (const name of requested) {
    const value = SETTINGS[name];
    if (value) settings += `<UserSetting i:type="StringSetting"><Name>${esc(name)}</Name><Value>${esc(value(mailbox, ewsUrl))}</Value></UserSetting>`;
    else errors += `<UserSettingError><ErrorCode>InvalidSetting</ErrorCode><ErrorMessage>The requested setting is invalid.</ErrorMessage><SettingName>${esc(name)}</SettingName></UserSettingError>`;
  }
  return `<UserResponse><ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors>${errors}</UserSettingErrors><UserSettings>${settings}</UserSettings></UserResponse>`;
}

function answerSoap(res: ServerResponse, ctx: AutodiscoverContext, caller: Caller, text: string, ewsUrl: string): void {
  let request;
  try {
    const root = parseXml(text).documentElement!;
    const body = child(root, 'Body', root.namespaceURI ?? undefined);
    const message = body ? children(body)[0] : undefined;
    if (!message || message.localName !== 'GetUserSettingsRequestMessage') {
      return sendXml(res, 500, soapFault('a:ActionNotSupported', 'The simulator answers GetUserSettingsRequestMessage only.'));
    }
    request = child(message, 'Request');
  } catch (error) {
    if (!(error instanceof XmlParseError)) throw error;
    return sendXml(res, 400, soapFault('s:Client', 'The request is not well-formed XML.'));
  }
  const users = request ? children(child(request, 'Users') ?? request, 'User').map((u) => childText(u, 'Mailbox') ?? '') : [];
  const requested = request ? children(child(request, 'RequestedSettings') ?? request, 'Setting').map((s) => (s.textContent ?? '').trim()) : [];
  let inner: string;
  if (users.length === 0 || requested.length === 0 || users.length > MAX_USERS_PER_REQUEST) {
    inner = `<ErrorCode>InvalidRequest</ErrorCode><ErrorMessage>${users.length > MAX_USERS_PER_REQUEST ? 'Too many users.' : 'The request is invalid.'}</ErrorMessage><UserResponses/>`;
  } else {
    inner = `<ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses>${users.map((address) => userResponse(lookUp(ctx, caller, address), address, requested, ewsUrl)).join('')}</UserResponses>`;
  }
  sendXml(
    res,
    200,
    soapEnvelope('GetUserSettingsResponse', `<GetUserSettingsResponseMessage xmlns="${NS_AUTODISCOVER}"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance">${inner}</Response></GetUserSettingsResponseMessage>`),
  );
}
