/**
 * A simple RFC 5322 / MIME rendering of an item, for item:MimeContent. Enough for clients that
 * archive or forward the raw message: headers, a text or HTML body, base64 attachments.
 */
import type { AttachedMessage, EmailAddress, EwsStore, Item } from './model';

function encodeHeaderText(value: string): string {
  // RFC 2047 encoded-word when the text is not plain ASCII.
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

function address(a: EmailAddress): string {
  return a.name ? `${encodeHeaderText(a.name.includes(',') || a.name.includes('"') ? `"${a.name.replace(/"/g, '')}"` : a.name)} <${a.address}>` : a.address;
}

function rfc5322Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

function wrapBase64(data: Uint8Array): string {
  return (Buffer.from(data).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

export function buildMime(item: Item, _store: EwsStore): string {
  const headers: string[] = [];
  if (item.kind === 'message') {
    if (item.from) headers.push(`From: ${address(item.from)}`);
    if (item.toRecipients.length) headers.push(`To: ${item.toRecipients.map(address).join(', ')}`);
    if (item.ccRecipients.length) headers.push(`Cc: ${item.ccRecipients.map(address).join(', ')}`);
  }
  headers.push(`Subject: ${encodeHeaderText(item.subject)}`);
  headers.push(`Date: ${rfc5322Date(item.kind === 'message' && item.dateTimeSent ? item.dateTimeSent : item.dateTimeCreated)}`);
  if (item.internetMessageId) headers.push(`Message-ID: ${item.internetMessageId}`);
  if (item.inReplyTo) headers.push(`In-Reply-To: ${item.inReplyTo}`);
  headers.push('MIME-Version: 1.0');
  const bodyType = item.body.type === 'HTML' ? 'text/html' : 'text/plain';
  const bodyPart = `Content-Type: ${bodyType}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrapBase64(Buffer.from(item.body.content, 'utf8'))}\r\n`;
  if (item.attachments.length === 0) return `${headers.join('\r\n')}\r\n${bodyPart}`;
  const boundary = `_sim_${item.id.replace(/[^A-Za-z0-9]/g, '').slice(-24)}_`;
  let out = `${headers.join('\r\n')}\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n`;
  out += `--${boundary}\r\n${bodyPart}`;
  for (const attachment of item.attachments) {
    out +=
      `--${boundary}\r\nContent-Type: ${attachment.contentType}; name="${attachment.name}"\r\n` +
      `Content-Disposition: ${attachment.isInline ? 'inline' : 'attachment'}; filename="${attachment.name}"\r\n` +
      (attachment.contentId ? `Content-ID: <${attachment.contentId}>\r\n` : '') +
      `Content-Transfer-Encoding: base64\r\n\r\n${wrapBase64(attachment.content)}\r\n`;
  }
  return out + `--${boundary}--\r\n`;
}

/** An attached message as RFC 822 text: what an item attachment's bytes are (message/rfc822). */
export function attachedMessageMime(message: AttachedMessage): string {
  const headers: string[] = [];
  if (message.from) headers.push(`From: ${address(message.from)}`);
  if (message.toRecipients.length) headers.push(`To: ${message.toRecipients.map(address).join(', ')}`);
  if (message.ccRecipients.length) headers.push(`Cc: ${message.ccRecipients.map(address).join(', ')}`);
  headers.push(`Subject: ${encodeHeaderText(message.subject)}`);
  if (message.dateTimeSent) headers.push(`Date: ${rfc5322Date(message.dateTimeSent)}`);
  if (message.internetMessageId) headers.push(`Message-ID: ${message.internetMessageId}`);
  headers.push('MIME-Version: 1.0');
  const bodyType = message.body.type === 'HTML' ? 'text/html' : 'text/plain';
  return `${headers.join('\r\n')}\r\nContent-Type: ${bodyType}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrapBase64(Buffer.from(message.body.content, 'utf8'))}\r\n`;
}
