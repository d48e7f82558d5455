/**
 * The crash test's worker process: runs one write job with the real runtime (app settings from
 * the environment, as the Functions host would give them) and SIGKILLs itself right after
 * Exchange answered, before any bookkeeping — the worst moment for idempotency. Not a test file.
 */
import { parseWriteJob } from '../../shared/write/write-jobs';
import { useWriteOverrides, writeRuntime } from '../../shared/write/write-composition';
import { runWriteJob } from '../../shared/write/write-worker';

async function main(): Promise<void> {
  const job = parseWriteJob(process.env.CRASH_WRITE_JOB ?? '');
  useWriteOverrides({
    // The dead worker's lease must lapse within the test (production: 120 s, the queue redelivers later anyway).
    limits: { leaseDurationInMs: 2_000 },
    afterExchangeAnswered: () => {
      process.stdout.write('exchange answered; killing myself\n');
      process.kill(process.pid, 'SIGKILL');
    },
  });
  const outcome = await runWriteJob(job, writeRuntime().worker);
  process.stdout.write(`finished without a crash: ${JSON.stringify(outcome)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
