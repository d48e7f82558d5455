/**
 * Deterministic fault injection. Rules match by operation and principal; a seeded PRNG decides
 * probabilistic rules, so a run with the same seed and the same request sequence fails the same way.
 */

export type FaultKind =
  /** SOAP fault ErrorServerBusy with BackOffMilliseconds in MessageXml (HTTP 500), as Exchange Online throttling does. */
  | 'serverBusy'
  /** SOAP fault ErrorExceededConnectionCount (the EWSMaxConcurrency budget). */
  | 'exceededConnectionCount'
  /** HTTP 503 Service Unavailable (with Retry-After when retryAfterSeconds is set). */
  | 'http503'
  /** HTTP 429 Too Many Requests with Retry-After. */
  | 'http429'
  /** HTTP 500 with an HTML body (front-end failure, not a SOAP fault). */
  | 'http500'
  /** Delay the response by latencyInMs, then answer normally. */
  | 'latency'
  /** Destroy the TCP connection without answering. */
  | 'connectionReset'
  /** SyncFolderItems / SyncFolderHierarchy answer ErrorInvalidSyncStateData. */
  | 'invalidSyncState';

/** One rule; `K` is the simulator's fault vocabulary (EWS kinds by default, the Graph simulator has its own). */
export interface FaultRule<K extends string = FaultKind> {
  readonly id: string;
  readonly kind: K;
  /** EWS operation name (e.g. "SyncFolderItems"); absent = every operation. */
  readonly operation?: string;
  /** Caller principal (UPN / app id) or acting mailbox address; absent = everyone. */
  readonly principal?: string;
  /** 0..1, default 1. */
  readonly probability?: number;
  /** How many more times the rule may fire; absent = unlimited. */
  remaining?: number;
  readonly backOffInMs?: number;
  readonly retryAfterInSeconds?: number;
  readonly latencyInMs?: number;
}

export type NewFaultRule<K extends string = FaultKind> = Omit<FaultRule<K>, 'id' | 'remaining'> & { count?: number };

/** mulberry32: small, fast, deterministic. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultMatch {
  readonly operation: string;
  readonly principals: readonly string[];
  /** Rules of these kinds do not apply to this request (and are not used up by it). */
  readonly skipKinds?: readonly string[];
}

export class FaultInjector<K extends string = FaultKind> {
  private rules: FaultRule<K>[] = [];
  private nextId = 1;
  private random: () => number;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  add(rule: NewFaultRule<K>): FaultRule<K> {
    const { count, ...rest } = rule;
    const stored: FaultRule<K> = { ...rest, id: `fault-${this.nextId++}`, ...(count !== undefined ? { remaining: count } : {}) };
    this.rules.push(stored);
    return stored;
  }

  list(): readonly FaultRule<K>[] {
    return this.rules;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(seed?: number): void {
    this.rules = [];
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  /** Faults that fire for this request, in rule order (latency first so it can combine with others). */
  pick(match: FaultMatch): FaultRule<K>[] {
    const fired: FaultRule<K>[] = [];
    const principals = match.principals.map((p) => p.toLowerCase());
    for (const rule of this.rules) {
      if (rule.operation && rule.operation !== match.operation) continue;
      if (match.skipKinds?.includes(rule.kind)) continue;
      if (rule.principal && !principals.includes(rule.principal.toLowerCase())) continue;
      if (rule.remaining !== undefined && rule.remaining <= 0) continue;
      if (rule.probability !== undefined && rule.probability < 1 && this.random() >= rule.probability) continue;
      if (rule.remaining !== undefined) rule.remaining--;
      fired.push(rule);
    }
    this.rules = this.rules.filter((r) => r.remaining === undefined || r.remaining > 0);
    return fired.sort((a, b) => Number(b.kind === 'latency') - Number(a.kind === 'latency'));
  }
}
