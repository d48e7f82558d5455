import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../dev/project-paths';

const run = promisify(execFile);
const benchScript = join(projectRoot(), 'dist', 'dev', 'bench.js');

test('npm run bench -- --list prints every benchmark with its description and runs none', async () => {
  const { stdout } = await run(process.execPath, [benchScript, '--list'], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  assert.ok(lines.length >= 2, stdout);
  assert.ok(lines.some((line) => /^sync/.test(line)), 'the end-to-end sync benchmark is listed');
  assert.doesNotMatch(stdout, /Results written|▶/, 'nothing ran');
});

test('--list with a filter lists only the matching benchmarks; an unknown option is refused with the usage', async () => {
  const all = (await run(process.execPath, [benchScript, '--list'])).stdout.trim().split('\n');
  const first = all[0]!.split(/\s+/)[0]!;
  const filtered = (await run(process.execPath, [benchScript, '--list', first])).stdout.trim().split('\n');
  assert.ok(filtered.every((line) => line.split(/\s+/)[0]!.includes(first)), filtered.join('\n'));
  assert.ok(filtered.length < all.length || all.every((line) => line.includes(first)));
  await assert.rejects(run(process.execPath, [benchScript, '--lsit']), (error: { code?: number; stderr?: string }) => error.code === 2 && /Usage: npm run bench/.test(error.stderr ?? ''));
});
