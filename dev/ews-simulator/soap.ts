/**
 * SOAP 1.1 envelopes as Exchange writes them: ServerVersionInfo in the header, one response
 * element in the body, and SOAP faults with the EWS error code in faultcode and detail.
 */
import { NS, esc } from './xml';

/** What this simulator reports itself as (Exchange Online build of the schema's era). */
export const SERVER_VERSION = { major: 15, minor: 20, majorBuild: 7452, minorBuild: 10, version: 'V2018_01_08' } as const;

/** Versions the schema accepts in RequestServerVersion (ExchangeVersionType). */
export const KNOWN_REQUEST_VERSIONS = new Set([
  'Exchange2007',
  'Exchange2007_SP1',
  'Exchange2010',
  'Exchange2010_SP1',
  'Exchange2010_SP2',
  'Exchange2013',
  'Exchange2013_SP1',
  'Exchange2015',
  'Exchange2016',
  'V2015_10_05',
  'V2016_01_06',
  'V2016_04_13',
  'V2016_07_13',
  'V2016_10_10',
  'V2017_01_07',
  'V2017_04_14',
  'V2017_07_11',
]);

/** Exchange's texts for the codes the simulator produces. */
export const MESSAGE_TEXT: Record<string, string> = {
  ErrorItemNotFound: 'The specified object was not found in the store.',
  ErrorFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorInvalidIdMalformed: 'Id is malformed.',
  ErrorInvalidIdEmpty: 'Id must be non-empty.',
  ErrorNonExistentMailbox: 'The SMTP address has no mailbox associated with it.',
  ErrorAccessDenied: 'Access is denied. Check credentials and try again.',
  ErrorImpersonateUserDenied: 'The account does not have permission to impersonate the requested user.',
  ErrorImpersonationDenied: 'The caller does not have the right to act as another account.',
  ErrorInvalidExchangeImpersonationHeaderData: 'ExchangeImpersonation SOAP header must be present for this type of OAuth token.',
  ErrorSchemaValidation: 'The request failed schema validation.',
  ErrorServerBusy: 'The server cannot service this request right now. Try again later.',
  ErrorExceededConnectionCount: 'You have exceeded the available concurrent connections for your account.  Try again once your other requests have completed.',
  ErrorInvalidSyncStateData: 'Synchronization state data is corrupt or otherwise invalid.',
  ErrorSubscriptionNotFound: 'The specified subscription was not found.',
  ErrorInvalidSubscription: 'The subscription is invalid.',
  ErrorInvalidWatermark: 'Watermark is invalid.',
  ErrorExpiredSubscription: 'The subscription has expired.',
  ErrorChangeKeyRequiredForWriteOperations: 'The change key is required for write operations.',
  ErrorIrresolvableConflict: 'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
  ErrorStaleObject: 'The change key passed in the request does not match the current change key for the item.',
  ErrorMissingEmailAddress: 'When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids.',
  ErrorAccountDisabled: 'The account has been disabled.',
  ErrorMailboxStoreUnavailable: 'The mailbox database is temporarily unavailable.',
  ErrorInvalidOperation: 'The operation is not valid.',
  ErrorInvalidRequest: 'The request is invalid.',
  ErrorInvalidPropertySet: 'The property cannot be set.',
  ErrorInvalidPropertyRequest: 'The property request is invalid.',
  ErrorNameResolutionNoResults: 'No results were found.',
  ErrorNameResolutionMultipleResults: 'Multiple results were found.',
  ErrorInvalidIdNotAnItemAttachmentId: 'The Id is invalid.',
  ErrorAttachmentNotFound: 'The attachment could not be found.',
  ErrorCalendarEndDateIsEarlierThanStartDate: 'EndDate is earlier than StartDate',
  ErrorInvalidRecipients: 'One or more recipients are invalid.',
  ErrorMoveCopyFailed: 'An object cannot be moved or copied.',
  ErrorCannotDeleteObject: 'The object cannot be deleted.',
  ErrorInvalidServerVersion: 'The specified server version is invalid.',
  ErrorInvalidRestriction: 'The restriction is invalid.',
  ErrorUnsupportedPathForQuery: 'The property path is not supported for queries.',
  ErrorCalendarViewRangeTooBig: 'The specified view range exceeds the maximum range of two years.',
  ErrorUnsupportedPathForSortGroup: 'The property path is not supported for sorting or grouping.',
  ErrorInvalidIndexedPagingParameters: 'The paging parameters are invalid.',
  ErrorInternalServerError: 'An internal server error occurred. The operation failed.',
  ErrorDuplicateInputFolderNames: 'Duplicate folder names are not allowed.',
  ErrorFolderExists: 'A folder with the specified name already exists.',
  ErrorIdMalformed: 'Id is malformed.',
};

/** A per-response-message error (ResponseClass="Error"). */
export class EwsError extends Error {
  constructor(
    readonly code: string,
    message?: string,
    /** Children of MessageXml, already serialized (t:Value ...). */
    readonly messageXml?: string,
  ) {
    super(message ?? MESSAGE_TEXT[code] ?? code);
    this.name = 'EwsError';
  }
}

/** A request-level failure answered as a SOAP fault (HTTP 500), as Exchange does for header/schema/throttling errors. */
export class SoapFault extends Error {
  constructor(
    readonly code: string,
    message?: string,
    readonly messageXml?: string,
    readonly httpStatus = 500,
    /** False for faults raised before Exchange settled on a version (an unknown RequestServerVersion). */
    readonly withServerVersion = true,
  ) {
    super(message ?? MESSAGE_TEXT[code] ?? code);
    this.name = 'SoapFault';
  }
}

/** `<t:Value Name="...">...</t:Value>` entries for MessageXml. */
export function messageXmlValues(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => `<t:Value Name="${esc(name)}">${esc(String(value))}</t:Value>`)
    .join('');
}

function serverVersionHeader(): string {
  const v = SERVER_VERSION;
  return (
    `<h:ServerVersionInfo MajorVersion="${v.major}" MinorVersion="${v.minor}" MajorBuildNumber="${v.majorBuild}" MinorBuildNumber="${v.minorBuild}" Version="${v.version}"` +
    ` xmlns:h="${NS.types}" xmlns="${NS.types}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>`
  );
}

/** A full response envelope around `body` (the m:XxxResponse element, without namespace declarations). */
export function envelope(responseName: string, inner: string, attributes = ''): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<s:Envelope xmlns:s="${NS.soap}"><s:Header>${serverVersionHeader()}</s:Header>` +
    `<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` +
    `<m:${responseName} xmlns:m="${NS.messages}" xmlns:t="${NS.types}"${attributes}>${inner}</m:${responseName}>` +
    '</s:Body></s:Envelope>'
  );
}

/** A SOAP fault envelope as Exchange sends it (faultcode a:Code, detail with e:ResponseCode/e:Message/t:MessageXml). */
export function faultEnvelope(fault: SoapFault, withHeader = true): string {
  const faultcode = fault.code === 'ErrorSchemaValidation' || fault.code.startsWith('Error') ? `a:${fault.code}` : fault.code;
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<s:Envelope xmlns:s="${NS.soap}">` +
    (withHeader ? `<s:Header>${serverVersionHeader()}</s:Header>` : '') +
    '<s:Body><s:Fault>' +
    `<faultcode xmlns:a="${NS.types}">${esc(faultcode)}</faultcode>` +
    `<faultstring xml:lang="en-US">${esc(fault.message)}</faultstring>` +
    '<detail>' +
    `<e:ResponseCode xmlns:e="${NS.errors}">${esc(fault.code)}</e:ResponseCode>` +
    `<e:Message xmlns:e="${NS.errors}">${esc(fault.message)}</e:Message>` +
    (fault.messageXml ? `<t:MessageXml xmlns:t="${NS.types}">${fault.messageXml}</t:MessageXml>` : '') +
    '</detail></s:Fault></s:Body></s:Envelope>'
  );
}

/** The common head of a response message: success, or error with text, code and MessageXml. */
export function responseMessageHead(error?: EwsError, warning = false): { open: (name: string) => string; status: string } {
  if (!error) return { open: (name) => `<m:${name} ResponseClass="Success">`, status: '<m:ResponseCode>NoError</m:ResponseCode>' };
  const status =
    `<m:MessageText>${esc(error.message)}</m:MessageText><m:ResponseCode>${esc(error.code)}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>` +
    (error.messageXml ? `<m:MessageXml>${error.messageXml}</m:MessageXml>` : '');
  return { open: (name) => `<m:${name} ResponseClass="${warning ? 'Warning' : 'Error'}">`, status };
}

/** One response message: `<m:{name} ResponseClass=..>status + content</m:{name}>`. */
export function responseMessage(name: string, content: string, error?: EwsError): string {
  const head = responseMessageHead(error);
  return `${head.open(name)}${head.status}${content}</m:${name}>`;
}
