/**
 * What payments needs from a payment provider (Stripe-like): charges and refunds that are
 * idempotent on a caller-chosen key, so a retried call never moves money twice.
 */

export interface ChargeRequest {
  /** Same key, same charge: a second call returns the first call's outcome (one per order). */
  readonly idempotencyKey: string;
  /** The single-use payment token (`tok_…`), never card data. */
  readonly token: string;
  readonly amountCents: number;
  readonly currency: string;
}

export type ChargeResult =
  | { readonly status: 'succeeded'; readonly chargeId: string }
  | { readonly status: 'failed'; readonly chargeId: string; readonly error: string; readonly code: string };

export interface RefundRequest {
  readonly idempotencyKey: string;
  readonly chargeId: string;
  readonly amountCents: number;
}

export interface RefundResult {
  readonly refundId: string;
}

export interface PaymentProvider {
  /** Charges the token; resolves once the charge is settled either way. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Gives the whole amount of a succeeded charge back. */
  refund(request: RefundRequest): Promise<RefundResult>;
}

/** The idempotency key was used before with different parameters (Stripe answers 400 then). */
export class IdempotencyKeyReusedError extends Error {
  constructor(key: string) {
    super(`idempotency key ${key} was used with different parameters`);
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** The provider refused a refund (unknown or unpaid charge). */
export class RefundRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefundRefusedError';
  }
}
