import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { RequestHeaders } from './signing';
import { TRACE_FILE_ENV } from './trace-file';

/**
 * Traces, through the OpenTelemetry API. The API is a facade: until a process
 * registers an SDK, every span is a no-op that costs next to nothing, and
 * `startTracing` registers one only when it has somewhere to send spans —
 * OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads
 * the standard OTEL_EXPORTER_OTLP_* variables itself), or a file of JSON lines
 * when LIBFED_TRACE_FILE is (tests). The SDK is loaded only then, too.
 */
export const OTLP_ENDPOINT_ENV = 'OTEL_EXPORTER_OTLP_ENDPOINT';

export interface Tracing {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  /** Flushes what is buffered and stops exporting; idempotent. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` of the spans: `gateway` or the site id. */
  serviceName: string;
  env?: NodeJS.ProcessEnv;
}

const OFF: Tracing = { enabled: false, shutdown: async () => {} };

/** Starts the SDK for this process when the environment asks for it (see above); otherwise changes nothing. */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  const endpoint = env[OTLP_ENDPOINT_ENV];
  const file = env[TRACE_FILE_ENV];
  if (!endpoint && !file) return OFF;
  const [{ NodeTracerProvider }, { BatchSpanProcessor, SimpleSpanProcessor }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
  ]);
  const spanProcessors = [];
  if (endpoint) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  }
  if (file) {
    const { FileSpanExporter } = await import('./trace-file');
    // Simple, not batched: a test reads the file right after the request, and every span must be there.
    spanProcessors.push(new SimpleSpanProcessor(new FileSpanExporter(file)));
  }
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': options.serviceName }), spanProcessors });
  // Registers the AsyncLocalStorage context manager and the W3C traceparent propagator as well.
  provider.register();
  let stopping: Promise<void> | undefined;
  return { enabled: true, shutdown: () => (stopping ??= provider.shutdown()) };
}

const tracer = () => trace.getTracer('libfed');

/**
 * Runs `work` in a new span, a child of the active one (or of `parent`): the
 * span ends when `work` settles, with an error status if it threw. Every span
 * LibFed makes goes through here.
 */
export function withSpan<T>(name: string, options: { kind?: SpanKind; attributes?: Attributes; parent?: Context }, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The trace context of an incoming request (its `traceparent` header), to parent the span that serves it. */
export function traceContextFrom(headers: RequestHeaders): Context {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) if (typeof value === 'string') carrier[key] = value;
  return propagation.extract(context.active(), carrier);
}

/** The headers that carry the active trace context to the process called (`traceparent`); none without an SDK. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

export { SpanKind, SpanStatusCode, type Span };
