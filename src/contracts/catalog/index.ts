import type { Static } from '@sinclair/typebox';
import { catalogEvents } from './catalog.ts';
import { fulfillmentEvents } from './fulfillment.ts';
import { notificationsEvents } from './notifications.ts';
import { ordersEvents } from './orders.ts';
import { paymentsEvents } from './payments.ts';
import { reviewsEvents } from './reviews.ts';
import { usersEvents } from './users.ts';
import { webshopEvents } from './webshop.ts';

/** Every event type Flamingo knows, in one list (DESIGN.md "Commerce domain"). */
export const catalog = [
  ...usersEvents,
  ...catalogEvents,
  ...webshopEvents,
  ...ordersEvents,
  ...paymentsEvents,
  ...fulfillmentEvents,
  ...reviewsEvents,
  ...notificationsEvents,
] as const;

export type CatalogEntry = (typeof catalog)[number];
/** Every event type name of the catalog, e.g. `'order.placed'`. */
export type EventType = CatalogEntry['type'];
/** The typed `data` of one event type. */
export type EventData<T extends EventType> = Static<Extract<CatalogEntry, { type: T }>['schema']>;
