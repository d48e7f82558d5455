import { BodyType, EmailAddress, EmailMessage, FolderId, Mailbox, MessageBody, MessageDisposition, WellKnownFolderName, type ExchangeService, type Item } from 'ews-javascript-api';
import { EwsConfigurationError } from '../errors';
import type { MailboxClient } from '../mailbox-client';

export interface OutgoingAttachment {
  readonly name: string;
  readonly contentType: string;
  readonly contentBase64: string;
}

export interface OutgoingMessage {
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly bcc?: readonly string[];
  readonly subject: string;
  readonly body: { readonly contentType: 'html' | 'text'; readonly content: string };
  readonly attachments?: readonly OutgoingAttachment[];
}

/**
 * ExchangeService.CreateItem (one item, ThrowOnError) exists at run time but is internal in the typings;
 * the public CreateItems refuses items with attachments, which Exchange 2010 SP2+ accepts inline.
 */
interface SingleItemCreator {
  CreateItem(item: Item, parentFolderId: FolderId, messageDisposition: MessageDisposition, sendInvitationsMode: null): ReturnType<ExchangeService['CreateItems']>;
}

const SMTP_ADDRESS = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function checkMessage(message: OutgoingMessage): void {
  const recipients = [...message.to, ...(message.cc ?? []), ...(message.bcc ?? [])];
  if (recipients.length === 0) throw new EwsConfigurationError('InvalidArgument', 'A message needs at least one recipient.');
  const bad = recipients.find((address) => !SMTP_ADDRESS.test(address));
  if (bad !== undefined) throw new EwsConfigurationError('InvalidArgument', `Not an SMTP address: ${bad}`);
  for (const attachment of message.attachments ?? []) {
    if (!attachment.name) throw new EwsConfigurationError('InvalidArgument', 'Every attachment needs a name.');
    if (attachment.contentBase64.length % 4 !== 0 || !BASE64.test(attachment.contentBase64)) {
      throw new EwsConfigurationError('InvalidArgument', `Attachment ${attachment.name} is not valid base64.`);
    }
  }
}

/**
 * ews-javascript-api writes element text into the SOAP request as is (EwsServiceXmlWriter.WriteValue
 * does no escaping), so every caller-supplied string that becomes element text is escaped here,
 * exactly once. Callers pass plain text and HTML as they want the recipient to see it.
 */
export function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Sends from the client's mailbox and keeps a copy in its Sent Items: one CreateItem with
 * MessageDisposition SendAndSaveCopy and the file attachments inline (needs Exchange 2010 SP2 or later).
 * Not idempotent: a retry after an ambiguous failure (timeout) can send twice.
 */
export async function sendMessage(client: MailboxClient, message: OutgoingMessage): Promise<void> {
  checkMessage(message);
  await client.execute('CreateItem', async (service) => {
    const email = new EmailMessage(service);
    email.Subject = xmlText(message.subject);
    email.Body = new MessageBody(message.body.contentType === 'html' ? BodyType.HTML : BodyType.Text, xmlText(message.body.content));
    for (const address of message.to) email.ToRecipients.Add(xmlText(address));
    for (const address of message.cc ?? []) email.CcRecipients.Add(xmlText(address));
    for (const address of message.bcc ?? []) email.BccRecipients.Add(xmlText(address));
    // Delegated access may send from a shared mailbox: name it, or Exchange sends as the signed-in user.
    if (client.access === 'delegated') email.From = new EmailAddress(xmlText(client.mailbox));
    for (const attachment of message.attachments ?? []) {
      email.Attachments.AddFileAttachment(xmlText(attachment.name), attachment.contentBase64).ContentType = xmlText(attachment.contentType);
    }
    // One CreateItem with the attachments inline (Exchange 2010 SP2+ accepts them there), rather than
    // EmailMessage.SendAndSaveCopy, which with attachments saves a draft, adds them one by one and then sends.
    const sentItems = new FolderId(WellKnownFolderName.SentItems, new Mailbox(xmlText(client.mailbox)));
    await (service as unknown as SingleItemCreator).CreateItem(email, sentItems, MessageDisposition.SendAndSaveCopy, null);
  });
}
