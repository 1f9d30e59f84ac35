/** The card processor, as the payments service sees it. */
export interface AuthorizationRequest {
  readonly paymentToken: string;
  readonly amountCents: number;
  readonly currency: string;
}

export type AuthorizationResult =
  { readonly approved: true } | { readonly approved: false; readonly reason: string };

export interface PaymentProvider {
  /** Throws AppError 422 'invalid-payment-token' for a token it does not know. */
  authorize(request: AuthorizationRequest): Promise<AuthorizationResult>;
  capture(paymentId: string, amountCents: number): Promise<void>;
  void(paymentId: string): Promise<void>;
  refund(paymentId: string, amountCents: number): Promise<void>;
}
