/** What the webshop reacts to: the catalog's products, kept as a replica to price carts. */
import { declareReads, type ReadDeclaration, type ReadEvent, type ReadFields, type ReadsOf } from '../../contracts/index.ts';
import type { CartEvent } from './events.ts';
import { applyProduct } from './replica.ts';
import type { CartsDb } from './store.ts';

export interface CartsReaction<R extends ReadFields> {
  /** The subscription, `carts.<purpose>`. */
  readonly name: string;
  /** What it reads (issue 14): its types, and the only fields of `data` its handler sees. */
  readonly reads: ReadDeclaration<R>;
  readonly concurrency: number;
  react(trx: CartsDb, event: ReadEvent<R>): Promise<CartEvent[]>;
}

const PRODUCT = ['productId', 'number', 'sku', 'name', 'priceCents', 'currency', 'active'] as const;
/** What `carts.products` reads: the product as carts price it. */
export const productsReads = declareReads('carts.products', { 'product.created': PRODUCT, 'product.updated': PRODUCT });

export function cartsReactions() {
  const products: CartsReaction<ReadsOf<typeof productsReads>> = {
    name: 'carts.products',
    reads: productsReads,
    concurrency: 4,
    async react(trx, event) {
      await applyProduct(trx, event.data, event.time);
      return [];
    },
  };
  return [products] as const;
}
