/**
 * EWS documents for the protocol-agnostic hostile server (test/support/hostile-server.ts), and the
 * connector's EWS operations as callable cases.
 */
import { deleteItems, findFolders, getFolder, getItems, sendMessage, syncFolderItems, updateIsRead, type MailboxClient } from '../../shared/ews';
import type { HostileDocuments, HostileRequest } from '../support/hostile-server';
import { getFolderSuccess, getItemResponse, soapEnvelope } from './canned-ews-server';

const M = 'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"';

/** The EWS operation a SOAP request asks for: the first element inside soap:Body. */
export function requestedOperation(body: string): string {
  return /Body>\s*<(?:[\w-]+:)?(\w+)/.exec(body)?.[1] ?? 'Unknown';
}

/** A SyncFolderItems page with one created message and the last item in range. */
export function syncFolderItemsResponse(itemId: string, syncState = 'H4sIAAAAAAAEAO29B2AcSZ'): string {
  return soapEnvelope(
    `<m:SyncFolderItemsResponse ${M}><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>${syncState}</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes><t:Create><t:Message><t:ItemId Id="${itemId}" ChangeKey="CQAAAA=="/></t:Message></t:Create></m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>`,
  );
}

export function ewsDocuments(request: HostileRequest): HostileDocuments {
  const asked = requestedOperation(request.body);
  // Always a valid answer to some other operation than the one asked.
  const wrongOperation = asked === 'GetFolder' ? getItemResponse([{ id: 'AAMkWrong', subject: 'wrong operation' }]) : getFolderSuccess('Wrong operation');
  return {
    wrongOperation,
    truncated: wrongOperation.slice(0, Math.floor(wrongOperation.length / 2)),
    contentType: 'text/xml; charset=utf-8',
    wrap: (inner) => getFolderSuccess(inner),
  };
}

/** Every EWS operation the connector sends, as a call on a client (ids are arbitrary; the server is hostile). */
export const EWS_OPERATIONS: Readonly<Record<string, (client: MailboxClient) => Promise<unknown>>> = {
  GetFolder: (client) => getFolder(client, { distinguished: 'inbox' }),
  FindFolder: async (client) => {
    for await (const folder of findFolders(client, { distinguished: 'msgfolderroot' })) void folder;
  },
  SyncFolderItems: (client) => syncFolderItems(client, { distinguished: 'inbox' }, undefined),
  GetItem: (client) => getItems(client, ['AAMkAGI1']),
  DeleteItem: (client) => deleteItems(client, ['AAMkAGI1'], 'HardDelete'),
  // updateIsRead reads first (GetItem) then writes; the hostile answer is served to the UpdateItem step.
  UpdateItem: (client) => updateIsRead(client, ['AAMkAGI1'], true),
  CreateItem: (client) => sendMessage(client, { to: ['bob@contoso.com'], subject: 'hi', body: { contentType: 'text', content: 'hello' } }),
};

/** For two-step operations: the valid first answer that leads to the hostile second request. */
export function firstStepFor(operation: string): ((request: HostileRequest) => { status: number; contentType: string; body: string }) | undefined {
  if (operation !== 'UpdateItem') return undefined;
  return () => ({ status: 200, contentType: 'text/xml; charset=utf-8', body: getItemResponse([{ id: 'AAMkAGI1', subject: 'to mark read' }]) });
}
