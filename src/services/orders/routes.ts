import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { orderPlaced } from '../../contracts/catalog/orders.ts';
import { ensureOwner } from '../../platform/auth/index.ts';
import { badRequest, forbidden, notFound, unprocessable } from '../../platform/errors.ts';
import type { OrderEvent } from './events.ts';
import { placeOrder } from './placement.ts';
import { priceItems } from './pricing.ts';
import { ORDER_STATUSES } from './saga.ts';
import { customersStore, ordersStore, type OrdersDatabase, type StoredOrder } from './store.ts';
import { ErrorAnswer } from '../../platform/http-schemas.ts';

export interface OrdersRoutesOptions {
  readonly db: Kysely<OrdersDatabase>;
  /** Runs a change in a transaction and adds the events it returns in the same one (the service runtime). */
  write<T extends { events: OrderEvent[] }>(work: (trx: Kysely<OrdersDatabase>) => Promise<T>): Promise<T>;
}

const tags = ['orders'];
const Order = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    status: Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s))),
    items: Type.Array(
      Type.Object({
        productId: Type.String(),
        quantity: Type.Integer(),
        unitPriceCents: Type.Integer(),
        sku: Type.Optional(Type.String()),
        name: Type.Optional(Type.String()),
      }),
    ),
    totalCents: Type.Integer(),
    currency: Type.String(),
    paymentId: Type.Optional(Type.String()),
    cancellation: Type.Optional(Type.Object({ reason: Type.String(), detail: Type.Optional(Type.String()) })),
    cartId: Type.Optional(Type.String()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    history: Type.Array(
      Type.Object({
        status: Type.String(),
        at: Type.String({ description: 'When the order reached this status.' }),
        eventId: Type.String({ description: 'The event that caused the transition.' }),
        eventType: Type.String(),
      }),
    ),
  },
  { description: 'An order with its saga status and every transition so far.' },
);

async function present(db: Kysely<OrdersDatabase>, order: StoredOrder) {
  const { state } = order;
  return {
    id: state.orderId,
    userId: state.userId,
    status: state.status,
    items: [...state.items],
    totalCents: state.totalCents,
    currency: state.currency,
    ...(state.paymentId === undefined ? {} : { paymentId: state.paymentId }),
    ...(state.cancellation === undefined ? {} : { cancellation: state.cancellation }),
    ...(order.cartId === undefined ? {} : { cartId: order.cartId }),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
    history: await ordersStore.history(db, state.orderId),
  };
}

/** The orders context's HTTP API: place an order, read one (with its history), list a customer's. */
export function registerOrdersRoutes(http: FastifyInstance, options: OrdersRoutesOptions): void {
  const { db, write } = options;
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  // Orders are a customer's data: the admin key, or that customer's session token (issue 7).
  const customerOrAdmin = { config: { auth: 'customerOrAdmin' as const } };

  app.post(
    '/v1/orders',
    {
      ...customerOrAdmin,
      schema: {
        tags,
        summary: 'Place an order for a customer: their session token or the admin key (publishes order.placed; the saga takes it from there)',
        description:
          'Needs `userId`’s own session token or the admin key: none → 401, another customer’s token (or a producer key) → 403. ' +
          'The customer is checked against the orders service’s own replica of users (built from `user.*` events): ' +
          'unknown → 422, banned → 403. Prices come from its replica of the catalog.',
        body: Type.Object({
          userId: Type.String({ minLength: 1, maxLength: 128 }),
          items: Type.Array(
            Type.Object({ productId: Type.String({ minLength: 1, maxLength: 128 }), quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) }),
            { minItems: 1, maxItems: 100 },
          ),
          paymentToken: Type.String({ minLength: 1, maxLength: 256, description: 'Single-use payment token (sandbox: tok_ok, tok_declined, tok_slow).' }),
          shippingAddress: Type.Optional(orderPlaced.schema.properties.shippingAddress),
        }),
        response: { 201: Order, 400: ErrorAnswer, 401: ErrorAnswer, 403: ErrorAnswer, 422: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const { userId, items, paymentToken, shippingAddress } = request.body;
      ensureOwner(request.principal, userId, [{ path: '/userId', message: 'does not match the token' }]);
      const orderId = uuidv7();
      const { order } = await write(async (trx) => {
        const customer = await customersStore.get(trx, userId);
        if (!customer) throw unprocessable('unknown_user', `no user ${userId}`, [{ path: '/userId', message: 'no such user' }]);
        if (customer.banned) throw forbidden('this customer is banned', [{ path: '/userId', message: 'user is banned' }]);
        const priced = await priceItems(trx, items);
        if (!priced.ok) throw unprocessable(priced.code, priced.code === 'total_too_large' ? 'the order’s total is too large' : 'some lines cannot be ordered', priced.problems);
        const events = await placeOrder(trx, {
          orderId,
          userId,
          items: priced.items,
          totalCents: priced.totalCents,
          currency: priced.currency,
          paymentToken,
          ...(shippingAddress === undefined ? {} : { shippingAddress }),
        });
        return { order: await ordersStore.load(trx, orderId), events: events ?? [] };
      });
      return reply.status(201).send(await present(db, order!));
    },
  );

  app.get(
    '/v1/orders/:id',
    {
      ...customerOrAdmin,
      schema: {
        tags,
        summary: 'An order: status and history (each transition with its time and the event that caused it); admin key or the customer’s session token',
        description:
          'An order carries its customer’s data, so it is answered for the admin key or the session token of the customer who placed it. ' +
          'No or an invalid key or token → 401; another customer’s token (or a producer key) → 403.',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: Order, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const order = await ordersStore.load(db, request.params.id);
      if (!order) throw notFound(`no order ${request.params.id}`);
      ensureOwner(request.principal, order.state.userId);
      return present(db, order);
    },
  );

  app.get(
    '/v1/orders',
    {
      ...customerOrAdmin,
      schema: {
        tags,
        summary: 'A customer’s orders, newest first; admin key or that customer’s session token',
        description:
          'A customer’s token lists that customer’s orders (`userId` may be left out); the admin key names the customer in `userId` (400 without it). ' +
          'No or an invalid key or token → 401; a token of another customer than `userId` (or a producer key) → 403.',
        querystring: Type.Object({
          userId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: '(Default: the customer of the session token)' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
        response: { 200: Type.Object({ orders: Type.Array(Order) }), 401: ErrorAnswer, 403: ErrorAnswer },
      },
    },
    async (request) => {
      const { principal } = request;
      const userId = request.query.userId ?? (principal.kind === 'customer' ? principal.userId : undefined);
      if (userId === undefined && principal.kind === 'admin') {
        throw badRequest('invalid_request', 'userId is required with the admin key', [{ path: '/query/userId', message: 'is required unless a customer’s session token is sent' }]);
      }
      ensureOwner(principal, userId ?? '', [{ path: '/query/userId', message: 'is not the customer of the token' }]);
      const orders = await ordersStore.listOf(db, userId ?? '', request.query.limit ?? 50);
      return { orders: await Promise.all(orders.map((o) => present(db, o))) };
    },
  );
}
