/**
 * Runs a benchmark's measurement in a child process that trusts the dev certificate: the local Key
 * Vault and identity provider serve TLS with it, and Node reads NODE_EXTRA_CA_CERTS only at start.
 * The child writes progress lines as `log <text>` and its result as one `result <JSON>` line on stdout
 * (anything else a library prints there is ignored).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchContext } from './bench';
import { devStateDir, devTrustBundle, ensureDevCertificate } from './certs';
import { projectRoot } from './project-paths';

export async function runBenchChild<T>(script: string, args: readonly string[], context: BenchContext, what: string): Promise<T> {
  const cert = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, NODE_EXTRA_CA_CERTS: devTrustBundle(cert) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let pending = '';
  let result: string | undefined;
  let errors = '';
  const take = (line: string): void => {
    if (line.startsWith('log ')) context.log(line.slice(4));
    else if (line.startsWith('result ')) result = line.slice(7);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(take);
  });
  child.stderr.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString('utf8')).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  take(pending);
  if (code !== 0 || result === undefined) throw new Error(`${what} exited with ${code}${result === undefined ? ' without a result' : ''}: ${errors.split('\n').filter((line) => !line.startsWith('WARNING')).join('\n')}`);
  return JSON.parse(result) as T;
}

/** The child side: runs `measure`, writes its JSON result, exits. */
export function serveBenchChild<T>(measure: (context: BenchContext) => Promise<T>): void {
  measure({ log: (message) => process.stdout.write(`log ${message}\n`), collectGarbage: () => undefined }).then(
    (result) => {
      process.stdout.write(`\nresult ${JSON.stringify(result)}\n`, () => process.exit(0));
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
