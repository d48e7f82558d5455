/**
 * An in-memory OpenTelemetry SDK for tests: spans kept in an InMemorySpanExporter, metrics read
 * on demand. Install before the Functions host loads the app (it runs in this process), so the
 * app's spans and metrics land here.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface MetricPoint {
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** Sums and gauges: the value; histograms: the count and sum. */
  readonly value: number;
  readonly count?: number;
}

export interface TestTelemetry {
  spans(): ReadableSpan[];
  metricPoints(): Promise<MetricPoint[]>;
  shutdown(): Promise<void>;
}

export function installTestTelemetry(): TestTelemetry {
  const spanExporter = new InMemorySpanExporter();
  const reader = new OnDemandReader();
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  trace.setGlobalTracerProvider(tracerProvider);
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    spans: () => spanExporter.getFinishedSpans(),
    metricPoints: async () => {
      const { resourceMetrics } = await reader.collect();
      return pointsOf(resourceMetrics);
    },
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

function pointsOf(resourceMetrics: ResourceMetrics): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints as DataPoint<unknown>[]) {
        const value = point.value;
        if (typeof value === 'number') points.push({ name: metric.descriptor.name, attributes: point.attributes, value });
        else if (value && typeof value === 'object' && 'count' in value) {
          const histogram = value as { count: number; sum?: number };
          points.push({ name: metric.descriptor.name, attributes: point.attributes, value: histogram.sum ?? 0, count: histogram.count });
        }
      }
    }
  }
  return points;
}
