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

/** What checking a checkout's prices against the replica found. */
export type PriceCheck =
  | { readonly kind: 'agreed' }
  /** A product the replica does not know yet (it may lag behind the catalog): try again later. */
  | { readonly kind: 'unknown'; readonly detail: string }
  /** Prices, currency or total are not the catalog's, or a product cannot be ordered: refuse. */
  | { readonly kind: 'refused'; readonly reason: 'fraud_suspected' | 'out_of_stock'; readonly detail: string };

/** `order.cancelled` holds at most this much `detail`. */
const MAX_DETAIL = 1000;

/**
 * Checks the money another context claims (a `cart.checked_out`: its unit prices, currency and
 * total) against the orders service's own replica of the catalog — a service never trusts money
 * from an event it did not produce (DESIGN.md "Security", issue 7). Every disagreement is named in
 * `detail` (`price_mismatch: line 0 (…) is 0 cents a unit, the catalog says 1250`).
 */
export async function checkPrices(
  db: Kysely<OrdersDatabase>,
  claimed: { readonly items: readonly LineItem[]; readonly totalCents: number; readonly currency: string },
): Promise<PriceCheck> {
  const products = await productsStore.byIds(
    db,
    claimed.items.map((item) => item.productId),
  );
  const unknown = claimed.items.filter((item) => !products.has(item.productId)).map((item) => item.productId);
  if (unknown.length > 0) return { kind: 'unknown', detail: `products not in the orders replica yet: ${unknown.join(', ')}` };
  const inactive = claimed.items.filter((item) => !products.get(item.productId)!.active).map((item) => item.productId);
  if (inactive.length > 0) return { kind: 'refused', reason: 'out_of_stock', detail: `cannot be ordered (inactive): ${inactive.join(', ')}` };

  const mismatches: string[] = [];
  let catalogTotal = 0;
  claimed.items.forEach((item, i) => {
    const product = products.get(item.productId)!;
    catalogTotal += product.priceCents * item.quantity;
    if (product.currency !== claimed.currency) mismatches.push(`line ${i} (${item.productId}) is priced in ${product.currency}, the checkout in ${claimed.currency}`);
    else if (item.unitPriceCents !== product.priceCents) {
      mismatches.push(`line ${i} (${item.productId}) is ${item.unitPriceCents} cents a unit, the catalog says ${product.priceCents}`);
    }
  });
  if (claimed.totalCents !== catalogTotal) mismatches.push(`the total is ${claimed.totalCents} cents, the catalog's prices add up to ${catalogTotal}`);
  if (mismatches.length === 0) return { kind: 'agreed' };
  return { kind: 'refused', reason: 'fraud_suspected', detail: `price_mismatch: ${mismatches.join('; ')}`.slice(0, MAX_DETAIL) };
}

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
