import { carts } from './carts/index.ts';
import { catalog } from './catalog/index.ts';
import { fulfillment } from './fulfillment/index.ts';
import { hub } from './hub/index.ts';
import { notifications } from './notifications/index.ts';
import { ordersService } from './orders/index.ts';
import { paymentsService } from './payments/index.ts';
import { reviews } from './reviews/index.ts';
import type { ServiceDefinition } from './service.ts';
import { usersService } from './users/index.ts';

export type { ServiceContext, ServiceDefinition, RunningService } from './service.ts';

/** Every bounded context of the shop and its consumers (notifications, the customer hub), in start order. `flamingo start --services a,b` picks some. */
export const services: readonly ServiceDefinition[] = [
  usersService,
  catalog,
  carts,
  ordersService,
  paymentsService,
  fulfillment,
  reviews,
  notifications,
  hub,
];
