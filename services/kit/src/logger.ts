import { trace, type Context } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly service: string;
  /** @default 'info' */
  readonly level?: LevelWithSilent;
  /** Where lines go. @default stdout (synchronous writes are avoided by pino's own buffering) */
  readonly destination?: DestinationStream;
}

/**
 * JSON lines with level (as a word), ISO time, service, and the active trace_id/span_id so logs join traces.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const ctx = span.spanContext();
        if (!trace.isSpanContextValid(ctx)) return {};
        return { trace_id: ctx.traceId, span_id: ctx.spanId };
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** `{ trace_id, span_id }` of a trace context (a handler's `trace`, a delivery's `context`); `{}` when it has none. */
export function traceFields(ctx: Context | undefined): { trace_id?: string; span_id?: string } {
  const span = ctx ? trace.getSpanContext(ctx) : undefined;
  return span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/**
 * A child logger whose lines carry the context's trace ids, for code that logs after an `await`: with the kit's
 * default explicit context the active span is gone by then, so the mixin above finds nothing.
 * e.g. `const log = loggerFor(logger, delivery.context)` at the top of an event handler.
 */
export function loggerFor(logger: Logger, ctx: Context | undefined): Logger {
  const fields = traceFields(ctx);
  return fields.trace_id ? logger.child(fields) : logger;
}
