/**
 * `node dist/dev/azurite/main.js [--in-memory] [--location DIR]`
 *
 * Runs Azurite's blob, queue and table services on 10000/10001/10002 (loopback), with data
 * kept in .dev/azurite unless --in-memory, and prints the connection string. Ctrl+C stops it.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { devStateDir } from '../certs';
import { projectRoot } from '../project-paths';
import { startAzurite } from './azurite';

async function main(): Promise<void> {
  const { values: args } = parseArgs({ options: { 'in-memory': { type: 'boolean', default: false }, location: { type: 'string' } } });
  const inMemory = args['in-memory'] === true;
  const location = args.location ?? join(devStateDir(projectRoot()), 'azurite');
  const azurite = await startAzurite(inMemory ? { inMemory, ports: { blob: 10000, queue: 10001, table: 10002 } } : { inMemory, location });
  console.log(`Azurite listening (${inMemory ? 'in memory' : `data in ${location}`}):`);
  console.log(`  blob  ${azurite.blobEndpoint}\n  queue ${azurite.queueEndpoint}\n  table ${azurite.tableEndpoint}`);
  console.log(`AzureWebJobsStorage=${azurite.connectionString}`);
  const stop = () => {
    azurite.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`Azurite failed to start: ${(error as Error).message}`);
  process.exit(1);
});
