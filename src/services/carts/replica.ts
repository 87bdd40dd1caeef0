/** The webshop's copy of the catalog, kept from the catalog's event-carried state. */
import type { EventData } from '../../contracts/index.ts';
import type { CartsDb } from './store.ts';

export async function applyProduct(trx: CartsDb, product: Pick<EventData<'product.created'>, 'productId' | 'number' | 'sku' | 'name' | 'priceCents' | 'currency' | 'active'>, at: string): Promise<void> {
  const row = {
    number: product.number ?? null,
    sku: product.sku,
    name: product.name,
    price_cents: product.priceCents,
    currency: product.currency,
    active: product.active ? 1 : 0,
    updated_at: at,
  };
  await trx
    .insertInto('cart_products')
    .values({ id: product.productId, ...row })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}
