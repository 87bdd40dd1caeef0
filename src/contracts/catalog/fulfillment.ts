import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Address, Id, StockLine } from './fields.ts';

const ShipmentId = Id('The shipment (UUIDv7).');
const OrderId = Id('The order shipped.');
const UserId = Id('The customer.');

export const shipmentCreated = defineEvent({
  type: 'shipment.created',
  version: 1,
  producer: 'fulfillment',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'A confirmed order is being packed; carries what goes in the parcel and where it goes.',
  schema: Type.Object({
    shipmentId: ShipmentId,
    orderId: OrderId,
    userId: UserId,
    items: Type.Array(StockLine, { minItems: 1 }),
    address: Type.Optional(Address),
  }),
  personalData: ['/address'],
  aliases: [],
});

export const shipmentDispatched = defineEvent({
  type: 'shipment.dispatched',
  version: 1,
  producer: 'fulfillment',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'The parcel left the warehouse with a carrier: the order is shipped.',
  schema: Type.Object({
    shipmentId: ShipmentId,
    orderId: OrderId,
    userId: UserId,
    carrier: Type.String({ minLength: 1, maxLength: 100 }),
    trackingNumber: Type.String({ minLength: 1, maxLength: 100 }),
    trackingUrl: Type.Optional(Type.String({ format: 'uri' })),
  }),
  personalData: [],
  aliases: [],
});

export const shipmentDelivered = defineEvent({
  type: 'shipment.delivered',
  version: 1,
  producer: 'fulfillment',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'The carrier delivered the parcel; the order saga completes the order.',
  schema: Type.Object({
    shipmentId: ShipmentId,
    orderId: OrderId,
    userId: UserId,
    carrier: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  }),
  personalData: [],
  aliases: [],
});

export const fulfillmentEvents = [shipmentCreated, shipmentDispatched, shipmentDelivered] as const;
