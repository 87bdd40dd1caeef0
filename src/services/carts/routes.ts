/**
 * The webshop's HTTP API: carts, their items and the checkout. A guest cart's id is its key (an
 * unguessable UUIDv7, like a private link); a cart that belongs to a customer is theirs: read with
 * their session token or the admin key, changed with their session token. Naming a customer
 * (`userId`) takes their session token or the admin key (issue 7). The guard has checked any
 * credentials sent before the route runs (`config.auth: 'optional'`).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ensureOwner, type Principal } from '../../platform/auth/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { forbidden, notFound, unauthorized, type ProblemDetail } from '../../platform/errors.ts';
import { addItem, checkout, createCart, removeItem, MAX_LINE_QUANTITY, type Caller } from './carts.ts';
import type { CartEvent } from './events.ts';
import { findCart, lockCart, type CartsDb } from './store.ts';
import { ErrorAnswer } from '../../platform/http-schemas.ts';

export interface CartRouteDeps {
  readonly db: CartsDb;
  readonly dialect: Dialect;
  /** Runs `work` in one transaction and puts the events it returns in the outbox of that transaction. */
  write<T extends { events: CartEvent[] }>(work: (trx: CartsDb) => Promise<T>): Promise<T>;
}

const Uuid = (description: string) => Type.String({ format: 'uuid', description });
const CartParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

const CartSchema = Type.Object(
  {
    id: Type.String(),
    userId: Type.Optional(Type.String()),
    status: Type.Union([Type.Literal('open'), Type.Literal('checked_out')]),
    orderId: Type.Optional(Type.String({ description: 'The order the cart became.' })),
    items: Type.Array(
      Type.Object({
        productId: Type.String(),
        number: Type.Union([Type.Integer(), Type.Null()]),
        sku: Type.String(),
        name: Type.String(),
        quantity: Type.Integer(),
        unitPriceCents: Type.Integer({ description: 'Current catalog price.' }),
        currency: Type.String(),
        active: Type.Boolean(),
      }),
    ),
    totalCents: Type.Integer(),
    currency: Type.Optional(Type.String()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { description: 'A shopping cart.' },
);


/** Credentials are optional (guest carts); when sent they are checked before the body is read. */
const optional = { config: { auth: 'optional' as const } };
const changeDescription = 'A guest cart is changed by whoever holds its id; a customer’s cart only with their session token (401 without one, 403 with another customer’s).';

/** The customer of the request's session token, if any; a producer key has no business with carts (403). */
function callerOf(principal: Principal): Caller {
  if (principal.kind === 'producer' || principal.kind === 'analyst') throw forbidden(`carts are for customers and guests: ${principal.kind === 'producer' ? 'a producer' : 'an analyst'} key cannot use them`);
  return principal.kind === 'customer' ? { userId: principal.userId } : {};
}

/**
 * A request that names a customer (`userId`) must come from that customer's session token or the
 * admin key: anyone else could otherwise act in another customer's name (issue 7).
 */
function mayName(principal: Principal, userId: string | undefined, path: string): void {
  if (userId === undefined) return;
  const detail: ProblemDetail[] = [{ path, message: 'names a customer: send their session token or the admin key' }];
  if (principal.kind === 'anonymous') throw unauthorized('naming a customer (userId) needs their session token (POST /v1/auth/login) or the admin key');
  ensureOwner(principal, userId, detail);
}

/**
 * Without a session token only guest carts can be changed: a customer's cart needs their token
 * (another customer's token is refused by the cart itself, 403). Checked on the locked row, in the
 * transaction of the change.
 */
async function ensureMayChange(trx: CartsDb, dialect: Dialect, cartId: string, caller: Caller): Promise<void> {
  if (caller.userId !== undefined) return;
  const row = await lockCart(trx, dialect, cartId);
  if (row && row.user_id !== null) throw unauthorized('this cart belongs to a customer: send their session token (POST /v1/auth/login)');
}

export function registerCartRoutes(http: FastifyInstance, deps: CartRouteDeps): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['webshop'];

  app.post(
    '/v1/carts',
    {
      ...optional,
      // A POST without a body starts a cart too.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        summary: 'Start a cart, for the customer of the session token (or `userId`, with the admin key), or a guest',
        description: 'A guest cart needs no credentials. `userId` needs that customer’s session token or the admin key (401 without, 403 with another customer’s).',
        body: Type.Object({ userId: Type.Optional(Uuid('The customer: the one of the session token, or any with the admin key.')) }),
        response: { 201: CartSchema, 401: ErrorAnswer, 403: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request.principal);
      mayName(request.principal, request.body.userId, '/body/userId');
      const { cart } = await deps.write((trx) => createCart(trx, caller.userId ?? request.body.userId));
      return reply.status(201).send(cart);
    },
  );

  app.get(
    '/v1/carts/:id',
    {
      ...optional,
      schema: {
        tags,
        summary: 'A cart with its priced items (a guest cart: its id is enough; a customer’s cart: their session token or the admin key)',
        description:
          'A guest cart is read by whoever holds its id. A cart that belongs to a customer answers their session token or the admin key: ' +
          'without (or with an invalid) key or token → 401; another customer’s token (or a producer key) → 403.',
        params: CartParams,
        response: { 200: CartSchema, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const cart = await findCart(deps.db, request.params.id);
      if (!cart) throw notFound(`no cart ${request.params.id}`);
      if (cart.userId !== undefined) {
        if (request.principal.kind === 'anonymous') throw unauthorized('this cart belongs to a customer: send their session token (POST /v1/auth/login) or the admin key');
        ensureOwner(request.principal, cart.userId);
      }
      return cart;
    },
  );

  app.post(
    '/v1/carts/:id/items',
    {
      ...optional,
      schema: {
        tags,
        summary: 'Add units of a product (publishes cart.item_added with the whole cart)',
        description: `${changeDescription} A guest cart changed with a session token becomes that customer’s.`,
        params: CartParams,
        body: Type.Object({
          productId: Type.String({ minLength: 1, maxLength: 128 }),
          quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY, description: '(Default: 1)' })),
        }),
        response: { 200: CartSchema, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer, 409: ErrorAnswer, 422: ErrorAnswer },
      },
    },
    async (request) => {
      const caller = callerOf(request.principal);
      const item = { productId: request.body.productId, quantity: request.body.quantity ?? 1 };
      return (
        await deps.write(async (trx) => {
          await ensureMayChange(trx, deps.dialect, request.params.id, caller);
          return addItem(trx, deps.dialect, request.params.id, item, caller);
        })
      ).cart;
    },
  );

  app.delete(
    '/v1/carts/:id/items/:productId',
    {
      ...optional,
      schema: {
        tags,
        summary: 'Remove a product from the cart (publishes cart.item_removed)',
        description: changeDescription,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), productId: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: CartSchema, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer, 409: ErrorAnswer },
      },
    },
    async (request) => {
      const caller = callerOf(request.principal);
      return (
        await deps.write(async (trx) => {
          await ensureMayChange(trx, deps.dialect, request.params.id, caller);
          return removeItem(trx, deps.dialect, request.params.id, request.params.productId, caller);
        })
      ).cart;
    },
  );

  app.post(
    '/v1/carts/:id/checkout',
    {
      ...optional,
      schema: {
        tags,
        summary: 'Check the cart out: answers at once with the id of the order it becomes (the orders service places it)',
        description: `${changeDescription} \`userId\` (for a guest cart) needs that customer’s session token or the admin key.`,
        params: CartParams,
        body: Type.Object({
          paymentToken: Type.String({ minLength: 1, maxLength: 256, description: 'Single-use payment token, e.g. sandbox `tok_ok`.' }),
          userId: Type.Optional(Uuid('The customer of a guest cart: the one of the session token, or any with the admin key.')),
        }),
        response: {
          202: Type.Object({ orderId: Type.String(), cartId: Type.String(), status: Type.Literal('pending'), totalCents: Type.Integer(), currency: Type.String() }),
          401: ErrorAnswer,
          403: ErrorAnswer,
          404: ErrorAnswer,
          409: ErrorAnswer,
          422: ErrorAnswer,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request.principal);
      mayName(request.principal, request.body.userId, '/body/userId');
      const { cart } = await deps.write(async (trx) => {
        await ensureMayChange(trx, deps.dialect, request.params.id, caller);
        return checkout(trx, deps.dialect, request.params.id, request.body, caller);
      });
      return reply
        .status(202)
        .header('location', `/v1/orders/${cart.orderId}`)
        .send({ orderId: cart.orderId as string, cartId: cart.id, status: 'pending' as const, totalCents: cart.totalCents, currency: cart.currency as string });
    },
  );
}
