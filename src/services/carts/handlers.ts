/** What the webshop reacts to: the catalog's products, kept as a replica to price carts. */
import type { DeliveredEvent } from '../../bus/index.ts';
import type { CartEvent } from './events.ts';
import { applyProduct } from './replica.ts';
import type { CartsDb } from './store.ts';

export interface CartsReaction<T extends DeliveredEvent['type']> {
  /** The subscription, `carts.<purpose>`. */
  readonly name: string;
  readonly types: readonly T[];
  readonly concurrency: number;
  react(trx: CartsDb, event: DeliveredEvent<T>): Promise<CartEvent[]>;
}

export function cartsReactions() {
  const products: CartsReaction<'product.created' | 'product.updated'> = {
    name: 'carts.products',
    types: ['product.created', 'product.updated'],
    concurrency: 4,
    async react(trx, event) {
      await applyProduct(trx, event.data, event.time);
      return [];
    },
  };
  return [products] as const;
}
