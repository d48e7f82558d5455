/**
 * The production path: the host loads the real app through package.json "main"
 * (dist/functions/*.js), exactly as Azure's Node.js worker does, and serves what it registered.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startAzurite, type AzuriteInstance } from '../../dev/azurite/azurite';
import { startFunctionsHost, type FunctionsHost } from '../../dev/functions-host/host';
import { projectRoot } from '../../dev/project-paths';
import { registeredFunctions } from '../../shared/runtime/function-registry';

let azurite: AzuriteInstance;
let host: FunctionsHost;

/** The example settings (local stack URLs), with storage pointed at this test's Azurite. */
function exampleSettings(connectionString: string): Record<string, string> {
  const path = join(projectRoot(), 'local.settings.example.json');
  const values = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { Values?: Record<string, string> }).Values ?? {} : {};
  return { ...values, AzureWebJobsStorage: connectionString };
}

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  host = await startFunctionsHost({ projectRoot: projectRoot(), port: 0, settings: exampleSettings(azurite.connectionString), log: () => {}, shutdownGracePeriodInMs: 2000 });
});
after(async () => {
  await host?.close();
  await azurite?.close();
});

test('the real app is loaded from package.json "main" and every registration is served', () => {
  const registered = registeredFunctions().map((f) => f.name).sort();
  assert.ok(registered.includes('health'), `registered: ${registered.join(', ')}`);
  assert.deepEqual(host.functions.map((f) => f.name).sort(), registered);
});

test('GET /api/health answers 200 {status: "ok"}', async () => {
  const response = await fetch(`${host.url}/api/health`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { status: string };
  assert.equal(body.status, 'ok');
});
