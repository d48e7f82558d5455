/**
 * A loopback HTTP proxy between the functions host (child process) and one of its upstreams
 * (Azurite's table endpoint, the EWS simulator). It forwards every request unchanged, reports what
 * passed through, and on request kills the child at that exact moment: before forwarding (the
 * request never reached the upstream) or after the upstream answered (the effect happened; the
 * child never learnt of it). The killed request's connection is dropped without an answer.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listen } from '../../dev/server-lifecycle';

export type KillMoment = 'beforeForwarding' | 'afterUpstreamAnswered';

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
}

export interface ProxyDecision {
  /** Kill the child at this moment; undefined forwards normally. */
  readonly kill?: KillMoment;
}

export interface KillProxy {
  readonly url: string;
  close(): Promise<void>;
}

export interface KillProxyOptions {
  readonly upstream: string;
  /** Called for every request; may ask for a kill. */
  decide(request: ProxiedRequest): ProxyDecision;
  /** Performs the kill (SIGKILL and wait for the exit). */
  kill(): Promise<void>;
  /** Called after the upstream answered a forwarded request (status, request). */
  onAnswered?(request: ProxiedRequest, status: number): void;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function forward(upstream: URL, req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent: false },
      (response) => {
        readAll(response).then((data) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: data }), reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export async function startKillProxy(options: KillProxyOptions): Promise<KillProxy> {
  const upstream = new URL(options.upstream);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => undefined);
    void (async () => {
      const body = await readAll(req);
      const proxied: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body };
      const decision = options.decide(proxied);
      if (decision.kill === 'beforeForwarding') {
        await options.kill();
        req.socket.destroy();
        return;
      }
      const answer = await forward(upstream, req, body);
      options.onAnswered?.(proxied, answer.status);
      if (decision.kill === 'afterUpstreamAnswered') {
        await options.kill();
        req.socket.destroy();
        return;
      }
      const headers = { ...answer.headers };
      delete headers['transfer-encoding'];
      headers['content-length'] = String(answer.body.length);
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    })().catch(() => req.socket.destroy());
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}
