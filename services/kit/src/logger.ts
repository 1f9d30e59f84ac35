import { trace } from '@opentelemetry/api';
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
