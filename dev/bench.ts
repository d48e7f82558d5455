/**
 * `npm run bench [-- <name-filter>...]`: runs every registered benchmark one after another,
 * prints a table and writes the results as JSON to bench-results/<timestamp>.json and
 * bench-results/latest.json. A filter selects the benchmarks whose name contains it (several
 * filters: any of them); `npm run bench -- --list` prints the names without running anything.
 *
 * To add a benchmark suite: export `benchmarks: Benchmark[]` from a module and add one loader
 * line to BENCHMARK_SUITES below. Benchmarks run sequentially in this process, so each one
 * should start and stop its own servers and leave no handles behind.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { projectRoot } from './project-paths';

/** One measured number. `target` states the goal; `passed` is filled in by the runner. */
export interface BenchMetric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: { readonly atLeast?: number; readonly atMost?: number };
}

export interface BenchContext {
  /** Logs progress lines (not part of the results). */
  log(message: string): void;
  /** Full garbage collection, so memory readings mean something. */
  collectGarbage(): void;
}

export interface BenchResult {
  readonly metrics: readonly BenchMetric[];
  /** How it was measured: client, payload sizes, anything a reader needs to compare runs. */
  readonly notes?: readonly string[];
}

export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(context: BenchContext): Promise<BenchResult>;
}

/** Every benchmark suite; each loader returns its module's benchmarks. */
export const BENCHMARK_SUITES: readonly (() => Promise<readonly Benchmark[]>)[] = [
  async () => (await import('./ews-simulator/bench.js')).benchmarks,
  async () => (await import('./sync-bench.js')).benchmarks,
  async () => (await import('./idle-tick-bench.js')).benchmarks,
  async () => (await import('./cold-start-bench.js')).benchmarks,
  async () => (await import('./graph-simulator/bench.js')).benchmarks,
  async () => (await import('./graph-sync-bench.js')).benchmarks,
  async () => (await import('./notification-latency-bench.js')).benchmarks,
];

interface RecordedMetric extends BenchMetric {
  readonly passed?: boolean;
}

interface RecordedResult {
  readonly benchmark: string;
  readonly description: string;
  readonly durationInMs: number;
  readonly metrics: readonly RecordedMetric[];
  readonly notes: readonly string[];
  readonly error?: string;
}

export interface BenchReport {
  readonly createdAt: string;
  readonly environment: { readonly node: string; readonly platform: string; readonly cpuModel: string; readonly cpuCount: number; readonly totalMemoryInBytes: number };
  readonly results: readonly RecordedResult[];
}

function gcFunction(): () => void {
  // `npm run bench` starts node without --expose-gc; enabling the flag at run time and fetching
  // gc from a fresh context gives the same function.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
}

function passed(metric: BenchMetric): boolean | undefined {
  if (!metric.target) return undefined;
  const { atLeast, atMost } = metric.target;
  return (atLeast === undefined || metric.value >= atLeast) && (atMost === undefined || metric.value <= atMost);
}

export async function runBenchmarks(benchmarks: readonly Benchmark[], log: (line: string) => void = console.log): Promise<BenchReport> {
  const collectGarbage = gcFunction();
  const results: RecordedResult[] = [];
  for (const benchmark of benchmarks) {
    log(`\n▶ ${benchmark.name}: ${benchmark.description}`);
    const started = performance.now();
    try {
      const result = await benchmark.run({ log: (message) => log(`  ${message}`), collectGarbage });
      results.push({
        benchmark: benchmark.name,
        description: benchmark.description,
        durationInMs: Math.round(performance.now() - started),
        metrics: result.metrics.map((metric) => {
          const ok = passed(metric);
          return ok === undefined ? metric : { ...metric, passed: ok };
        }),
        notes: result.notes ?? [],
      });
    } catch (error: unknown) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`  failed: ${message}`);
      results.push({ benchmark: benchmark.name, description: benchmark.description, durationInMs: Math.round(performance.now() - started), metrics: [], notes: [], error: message });
    }
  }
  const cpu = cpus()[0];
  return {
    createdAt: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpuModel: cpu?.model ?? 'unknown', cpuCount: cpus().length, totalMemoryInBytes: totalmem() },
    results,
  };
}

export function formatTable(report: BenchReport): string {
  const rows = [['benchmark', 'metric', 'value', 'unit', 'target', 'ok']];
  for (const result of report.results) {
    if (result.error) rows.push([result.benchmark, 'ERROR', '', '', '', 'no']);
    for (const metric of result.metrics) {
      const target = metric.target ? [metric.target.atLeast !== undefined ? `>= ${metric.target.atLeast}` : '', metric.target.atMost !== undefined ? `<= ${metric.target.atMost}` : ''].filter(Boolean).join(' ') : '';
      rows.push([result.benchmark, metric.name, formatNumber(metric.value), metric.unit, target, metric.passed === undefined ? '' : metric.passed ? 'yes' : 'NO']);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row, index) => {
    const line = row.map((cell, column) => (column === 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ');
    return index === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

export function writeReport(report: BenchReport, directory = join(projectRoot(), 'bench-results')): { path: string; latestPath: string } {
  mkdirSync(directory, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const path = join(directory, `${report.createdAt.replace(/[:.]/g, '-')}.json`);
  const latestPath = join(directory, 'latest.json');
  writeFileSync(path, json);
  writeFileSync(latestPath, json);
  return { path, latestPath };
}

export const BENCH_USAGE = [
  'Usage: npm run bench [-- [--list] [<name-filter>...]]',
  '  <name-filter>  run the benchmarks whose name contains it (several: any of them), e.g. npm run bench -- sync',
  '  --list         print the benchmarks (filtered, if filters are given) without running them',
].join('\n');

/** Names, padded, with what each measures: what `--list` prints. */
export function formatList(benchmarks: readonly Benchmark[]): string {
  const width = Math.max(0, ...benchmarks.map((b) => b.name.length));
  return benchmarks.map((b) => `${b.name.padEnd(width)}  ${b.description}`).join('\n');
}

export function selectBenchmarks(all: readonly Benchmark[], filters: readonly string[]): Benchmark[] {
  return all.filter((benchmark) => filters.length === 0 || filters.some((filter) => benchmark.name.includes(filter)));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(BENCH_USAGE);
    return;
  }
  const unknownOption = args.find((arg) => arg.startsWith('-') && arg !== '--list');
  if (unknownOption) {
    console.error(`Unknown option ${unknownOption}.\n${BENCH_USAGE}`);
    process.exit(2);
  }
  const filters = args.filter((arg) => arg !== '--list');
  const all = (await Promise.all(BENCHMARK_SUITES.map((load) => load()))).flat();
  const selected = selectBenchmarks(all, filters);
  if (args.includes('--list')) {
    console.log(formatList(selected));
    return;
  }
  if (selected.length === 0) {
    console.error(`No benchmark matched. Available (npm run bench -- --list):\n${formatList(all)}`);
    process.exit(1);
  }
  const report = await runBenchmarks(selected);
  console.log(`\n${formatTable(report)}`);
  const { path } = writeReport(report);
  console.log(`\nResults written to ${path} and bench-results/latest.json`);
  if (report.results.some((result) => result.error)) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
