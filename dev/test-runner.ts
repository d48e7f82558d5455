/**
 * `npm test` after the build: node's built-in runner over an explicit list of compiled test
 * files (Node 20 does not expand quoted globs). Arguments filter the list by substring.
 * It makes the local TLS certificate first and hands it to the test processes through
 * NODE_EXTRA_CA_CERTS, which Node reads only when a process starts.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { devStateDir, devTrustBundle, ensureDevCertificate } from './certs';
import { ewsSchemaDir, graphSchemaDir, projectRoot } from './project-paths';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

async function main(): Promise<void> {
  const root = projectRoot();
  const filters = process.argv.slice(2);
  const files = testFiles(join(root, 'dist', 'test'))
    .map((f) => relative(root, f))
    .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)))
    .sort();
  if (files.length === 0) {
    console.error('No test files matched.');
    process.exit(1);
  }
  const cert = await ensureDevCertificate(join(devStateDir(root), 'certs'));
  const schemaDir = ewsSchemaDir();
  const graphSchema = graphSchemaDir();
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: devTrustBundle(cert), ...(schemaDir ? { EWS_SCHEMA_DIR: schemaDir } : {}), ...(graphSchema ? { GRAPH_SCHEMA_DIR: graphSchema } : {}) };
  const concurrency = process.env.TEST_CONCURRENCY ?? '2';
  const child = spawn(process.execPath, ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...files], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
