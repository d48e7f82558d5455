/**
 * Test helper: raw SOAP calls to an EWS endpoint (fetch), for tests that need to see the exact
 * XML or HTTP behaviour. Reusable by other areas' tests.
 */
export const EWS_NAMESPACES = 'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"';

export interface SoapCallOptions {
  /** Authorization header value, e.g. basicAuth('alice@contoso.com', 'pw'). */
  readonly authorization?: string;
  /** Adds <t:ExchangeImpersonation> for this address. */
  readonly impersonate?: string;
  /** RequestServerVersion Version (default Exchange2013_SP1; null = no header). */
  readonly version?: string | null;
  readonly headers?: Record<string, string>;
}

export interface SoapResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Wraps a body element (using prefixes m: and t:) in a SOAP 1.1 envelope. */
export function soapEnvelope(body: string, options: SoapCallOptions = {}): string {
  const version = options.version === undefined ? 'Exchange2013_SP1' : options.version;
  const header =
    (version ? `<t:RequestServerVersion Version="${version}"/>` : '') +
    (options.impersonate ? `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>${options.impersonate}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>` : '');
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ${EWS_NAMESPACES}>` +
    `<soap:Header>${header}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

export async function soapCall(url: string, body: string, options: SoapCallOptions = {}): Promise<SoapResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      ...(options.authorization ? { authorization: options.authorization } : {}),
      ...options.headers,
    },
    body: body.startsWith('<?xml') ? body : soapEnvelope(body, options),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** First capture of `pattern` in `xml`, or undefined. */
export function extract(xml: string, pattern: RegExp): string | undefined {
  return pattern.exec(xml)?.[1];
}

/** All captures of a global `pattern`. */
export function extractAll(xml: string, pattern: RegExp): string[] {
  return [...xml.matchAll(pattern)].map((m) => m[1]!);
}
