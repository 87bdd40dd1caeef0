/**
 * What the webshop publishes. The cart events keep the seed 000 shape (`customer_id`, `items` and
 * `item` as integers: the products' catalog numbers, one per line) and add what integers cannot
 * carry: the product id, the quantity and the whole cart with quantities (`lines`).
 */
import type { PublishInput } from '../../bus/index.ts';
import type { EventData } from '../../contracts/index.ts';
import type { CartLine, CartRow } from './store.ts';

export const WEBSHOP_SOURCE = '/services/carts';

export type CartEvent = PublishInput<'cart.item_added'> | PublishInput<'cart.item_removed'> | PublishInput<'cart.checked_out'>;

/** A product we have no catalog number for (an old replica row) counts as 0 in the seed fields. */
const numberOf = (line: Pick<CartLine, 'number'>) => line.number ?? 0;

export function cartState(cart: CartRow, lines: readonly CartLine[], changed: CartLine, quantity: number): EventData<'cart.item_added'> {
  return {
    cartId: cart.id,
    customer_id: cart.user_id,
    items: lines.map(numberOf),
    item: numberOf(changed),
    productId: changed.productId,
    quantity,
    lines: lines.map((l) => ({ productId: l.productId, ...(l.number === null ? {} : { number: l.number }), quantity: l.quantity })),
  };
}
