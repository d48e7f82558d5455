/**
 * The body of an anonymous callback (change notifications), refused when larger than the caller
 * could legitimately send: a declared Content-Length over the limit is refused before anything is
 * read, so a stranger cannot make the function buffer a large upload first.
 */
import type { HttpRequest } from '@azure/functions';

/** The text, or undefined when the body is over `maxChars` (answer 413). */
export async function boundedText(request: Pick<HttpRequest, 'headers' | 'text'>, maxChars: number): Promise<string | undefined> {
  // A UTF-8 character takes at most 4 bytes.
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxChars * 4) return undefined;
  const text = await request.text();
  return text.length > maxChars ? undefined : text;
}
