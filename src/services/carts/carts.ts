/** Carts: created, filled, emptied and checked out; every change is one webshop event. */
import { v7 as uuidv7 } from 'uuid';
import { MAX_CENTS } from '../../contracts/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { ApiError, forbidden, notFound, unprocessable } from '../../platform/errors.ts';
import { cartState, WEBSHOP_SOURCE, type CartEvent } from './events.ts';
import { cartOf, linesOf, lockCart, type Cart, type CartLine, type CartRow, type CartsDb } from './store.ts';

/** Most units of one product in one cart. */
export const MAX_LINE_QUANTITY = 999;
/** Most distinct products in one cart. */
export const MAX_LINES = 100;

/** Refuses a cart whose total passes the largest amount an event may carry (`MAX_CENTS`); the transaction is then rolled back. */
function withinMaxTotal(cart: Cart, path: string): Cart {
  if (cart.totalCents > MAX_CENTS) {
    throw unprocessable('total_too_large', `a cart's total may be at most ${MAX_CENTS} minor units; this one would be ${cart.totalCents}`, [
      { path, message: `makes the total pass ${MAX_CENTS}` },
    ]);
  }
  return cart;
}

export interface CartChange {
  readonly cart: Cart;
  readonly events: CartEvent[];
}

/** Who is asking: the customer of a verified session token, if any. */
export interface Caller {
  readonly userId?: string;
}

export async function createCart(trx: CartsDb, userId: string | undefined, now = new Date().toISOString()): Promise<CartChange> {
  const row: CartRow = { id: uuidv7(), user_id: userId ?? null, status: 'open', order_id: null, created_at: now, updated_at: now, checked_out_at: null };
  await trx.insertInto('carts').values(row).execute();
  return { cart: cartOf(row, []), events: [] };
}

/** The open cart, refusing a cart that belongs to another customer than the caller's token says. */
async function openCart(trx: CartsDb, dialect: Dialect, cartId: string, caller: Caller): Promise<CartRow> {
  const row = await lockCart(trx, dialect, cartId);
  if (!row) throw notFound(`no cart ${cartId}`);
  if (row.user_id !== null && caller.userId !== undefined && caller.userId !== row.user_id) throw forbidden('this cart belongs to another customer');
  if (row.status !== 'open') {
    throw new ApiError(409, 'cart_checked_out', `the cart was checked out as order ${row.order_id}; start a new cart`);
  }
  return row;
}

async function touch(trx: CartsDb, row: CartRow, now: string, userId?: string): Promise<CartRow> {
  const user_id = row.user_id ?? userId ?? null;
  await trx.updateTable('carts').set({ updated_at: now, user_id }).where('id', '=', row.id).execute();
  return { ...row, updated_at: now, user_id };
}

export async function addItem(
  trx: CartsDb,
  dialect: Dialect,
  cartId: string,
  item: { productId: string; quantity: number },
  caller: Caller,
  now = new Date().toISOString(),
): Promise<CartChange> {
  const cart = await openCart(trx, dialect, cartId, caller);
  const product = await trx.selectFrom('cart_products').selectAll().where('id', '=', item.productId).executeTakeFirst();
  if (!product) throw unprocessable('unknown_product', `no product ${item.productId} in the catalog`, [{ path: '/body/productId', message: 'must be a product of the catalog' }]);
  if (Number(product.active) !== 1) throw unprocessable('product_unavailable', `product ${item.productId} cannot be ordered`, [{ path: '/body/productId', message: 'must be an active product' }]);
  const before = await linesOf(trx, cartId);
  if (before.length > 0 && before[0].currency !== product.currency) {
    throw unprocessable('currency_mismatch', `the cart is in ${before[0].currency}; this product is priced in ${product.currency}`, [
      { path: '/body/productId', message: `must be priced in ${before[0].currency}` },
    ]);
  }
  const existing = before.find((l) => l.productId === item.productId);
  const quantity = (existing?.quantity ?? 0) + item.quantity;
  if (quantity > MAX_LINE_QUANTITY) throw unprocessable('too_many', `at most ${MAX_LINE_QUANTITY} of one product`, [{ path: '/body/quantity', message: `must be <= ${MAX_LINE_QUANTITY - (existing?.quantity ?? 0)}` }]);
  if (!existing && before.length >= MAX_LINES) throw unprocessable('cart_full', `at most ${MAX_LINES} products in one cart`, [{ path: '/body/productId', message: 'the cart is full' }]);
  if (existing) {
    await trx.updateTable('cart_items').set({ quantity }).where('cart_id', '=', cartId).where('product_id', '=', item.productId).execute();
  } else {
    await trx.insertInto('cart_items').values({ cart_id: cartId, product_id: item.productId, quantity, added_at: now }).execute();
  }
  const row = await touch(trx, cart, now, caller.userId);
  const lines = await linesOf(trx, cartId);
  const changed = lines.find((l) => l.productId === item.productId) as CartLine;
  return { cart: withinMaxTotal(cartOf(row, lines), '/body/quantity'), events: [{ type: 'cart.item_added', source: WEBSHOP_SOURCE, data: cartState(row, lines, changed, item.quantity) }] };
}

export async function removeItem(trx: CartsDb, dialect: Dialect, cartId: string, productId: string, caller: Caller, now = new Date().toISOString()): Promise<CartChange> {
  const cart = await openCart(trx, dialect, cartId, caller);
  const before = await linesOf(trx, cartId);
  const removed = before.find((l) => l.productId === productId);
  if (!removed) throw notFound(`product ${productId} is not in cart ${cartId}`);
  await trx.deleteFrom('cart_items').where('cart_id', '=', cartId).where('product_id', '=', productId).execute();
  const row = await touch(trx, cart, now, caller.userId);
  const lines = before.filter((l) => l.productId !== productId);
  return { cart: cartOf(row, lines), events: [{ type: 'cart.item_removed', source: WEBSHOP_SOURCE, data: cartState(row, lines, removed, removed.quantity) }] };
}

export interface Checkout {
  readonly paymentToken: string;
  /** The customer when the cart has none and the caller has no session token (server-side integrations). */
  readonly userId?: string;
}

/**
 * Turns the cart into an order: mints the order id, prices the lines from the catalog replica and
 * publishes `cart.checked_out`; the orders service places the order from it.
 */
export async function checkout(trx: CartsDb, dialect: Dialect, cartId: string, input: Checkout, caller: Caller, now = new Date().toISOString()): Promise<CartChange> {
  const cart = await openCart(trx, dialect, cartId, caller);
  const userId = cart.user_id ?? caller.userId ?? input.userId;
  if (userId === undefined) {
    throw unprocessable('customer_required', 'a checkout needs a customer: create the cart or check out with a session token, or give userId', [
      { path: '/body/userId', message: 'is required for a guest cart' },
    ]);
  }
  const lines = await linesOf(trx, cartId);
  if (lines.length === 0) throw unprocessable('cart_empty', 'the cart is empty', [{ path: '/items', message: 'must not be empty' }]);
  const orderId = uuidv7();
  await trx.updateTable('carts').set({ status: 'checked_out', order_id: orderId, user_id: userId, updated_at: now, checked_out_at: now }).where('id', '=', cartId).execute();
  const row: CartRow = { ...cart, status: 'checked_out', order_id: orderId, user_id: userId, updated_at: now, checked_out_at: now };
  // Prices may have risen since the items were added.
  const done = withinMaxTotal(cartOf(row, lines), '/items');
  return {
    cart: done,
    events: [
      {
        type: 'cart.checked_out',
        source: WEBSHOP_SOURCE,
        data: {
          cartId,
          orderId,
          userId,
          items: lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: l.unitPriceCents, sku: l.sku, name: l.name })),
          totalCents: done.totalCents,
          currency: lines[0].currency,
          paymentToken: input.paymentToken,
        },
      },
    ],
  };
}
