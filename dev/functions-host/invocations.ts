/**
 * Runs one function invocation the way the host does: a fresh InvocationContext whose log
 * methods reach the host console tagged with the function's name, "Executing"/"Executed"
 * lines, and a record of every invocation so shutdown can wait for (or report) the ones
 * still running and tests can observe outcomes.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import type { FunctionTrigger, LogLevel, TriggerMetadata } from '@azure/functions';
import { formatLogArguments, type HostLogLevel, type HostLogSink } from './host-log';

export type TriggerKind = 'http' | 'timer' | 'storageQueue';

export type InvocationStatus = 'running' | 'succeeded' | 'failed' | 'abandoned';

export interface InvocationRecord {
  readonly invocationId: string;
  readonly functionName: string;
  readonly trigger: TriggerKind;
  readonly startedAt: Date;
  readonly endedAt?: Date;
  readonly status: InvocationStatus;
  /** The error's message when status is 'failed' (never its stack). */
  readonly error?: string;
}

export interface InvocationRequest {
  readonly functionName: string;
  readonly trigger: TriggerKind;
  readonly triggerBinding: FunctionTrigger;
  /** Why it ran, as the host words it in the "Executing" line. */
  readonly reason: string;
  readonly triggerMetadata?: TriggerMetadata;
}

interface MutableRecord {
  invocationId: string;
  functionName: string;
  trigger: TriggerKind;
  startedAt: Date;
  endedAt?: Date;
  status: InvocationStatus;
  error?: string;
  done: Promise<void>;
}

/** How many finished invocations to keep for inspection; older ones are dropped. */
const HISTORY_LIMIT = 1000;

function hostLevel(level: LogLevel): HostLogLevel | undefined {
  switch (level) {
    case 'trace':
    case 'debug':
      return 'debug';
    case 'information':
      return 'info';
    case 'warning':
      return 'warn';
    case 'error':
    case 'critical':
      return 'error';
    default:
      return undefined;
  }
}

export type InvocationListener = (record: InvocationRecord) => void;

export class InvocationTracker {
  private readonly records: MutableRecord[] = [];
  private readonly listeners = new Set<InvocationListener>();

  /** `functionTimeoutInMs`: host.json functionTimeout; a run exceeding it is reported (Azure would stop it). */
  constructor(
    private readonly log: HostLogSink,
    private readonly functionTimeoutInMs?: number,
  ) {}

  /** Invokes `body` with a new context; resolves with its result or rejects with its error. */
  async run<T>(request: InvocationRequest, body: (context: InvocationContext) => Promise<T>): Promise<T> {
    const invocationId = randomUUID();
    const context = new InvocationContext({
      invocationId,
      functionName: request.functionName,
      triggerMetadata: request.triggerMetadata ?? {},
      options: { trigger: request.triggerBinding, extraInputs: [], extraOutputs: [] },
      logHandler: (level, ...args) => {
        const mapped = hostLevel(level);
        if (mapped) this.log(mapped, `[${request.functionName}] ${formatLogArguments(args)}`);
      },
    });
    let settle!: () => void;
    const record: MutableRecord = {
      invocationId,
      functionName: request.functionName,
      trigger: request.trigger,
      startedAt: new Date(),
      status: 'running',
      done: new Promise<void>((resolve) => (settle = resolve)),
    };
    this.remember(record);
    this.log('debug', `Executing 'Functions.${request.functionName}' (Reason='${request.reason}', Id=${invocationId})`);
    const overdue = this.functionTimeoutInMs === undefined ? undefined : setTimeout(() => {
      this.log('error', `Invocation of '${request.functionName}' (Id=${invocationId}) exceeded functionTimeout (${this.functionTimeoutInMs} ms): Azure would stop it and restart the worker`);
    }, this.functionTimeoutInMs);
    overdue?.unref();
    try {
      const result = await body(context);
      this.finish(record, 'succeeded');
      return result;
    } catch (error) {
      this.finish(record, 'failed', error);
      throw error;
    } finally {
      clearTimeout(overdue);
      settle();
    }
  }

  /** Every remembered invocation, oldest first. */
  list(): InvocationRecord[] {
    return this.records.map((record) => this.snapshot(record));
  }

  running(): InvocationRecord[] {
    return this.records.filter((r) => r.status === 'running').map((r) => this.snapshot(r));
  }

  /** Resolves when no invocation is running, or with the ones still running after `timeoutInMs`. */
  async drain(timeoutInMs: number): Promise<InvocationRecord[]> {
    const running = this.records.filter((r) => r.status === 'running');
    if (running.length === 0) return [];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutInMs)));
    await Promise.race([Promise.all(running.map((r) => r.done)), timedOut]);
    clearTimeout(timer);
    const abandoned = this.records.filter((r) => r.status === 'running');
    for (const record of abandoned) {
      record.status = 'abandoned';
      record.endedAt = new Date();
      this.notify(record);
    }
    return abandoned.map((r) => this.snapshot(r));
  }

  /** Calls `listener` whenever an invocation ends (or is abandoned); returns an unsubscribe function. */
  onEnded(listener: InvocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private finish(record: MutableRecord, status: 'succeeded' | 'failed', error?: unknown): void {
    // An abandoned invocation that ends after shutdown keeps its 'abandoned' status.
    if (record.status !== 'running') return;
    record.status = status;
    record.endedAt = new Date();
    const durationInMs = record.endedAt.getTime() - record.startedAt.getTime();
    if (status === 'succeeded') {
      this.log('debug', `Executed 'Functions.${record.functionName}' (Succeeded, Id=${record.invocationId}, Duration=${durationInMs}ms)`);
    } else {
      record.error = error instanceof Error ? error.message : String(error);
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.log('error', `Executed 'Functions.${record.functionName}' (Failed, Id=${record.invocationId}, Duration=${durationInMs}ms)\n${detail}`);
    }
    this.notify(record);
  }

  private remember(record: MutableRecord): void {
    this.records.push(record);
    if (this.records.length > HISTORY_LIMIT) {
      const index = this.records.findIndex((r) => r.status !== 'running');
      if (index !== -1) this.records.splice(index, 1);
    }
  }

  private notify(record: MutableRecord): void {
    const snapshot = this.snapshot(record);
    for (const listener of this.listeners) listener(snapshot);
  }

  private snapshot(record: MutableRecord): InvocationRecord {
    const { done: _done, ...rest } = record;
    void _done;
    return { ...rest };
  }
}
