import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { ensureOwner } from '../../platform/auth/index.ts';
import { notFound } from '../../platform/errors.ts';
import type { sandboxProvider } from './sandbox.ts';
import { paymentsStore, type PaymentsDatabase } from './store.ts';
import { ErrorAnswer } from '../../platform/http-schemas.ts';

export interface PaymentsRoutesOptions {
  readonly db: Kysely<PaymentsDatabase>;
  readonly sandbox: ReturnType<typeof sandboxProvider>;
}

const tags = ['payments'];
const Payment = Type.Object(
  {
    orderId: Type.String(),
    paymentId: Type.String(),
    idempotencyKey: Type.String(),
    userId: Type.String(),
    amountCents: Type.Integer(),
    currency: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
    providerChargeId: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
    code: Type.Optional(Type.String()),
    createdAt: Type.String(),
    settledAt: Type.Optional(Type.String()),
    refund: Type.Optional(
      Type.Object({
        refundId: Type.String(),
        status: Type.Union([Type.Literal('pending'), Type.Literal('refunded')]),
        reason: Type.String(),
        refundedAt: Type.Optional(Type.String()),
      }),
    ),
  },
  { description: 'The one charge attempt of an order, and its refund.' },
);
const SandboxCharge = Type.Object({
  id: Type.String(),
  idempotencyKey: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  status: Type.String(),
  failureMessage: Type.Optional(Type.String()),
  createdAt: Type.String(),
  settledAt: Type.Optional(Type.String()),
});

/** The payments context's HTTP API: an order's payment (its customer or admin), and the sandbox provider's books (admin). */
export function registerPaymentsRoutes(http: FastifyInstance, options: PaymentsRoutesOptions): void {
  const { db, sandbox } = options;
  const app = http.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/payments/:orderId',
    {
      config: { auth: 'customerOrAdmin' },
      schema: {
        tags,
        summary: 'The payment of an order: admin key or the session token of the order’s customer',
        description: 'No or an invalid key or token → 401; another customer’s token (or a producer key) → 403; no payment (yet) → 404.',
        params: Type.Object({ orderId: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: Payment, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const payment = await paymentsStore.get(db, request.params.orderId);
      // A customer learns nothing about other customers' orders: 403 whether or not the payment exists.
      if (!payment) {
        if (request.principal.kind !== 'admin') ensureOwner(request.principal, '');
        throw notFound(`no payment for order ${request.params.orderId}`);
      }
      ensureOwner(request.principal, payment.userId);
      return payment;
    },
  );

  app.get(
    '/v1/payments/sandbox/charges',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Charges the sandbox provider recorded, oldest first (admin; for checking that nothing was charged twice)',
        querystring: Type.Object({ idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        response: { 200: Type.Object({ charges: Type.Array(SandboxCharge) }) },
      },
    },
    async (request) => {
      const rows = await sandbox.charges(request.query.idempotencyKey === undefined ? {} : { idempotencyKey: request.query.idempotencyKey });
      return {
        charges: rows.map((r) => ({
          id: r.id,
          idempotencyKey: r.idempotency_key,
          amountCents: Number(r.amount_cents),
          currency: r.currency,
          status: r.status,
          createdAt: r.created_at,
          ...(r.failure_message === null ? {} : { failureMessage: r.failure_message }),
          ...(r.settled_at === null ? {} : { settledAt: r.settled_at }),
        })),
      };
    },
  );
}
