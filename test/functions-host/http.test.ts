import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFunctionsHost, type FunctionsHost } from '../../dev/functions-host/host';
import type { HostLogLevel } from '../../dev/functions-host/host-log';
import { projectRoot } from '../../dev/project-paths';
import { slowGate } from './fixtures/http-functions';

const fixture = join(__dirname, 'fixtures', 'http-functions.js');
const keys = { masterKey: 'master-key-for-tests', hostKeys: ['host-key-for-tests'], functionKeys: { 'create-item': ['create-item-key'] } };

function captureLog() {
  const lines: { level: HostLogLevel; message: string }[] = [];
  return { lines, sink: (level: HostLogLevel, message: string) => void lines.push({ level, message }) };
}

describe('functions host: HTTP triggers', () => {
  let host: FunctionsHost;
  const log = captureLog();

  before(async () => {
    host = await startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: { HTTP_TEST_SETTING: 'on' }, functionKeys: keys, appEntryPoints: [fixture], log: log.sink, maxRequestBodySizeInBytes: 1024 });
  });
  after(() => host.close());

  test('app settings are in process.env while the host runs', () => {
    assert.equal(process.env.HTTP_TEST_SETTING, 'on');
  });

  test('route parameters, constraints and repeated query values reach the handler', async () => {
    const response = await fetch(`${host.url}/api/items/42?q=hello%20world&tag=a&tag=b`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await response.json(), { id: '42', q: 'hello world', tags: ['a', 'b'], functionName: 'get-item', hasInvocationId: true });
    assert.ok(log.lines.some((l) => l.message.includes('[get-item] looking up item 42')), 'context.log reaches the host log with the function name');
  });

  test('a parameter failing its constraint is not a match (404)', async () => {
    assert.equal((await fetch(`${host.url}/api/items/abc`)).status, 404);
  });

  test('literal segments and the route prefix match case-insensitively', async () => {
    assert.equal((await fetch(`${host.url}/API/Items/5`)).status, 200);
  });

  test('catch-all and optional parameters', async () => {
    assert.deepEqual(await (await fetch(`${host.url}/api/files/a/b%20c/d.txt`)).json(), { path: 'a/b c/d.txt' });
    assert.deepEqual(await (await fetch(`${host.url}/api/files`)).json(), { path: null });
    assert.equal(await (await fetch(`${host.url}/api/greet/ana`)).text(), 'hello ana');
    assert.equal(await (await fetch(`${host.url}/api/greet`)).text(), 'hello nobody');
  });

  test('unknown routes and paths outside the prefix get 404', async () => {
    assert.equal((await fetch(`${host.url}/api/nope`)).status, 404);
    assert.equal((await fetch(`${host.url}/items/42`)).status, 404);
  });

  test('a known route with a method it does not accept gets 404, as the Azure host answers', async () => {
    const response = await fetch(`${host.url}/api/items/42`, { method: 'DELETE' });
    assert.equal(response.status, 404);
  });

  test("authLevel 'function': 401 without a key, 200 with the function key, a host key, the master key or ?code=", async () => {
    const post = (headers: Record<string, string>, query = '') =>
      fetch(`${host.url}/api/items${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'chair' }) });
    const anonymous = await post({});
    assert.equal(anonymous.status, 401);
    assert.equal(await anonymous.text(), '');
    assert.equal((await post({ 'x-functions-key': 'wrong' })).status, 401);
    const created = await post({ 'x-functions-key': 'create-item-key' });
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), { created: 'chair' });
    assert.equal(created.headers.get('location'), '/api/items/7');
    assert.equal(created.headers.get('x-echo-content-type'), 'application/json');
    assert.match(created.headers.get('set-cookie') ?? '', /^session=abc; Path=\/; HttpOnly/);
    assert.equal((await post({ 'x-functions-key': 'host-key-for-tests' })).status, 201);
    assert.equal((await post({ 'x-functions-key': 'master-key-for-tests' })).status, 201);
    assert.equal((await post({}, '?code=create-item-key')).status, 201);
  });

  test("authLevel 'admin' accepts only the master key", async () => {
    assert.equal((await fetch(`${host.url}/api/operator/stats`, { headers: { 'x-functions-key': 'host-key-for-tests' } })).status, 401);
    const ok = await fetch(`${host.url}/api/operator/stats`, { headers: { 'x-functions-key': 'master-key-for-tests' } });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'stats');
  });

  test('binary bodies round-trip; bodies over the limit get 413 without invoking the function', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const echoed = await fetch(`${host.url}/api/upload`, { method: 'POST', body: bytes });
    assert.deepEqual(new Uint8Array(await echoed.arrayBuffer()), bytes);
    const before = host.invocations().filter((r) => r.functionName === 'upload').length;
    const tooBig = await fetch(`${host.url}/api/upload`, { method: 'POST', body: new Uint8Array(2048) });
    assert.equal(tooBig.status, 413);
    assert.equal(host.invocations().filter((r) => r.functionName === 'upload').length, before);
  });

  test('a handler returning nothing answers 204', async () => {
    assert.equal((await fetch(`${host.url}/api/nothing`, { method: 'DELETE' })).status, 204);
  });

  test('an unhandled error is a bare 500 to the client; the stack goes to the host log', async () => {
    const response = await fetch(`${host.url}/api/boom`);
    assert.equal(response.status, 500);
    const body = await response.text();
    assert.doesNotMatch(body, /hunter2|Error|at /);
    const failure = host.invocations().find((r) => r.functionName === 'boom');
    assert.equal(failure?.status, 'failed');
    assert.ok(log.lines.some((l) => l.level === 'error' && l.message.includes("Executed 'Functions.boom' (Failed") && l.message.includes('http-functions')), 'stack is logged');
  });

  test('admin API needs the master key', async () => {
    assert.equal((await fetch(`${host.url}/admin/host/status`)).status, 401);
    const status = await fetch(`${host.url}/admin/host/status`, { headers: { 'x-functions-key': 'master-key-for-tests' } });
    assert.deepEqual(await status.json(), { state: 'Running', version: 'local' });
  });
});

describe('functions host: options', () => {
  test('methodMismatchStatus 405 answers with an Allow header', async () => {
    const host = await startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: {}, appEntryPoints: [fixture], log: () => {}, methodMismatchStatus: 405 });
    try {
      const response = await fetch(`${host.url}/api/items`, { method: 'GET' });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'POST, PUT');
    } finally {
      await host.close();
    }
  });

  test('admin-level functions answer 401 when the host has no master key', async () => {
    const host = await startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: {}, appEntryPoints: [fixture], log: () => {} });
    try {
      assert.equal((await fetch(`${host.url}/api/operator/stats`, { headers: { 'x-functions-key': '' } })).status, 401);
    } finally {
      await host.close();
    }
  });
});

describe('functions host: shutdown', () => {
  test('close() waits for an in-flight invocation, refuses new connections, and restores settings', async () => {
    const host = await startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: { SHUTDOWN_TEST_SETTING: 'x' }, appEntryPoints: [fixture], log: () => {} });
    const started = new Promise<void>((resolve) => (slowGate.started = resolve));
    const inFlight = fetch(`${host.url}/api/slow`);
    await started;
    const closed = host.close();
    // The listener is closed at once: a new request cannot reach the host.
    await assert.rejects(fetch(`${host.url}/api/items/1`, { headers: { connection: 'close' } }));
    slowGate.release?.();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'finished');
    await closed;
    assert.equal(host.invocations().find((r) => r.functionName === 'slow')?.status, 'succeeded');
    assert.equal(process.env.SHUTDOWN_TEST_SETTING, undefined);
  });

  test('an invocation still running after the grace period is reported as abandoned', async () => {
    const lines: string[] = [];
    const host = await startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: {}, appEntryPoints: [fixture], log: (_level, message) => void lines.push(message), shutdownGracePeriodInMs: 200 });
    const started = new Promise<void>((resolve) => (slowGate.started = resolve));
    const inFlight = fetch(`${host.url}/api/slow`).catch((error: unknown) => error);
    await started;
    await host.close();
    const abandoned = host.invocations().find((r) => r.functionName === 'slow');
    assert.equal(abandoned?.status, 'abandoned');
    assert.ok(lines.some((l) => l.includes('abandoned') && l.includes(abandoned.invocationId)), 'the abandoned invocation is named in the log');
    assert.ok((await inFlight) instanceof Error, 'the abandoned request connection was closed');
    slowGate.release?.();
  });
});
