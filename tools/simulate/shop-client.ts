/**
 * The simulator's view of the shop: the public HTTP API, nothing else. Every call is counted (by
 * outcome) so the progress line can show requests per second and errors.
 */
import { createJsonClient, type JsonAnswer } from '../../src/platform/http-client.ts';

/** A non-2xx answer. */
export class ShopError extends Error {
  constructor(
    readonly method: string,
    readonly route: string,
    readonly status: number,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`${method} ${route} → ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'ShopError';
  }
}

export interface RequestCounts {
  requests: number;
  /** 2xx answers. */
  ok: number;
  /** 4xx answers (some are expected: a race for the last unit, a product not replicated yet). */
  rejected: number;
  /** 5xx answers and network failures. */
  failed: number;
}

export interface ShopClientOptions {
  readonly url: string;
  /** The admin key, for products, stock, shipments, customers' orders and the event log. */
  readonly adminKey?: string;
  /** Per request. (Default: 10 000 ms) */
  readonly timeoutMs?: number;
}

export type Auth = { readonly admin: true } | { readonly token: string } | undefined;

export interface Product {
  id: string;
  number?: number;
  sku: string;
  name: string;
  priceCents: number;
  onHand: number;
  lowStockThreshold: number;
  rating?: { average: number | null; count: number };
}
export interface Order {
  id: string;
  status: string;
  history?: { status: string; at: string }[];
}
export interface Shipment {
  id: string;
  orderId: string;
  status: string;
}
export interface StoredEvent {
  id: string;
  type: string;
  sequence: number;
  time: string;
  recordedtime: string;
  data: Record<string, unknown>;
}
export interface EventPage {
  events: StoredEvent[];
  next: number | null;
  head: number;
}

export function createShopClient(options: ShopClientOptions) {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const counts: RequestCounts = { requests: 0, ok: 0, rejected: 0, failed: 0 };

  const json = createJsonClient({ url: options.url, timeoutMs });

  async function call<T>(method: string, route: string, auth: Auth, body?: unknown): Promise<T> {
    const bearer = auth && 'admin' in auth ? (options.adminKey ?? null) : auth ? auth.token : null;
    counts.requests++;
    let answer: JsonAnswer<T>;
    try {
      answer = await json.request<T>(method, route, { body, bearer });
    } catch (error) {
      counts.failed++;
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new ShopError(method, route, 0, 'unreachable', `${cause} (${base})`);
    }
    if (answer.ok) {
      counts.ok++;
      return answer.body as T;
    }
    if (answer.status >= 500) counts.failed++;
    else counts.rejected++;
    const problem = answer.body as { error?: string; message?: string } | undefined;
    throw new ShopError(method, route, answer.status, problem?.error, problem?.message ?? answer.text.slice(0, 200));
  }

  const admin: Auth = { admin: true };
  const as = (token: string): Auth => ({ token });

  return {
    counts,
    url: base,
    call,
    createProduct: (product: { sku: string; name: string; priceCents: number; onHand: number; lowStockThreshold: number; description?: string }) =>
      call<Product>('POST', '/v1/products', admin, product),
    getProduct: (id: string) => call<Product>('GET', `/v1/products/${id}`, undefined),
    adjustStock: (id: string, delta: number, reason: 'restock' | 'correction' | 'damaged' | 'returned') =>
      call<Product>('POST', `/v1/products/${id}/stock`, admin, { delta, reason }),
    register: (user: { email: string; name: string; password: string }) => call<{ id?: string; userId?: string }>('POST', '/v1/users', undefined, user),
    login: (email: string, password: string) => call<{ token: string; userId?: string }>('POST', '/v1/auth/login', undefined, { email, password }),
    createCart: (token: string) => call<{ id: string }>('POST', '/v1/carts', as(token), {}),
    addToCart: (token: string, cartId: string, productId: string, quantity: number) =>
      call<{ id: string }>('POST', `/v1/carts/${cartId}/items`, as(token), { productId, quantity }),
    removeFromCart: (token: string, cartId: string, productId: string) => call<{ id: string }>('DELETE', `/v1/carts/${cartId}/items/${productId}`, as(token)),
    checkout: (token: string, cartId: string, paymentToken: string) =>
      call<{ orderId: string }>('POST', `/v1/carts/${cartId}/checkout`, as(token), { paymentToken }),
    /** Places an order as the customer (their session token), or with the admin key when `token` is omitted. */
    placeOrder: (token: string | undefined, userId: string, items: { productId: string; quantity: number }[], paymentToken: string) =>
      call<Order>('POST', '/v1/orders', token === undefined ? admin : as(token), { userId, items, paymentToken }),
    /** An order, read with the customer's session token (or the admin key when `token` is omitted). */
    getOrder: (id: string, token?: string) => call<Order>('GET', `/v1/orders/${id}`, token === undefined ? admin : as(token)),
    dispatch: (shipmentId: string) => call<Shipment>('POST', `/v1/shipments/${shipmentId}/dispatch`, admin, {}),
    deliver: (shipmentId: string) => call<Shipment>('POST', `/v1/shipments/${shipmentId}/deliver`, admin),
    review: (token: string, productId: string, review: { rating: number; comment: string; title?: string }) =>
      call<{ id: string }>('POST', `/v1/products/${productId}/reviews`, as(token), review),
    events: (types: readonly string[], afterSequence: number, limit = 1000) =>
      call<EventPage>('GET', `/v1/events?type=${encodeURIComponent(types.join(','))}&afterSequence=${afterSequence}&limit=${limit}`, admin),
  };
}

export type ShopClient = ReturnType<typeof createShopClient>;
