/**
 * Run in a fresh node process by the cold-start benchmark: loads the whole function app the way
 * the Functions worker does (every file of package.json "main"), then calls the first handler
 * (health) and prints the timings as JSON. performance.now() counts from the process's start.
 */
import { appEntryPoints, loadApp } from './functions-host/app-loader';
import { projectRoot } from './project-paths';
// function-registry (and with it @azure/functions) is the app's own: required after the clock starts.
import type * as FunctionRegistry from '../shared/runtime/function-registry';

async function main(): Promise<void> {
  const started = performance.now();
  // CPU time is far less sensitive than wall time to other processes sharing the machine.
  const cpuAtStart = process.cpuUsage();
  const modulesBefore = Object.keys(require.cache).length;
  const root = projectRoot();
  loadApp(root, appEntryPoints(root));
  const loaded = performance.now();
  const { registeredFunctions } = require('../shared/runtime/function-registry') as typeof FunctionRegistry;
  const health = registeredFunctions().find((fn) => fn.name === 'health');
  if (!health || health.kind !== 'http') throw new Error('the app registers no health function');
  const request = new Request('http://127.0.0.1/api/health');
  const context = { invocationId: 'cold-start', functionName: 'health', log: () => undefined, error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, trace: () => undefined };
  await (health.options.handler as (request: unknown, context: unknown) => Promise<unknown>)(request, context);
  const firstCall = performance.now();
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuSinceProcessStart = process.cpuUsage();
  process.stdout.write(
    JSON.stringify({
      processStartInMs: started,
      loadInMs: loaded - started,
      toFirstHandlerInMs: firstCall - started,
      cpuToFirstHandlerInMs: (cpu.user + cpu.system) / 1000,
      processCpuAtFirstHandlerInMs: (cpuSinceProcessStart.user + cpuSinceProcessStart.system) / 1000,
      modules: Object.keys(require.cache).length - modulesBefore,
      functions: registeredFunctions().length,
      ewsJavascriptApiLoaded: Object.keys(require.cache).some((path) => path.includes('/node_modules/ews-javascript-api/')),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
