/** What fulfillment publishes: a shipment's life, keyed by its order so the order saga sees it in order. */
import type { PublishInput } from '../../bus/index.ts';

export const FULFILLMENT_SOURCE = '/services/fulfillment';

export type FulfillmentEvent = PublishInput<'shipment.created'> | PublishInput<'shipment.dispatched'> | PublishInput<'shipment.delivered'>;
