/**
 * What the catalog reacts to: orders (reserve on `order.placed`, release on `order.cancelled`) and
 * reviews (ratings from `product.reviewed`, minus `review.flagged`). Each reaction runs in the
 * transaction of its inbox record (`handleOnce`), so a redelivered event changes nothing.
 */
import type { DeliveredEvent } from '../../bus/types.ts';
import type { Dialect } from '../../platform/db.ts';
import type { CatalogEvent } from './events.ts';
import { excludeFlagged, recordReview } from './ratings.ts';
import { releaseForOrder, reserveForOrder } from './stock.ts';
import type { CatalogDb } from './store.ts';

export interface CatalogReaction<T extends DeliveredEvent['type']> {
  /** The subscription, `catalog.<purpose>`. */
  readonly name: string;
  readonly types: readonly T[];
  /** Events handled at once; events of one key (order, product) still go one at a time. */
  readonly concurrency: number;
  react(trx: CatalogDb, event: DeliveredEvent<T>): Promise<CatalogEvent[]>;
}

export function catalogReactions(dialect: Dialect) {
  const orders: CatalogReaction<'order.placed' | 'order.cancelled'> = {
    name: 'catalog.stock',
    types: ['order.placed', 'order.cancelled'],
    concurrency: 8,
    async react(trx, event) {
      switch (event.type) {
        case 'order.placed':
          return reserveForOrder(trx, dialect, event.data);
        case 'order.cancelled':
          return releaseForOrder(trx, dialect, event.data.orderId);
      }
    },
  };
  const ratings: CatalogReaction<'product.reviewed' | 'review.flagged'> = {
    name: 'catalog.ratings',
    types: ['product.reviewed', 'review.flagged'],
    concurrency: 4,
    async react(trx, event) {
      if (event.type === 'product.reviewed') await recordReview(trx, event.data);
      else await excludeFlagged(trx, event.data);
      return [];
    },
  };
  return [orders, ratings] as const;
}
