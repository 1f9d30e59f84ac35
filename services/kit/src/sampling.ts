import { randomFillSync } from 'node:crypto';
import {
  createContextKey,
  SamplingDecision,
  TraceFlags,
  trace,
  type Attributes,
  type Context,
  type Link,
  type SpanContext,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';

/**
 * Head sampling decided in the kit's middleware, before any span exists: an unsampled request (nine in ten by
 * default) gets a bare span context carrying the "not sampled" decision downstream, and never touches the SDK.
 */
export interface RequestSampling {
  /** Fraction of new traces sampled. */
  readonly ratio: number;
  /** X-Ray-compatible trace ids (epoch seconds first). */
  readonly xray: boolean;
}

let active: RequestSampling | undefined;

/** Set by startTracing when spans are exported; undefined means there is nothing to record. */
export function requestSampling(): RequestSampling | undefined {
  return active;
}

export function setRequestSampling(sampling: RequestSampling | undefined): void {
  active = sampling;
}

/** Marks a root the middleware has already chosen to sample, so the SDK does not roll the dice a second time. */
export const SAMPLED_BY_KIT = createContextKey('meshmart.sampled-by-kit');

export class KitRootSampler implements Sampler {
  constructor(private readonly fallback: Sampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (context.getValue(SAMPLED_BY_KIT) === true) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.fallback.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `KitRootSampler{${this.fallback.toString()}}`;
  }
}

const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

/** A new, unsampled span context: ids from a pooled random buffer instead of the SDK's per-id generator. */
function unsampledRoot(xray: boolean): SpanContext {
  const traceId = xray
    ? Math.floor(Date.now() / 1000)
        .toString(16)
        .padStart(8, '0') + randomHex(12)
    : randomHex(16);
  return { traceId, spanId: randomHex(8), traceFlags: TraceFlags.NONE, isRemote: false };
}

/**
 * The span of an unsampled request: records nothing, and makes its ids only when something asks for them (a log
 * line, a call downstream), which most requests never do.
 */
export class UnsampledSpan implements Span {
  private context: SpanContext | undefined;

  constructor(private readonly xray: boolean) {}

  spanContext(): SpanContext {
    return (this.context ??= unsampledRoot(this.xray));
  }
  setAttribute(): this {
    return this;
  }
  setAttributes(): this {
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(): this {
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {}
  isRecording(): boolean {
    return false;
  }
  recordException(): void {}
}

export function isSampled(ctx: SpanContext | undefined): boolean {
  return ctx !== undefined && trace.isSpanContextValid(ctx) && (ctx.traceFlags & TraceFlags.SAMPLED) !== 0;
}
