import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { expect } from 'chai';
import { createLogger, loggerFor, SyncContextManager, traceFields } from '@meshmart/kit';
import { envelopeTraceFields } from '@meshmart/kit/events';
import { LogCapture } from '../../support/sample-app.ts';

describe('logger', () => {
  afterEach(() => context.disable());

  describe('when a line is written', () => {
    it('then it is one JSON object with the level as a word, an ISO time and the service', () => {
      const out = new LogCapture();
      createLogger({ service: 'svc', destination: out }).info({ order_id: 'o-1' }, 'order placed');
      expect(out.lines).to.have.length(1);
      const line = out.lines[0];
      expect(line).to.include({ level: 'info', service: 'svc', msg: 'order placed', order_id: 'o-1' });
      expect(new Date(line.time as string).toISOString()).to.equal(line.time);
    });
  });

  describe('when a span is active', () => {
    it('then the line carries its trace_id and span_id, and an invalid span adds none', () => {
      context.setGlobalContextManager(new SyncContextManager());
      const out = new LogCapture();
      const logger = createLogger({ service: 'svc', destination: out });
      const ids = {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: TraceFlags.SAMPLED,
      };
      context.with(trace.setSpanContext(ROOT_CONTEXT, ids), () => logger.info('inside'));
      context.with(trace.setSpanContext(ROOT_CONTEXT, { ...ids, traceId: '0'.repeat(32) }), () =>
        logger.info('invalid'),
      );
      logger.info('outside');
      expect(out.lines[0]).to.include({ trace_id: ids.traceId, span_id: ids.spanId });
      expect(out.lines[1]).not.to.have.any.keys('trace_id', 'span_id');
      expect(out.lines[2]).not.to.have.any.keys('trace_id', 'span_id');
    });
  });

  describe('when code logs after an await with the explicit context manager', () => {
    it('then the active span is gone, and loggerFor(logger, ctx) still writes the trace ids', async () => {
      context.setGlobalContextManager(new SyncContextManager());
      const out = new LogCapture();
      const logger = createLogger({ service: 'svc', destination: out });
      const ids = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
      const ctx = trace.setSpanContext(ROOT_CONTEXT, ids);
      await context.with(ctx, async () => {
        await Promise.resolve();
        logger.info('implicit');
        loggerFor(logger, ctx).info('explicit');
      });
      expect(out.lines[0]).not.to.have.any.keys('trace_id', 'span_id');
      expect(out.lines[1]).to.include({ trace_id: ids.traceId, span_id: ids.spanId, msg: 'explicit' });
      expect(traceFields(undefined)).to.deep.equal({});
      expect(loggerFor(logger, ROOT_CONTEXT)).to.equal(logger);
    });
  });

  describe('when an event envelope carries a traceparent', () => {
    it('then envelopeTraceFields reads its ids, and a malformed or all-zero one gives none', () => {
      const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      expect(envelopeTraceFields({ headers: { traceparent: tp } })).to.deep.equal({
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        span_id: '00f067aa0ba902b7',
      });
      expect(envelopeTraceFields({ headers: { traceparent: 'nope' } })).to.deep.equal({});
      expect(
        envelopeTraceFields({ headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` } }),
      ).to.deep.equal({});
      expect(envelopeTraceFields({ headers: {} })).to.deep.equal({});
    });
  });

  describe('when the level is raised', () => {
    it('then lower levels are not written', () => {
      const out = new LogCapture();
      const logger = createLogger({ service: 'svc', level: 'warn', destination: out });
      logger.info('quiet');
      logger.warn('loud');
      expect(out.lines.map((l) => l.msg)).to.deep.equal(['loud']);
    });
  });
});
