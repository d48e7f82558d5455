/**
 * Why the lazily loaded SDKs no longer break sign-in and admin calls: a thread blocked by a long
 * synchronous require must neither abort an answer that arrived in time nor fail on a keep-alive
 * connection the server closed meanwhile (shared/http/stall-tolerant-timeout.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { after, test } from 'node:test';
import { BoundedNetworkClient } from '../../shared/auth/bounded-network-client';
import { fetchWithinStallTolerantTimeout, stallTolerantTimeout } from '../../shared/http/stall-tolerant-timeout';

const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(handle: (response: ServerResponse, socket: Socket) => void): Promise<string> {
  const server = createServer((request, response) => handle(response, request.socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}/`;
}

function blockThread(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** fetch hands a connection back to its pool a moment after the answer was read. */
const pooled = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 50));

function json(response: ServerResponse): void {
  response.setHeader('content-type', 'application/json');
  response.end('{"ok":true}');
}

test('an answer that arrived while the thread was blocked past the deadline is read, not aborted', async () => {
  let answers = 0;
  let bothAnswered: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (bothAnswered = resolve));
  const url = await listen((response) => {
    response.on('finish', () => ++answers === 2 && bothAnswered());
    json(response);
  });
  await (await fetch(url)).arrayBuffer(); // fetch itself loaded and a connection made
  const plain = fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
    (r) => r.json(),
    (error: Error) => error.name,
  );
  const tolerant = fetchWithinStallTolerantTimeout(url, {}, 1_000).then((r) => r.json());
  // Both answers are on their way back; now the thread is blocked past both deadlines (a large synchronous require).
  await answered;
  blockThread(2_500);
  assert.deepEqual(await tolerant, { ok: true });
  // What a plain timer does in the same situation (the failure this module exists for).
  assert.equal(await plain, 'TimeoutError');
});

test('a server that never answers still ends the request at the deadline', async () => {
  const url = await listen(() => undefined);
  const started = performance.now();
  await assert.rejects(fetchWithinStallTolerantTimeout(url, {}, 400), (error: Error) => error.name === 'TimeoutError');
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 380 && elapsed < 5_000, `ended after ${Math.round(elapsed)} ms`);
});

test('a cancelled deadline never fires', async () => {
  const deadline = stallTolerantTimeout(50, 10);
  deadline.cancel();
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(deadline.signal.aborted, false);
});

/** A server that closes a kept-alive connection when its second request arrives, as one whose idle timeout ran out does. */
async function staleConnectionServer(): Promise<{ url: string; requests: () => number }> {
  const served = new WeakSet<Socket>();
  let requests = 0;
  const url = await listen((response, socket) => {
    requests++;
    if (served.has(socket)) {
      socket.destroy();
      return;
    }
    served.add(socket);
    json(response);
  });
  return { url, requests: () => requests };
}

test('a GET on a stale keep-alive connection is sent once more on a new one', async () => {
  const { url, requests } = await staleConnectionServer();
  assert.deepEqual(await (await fetchWithinStallTolerantTimeout(url, {}, 5_000)).json(), { ok: true });
  await pooled();
  // The pooled connection is now "stale": its next request is reset.
  assert.deepEqual(await (await fetchWithinStallTolerantTimeout(url, {}, 5_000)).json(), { ok: true });
  assert.equal(requests(), 3);
});

test("MSAL's network module: GETs retry a stale connection, POSTs (an authorization code is redeemed once) do not", async () => {
  const client = new BoundedNetworkClient({ timeoutInMs: 5_000 });
  const get = await staleConnectionServer();
  await client.sendGetRequestAsync(get.url);
  await pooled();
  assert.deepEqual((await client.sendGetRequestAsync(get.url)).body, { ok: true });
  assert.equal(get.requests(), 3);

  const post = await staleConnectionServer();
  await client.sendPostRequestAsync(post.url, { body: 'a=1' });
  await pooled();
  await assert.rejects(client.sendPostRequestAsync(post.url, { body: 'a=1' }), (error: { errorCode?: string }) => error.errorCode === 'network_error');
  assert.equal(post.requests(), 2);
});
