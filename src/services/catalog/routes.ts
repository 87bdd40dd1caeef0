/** The catalog's HTTP API: products (administrators write, everyone reads) and stock adjustments. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MAX_CENTS, MAX_QUANTITY } from '../../contracts/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { ApiError, badRequest, notFound } from '../../platform/errors.ts';
import type { CatalogEvent } from './events.ts';
import { createProduct, updateProduct } from './products.ts';
import { adjustStock } from './stock.ts';
import { findProduct, isUniqueViolation, listProducts, productOf, type CatalogDb } from './store.ts';
import { ErrorAnswer } from '../../platform/http-schemas.ts';

export interface CatalogRouteDeps {
  readonly db: CatalogDb;
  readonly dialect: Dialect;
  /** Runs `work` in one transaction and puts the events it returns in the outbox of that transaction. */
  write<T extends { events: CatalogEvent[] }>(work: (trx: CatalogDb) => Promise<T>): Promise<T>;
}

const Sku = Type.String({ minLength: 1, maxLength: 64, pattern: '^\\S(.*\\S)?$', description: 'Stock keeping unit, unique.' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 5000 });
const PriceCents = Type.Integer({ minimum: 0, maximum: MAX_CENTS, description: 'Unit price in minor units, at most MAX_CENTS (2 000 000 000).' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code. (Default: EUR)' });
const Threshold = Type.Integer({ minimum: 0, maximum: MAX_QUANTITY, description: '`stock.low` when on hand falls to or below this. (Default: 0)' });
const ProductParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const ProductSchema = Type.Object(
  {
    id: Type.String(),
    number: Type.Integer({ description: 'Catalog number.' }),
    sku: Type.String(),
    name: Type.String(),
    description: Type.Optional(Type.String()),
    priceCents: Type.Integer(),
    currency: Type.String(),
    onHand: Type.Integer(),
    lowStockThreshold: Type.Integer(),
    active: Type.Boolean(),
    rating: Type.Object({ average: Type.Union([Type.Number(), Type.Null()]), count: Type.Integer() }, { description: 'From reviews, flagged ones left out.' }),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { description: 'A product of the catalog.' },
);


/** A concurrent create with the same sku loses at the unique index rather than in our check. */
async function mapSkuRace<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw new ApiError(409, 'sku_taken', 'another product already has this sku', [{ path: '/body/sku', message: 'must be unique' }]);
    throw error;
  }
}

export function registerCatalogRoutes(http: FastifyInstance, deps: CatalogRouteDeps): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const admin = { config: { auth: 'admin' as const } };
  const anyone = { config: { auth: 'public' as const } };
  const tags = ['catalog'];

  app.post(
    '/v1/products',
    {
      ...admin,
      schema: {
        tags,
        summary: 'Create a product (admin)',
        body: Type.Object({
          sku: Sku,
          name: Name,
          description: Type.Optional(Description),
          priceCents: PriceCents,
          currency: Type.Optional(Currency),
          onHand: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_QUANTITY, description: 'Units on hand to start with, at most MAX_QUANTITY (1 000 000 000). (Default: 0)' })),
          lowStockThreshold: Type.Optional(Threshold),
          active: Type.Optional(Type.Boolean({ description: '(Default: true)' })),
        }),
        response: { 201: ProductSchema, 409: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const { row } = await mapSkuRace(() => deps.write((trx) => createProduct(trx, request.body)));
      return reply.status(201).send(productOf(row));
    },
  );

  app.patch(
    '/v1/products/:id',
    {
      ...admin,
      schema: {
        tags,
        summary: 'Change a product (admin); publishes product.updated when something changed',
        params: ProductParams,
        body: Type.Object({
          sku: Type.Optional(Sku),
          name: Type.Optional(Name),
          description: Type.Optional(Description),
          priceCents: Type.Optional(PriceCents),
          currency: Type.Optional(Currency),
          lowStockThreshold: Type.Optional(Threshold),
          active: Type.Optional(Type.Boolean()),
        }),
        response: { 200: ProductSchema, 404: ErrorAnswer, 409: ErrorAnswer },
      },
    },
    async (request) => {
      if (Object.keys(request.body).length === 0) throw badRequest('invalid_request', 'nothing to change', [{ path: '/body', message: 'must name at least one field' }]);
      const { row } = await mapSkuRace(() => deps.write((trx) => updateProduct(trx, deps.dialect, request.params.id, request.body)));
      return productOf(row);
    },
  );

  app.post(
    '/v1/products/:id/stock',
    {
      ...admin,
      schema: {
        tags,
        summary: 'Add or remove units by hand (admin); never below zero nor above 1 000 000 000',
        params: ProductParams,
        body: Type.Object({
          delta: Type.Integer({ minimum: -MAX_QUANTITY, maximum: MAX_QUANTITY, description: 'Units added (positive) or removed (negative), not 0; on hand stays within 0..MAX_QUANTITY (1 000 000 000).' }),
          reason: Type.Union([Type.Literal('restock'), Type.Literal('correction'), Type.Literal('damaged'), Type.Literal('returned')]),
          note: Type.Optional(Type.String({ maxLength: 500 })),
        }),
        response: { 200: ProductSchema, 404: ErrorAnswer, 409: ErrorAnswer, 422: ErrorAnswer },
      },
    },
    async (request) => {
      if (request.body.delta === 0) throw badRequest('invalid_request', 'a stock adjustment must change something', [{ path: '/body/delta', message: 'must not be 0' }]);
      const { row } = await deps.write((trx) => adjustStock(trx, deps.dialect, request.params.id, request.body));
      return productOf(row);
    },
  );

  app.get(
    '/v1/products',
    {
      ...anyone,
      schema: {
        tags,
        summary: 'List products in creation order',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          after: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The `next` of the previous page.' })),
          active: Type.Optional(Type.Boolean({ description: 'Only products that can be ordered.' })),
        }),
        response: { 200: Type.Object({ products: Type.Array(ProductSchema), next: Type.Optional(Type.String()) }) },
      },
    },
    async (request) => listProducts(deps.db, { limit: request.query.limit ?? 50, after: request.query.after, activeOnly: request.query.active === true }),
  );

  app.get(
    '/v1/products/:id',
    { ...anyone, schema: { tags, summary: 'One product, with stock and average rating', params: ProductParams, response: { 200: ProductSchema, 404: ErrorAnswer } } },
    async (request) => {
      const row = await findProduct(deps.db, request.params.id);
      if (!row) throw notFound(`no product ${request.params.id}`);
      return productOf(row);
    },
  );
}
