/**
 * A loopback HTTP server answering EWS requests with canned responses, for exercising the client
 * layer's transport and error classification without the simulator. Each test sets `respond`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface CannedEwsServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  respond: (request: RecordedRequest, response: ServerResponse) => void;
  close(): Promise<void>;
}

export async function startCannedEwsServer(): Promise<CannedEwsServer> {
  const requests: RecordedRequest[] = [];
  const state: { respond: CannedEwsServer['respond'] } = { respond: (_req, res) => res.writeHead(500).end() };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      state.respond(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/EWS/Exchange.asmx`,
    requests,
    get respond() {
      return state.respond;
    },
    set respond(value) {
      state.respond = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const SERVER_VERSION =
  '<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="7000" MinorBuildNumber="1" Version="V2018_01_08" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>';

export function soapEnvelope(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">${SERVER_VERSION}<s:Body>${body}</s:Body></s:Envelope>`;
}

/** A SOAP fault as Exchange sends it (HTTP 500), with optional MessageXml values. */
export function soapFault(responseCode: string, message: string, values: Record<string, string> = {}): string {
  const messageXml = Object.keys(values).length
    ? `<e:MessageXml>${Object.entries(values).map(([name, value]) => `<t:Value Name="${name}">${value}</t:Value>`).join('')}</e:MessageXml>`
    : '';
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:${responseCode}</faultcode><faultstring xml:lang="en-US">${message}</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${responseCode}</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${message}</e:Message>${messageXml.replace('<e:MessageXml>', '<e:MessageXml xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">')}</detail></s:Fault></s:Body></s:Envelope>`;
}

const M = 'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"';

export function getFolderSuccess(displayName = 'Inbox'): string {
  return soapEnvelope(
    `<m:GetFolderResponse ${M}><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="AAMkAGI=" ChangeKey="AQAAAA=="/><t:DisplayName>${displayName}</t:DisplayName><t:TotalCount>3</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>1</t:UnreadCount></t:Folder></m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>`,
  );
}

export function getFolderError(responseCode: string, message: string): string {
  return soapEnvelope(
    `<m:GetFolderResponse ${M}><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Error"><m:MessageText>${message}</m:MessageText><m:ResponseCode>${responseCode}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>`,
  );
}

/** A GetItem answer: one response message per entry, a message for ids, an error for codes. */
export function getItemResponse(entries: readonly ({ id: string; subject: string } | { errorCode: string })[]): string {
  const messages = entries
    .map((entry) =>
      'errorCode' in entry
        ? `<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>${entry.errorCode} happened</m:MessageText><m:ResponseCode>${entry.errorCode}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:GetItemResponseMessage>`
        : `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="${entry.id}" ChangeKey="CQAAAA=="/><t:Subject>${entry.subject}</t:Subject><t:Body BodyType="Text">Hello &amp; welcome</t:Body><t:DateTimeReceived>2026-11-20T08:30:00Z</t:DateTimeReceived><t:HasAttachments>false</t:HasAttachments><t:IsRead>true</t:IsRead><t:From><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:From></t:Message></m:Items></m:GetItemResponseMessage>`,
    )
    .join('');
  return soapEnvelope(`<m:GetItemResponse ${M}><m:ResponseMessages>${messages}</m:ResponseMessages></m:GetItemResponse>`);
}
