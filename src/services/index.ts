import { carts } from './carts/index.ts';
import { catalog } from './catalog/index.ts';
import { fulfillment } from './fulfillment/index.ts';
import { ordersService } from './orders/index.ts';
import { paymentsService } from './payments/index.ts';
import { reviews } from './reviews/index.ts';
import type { ServiceDefinition } from './service.ts';
import { usersService } from './users/index.ts';
import { warehouse } from './warehouse/index.ts';

export type { ServiceContext, ServiceDefinition, RunningService } from './service.ts';

/** Every bounded context of the shop, then its consumers, in start order. `flamingo start --services a,b` picks some. */
export const services: readonly ServiceDefinition[] = [
  usersService,
  catalog,
  carts,
  ordersService,
  paymentsService,
  fulfillment,
  reviews,
  warehouse,
];
