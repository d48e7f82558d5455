/** Starting and stopping the local stand-in servers (identity provider, Key Vault) the same way. */
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Clients keep connections alive; close them so close() ends now, not at their idle timeout.
    server.closeAllConnections();
  });
}

/**
 * A loopback port that was free a moment ago: for a server whose URL or configuration must name
 * its port before it starts (the KDC), or for a URL where nothing listens (connection refused).
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
