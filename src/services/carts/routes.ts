/**
 * The webshop's HTTP API: carts, their items and the checkout. A guest cart's id is its key (an
 * unguessable UUIDv7, like a private link); a cart that belongs to a customer is theirs: read with
 * their session token or the admin key, changed with their session token.
 */
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { createCustomerAccess, customerOrAdminSecurity } from '../../platform/auth/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { ApiError, notFound, unauthorized } from '../../platform/errors.ts';
import type { Tokens } from '../../platform/tokens.ts';
import { addItem, checkout, createCart, removeItem, MAX_LINE_QUANTITY, type Caller } from './carts.ts';
import type { CartEvent } from './events.ts';
import { findCart, lockCart, type CartsDb } from './store.ts';

export interface CartRouteDeps {
  readonly db: CartsDb;
  readonly dialect: Dialect;
  /** Runs `work` in one transaction and puts the events it returns in the outbox of that transaction. */
  write<T extends { events: CartEvent[] }>(work: (trx: CartsDb) => Promise<T>): Promise<T>;
  readonly tokens: Tokens;
  /** Lets the admin key read a customer's cart. */
  readonly requireAdmin: preHandlerAsyncHookHandler;
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

const ErrorSchema = Type.Object({
  error: Type.String(),
  message: Type.String(),
  detail: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

/** A session token is optional for a guest cart; a customer's cart needs theirs. */
const security: readonly Readonly<Record<string, readonly string[]>>[] = [{}, { customerToken: [] }];
const changeDescription = 'A guest cart is changed by whoever holds its id; a customer’s cart only with their session token (401 without one, 403 with another customer’s).';

/** The customer of the request's session token; 401 for a token that does not verify. */
async function callerOf(request: FastifyRequest, tokens: Tokens): Promise<Caller> {
  const header = request.headers.authorization;
  if (header === undefined) return {};
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const claims = match ? await tokens.verify(match[1]) : undefined;
  if (!claims) {
    throw new ApiError(401, 'unauthorized', 'invalid or expired session token: log in again (POST /v1/auth/login)', undefined, {
      'www-authenticate': 'Bearer realm="flamingo"',
    });
  }
  return { userId: claims.userId };
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
  const access = createCustomerAccess(http, { tokens: deps.tokens, requireAdmin: deps.requireAdmin });

  app.post(
    '/v1/carts',
    {
      // A POST without a body starts a cart too.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        summary: 'Start a cart, for the customer of the session token (or `userId`), or a guest',
        security,
        body: Type.Object({ userId: Type.Optional(Uuid('The customer, when no session token is sent.')) }),
        response: { 201: CartSchema, 401: ErrorSchema },
      },
    },
    async (request, reply) => {
      const caller = await callerOf(request, deps.tokens);
      const { cart } = await deps.write((trx) => createCart(trx, caller.userId ?? request.body.userId));
      return reply.status(201).send(cart);
    },
  );

  app.get(
    '/v1/carts/:id',
    {
      schema: {
        tags,
        summary: 'A cart with its priced items (a guest cart: its id is enough; a customer’s cart: their session token or the admin key)',
        description:
          'A guest cart is read by whoever holds its id. A cart that belongs to a customer answers their session token or the admin key: ' +
          'without (or with an invalid) key or token → 401; another customer’s token (or a producer key) → 403.',
        security: [{}, ...customerOrAdminSecurity],
        params: CartParams,
        response: { 200: CartSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const cart = await findCart(deps.db, request.params.id);
      if (!cart) throw notFound(`no cart ${request.params.id}`);
      if (cart.userId !== undefined) access.ensureOwner(await access.reader(request, reply), cart.userId);
      return cart;
    },
  );

  app.post(
    '/v1/carts/:id/items',
    {
      schema: {
        tags,
        summary: 'Add units of a product (publishes cart.item_added with the whole cart)',
        description: `${changeDescription} A guest cart changed with a session token becomes that customer’s.`,
        security,
        params: CartParams,
        body: Type.Object({
          productId: Type.String({ minLength: 1, maxLength: 128 }),
          quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY, description: '(Default: 1)' })),
        }),
        response: { 200: CartSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema },
      },
    },
    async (request) => {
      const caller = await callerOf(request, deps.tokens);
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
      schema: {
        tags,
        summary: 'Remove a product from the cart (publishes cart.item_removed)',
        description: changeDescription,
        security,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), productId: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: CartSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request) => {
      const caller = await callerOf(request, deps.tokens);
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
      schema: {
        tags,
        summary: 'Check the cart out: answers at once with the id of the order it becomes (the orders service places it)',
        description: changeDescription,
        security,
        params: CartParams,
        body: Type.Object({
          paymentToken: Type.String({ minLength: 1, maxLength: 256, description: 'Single-use payment token, e.g. sandbox `tok_ok`.' }),
          userId: Type.Optional(Uuid('The customer, for a guest cart checked out without a session token.')),
        }),
        response: {
          202: Type.Object({ orderId: Type.String(), cartId: Type.String(), status: Type.Literal('pending'), totalCents: Type.Integer(), currency: Type.String() }),
          401: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          422: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const caller = await callerOf(request, deps.tokens);
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
