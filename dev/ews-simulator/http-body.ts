/**
 * Reading request bodies with a size limit. An oversized body is drained (up to a bound) rather
 * than cut off, so the client gets to read the 413 answer instead of a reset connection.
 */
import type { IncomingMessage } from 'node:http';

/** The body, or 'tooLarge' when it exceeds `limitInBytes`. Rejects when the client goes away. */
export function readRequestBody(req: IncomingMessage, limitInBytes: number): Promise<Buffer | 'tooLarge'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) {
        // Stop draining a client that keeps sending far beyond the limit.
        if (size > limitInBytes * 4 + 1024 * 1024) req.destroy();
        return;
      }
      if (size > limitInBytes) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'tooLarge' : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before the body was complete'));
    });
  });
}
