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
  StorageQueueFunctionOptions,
  TimerFunctionOptions,
} from '@azure/functions';

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

export function defineHttpFunction(name: string, options: HttpFunctionOptions): void {
  record({ kind: 'http', name, options });
  app.http(name, options);
}

export function defineTimerFunction(name: string, options: TimerFunctionOptions): void {
  record({ kind: 'timer', name, options });
  app.timer(name, options);
}

export function defineStorageQueueFunction(name: string, options: StorageQueueFunctionOptions): void {
  record({ kind: 'storageQueue', name, options });
  app.storageQueue(name, options);
}

/** What the app registered so far, in registration order. */
export function registeredFunctions(): readonly RegisteredFunction[] {
  return registrations;
}
