/**
 * Fulfillment's HTTP API. Dispatch and delivery are what a carrier's callback does (admin key);
 * shipments are read by administrators, or by a customer (session token) for their own orders.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { customerIdOf } from '../../platform/auth/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { notFound } from '../../platform/errors.ts';
import type { FulfillmentEvent } from './events.ts';
import { deliverShipment, dispatchShipment } from './shipments.ts';
import { findShipment, listShipments, shipmentOf, type FulfillmentDb } from './store.ts';
import { ErrorAnswer } from '../../platform/http-schemas.ts';

export interface FulfillmentRouteDeps {
  readonly db: FulfillmentDb;
  readonly dialect: Dialect;
  /** Runs `work` in one transaction and puts the events it returns in the outbox of that transaction. */
  write<T extends { events: FulfillmentEvent[] }>(work: (trx: FulfillmentDb) => Promise<T>): Promise<T>;
}

const Status = Type.Union([Type.Literal('created'), Type.Literal('dispatched'), Type.Literal('delivered')]);
const ShipmentParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const ShipmentSchema = Type.Object(
  {
    id: Type.String(),
    orderId: Type.String(),
    userId: Type.String(),
    status: Status,
    items: Type.Array(Type.Object({ productId: Type.String(), quantity: Type.Integer() })),
    address: Type.Optional(
      Type.Object({
        name: Type.String(),
        line1: Type.String(),
        line2: Type.Optional(Type.String()),
        postalCode: Type.String(),
        city: Type.String(),
        country: Type.String(),
      }),
    ),
    carrier: Type.Optional(Type.String()),
    trackingNumber: Type.Optional(Type.String()),
    createdAt: Type.String(),
    dispatchedAt: Type.Optional(Type.String()),
    deliveredAt: Type.Optional(Type.String()),
  },
  { description: 'The parcel of one confirmed order.' },
);

/** An empty POST is an empty object, so the body's fields can all be optional. */
const emptyBodyIsObject = async (request: FastifyRequest) => {
  request.body ??= {};
};

export function registerFulfillmentRoutes(http: FastifyInstance, deps: FulfillmentRouteDeps): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['fulfillment'];
  const admin = { config: { auth: 'admin' as const } };
  /** Shipments are read by the admin key, or by a customer's session token for their own (the guard lets nobody else in). */
  const customerOrAdmin = { config: { auth: 'customerOrAdmin' as const } };

  app.post(
    '/v1/shipments/:id/dispatch',
    {
      ...admin,
      preValidation: emptyBodyIsObject,
      schema: {
        tags,
        summary: 'The parcel left with a carrier (admin; a carrier callback): publishes shipment.dispatched',
        params: ShipmentParams,
        body: Type.Object({
          carrier: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: '(Default: flamingo-post)' })),
          trackingNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: '(Default: generated)' })),
        }),
        response: { 200: ShipmentSchema, 404: ErrorAnswer, 409: ErrorAnswer },
      },
    },
    async (request) => shipmentOf((await deps.write((trx) => dispatchShipment(trx, deps.dialect, request.params.id, request.body))).row),
  );

  app.post(
    '/v1/shipments/:id/deliver',
    {
      ...admin,
      schema: {
        tags,
        summary: 'The carrier delivered the parcel (admin; a carrier callback): publishes shipment.delivered',
        params: ShipmentParams,
        response: { 200: ShipmentSchema, 404: ErrorAnswer, 409: ErrorAnswer },
      },
    },
    async (request) => shipmentOf((await deps.write((trx) => deliverShipment(trx, deps.dialect, request.params.id))).row),
  );

  app.get(
    '/v1/shipments/:id',
    {
      ...customerOrAdmin,
      schema: {
        tags,
        summary: 'One shipment (admin, or the customer it goes to)',
        params: ShipmentParams,
        response: { 200: ShipmentSchema, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const customer = customerIdOf(request.principal);
      const row = await findShipment(deps.db, request.params.id);
      // Another customer's shipment does not exist as far as this customer is concerned.
      if (!row || (customer !== undefined && row.user_id !== customer)) throw notFound(`no shipment ${request.params.id}`);
      return shipmentOf(row);
    },
  );

  app.get(
    '/v1/shipments',
    {
      ...customerOrAdmin,
      schema: {
        tags,
        summary: "Shipments in creation order (admin; a customer's session token lists their own)",
        querystring: Type.Object({
          orderId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          userId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          status: Type.Optional(Status),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          after: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The `next` of the previous page.' })),
        }),
        response: { 200: Type.Object({ shipments: Type.Array(ShipmentSchema), next: Type.Optional(Type.String()) }) },
      },
    },
    async (request) => {
      const customer = customerIdOf(request.principal);
      const { limit, ...filter } = request.query;
      return listShipments(deps.db, { ...filter, ...(customer === undefined ? {} : { userId: customer }), limit: limit ?? 50 });
    },
  );
}
