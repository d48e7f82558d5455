/**
 * `npm start`: the whole product locally with a demo organisation, state kept under .dev/.
 *
 * Node reads NODE_EXTRA_CA_CERTS only at start, and the app must trust the local HTTPS
 * servers' certificate: so this script makes the certificate and runs itself again as a
 * child trusting it, forwarding Ctrl+C.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { devStateDir, devTrustBundle, ensureDevCertificate } from './certs';
import { seedDemoOrganisation } from './demo-organisation';
import { ensureLocalFunctionKeys } from './functions-host/local-settings';
import { startLocalStack, type LocalStack } from './local-stack';
import { projectRoot } from './project-paths';
import { printWelcome } from './welcome';

/** Set in the child so it does not relaunch again. */
const RELAUNCHED = 'EXCHANGE_CONNECTOR_TRUSTS_DEV_CERT';

async function relaunchTrustingDevCertificate(root: string): Promise<void> {
  const certificate = await ensureDevCertificate(join(devStateDir(root), 'certs'));
  const child = spawn(process.execPath, ['--enable-source-maps', ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: devTrustBundle(certificate), [RELAUNCHED]: '1' },
  });
  // A terminal's Ctrl+C reaches the child directly (same process group); a signal sent to this
  // process alone is passed on. The child ignores a repeat arriving within a second.
  process.on('SIGINT', () => child.kill('SIGINT'));
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
}

/** Two copies of one Ctrl+C (the terminal's and the parent's) arrive within this window. */
const REPEAT_SIGNAL_WINDOW_IN_MS = 1000;

function stopOnSignals(stack: LocalStack): void {
  let stoppingSince: number | undefined;
  const stop = (signal: string): void => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < REPEAT_SIGNAL_WINDOW_IN_MS) return;
      console.log(`${signal} again: exiting without waiting.`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    console.log(`\n${signal}: stopping the functions host (in-flight invocations may finish), then every local server...`);
    stack.close().then(
      () => {
        console.log('Everything stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('Shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(): Promise<void> {
  const root = projectRoot();
  if (process.env[RELAUNCHED] !== '1') {
    await relaunchTrustingDevCertificate(root);
    return;
  }
  console.log('Starting the local stack (state in .dev/; `npm run dev:reset` wipes it)...');
  const stack = await startLocalStack({
    projectRoot: root,
    mode: 'persistent',
    // Short-lived access tokens so a delegated user's broken refresh token shows within minutes in the demo.
    identity: { accessTokenLifetimeInSeconds: 300 },
    log: (line) => console.log(`  ${line}`),
  });
  stopOnSignals(stack);
  const demo = await seedDemoOrganisation(stack, { log: (line) => console.log(`  ${line}`) });
  await subscribeToChangesNow(stack, root);
  printWelcome(stack, demo);
}

/**
 * The renewal timer creates change-notification subscriptions every 10 minutes (docs/notifications.md);
 * the demo runs it once now, through the host's admin API as an operator would, so new mail reaches the
 * receiver within seconds from the start instead of after the first timer run.
 */
async function subscribeToChangesNow(stack: LocalStack, root: string): Promise<void> {
  if (!stack.functionsHost) return;
  const { keys } = ensureLocalFunctionKeys(join(devStateDir(root), 'functions-host'));
  try {
    const response = await fetch(`${stack.functionsHost.url}/admin/functions/notifications-renew`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': keys.masterKey ?? '' },
      body: JSON.stringify({ input: '' }),
    });
    console.log(response.ok ? '  Change notifications: subscriptions requested (the renewal timer keeps them)' : `  Change notifications: the renewal run answered ${response.status}; the timer retries within 10 minutes`);
  } catch (error) {
    console.log(`  Change notifications: the renewal run failed (${error instanceof Error ? error.message : String(error)}); the timer retries within 10 minutes`);
  }
}

main().catch((error: unknown) => {
  console.error('npm start failed:', error instanceof Error ? error.message : error);
  if (error instanceof Error && /EADDRINUSE/.test(error.message)) {
    console.error('A port of the local stack is taken: is another `npm start` running?');
  }
  process.exit(1);
});
