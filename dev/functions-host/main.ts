/**
 * `node dist/dev/functions-host/main.js [--port N] [--settings FILE] [--with-azurite] [--queue-lease-seconds N] [--queue-batch-size N] [--app FILE ...]`
 *
 * Starts the local Functions host the way `func start` would: settings from
 * local.settings.json (else local.settings.example.json), port from Host.LocalHttpPort
 * (else 7071), the app from package.json "main". --with-azurite also starts Azurite on its
 * usual ports with data kept in .dev/azurite. Ctrl+C stops it gracefully; a second Ctrl+C
 * exits at once. --queue-lease-seconds shortens how long a message being processed stays hidden
 * (renewed while it runs; default 600 as in Azure): what a crash test needs so a killed host's
 * messages come back quickly; --queue-batch-size N takes N messages at a time (several hosts then
 * share a burst). --app loads only the given function files (repeatable).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startAzurite, type AzuriteInstance } from '../azurite/azurite';
import { devStateDir } from '../certs';
import { projectRoot } from '../project-paths';
import { consoleHostLog } from './host-log';
import { startFunctionsHost } from './host';
import { ensureLocalFunctionKeys, readLocalSettings } from './local-settings';

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      port: { type: 'string' },
      settings: { type: 'string' },
      'with-azurite': { type: 'boolean', default: false },
      'queue-lease-seconds': { type: 'string' },
      'queue-batch-size': { type: 'string' },
      app: { type: 'string', multiple: true },
    },
  });
  const root = projectRoot();
  const settings = readLocalSettings(root, args.settings);
  consoleHostLog('info', `Settings: ${settings.path}`);
  const { path: keysPath, keys } = ensureLocalFunctionKeys(join(devStateDir(root), 'functions-host'));
  consoleHostLog('info', `Function keys (master, host): ${keysPath}`);

  let azurite: AzuriteInstance | undefined;
  if (args['with-azurite']) {
    azurite = await startAzurite({ inMemory: false, location: join(devStateDir(root), 'azurite') });
    consoleHostLog('info', `Azurite: blob ${azurite.blobEndpoint}, queue ${azurite.queueEndpoint}, table ${azurite.tableEndpoint}`);
  }
  const host = await startFunctionsHost({
    projectRoot: root,
    port: args.port !== undefined ? Number(args.port) : (settings.port ?? 7071),
    settings: settings.values,
    functionKeys: keys,
    queues: {
      ...(args['queue-lease-seconds'] !== undefined ? { processingLeaseInMs: Number(args['queue-lease-seconds']) * 1000 } : {}),
      ...(args['queue-batch-size'] !== undefined ? { batchSize: Number(args['queue-batch-size']), newBatchThreshold: 0 } : {}),
    },
    ...(args.app && args.app.length > 0 ? { appEntryPoints: args.app } : {}),
  }).catch(async (error: unknown) => {
    await azurite?.close();
    throw error;
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      consoleHostLog('warn', `${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    consoleHostLog('info', `${signal} received: stopping (Ctrl+C again to exit at once)`);
    host
      .close()
      .then(() => azurite?.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          consoleHostLog('error', `Shutdown failed: ${(error as Error).stack ?? String(error)}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  consoleHostLog('error', `Functions host failed to start: ${(error as Error).message}`);
  process.exit(1);
});
