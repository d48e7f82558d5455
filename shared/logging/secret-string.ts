import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret held in memory. It prints as `[redacted]` through every path a value takes
 * into a log or a response (String(), template literals, JSON.stringify, util.inspect),
 * so a secret reaches a log only if someone calls `reveal()` and logs the result.
 */
export class SecretString {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself; call it only at the point where the secret is handed to a protocol. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export const REDACTED_TEXT = REDACTED;
