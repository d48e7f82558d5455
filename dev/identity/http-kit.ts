import type { IncomingMessage } from 'node:http';

/** What a route handler answers; the server writes it. */
export interface HttpResult {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export function jsonResult(status: number, value: unknown): HttpResult {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...NO_STORE }, body: JSON.stringify(value) };
}

export function htmlResult(status: number, html: string): HttpResult {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', ...NO_STORE }, body: html };
}

export function redirectResult(location: string): HttpResult {
  return { status: 302, headers: { location, ...NO_STORE } };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A page in the dev IdP's plain style. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}label,input,button{display:block;margin:.4rem 0}input{width:100%;padding:.4rem}.error{color:#a4262c}.note{color:#555;font-size:.9em}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}<p class="note">Local development identity provider (Entra stand-in).</p></body></html>`;
}

const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {
  readonly code = 'BodyTooLarge';
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError('Request body too large.');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
