/**
 * Storage queue triggers as the Functions host runs them, against any queue service
 * (Azurite locally) through @azure/storage-queue. host.json extensions.queues semantics:
 * - batchSize messages per receive; a new batch is fetched once the messages in flight drop
 *   to newBatchThreshold;
 * - polling backs off exponentially (randomised) from 100 ms up to maxPollingInterval while
 *   the queue is empty and returns to immediate polling when a message arrives;
 * - messages are received invisible for 10 minutes; success deletes the message; failure
 *   makes it visible again after visibilityTimeout; after maxDequeueCount attempts it is
 *   copied to `<queue>-poison` (created on demand) and deleted;
 * - messageEncoding base64 (the default) decodes the text; JSON objects/arrays reach the
 *   handler parsed, anything else as a string.
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger
 */
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import { trigger } from '@azure/functions';
import type { StorageQueueFunctionOptions } from '@azure/functions';
import type { QueueHostOptions } from './host-config';
import type { HostLogSink } from './host-log';
import type { InvocationTracker } from './invocations';

/** How long a received message stays hidden while its function runs (the host's default). */
const PROCESSING_VISIBILITY_IN_SECONDS = 600;
const MINIMUM_POLLING_INTERVAL_IN_MS = 100;

export class QueueTriggerConfigurationError extends Error {
  readonly code = 'QueueTriggerConfigurationError';
}

export class QueueMessageDecodingError extends Error {
  readonly code = 'QueueMessageDecodingError';
}

/** The connection string for a binding's `connection` setting name, as the host looks it up. */
export function queueConnectionString(connection: string, settings: NodeJS.ProcessEnv): string {
  const value = settings[connection] ?? settings[`AzureWebJobs${connection}`];
  if (value) return value;
  if (settings[`${connection}__queueServiceUri`] || settings[`${connection}__serviceUri`]) {
    throw new QueueTriggerConfigurationError(`Connection '${connection}' is identity-based; the local host supports connection strings only (set '${connection}' to Azurite's connection string).`);
  }
  throw new QueueTriggerConfigurationError(`Storage connection setting '${connection}' is not set (queue triggers need it, e.g. AzureWebJobsStorage=UseDevelopmentStorage=true).`);
}

/** Decodes a message body to what the handler receives: a parsed JSON object/array, else the text. */
export function decodeQueueMessage(messageText: string, encoding: QueueHostOptions['messageEncoding']): { text: string; value: unknown } {
  let text = messageText;
  if (encoding === 'base64') {
    const compact = messageText.replace(/\s+/g, '');
    if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
      throw new QueueMessageDecodingError('Message is not valid base64 (host.json extensions.queues.messageEncoding is base64)');
    }
    text = Buffer.from(compact, 'base64').toString('utf8');
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { text, value: JSON.parse(trimmed) as unknown };
    } catch {
      // Not JSON after all: the handler gets the text, as the host does.
    }
  }
  return { text, value: text };
}

export interface QueueTriggerOptions {
  readonly functionName: string;
  readonly options: StorageQueueFunctionOptions;
  readonly queueName: string;
  readonly connectionString: string;
  readonly host: QueueHostOptions;
  readonly tracker: InvocationTracker;
  readonly log: HostLogSink;
}

interface InFlightMessage {
  readonly messageId: string;
  popReceipt: string;
}

export class QueueTrigger {
  private readonly queue: QueueClient;
  private readonly poisonQueue: QueueClient;
  private readonly abort = new AbortController();
  private readonly inFlight = new Map<string, InFlightMessage>();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private released = false;

  constructor(private readonly settings: QueueTriggerOptions) {
    const service = QueueServiceClient.fromConnectionString(settings.connectionString);
    this.queue = service.getQueueClient(settings.queueName);
    this.poisonQueue = service.getQueueClient(`${settings.queueName}-poison`);
  }

  get poisonQueueName(): string {
    return this.poisonQueue.name;
  }

  /** Creates the queue if missing and starts polling. */
  async start(): Promise<void> {
    await this.queue.createIfNotExists();
    const { functionName, queueName, host, log } = this.settings;
    log('debug', `Queue '${functionName}': listening on '${queueName}' (batchSize ${host.batchSize}, newBatchThreshold ${host.newBatchThreshold}, maxDequeueCount ${host.maxDequeueCount})`);
    this.loop = this.poll();
  }

  /** Stops fetching; invocations in flight keep running until the host's grace period ends. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  /**
   * After the grace period: makes the messages of abandoned invocations visible again at once
   * (their dequeue count already counts the attempt) instead of after the 10-minute lease.
   */
  async releaseAbandoned(): Promise<string[]> {
    this.released = true;
    const abandoned = [...this.inFlight.values()];
    await Promise.allSettled(abandoned.map((m) => this.queue.updateMessage(m.messageId, m.popReceipt, undefined, 0)));
    this.inFlight.clear();
    return abandoned.map((m) => m.messageId);
  }

  /** Runs the function on `input` (the message text, not encoded), as the admin API's "invoke" does. */
  async invokeManually(input: string): Promise<void> {
    const { value } = decodeQueueMessage(input, 'none');
    const { functionName, options, tracker } = this.settings;
    const triggerBinding = trigger.storageQueue({ queueName: options.queueName, connection: options.connection });
    await tracker.run(
      { functionName, trigger: 'storageQueue', triggerBinding, reason: 'This function was programmatically called via the host APIs.', triggerMetadata: { queueTrigger: input } },
      async (context) => {
        await options.handler(value, context);
      },
    );
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async poll(): Promise<void> {
    const { host, log, queueName } = this.settings;
    let idleDelayInMs = MINIMUM_POLLING_INTERVAL_IN_MS;
    while (!this.stopped) {
      if (this.inFlight.size > host.newBatchThreshold) {
        await this.sleep(undefined);
        continue;
      }
      let messages: DequeuedMessageItem[];
      try {
        const response = await this.queue.receiveMessages({
          numberOfMessages: host.batchSize,
          visibilityTimeout: PROCESSING_VISIBILITY_IN_SECONDS,
          abortSignal: this.abort.signal,
        });
        messages = response.receivedMessageItems;
      } catch (error) {
        if (this.stopped) break;
        log('warn', `Queue '${queueName}': receive failed (${(error as Error).message}); retrying`);
        messages = [];
      }
      if (messages.length === 0) {
        await this.sleep(idleDelayInMs);
        // Randomised exponential back-off, capped, as the host's queue listener does.
        idleDelayInMs = Math.min(host.maxPollingIntervalInMs, idleDelayInMs * (1.6 + Math.random() * 0.8));
        idleDelayInMs = Math.max(idleDelayInMs, Math.min(MINIMUM_POLLING_INTERVAL_IN_MS, host.maxPollingIntervalInMs));
        continue;
      }
      idleDelayInMs = MINIMUM_POLLING_INTERVAL_IN_MS;
      for (const message of messages) {
        this.inFlight.set(message.messageId, { messageId: message.messageId, popReceipt: message.popReceipt });
        void this.process(message).finally(() => {
          this.inFlight.delete(message.messageId);
          this.wake?.();
        });
      }
    }
  }

  /** Waits `delayInMs` (or until woken when undefined); stopping or a finished message wakes it early. */
  private sleep(delayInMs: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = delayInMs === undefined ? undefined : setTimeout(done, delayInMs);
      const wake = () => done();
      this.wake = wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      if (this.stopped) done();
    });
  }

  private async process(message: DequeuedMessageItem): Promise<void> {
    const { host, log, queueName, functionName } = this.settings;
    if (message.dequeueCount > host.maxDequeueCount) {
      // Seen more often than allowed (e.g. the host died mid-run): straight to poison, unprocessed.
      await this.moveToPoison(message);
      return;
    }
    let succeeded = false;
    try {
      const { text, value } = decodeQueueMessage(message.messageText, host.messageEncoding);
      const triggerMetadata = {
        id: message.messageId,
        queueTrigger: text,
        dequeueCount: message.dequeueCount,
        insertionTime: message.insertedOn.toISOString(),
        expirationTime: message.expiresOn.toISOString(),
        nextVisibleTime: message.nextVisibleOn.toISOString(),
        popReceipt: message.popReceipt,
      };
      const triggerBinding = trigger.storageQueue({ queueName: this.settings.options.queueName, connection: this.settings.options.connection });
      await this.settings.tracker.run(
        { functionName, trigger: 'storageQueue', triggerBinding, reason: `New queue message detected on '${queueName}'.`, triggerMetadata },
        async (context) => {
          await this.settings.options.handler(value, context);
        },
      );
      succeeded = true;
    } catch (error) {
      if (error instanceof QueueMessageDecodingError) log('error', `Queue '${queueName}': message ${message.messageId}: ${error.message}`);
    }
    if (this.released) return;
    try {
      if (succeeded) await this.queue.deleteMessage(message.messageId, this.currentPopReceipt(message));
      else if (message.dequeueCount >= host.maxDequeueCount) await this.moveToPoison(message);
      else await this.queue.updateMessage(message.messageId, this.currentPopReceipt(message), undefined, Math.ceil(host.visibilityTimeoutInMs / 1000));
    } catch (error) {
      log('warn', `Queue '${queueName}': could not settle message ${message.messageId}: ${(error as Error).message}`);
    }
  }

  private currentPopReceipt(message: DequeuedMessageItem): string {
    return this.inFlight.get(message.messageId)?.popReceipt ?? message.popReceipt;
  }

  private async moveToPoison(message: DequeuedMessageItem): Promise<void> {
    const { log, queueName, functionName } = this.settings;
    await this.poisonQueue.createIfNotExists();
    // The poison copy keeps the original (still encoded) text, as the host writes it.
    await this.poisonQueue.sendMessage(message.messageText);
    await this.queue.deleteMessage(message.messageId, this.currentPopReceipt(message));
    log('warn', `Function '${functionName}': message ${message.messageId} on '${queueName}' failed ${message.dequeueCount} time(s); moved to '${this.poisonQueue.name}'`);
  }
}
