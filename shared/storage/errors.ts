/**
 * Typed storage errors. Repositories translate the Table service's RestErrors into these,
 * so callers switch on `code` and never on HTTP status codes or SDK internals.
 */
export type StorageErrorCode = 'NotFound' | 'Conflict' | 'PreconditionFailed' | 'InvalidContinuationToken';

export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
}

/** The entity does not exist (or was deleted meanwhile). */
export class EntityNotFoundError extends StorageError {
  readonly code = 'NotFound';
  constructor(readonly entityKind: string, readonly key: string) {
    super(`${entityKind} '${key}' was not found`);
    this.name = 'EntityNotFoundError';
  }
}

/** An entity with the same key (or the same unique value) already exists. */
export class EntityConflictError extends StorageError {
  readonly code = 'Conflict';
  constructor(readonly entityKind: string, readonly key: string, message?: string) {
    super(message ?? `${entityKind} '${key}' already exists`);
    this.name = 'EntityConflictError';
  }
}

/** The entity changed since the caller read it (ETag mismatch). */
export class PreconditionFailedError extends StorageError {
  readonly code = 'PreconditionFailed';
  constructor(readonly entityKind: string, readonly key: string) {
    super(`${entityKind} '${key}' was changed by someone else; read it again and retry`);
    this.name = 'PreconditionFailedError';
  }
}

/** A continuation token that this service did not hand out (or that was damaged). */
export class InvalidContinuationTokenError extends StorageError {
  readonly code = 'InvalidContinuationToken';
  constructor() {
    super('The continuation token is not valid');
    this.name = 'InvalidContinuationTokenError';
  }
}

/** The HTTP status of a RestError from the Azure SDK, when it is one. */
export function restStatusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** Maps the Table service's 404 / 409 / 412 to our typed errors; anything else is rethrown as is. */
export function translateTableError(error: unknown, entityKind: string, key: string): never {
  switch (restStatusOf(error)) {
    case 404:
      throw new EntityNotFoundError(entityKind, key);
    case 409:
      throw new EntityConflictError(entityKind, key);
    case 412:
      throw new PreconditionFailedError(entityKind, key);
    default:
      throw error;
  }
}
