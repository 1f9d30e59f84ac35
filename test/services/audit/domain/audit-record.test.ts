import { expect } from 'chai';
import { createEnvelope } from '@meshmart/kit/events';
import {
  canonicalJson,
  defectOf,
  factsOf,
  GENESIS_HASH,
  seal,
} from '../../../../services/audit/src/domain/audit-record.ts';
import { sampleEvents, TRACE_ID } from '../audit-events.ts';

const envelopes = sampleEvents.map(([topic, e]) => createEnvelope(topic, e, 'tester'));

describe('audit record (domain)', () => {
  describe('when an event becomes facts', () => {
    it('then an order event names its user and order and carries the traceparent’s trace id', () => {
      expect(factsOf(envelopes[0])).to.include({
        actor: 'alice',
        action: 'OrderPlaced',
        resource: 'order/o-1',
        topic: 'orders.events',
        traceId: TRACE_ID,
        at: envelopes[0].occurredAt,
        id: envelopes[0].id,
      });
    });

    it('then an event without a user is attributed to its publishing service', () => {
      expect(factsOf(envelopes[1])).to.include({
        actor: 'service:tester',
        resource: 'payment/pay-1',
        traceId: null,
      });
    });

    it('then data.actor wins and a product event names the product', () => {
      expect(factsOf(envelopes[2])).to.include({ actor: 'admin', resource: 'product/p-1' });
    });

    it('then a user action keeps its own resource and trace id', () => {
      expect(factsOf(envelopes[3])).to.include({
        actor: 'alice',
        action: 'UserAction',
        resource: 'order/o-1',
        traceId: 'abc123',
      });
    });
  });

  describe('when records are sealed', () => {
    const first = seal(factsOf(envelopes[0]), 1, GENESIS_HASH, '2026-03-01T10:00:01.000Z');
    const second = seal(factsOf(envelopes[1]), 2, first.hash, '2026-03-01T10:00:02.000Z');

    it('then a sound chain has no defect', () => {
      expect(defectOf(undefined, first)).to.equal(undefined);
      expect(defectOf(first, second)).to.equal(undefined);
    });

    it('then the hash does not depend on key order', () => {
      const reordered = {
        ...first,
        data: Object.fromEntries(Object.entries(first.data as object).reverse()),
      };
      expect(defectOf(undefined, reordered)).to.equal(undefined);
    });

    it('then altered content is a hash mismatch', () => {
      expect(defectOf(first, { ...second, actor: 'mallory' })).to.equal('hash mismatch');
      expect(defectOf(first, { ...second, data: { amountCents: 1 } })).to.equal('hash mismatch');
    });

    it('then a record re-hashed after a change breaks the link of the next one', () => {
      const forged = seal({ ...factsOf(envelopes[0]), actor: 'mallory' }, 1, GENESIS_HASH, first.recordedAt);
      expect(defectOf(undefined, forged)).to.equal(undefined);
      expect(defectOf(forged, second)).to.equal('broken link');
    });

    it('then a missing record is a gap in sequence', () => {
      const third = seal(factsOf(envelopes[2]), 3, second.hash, second.recordedAt);
      expect(defectOf(first, third)).to.equal('gap in sequence');
    });
  });

  describe('when values are written as canonical JSON', () => {
    it('then keys are sorted at every level and undefined is left out', () => {
      expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }], e: undefined, f: null })).to.equal(
        '{"a":[{"c":2,"d":1}],"b":1,"f":null}',
      );
    });
  });
});
