import type { Kysely } from 'kysely';
import { MAX_CENTS } from '../../contracts/index.ts';
import type { ProblemDetail } from '../../platform/errors.ts';
import type { LineItem } from './saga.ts';
import { productsStore, type OrdersDatabase } from './store.ts';

export interface RequestedItem {
  readonly productId: string;
  readonly quantity: number;
}

export type Priced =
  | { readonly ok: true; readonly items: LineItem[]; readonly totalCents: number; readonly currency: string }
  /** `unknown_product`: a line cannot be ordered; `total_too_large`: the total passes `MAX_CENTS`. */
  | { readonly ok: false; readonly code: 'unknown_product' | 'total_too_large'; readonly problems: ProblemDetail[] };

/**
 * Prices the lines from the orders service's replica of the catalog (`product.created/updated`):
 * each line gets the unit price, sku and name of now. Unknown or inactive products and a second
 * currency are problems naming `/items/<i>/productId`; a total above `MAX_CENTS`, the largest
 * amount an event may carry, is a problem naming `/items`.
 */
export async function priceItems(db: Kysely<OrdersDatabase>, requested: readonly RequestedItem[]): Promise<Priced> {
  const products = await productsStore.byIds(
    db,
    requested.map((r) => r.productId),
  );
  const problems: ProblemDetail[] = [];
  const items: LineItem[] = [];
  let currency: string | undefined;
  requested.forEach((line, i) => {
    const path = `/items/${i}/productId`;
    const product = products.get(line.productId);
    if (!product) return void problems.push({ path, message: `unknown product ${line.productId}` });
    if (!product.active) return void problems.push({ path, message: `product ${line.productId} cannot be ordered (inactive)` });
    currency ??= product.currency;
    if (product.currency !== currency) return void problems.push({ path, message: `product is priced in ${product.currency}, the order in ${currency}` });
    items.push({ productId: product.id, quantity: line.quantity, unitPriceCents: product.priceCents, sku: product.sku, name: product.name });
  });
  if (problems.length > 0 || currency === undefined) return { ok: false, code: 'unknown_product', problems };
  const totalCents = items.reduce((sum, item) => sum + item.unitPriceCents * item.quantity, 0);
  if (totalCents > MAX_CENTS) return { ok: false, code: 'total_too_large', problems: [{ path: '/items', message: `the total, ${totalCents}, passes the largest amount, ${MAX_CENTS}` }] };
  return { ok: true, items, totalCents, currency };
}
