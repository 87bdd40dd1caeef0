/**
 * What the catalog reacts to: orders (reserve on `order.placed`, release on `order.cancelled`) and
 * reviews (ratings from `product.reviewed`, minus `review.flagged`). Each reaction runs in the
 * transaction of its inbox record, so a redelivered event changes nothing. Order events come in
 * batches, one transaction per batch: under load a reservation costs a fraction of a commit.
 */
import { declareReads, type ReadDeclaration, type ReadEvent, type ReadFields, type ReadsOf } from '../../contracts/index.ts';
import type { Dialect } from '../../platform/db.ts';
import type { CatalogEvent } from './events.ts';
import { excludeFlagged, recordReview } from './ratings.ts';
import { readOrderStatuses, releaseForOrder, reserveForOrder } from './stock.ts';
import { lockProducts, type CatalogDb } from './store.ts';

export interface CatalogReaction<R extends ReadFields> {
  /** The subscription, `catalog.<purpose>`. */
  readonly name: string;
  /** What it reads (issue 14): its types, and the only fields of `data` its handler sees. */
  readonly reads: ReadDeclaration<R>;
  /** Events handled at once; events of one key (order, product) still go one at a time. */
  readonly concurrency: number;
  /** Handle up to this many events in one transaction. (Default: 1, one transaction per event) */
  readonly maxBatchSize?: number;
  /**
   * Before a batch: lock every row the batch will change, in one order (PostgreSQL), so batches
   * running at once never wait on each other crosswise.
   */
  prepare?(trx: CatalogDb, events: readonly ReadEvent<R>[]): Promise<void>;
  react(trx: CatalogDb, event: ReadEvent<R>): Promise<CatalogEvent[]>;
}

/** What `catalog.stock` reads: the lines to reserve, the order to release. */
export const stockReads = declareReads('catalog.stock', { 'order.placed': ['orderId', 'items'], 'order.cancelled': ['orderId'] });
/** What `catalog.ratings` reads. */
export const ratingsReads = declareReads('catalog.ratings', { 'product.reviewed': ['reviewId', 'productId', 'rating'], 'review.flagged': ['reviewId', 'productId'] });

export function catalogReactions(dialect: Dialect) {
  /** Locks, in one order, the products a batch will change: its placed orders' lines and what its cancelled orders hold. */
  const lockBatchProducts = async (trx: CatalogDb, events: readonly ReadEvent<ReadsOf<typeof stockReads>>[]) => {
    const ids = new Set<string>();
    const cancelled: string[] = [];
    for (const event of events) {
      if (event.type === 'order.placed') for (const item of event.data.items) ids.add(item.productId);
      else cancelled.push(event.data.orderId);
    }
    if (cancelled.length > 0) {
      const held = await trx.selectFrom('reservations').select('product_id').where('order_id', 'in', cancelled).execute();
      for (const row of held) ids.add(row.product_id);
    }
    await lockProducts(trx, dialect, [...ids].sort());
  };
  const orders: CatalogReaction<ReadsOf<typeof stockReads>> = {
    name: 'catalog.stock',
    reads: stockReads,
    concurrency: dialect === 'sqlite' ? 1 : 4,
    maxBatchSize: 100,
    async prepare(trx, events) {
      // Products locked first (PostgreSQL), then the orders' statuses read (and locked) in one statement, as each event would.
      if (dialect === 'postgres') await lockBatchProducts(trx, events);
      await readOrderStatuses(trx, dialect, events.map((event) => event.data.orderId));
    },
    async react(trx, event) {
      switch (event.type) {
        case 'order.placed':
          return reserveForOrder(trx, dialect, event.data);
        case 'order.cancelled':
          return releaseForOrder(trx, dialect, event.data.orderId);
      }
    },
  };
  const ratings: CatalogReaction<ReadsOf<typeof ratingsReads>> = {
    name: 'catalog.ratings',
    reads: ratingsReads,
    concurrency: 4,
    async react(trx, event) {
      if (event.type === 'product.reviewed') await recordReview(trx, event.data);
      else await excludeFlagged(trx, event.data);
      return [];
    },
  };
  return [orders, ratings] as const;
}
