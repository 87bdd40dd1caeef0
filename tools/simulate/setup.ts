/** What a simulation needs before shoppers arrive: products with stock, and a first few customers. */
import { setTimeout as sleep } from 'node:timers/promises';
import { ShopError, type Product, type ShopClient } from './shop-client.ts';

export interface Customer {
  readonly userId: string;
  readonly email: string;
  readonly token: string;
}

const PRODUCTS = [
  ['Flamingo mug', 1250],
  ['Pink socks', 899],
  ['Beach towel', 2499],
  ['Sunglasses', 3999],
  ['Lawn flamingo', 1999],
  ['Tote bag', 1499],
  ['Notebook', 699],
  ['Water bottle', 1799],
  ['Cap', 1599],
  ['Postcard set', 499],
] as const;

/** Creates `count` products with `onHand` units each; SKUs carry the run id so runs never collide. */
export async function createProducts(client: ShopClient, runId: string, count: number, onHand: number, lowStockThreshold: number): Promise<Product[]> {
  const products: Product[] = [];
  for (let i = 0; i < count; i++) {
    const [name, priceCents] = PRODUCTS[i % PRODUCTS.length];
    products.push(
      await client.createProduct({ sku: `SIM-${runId}-${i + 1}`, name: count > PRODUCTS.length ? `${name} #${i + 1}` : name, priceCents, onHand, lowStockThreshold }),
    );
  }
  return products;
}

/** The user id of a session token (its `sub`), for a login answer that does not repeat it. */
function subjectOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

export const PASSWORD = 'flamingo-simulated-shopper';

export async function signUp(client: ShopClient, runId: string, n: number): Promise<Customer> {
  const email = `shopper-${runId}-${n}@example.test`;
  const registered = await client.register({ email, name: `Shopper ${n}`, password: PASSWORD });
  const login = await client.login(email, PASSWORD);
  const userId = registered.id ?? registered.userId ?? login.userId ?? subjectOf(login.token);
  if (userId === undefined) throw new Error('POST /v1/users answered without an id');
  return { userId, email, token: login.token };
}

/** Codes that mean "not replicated yet" in another service: worth trying again shortly. */
const NOT_YET = new Set(['unknown_user', 'unknown_product', 'not_found']);

/**
 * Runs `work` until it stops failing with a "not there yet" answer (services learn about users and
 * products from events, a moment after the API that created them answered).
 */
export async function eventually<T>(work: () => Promise<T>, options: { attempts?: number; delayMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 25;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const retryable = error instanceof ShopError && (error.status === 404 || error.status === 422) && NOT_YET.has(error.code ?? '');
      if (!retryable || attempt >= attempts) throw error;
      await sleep(options.delayMs ?? 200);
    }
  }
}
