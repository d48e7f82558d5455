import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback port that was free a moment ago: for a server whose URL must be known before it
 * starts, or for a URL where nothing listens (connection refused).
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
