import { expect } from 'chai';
import {
  eventLabel,
  formatMoney,
  pageWindow,
  plural,
  shortId,
  statusTone,
} from '../../services/web/src/ui/format.ts';

describe('web UI formatting', () => {
  it('when cents are formatted, then they read as dollars with two decimals and thousands separators', () => {
    expect(formatMoney(8999)).to.equal('$89.99');
    expect(formatMoney(0)).to.equal('$0.00');
    expect(formatMoney(5)).to.equal('$0.05');
    expect(formatMoney(123456789)).to.equal('$1,234,567.89');
    expect(formatMoney(1000, 'EUR')).to.equal('€10.00');
  });

  it('when an order event type is labelled, then known ones read as sentences and others are split into words', () => {
    expect(eventLabel('OrderPaymentAuthorized')).to.equal('Payment authorized');
    expect(eventLabel('OrderCancelled')).to.equal('Order cancelled');
    expect(eventLabel('StockReleased')).to.equal('Stock released');
    expect(eventLabel('saga.step_failed')).to.equal('Saga step failed');
  });

  it('when a status is toned, then final good, final bad and waiting states differ', () => {
    expect(statusTone('CONFIRMED')).to.equal('ok');
    expect(statusTone('CANCELLED')).to.equal('bad');
    expect(statusTone('COMPENSATED')).to.equal('bad');
    expect(statusTone('PENDING')).to.equal('wait');
    expect(statusTone('SOMETHING')).to.equal('neutral');
  });

  it('when pages are windowed, then the first, the last and the neighbours of the current page are shown', () => {
    expect(pageWindow(1, 1)).to.deep.equal([1]);
    expect(pageWindow(1, 4)).to.deep.equal([1, 2, 3, 4]);
    expect(pageWindow(1, 9)).to.deep.equal([1, 2, '…', 9]);
    expect(pageWindow(5, 10)).to.deep.equal([1, '…', 4, 5, 6, '…', 10]);
    expect(pageWindow(10, 10)).to.deep.equal([1, '…', 9, 10]);
    expect(pageWindow(2, 3)).to.deep.equal([1, 2, 3]);
  });

  it('when counts and ids are shown, then plurals agree and UUIDs are shortened', () => {
    expect(plural(1, 'item')).to.equal('1 item');
    expect(plural(3, 'item')).to.equal('3 items');
    expect(shortId('3f2a9c1e-1b2c-4d5e-8f90-123456789abc')).to.equal('3f2a9c1e');
    expect(shortId('o-1')).to.equal('o-1');
  });
});
