import { appendFileSync } from 'node:fs';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Test hook: each process appends its finished spans to this file, one JSON object per line. */
export const TRACE_FILE_ENV = 'LIBFED_TRACE_FILE';

/** One finished span as the trace file holds it. */
export interface SpanLine {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  /** The `service.name` of the process that made it (`gateway`, a site id). */
  process: string;
  attributes: Record<string, unknown>;
  status: number;
  startUnixNs: string;
  durationNs: string;
}

/**
 * A span exporter for tests: every process of a chain appends to one file, and
 * a test reads the whole trace from it. Synchronous appends of whole lines, so
 * processes writing at once never interleave inside a line and nothing waits
 * in memory when a process is stopped.
 */
export class FileSpanExporter implements SpanExporter {
  constructor(private readonly path: string) {}

  export(spans: ReadableSpan[], done: (result: { code: 0 | 1; error?: Error }) => void): void {
    try {
      const text = spans.map((s) => `${JSON.stringify(spanLine(s))}\n`).join('');
      if (text) appendFileSync(this.path, text);
      done({ code: 0 });
    } catch (error) {
      done({ code: 1, error: error as Error });
    }
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}
}

function spanLine(s: ReadableSpan): SpanLine {
  const ns = (t: [number, number]) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? null,
    name: s.name,
    kind: s.kind,
    process: String(s.resource.attributes['service.name'] ?? ''),
    attributes: { ...s.attributes },
    status: s.status.code,
    startUnixNs: ns(s.startTime),
    durationNs: ns(s.duration),
  };
}
