/**
 * The events every section publishes: `order.placed` with three priced lines and a shipping
 * address, about 1 KB as a stored envelope, UUIDv7 ids. Every section uses the same payloads so
 * the engine figure and its raw ceiling move the same bytes.
 */
import { v7 as uuidv7 } from 'uuid';
import type { EventData, UnstoredEvent } from '../src/contracts/index.ts';

export type OrderPlaced = EventData<'order.placed'>;

const NAMES = ['Linen shirt, sand', 'Merino socks, 3-pack', 'Canvas tote, natural'];

/** The `data` of one `order.placed`; `n` varies prices and quantities. */
export function orderPlacedData(n: number): OrderPlaced {
  const items = NAMES.map((name, line) => ({
    productId: uuidv7(),
    quantity: 1 + ((n + line) % 3),
    unitPriceCents: 1_990 + ((n * 7 + line * 300) % 5_000),
    sku: `SKU-${String(100_000 + ((n * 4 + line) % 900_000))}`,
    name,
  }));
  return {
    orderId: uuidv7(),
    userId: uuidv7(),
    items,
    totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
    currency: 'EUR',
    paymentToken: 'tok_ok',
    email: `customer${n % 100_000}@example.com`,
    shippingAddress: {
      name: 'Ada Lovelace-Byron',
      line1: `${(n % 400) + 1} Marylebone High Street`,
      postalCode: 'W1U 4RF',
      city: 'London',
      country: 'GB',
    },
  };
}

/**
 * The envelope the bus would build for `data` (what the engine stores), for the raw ceilings that
 * skip the bus. Same attributes, same sizes.
 */
export function orderPlacedEnvelope(n: number, id: string = uuidv7()): UnstoredEvent<'order.placed', OrderPlaced> {
  const data = orderPlacedData(n);
  return {
    specversion: '1.0',
    id,
    source: '/bench',
    type: 'order.placed',
    subject: `order/${data.orderId}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: 'flamingo:order.placed/v1',
    data,
    partitionkey: data.orderId,
  };
}

/** A stored envelope as the log holds it (sequence and recordedtime added). */
export function storedJson(event: UnstoredEvent, sequence: number): string {
  return JSON.stringify({ ...event, sequence, recordedtime: new Date().toISOString() });
}

/** Size in bytes of one stored envelope, for the report. */
export function envelopeBytes(): number {
  return Buffer.byteLength(storedJson(orderPlacedEnvelope(1), 1));
}

/**
 * A pool of `count` distinct payloads reused round-robin (with fresh ids at publish time), so
 * building data is not what a section measures.
 */
export function dataPool(count: number): OrderPlaced[] {
  return Array.from({ length: count }, (_, n) => orderPlacedData(n));
}

/** The envelope the bus builds for `data`, built the cheap way (no validation): what a raw ceiling stores. */
export function rawEnvelope(data: OrderPlaced, id: string = uuidv7()): UnstoredEvent {
  return {
    specversion: '1.0',
    id,
    source: '/bench',
    type: 'order.placed',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: 'flamingo:order.placed/v1',
    data,
    subject: `order/${data.orderId}`,
    partitionkey: data.orderId,
  };
}

/** The envelope a raw ceiling stores for `data`, as JSON: what the engine stores, without the bus. */
export function rawPayload(data: OrderPlaced, id: string): string {
  return JSON.stringify(rawEnvelope(data, id));
}
