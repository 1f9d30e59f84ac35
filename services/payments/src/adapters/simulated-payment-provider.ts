import { AppError } from '@meshmart/kit';
import type { AuthorizationRequest, AuthorizationResult, PaymentProvider } from './payment-provider.ts';

/** Deterministic test cards, so demos and tests know the outcome in advance. */
const TOKENS: Readonly<Record<string, AuthorizationResult>> = {
  tok_visa: { approved: true },
  tok_mastercard: { approved: true },
  tok_decline: { approved: false, reason: 'card_declined' },
  tok_insufficient_funds: { approved: false, reason: 'insufficient_funds' },
};

export class SimulatedPaymentProvider implements PaymentProvider {
  authorize(request: AuthorizationRequest): Promise<AuthorizationResult> {
    const result = Object.hasOwn(TOKENS, request.paymentToken) ? TOKENS[request.paymentToken] : undefined;
    if (!result) {
      return Promise.reject(
        new AppError(
          422,
          'invalid-payment-token',
          `the payment token '${request.paymentToken}' is not known`,
        ),
      );
    }
    return Promise.resolve(result);
  }

  capture(): Promise<void> {
    return Promise.resolve();
  }

  void(): Promise<void> {
    return Promise.resolve();
  }

  refund(): Promise<void> {
    return Promise.resolve();
  }
}
