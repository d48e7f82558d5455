/**
 * Spans through the OpenTelemetry API (the SDK, if any, is started by ./setup or a test), and
 * W3C trace context carried inside our queue messages, so one trace runs from the timer through
 * sync-jobs and deliveries to the webhook call.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

export const TRACER_NAME = 'exchange-connector';

/** The fields a queue message carries (optional: messages from older versions have none). */
export interface TraceCarrier {
  traceparent?: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The active span's context as W3C trace context fields, or {} when nothing is being traced. */
export function currentTraceCarrier(): TraceCarrier {
  const span = trace.getSpan(context.active());
  const spanContext = span?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
  const flags = spanContext.traceFlags.toString(16).padStart(2, '0');
  return { traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}` };
}

/**
 * The remote parent named by a message's `traceparent`; a malformed value is ignored (it never
 * fails a job). `tracestate` is not carried: nothing here uses vendor state.
 */
export function contextFromCarrier(carrier: unknown, base: Context = context.active()): Context {
  if (typeof carrier !== 'object' || carrier === null) return base;
  const traceparent = (carrier as TraceCarrier).traceparent;
  if (typeof traceparent !== 'string') return base;
  const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return base;
  return trace.setSpanContext(base, { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16) & 1, isRemote: true });
}

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Start the span under this context (a queue message's remote parent) instead of the active one. */
  readonly parent?: Context;
}

/**
 * Runs `body` inside a new active span; an exception marks the span as an error (with the
 * error's `code`, never its message: messages may hold addresses) and is rethrown.
 */
export async function withSpan<T>(name: string, options: SpanOptions, body: (span: Span) => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) }, parent, async (span) => {
    try {
      return await body(span);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
      span.setAttribute('error.type', typeof code === 'string' ? code : (error as Error | null)?.name ?? 'Error');
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind, SpanStatusCode };
