import { expect } from 'chai';
import { AppError } from '@meshmart/kit';
import {
  Chaos,
  ChaosPaymentProvider,
} from '../../../../services/payments/src/adapters/chaos-payment-provider.ts';
import { SimulatedPaymentProvider } from '../../../../services/payments/src/adapters/simulated-payment-provider.ts';
import { rejectionOf } from '../../../support/rejection.ts';

const card = (paymentToken: string) => ({ paymentToken, amountCents: 100, currency: 'USD' });

describe('simulated payment provider', () => {
  const provider = new SimulatedPaymentProvider();

  it('when the token is tok_visa, then it is approved', async () => {
    expect(await provider.authorize(card('tok_visa'))).to.deep.equal({ approved: true });
  });

  it('when the token is tok_decline or tok_insufficient_funds, then it is declined with the reason', async () => {
    expect(await provider.authorize(card('tok_decline'))).to.deep.equal({
      approved: false,
      reason: 'card_declined',
    });
    expect(await provider.authorize(card('tok_insufficient_funds'))).to.deep.equal({
      approved: false,
      reason: 'insufficient_funds',
    });
  });

  it('when the token is unknown (even an Object property name), then 422 invalid-payment-token', async () => {
    for (const token of ['tok_unknown', 'constructor', '__proto__']) {
      const err = await rejectionOf(provider.authorize(card(token)), AppError);
      expect(err.status).to.equal(422);
      expect(err.code).to.equal('invalid-payment-token');
    }
  });
});

describe('chaos payment provider', () => {
  it('when the dice fall under the failure rate, then the call fails with the configured status', async () => {
    const rolls = [0.4, 0.6];
    const chaos = new Chaos({ latencyMs: 0, failureRate: 0.5, failureStatus: 504 }, () => rolls.shift()!);
    const provider = new ChaosPaymentProvider(new SimulatedPaymentProvider(), chaos);
    const err = await rejectionOf(provider.authorize(card('tok_visa')), AppError);
    expect(err.status).to.equal(504);
    expect(err.code).to.equal('provider-unavailable');
    expect(await provider.authorize(card('tok_visa'))).to.deep.equal({ approved: true });
  });

  it('when the failure rate is 0, then no call fails', async () => {
    const chaos = new Chaos(undefined, () => 0);
    const provider = new ChaosPaymentProvider(new SimulatedPaymentProvider(), chaos);
    await provider.capture('p', 1);
    await provider.void('p');
    await provider.refund('p', 1);
    expect(await provider.authorize(card('tok_visa'))).to.deep.equal({ approved: true });
  });

  it('when settings change and are reset, then the reset turns everything off', () => {
    const chaos = new Chaos({ latencyMs: 10, failureRate: 0.1, failureStatus: 500 });
    expect(chaos.set({ failureRate: 1 })).to.deep.equal({
      latencyMs: 10,
      failureRate: 1,
      failureStatus: 500,
    });
    expect(chaos.reset()).to.deep.equal({ latencyMs: 0, failureRate: 0, failureStatus: 503 });
  });
});
