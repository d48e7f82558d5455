import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../dev/project-paths';

const run = promisify(execFile);

// Packages that only some requests need: loading them with the function files made the app's cold
// start several times slower (docs/sync.md, "Cold start"). A static import added anywhere on the
// load path brings them back silently; this test names the package and the file at fault.
const LOADED_ON_FIRST_USE = ['ews-javascript-api', '@azure/data-tables', '@azure/msal-node', '@azure/identity', '@azure/keyvault-secrets', '@azure/storage-queue', '@azure/storage-blob', '@microsoft/microsoft-graph-client', 'saxes', 'kerberos'];

const PROBE = `
const { appEntryPoints, loadApp } = require('./dist/dev/functions-host/app-loader');
const root = process.cwd();
loadApp(root, appEntryPoints(root));
process.stdout.write(JSON.stringify(Object.keys(require.cache)));
`;

test('loading the function app (as the Functions host does) loads none of the packages only some requests need', async () => {
  const { stdout } = await run(process.execPath, ['-e', PROBE], { cwd: projectRoot(), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  const loaded = JSON.parse(stdout) as string[];
  assert.ok(loaded.some((path) => path.includes('/dist/functions/')), 'the probe loaded the function files');
  const early = LOADED_ON_FIRST_USE.filter((name) => loaded.some((path) => path.includes(`/node_modules/${name}/`)));
  assert.deepEqual(early, [], `loaded at start: ${early.join(', ')} — require it on first use (see shared/storage/table-sdk.ts)`);
});
