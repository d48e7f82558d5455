/**
 * The one source of truth for which functions the app has.
 *
 * Every file in functions/ registers its functions through these helpers. Each helper
 * registers with the real `app` from @azure/functions (what Azure runs) and records the
 * same definition here, so the local host in dev/ runs exactly the registrations the
 * app made: no second list of routes, schedules or queue names exists anywhere.
 */
import { app } from '@azure/functions';
import type {
  HttpFunctionOptions,
  InvocationContext,
  StorageQueueFunctionOptions,
  TimerFunctionOptions,
} from '@azure/functions';
import { contextFromCarrier, ensureTelemetryStarted, recordQueueAge, SpanKind, withSpan } from '../telemetry';

export type RegisteredFunction =
  | { readonly kind: 'http'; readonly name: string; readonly options: HttpFunctionOptions }
  | { readonly kind: 'timer'; readonly name: string; readonly options: TimerFunctionOptions }
  | { readonly kind: 'storageQueue'; readonly name: string; readonly options: StorageQueueFunctionOptions };

const registrations: RegisteredFunction[] = [];

function record(definition: RegisteredFunction): void {
  if (registrations.some((existing) => existing.name === definition.name)) {
    throw new Error(`A function named '${definition.name}' is already registered`);
  }
  registrations.push(definition);
}

// Every handler runs inside a span: the root of a trace for timers and HTTP, the child of the
// enqueuing span for queue messages (W3C traceparent inside the message, put there by
// shared/storage sendQueueMessage), so a trace follows a change from the timer to the webhook.

export function defineHttpFunction(name: string, options: HttpFunctionOptions): void {
  const handler = options.handler;
  const traced: HttpFunctionOptions = {
    ...options,
    handler: (request, context) => {
      ensureTelemetryStarted();
      return withSpan(`${request.method} ${name}`, { kind: SpanKind.SERVER, attributes: { 'faas.trigger': 'http', 'faas.name': name, 'http.request.method': request.method } }, async (span) => {
        const response = await handler(request, context);
        if (response && typeof response === 'object' && 'status' in response && typeof response.status === 'number') span.setAttribute('http.response.status_code', response.status);
        return response;
      });
    },
  };
  record({ kind: 'http', name, options: traced });
  app.http(name, traced);
}

export function defineTimerFunction(name: string, options: TimerFunctionOptions): void {
  const handler = options.handler;
  const traced: TimerFunctionOptions = {
    ...options,
    handler: (timer, context) => {
      ensureTelemetryStarted();
      return withSpan(`timer ${name}`, { kind: SpanKind.INTERNAL, attributes: { 'faas.trigger': 'timer', 'faas.name': name } }, async () => handler(timer, context));
    },
  };
  record({ kind: 'timer', name, options: traced });
  app.timer(name, traced);
}

export function defineStorageQueueFunction(name: string, options: StorageQueueFunctionOptions): void {
  const handler = options.handler;
  const traced: StorageQueueFunctionOptions = {
    ...options,
    handler: (message, context) => {
      ensureTelemetryStarted();
      recordQueueAge(options.queueName, queueAgeInSeconds(context));
      const attributes = { 'faas.trigger': 'pubsub', 'faas.name': name, 'messaging.system': 'azure_storage_queue', 'messaging.destination.name': options.queueName, 'messaging.operation.type': 'process' };
      return withSpan(`process ${options.queueName}`, { kind: SpanKind.CONSUMER, attributes, parent: contextFromCarrier(message) }, async () => handler(message, context));
    },
  };
  record({ kind: 'storageQueue', name, options: traced });
  app.storageQueue(name, traced);
}

/** From the message's insertion time (trigger metadata, as the Functions host gives it). */
function queueAgeInSeconds(context: InvocationContext): number {
  const inserted = context.triggerMetadata?.['insertionTime'];
  const at = typeof inserted === 'string' || inserted instanceof Date ? new Date(inserted).getTime() : NaN;
  return (Date.now() - at) / 1000;
}

/** What the app registered so far, in registration order. */
export function registeredFunctions(): readonly RegisteredFunction[] {
  return registrations;
}
