import { auditService } from './audit/index.ts';
import { cartsService } from './carts/index.ts';
import { catalogService } from './catalog/index.ts';
import { deliveryService } from './delivery/index.ts';
import { fulfillmentService } from './fulfillment/index.ts';
import { hubService } from './hub/index.ts';
import { notificationsService } from './notifications/index.ts';
import { ordersService } from './orders/index.ts';
import { paymentsService } from './payments/index.ts';
import { reviewsService } from './reviews/index.ts';
import type { ServiceDefinition } from './service.ts';
import { usersService } from './users/index.ts';
import { warehouseService } from './warehouse/index.ts';

export type { ServiceContext, ServiceDefinition, RunningService, WorkerMode } from './service.ts';
export { targetContract } from './delivery/contracts.ts';

/** Every bounded context of the shop, then its consumers (notifications, the customer hub, the warehouse), in start order. `flamingo start --services a,b` picks some. */
export const services: readonly ServiceDefinition[] = [
  usersService(),
  catalogService(),
  cartsService(),
  ordersService(),
  paymentsService(),
  fulfillmentService(),
  reviewsService(),
  deliveryService(),
  notificationsService(),
  hubService(),
  warehouseService(),
];

/**
 * The consumers that are not shop services, each started only when enabled: the audit projection
 * (`FLAMINGO_AUDIT_PROJECTION=1`).
 */
export const auditProjection: ServiceDefinition = auditService();

/** The environment variables every service declares (its settings schema), for `flamingo.config.json`. */
export function serviceSettingNames(definitions: readonly ServiceDefinition[] = [...services, auditProjection]): string[] {
  return definitions.flatMap((definition) => Object.keys(definition.settings?.properties ?? {}));
}
