/**
 * Cold start of the whole function app: fresh node processes load every file of package.json
 * "main" as the Functions worker does and call the first handler (dev/cold-start-probe.ts).
 * Reported: module load to the first handler's answer (median of COLD_START_RUNS, default 7),
 * next to a bare node start measured the same way, so a busy machine shows as both growing.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext, BenchResult } from './bench';

interface ProbeResult {
  readonly processStartInMs: number;
  readonly loadInMs: number;
  readonly toFirstHandlerInMs: number;
  readonly cpuToFirstHandlerInMs: number;
  readonly processCpuAtFirstHandlerInMs: number;
  readonly modules: number;
  readonly functions: number;
  readonly ewsJavascriptApiLoaded: boolean;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function runNode(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // A clean environment for the child: no inherited --require hooks or inspector flags.
    const env = { ...process.env, NODE_OPTIONS: '' };
    execFile(process.execPath, [...args], { env, maxBuffer: 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

async function run(context: BenchContext): Promise<BenchResult> {
  const runs = Math.max(1, Number(process.env.COLD_START_RUNS ?? 7) || 7);
  const probes: ProbeResult[] = [];
  const bare: number[] = [];
  const bareCpu: number[] = [];
  for (let index = 0; index < runs; index++) {
    const [wall, cpu] = (await runNode(['-e', 'const u = process.cpuUsage(); process.stdout.write(performance.now() + " " + (u.user + u.system) / 1000)'])).split(' ').map(Number);
    bare.push(wall!);
    bareCpu.push(cpu!);
    probes.push(JSON.parse(await runNode([join(__dirname, 'cold-start-probe.js')])) as ProbeResult);
  }
  const last = probes.at(-1)!;
  const toFirstHandler = median(probes.map((probe) => probe.toFirstHandlerInMs));
  const load = loadavg().map((value) => value.toFixed(2)).join(', ');
  context.log(`app: ${probes.map((probe) => Math.round(probe.toFirstHandlerInMs)).join(', ')} ms (CPU ${probes.map((probe) => Math.round(probe.cpuToFirstHandlerInMs)).join(', ')} ms); bare node start: ${bare.map(Math.round).join(', ')} ms; load average ${load}`);
  return {
    metrics: [
      { name: 'module load to first handler call (median)', value: Math.round(toFirstHandler), unit: 'ms', target: { atMost: 250 } },
      { name: 'CPU time, module load to first handler call (median)', value: Math.round(median(probes.map((probe) => probe.cpuToFirstHandlerInMs))), unit: 'ms', target: { atMost: 250 } },
      { name: 'process CPU time at the first handler call, node start included (median)', value: Math.round(median(probes.map((probe) => probe.processCpuAtFirstHandlerInMs))), unit: 'ms' },
      { name: 'bare node start, CPU time (median)', value: Math.round(median(bareCpu)), unit: 'ms' },
      { name: 'process start before the app loads (median)', value: Math.round(median(probes.map((probe) => probe.processStartInMs))), unit: 'ms' },
      { name: 'bare node start (median)', value: Math.round(median(bare)), unit: 'ms' },
      { name: 'modules loaded by the app', value: last.modules, unit: 'count' },
      { name: 'ews-javascript-api loaded at start', value: last.ewsJavascriptApiLoaded ? 1 : 0, unit: 'bool', target: { atMost: 0 } },
    ],
    notes: [
      `Load average (1, 5, 15 min) at the end: ${load}.`,
      `${last.functions} functions from every file of package.json "main", loaded with dev/functions-host/app-loader like the worker, then the health handler called; ${runs} fresh processes (COLD_START_RUNS).`,
      'Loaded on first use: ews-javascript-api (long tail, write-back), @ewsjs/xhr, the lean SOAP path, the admin composition, @azure/data-tables, storage-blob/queue, identity, MSAL, Key Vault, jose and the Graph SDK (docs/sync.md, "Cold start").',
    ],
  };
}

export const benchmarks: Benchmark[] = [{ name: 'cold-start', description: 'function app module load to first handler call, fresh processes (median)', run }];
