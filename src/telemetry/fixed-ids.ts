import { RandomIdGenerator, type IdGenerator } from "@opentelemetry/sdk-trace-base";

/**
 * The SDK's id generator, except while `with` runs: then the span it starts gets the given ids
 * (saga spans are named by the saga, see engine/trace-ids.ts). `startSpan` is synchronous, so the
 * ids cannot reach another span.
 */
export class FixedIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private traceId: string | null = null;
  private spanId: string | null = null;

  with<T>(traceId: string, spanId: string, start: () => T): T {
    this.traceId = traceId;
    this.spanId = spanId;
    try {
      return start();
    } finally {
      this.traceId = null;
      this.spanId = null;
    }
  }

  generateTraceId(): string {
    return this.traceId ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    const fixed = this.spanId;
    this.spanId = null;
    return fixed ?? this.random.generateSpanId();
  }
}
