/**
 * One shopper's visit: sign up or come back, fill a cart and check out (or order directly), maybe
 * abandon the cart, maybe write a review — some of it spam. Payment tokens decide the payment:
 * `tok_ok` succeeds, `tok_declined` fails, `tok_slow` succeeds late.
 */
import { eventually, signUp, type Customer } from './setup.ts';
import { ShopError, type Product, type ShopClient } from './shop-client.ts';
import { recordError, type SimulationStats } from './stats.ts';

/** Shares (0–1) of what shoppers do. */
export interface ShopperMix {
  /** New customers among visits (the rest come back). (Default: 0.15) */
  readonly signup: number;
  /** Orders through a cart (the rest order directly, `POST /v1/orders`). (Default: 0.7) */
  readonly cart: number;
  /** Carts left without checking out. (Default: 0.08) */
  readonly abandon: number;
  /** Payments declined (`tok_declined`). (Default: 0.1) */
  readonly declined: number;
  /** Slow payments (`tok_slow`). (Default: 0.1) */
  readonly slow: number;
  /** Visits that end with a review. (Default: 0.3) */
  readonly review: number;
  /** Spam among reviews. (Default: 0.2) */
  readonly spam: number;
}

export const DEFAULT_MIX: ShopperMix = { signup: 0.15, cart: 0.7, abandon: 0.08, declined: 0.1, slow: 0.1, review: 0.3, spam: 0.2 };

export interface ShopContext {
  readonly client: ShopClient;
  readonly stats: SimulationStats;
  readonly products: readonly Product[];
  readonly customers: Customer[];
  readonly runId: string;
  readonly mix: ShopperMix;
  /** Orders this run placed, by id, with when the API accepted them. */
  readonly ours: Map<string, number>;
  random(): number;
  /** A new number for a new customer's e-mail address. */
  nextCustomer(): number;
}

const HONEST = [
  'Exactly as described, arrived quickly.',
  'Good quality for the price. Would buy again.',
  'The colour is a bit lighter than in the pictures, otherwise fine.',
  'My kids love it.',
  'Sturdy and well made; the packaging could use less plastic.',
  'Not bad, not great. Does the job.',
  '',
];
const SPAM = [
  'Best deals at www.cheap-flamingos.example, click the link!',
  'buy buy buy buy buy now now now',
  'Free money!!!!!!!!!! visit http://spam.example',
  'Win big at our casino tonight',
  'Great product. Also check out crypto giveaway for free money',
];

const pick = <T>(context: ShopContext, from: readonly T[]): T => from[Math.floor(context.random() * from.length)];

async function customerFor(context: ShopContext): Promise<Customer> {
  if (context.customers.length === 0 || context.random() < context.mix.signup) {
    const customer = await signUp(context.client, context.runId, context.nextCustomer());
    context.stats.signups++;
    context.customers.push(customer);
    return customer;
  }
  return pick(context, context.customers);
}

function linesFor(context: ShopContext): { productId: string; quantity: number }[] {
  const count = 1 + Math.floor(context.random() * Math.min(3, context.products.length));
  const chosen = new Set<string>();
  while (chosen.size < count) chosen.add(pick(context, context.products).id);
  return [...chosen].map((productId) => ({ productId, quantity: 1 + Math.floor(context.random() * 3) }));
}

function paymentToken(context: ShopContext): string {
  const r = context.random();
  return r < context.mix.declined ? 'tok_declined' : r < context.mix.declined + context.mix.slow ? 'tok_slow' : 'tok_ok';
}

async function orderThroughCart(context: ShopContext, customer: Customer, lines: { productId: string; quantity: number }[]): Promise<string | undefined> {
  const { client } = context;
  const cart = await client.createCart(customer.token);
  context.stats.carts++;
  for (const line of lines) await eventually(() => client.addToCart(customer.token, cart.id, line.productId, line.quantity));
  if (lines.length > 1 && context.random() < 0.2) await client.removeFromCart(customer.token, cart.id, lines[lines.length - 1].productId);
  if (context.random() < context.mix.abandon) return undefined;
  return (await client.checkout(customer.token, cart.id, paymentToken(context))).orderId;
}

async function review(context: ShopContext, customer: Customer, productId: string): Promise<void> {
  const spam = context.random() < context.mix.spam;
  const rating = spam ? 5 : 1 + Math.floor(context.random() * 5);
  try {
    await eventually(() => context.client.review(customer.token, productId, { rating, comment: pick(context, spam ? SPAM : HONEST) }));
    context.stats.reviews++;
  } catch (error) {
    // A customer who already reviewed this product is refused: that is the shop working.
    if (!(error instanceof ShopError && error.code === 'already_reviewed')) throw error;
  }
}

/** One visit; failures are counted, never thrown. */
export async function visit(context: ShopContext): Promise<void> {
  context.stats.journeys++;
  try {
    const customer = await customerFor(context);
    const lines = linesFor(context);
    const orderId =
      context.random() < context.mix.cart
        ? await orderThroughCart(context, customer, lines)
        : (await eventually(() => context.client.placeOrder(customer.token, customer.userId, lines, paymentToken(context)))).id;
    if (orderId !== undefined) {
      context.ours.set(orderId, Date.now());
      context.stats.placed++;
    }
    if (context.random() < context.mix.review) await review(context, customer, pick(context, lines).productId);
  } catch (error) {
    recordError(context.stats, error);
  }
}
