/**
 * A rebuild from the SQLite log's stored envelopes (rows made by DuckDB's SQL) lands exactly the
 * rows live landing (`rowMaker`) lands: secrets removed, personal fields pseudonymised or removed,
 * unicode, nested data, aliases, several versions, unknown types, and the envelopes DuckDB leaves to
 * `rowMaker` (escapes, exponents, a marked member repeated deeper, data that is not an object).
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { blobValue, DuckDBInstance } from '@duckdb/node-api';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UnstoredEvent } from '../src/contracts/index.ts';
import { sqliteEngine, type SqliteEngine } from '../src/engines/sqlite/index.ts';
import { openDuckDbWarehouse } from '../src/services/warehouse/duckdb-store.ts';
import { hmacPads, pseudonymSql, storedRowsSql, STORED_STAGING_COLUMNS } from '../src/services/warehouse/duckdb-stored-rows.ts';
import { rebuildWarehouse } from '../src/services/warehouse/rebuild.ts';
import { eventsColumnsSql } from '../src/services/warehouse/views.ts';
import { pseudonymiser, rowMaker, type PersonalDataPolicy, type RowOptions } from '../src/services/warehouse/rows.ts';

const KEY = 'stored-rows-test-key-ü-0123456789';

let dir: string;
let engine: SqliteEngine;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-stored-rows-'));
  engine = sqliteEngine({ file: path.join(dir, 'log.db') });
});

afterEach(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function envelope(type: string, data: unknown, extra: Partial<UnstoredEvent> = {}): UnstoredEvent {
  n += 1;
  return {
    specversion: '1.0',
    id: uuidv7(),
    source: '/test',
    type,
    subject: `thing/${n}`,
    time: new Date(Date.UTC(2024, 4, 1, 12, 0, n, n % 1000)).toISOString(),
    datacontenttype: 'application/json',
    dataschema: `flamingo:${type}/v1`,
    data,
    partitionkey: `k-${n % 5}`,
    ...extra,
  };
}

const address = { name: 'Zoë Ångström', line1: '1 Rue de l’Église', postalCode: '75001', city: 'Paris', country: 'FR' };
function orderPlaced(i: number): Record<string, unknown> {
  return {
    orderId: `o-${i}`,
    userId: `u-${i % 3}`,
    items: [{ productId: 'p-1', quantity: 1 + (i % 2), unitPriceCents: 1990, sku: 'SKU-1', name: 'Shirt — “linen” ✓', tags: { a: [1, 2.5, null, true] } }],
    totalCents: 1990,
    currency: 'EUR',
    paymentToken: `tok_${i}`,
    email: `customer${i % 4}@example.com`,
    shippingAddress: i % 2 === 0 ? address : { ...address, line1: `${i} High St` },
  };
}

/** Events covering the cases of the file's comment; the `left` ones DuckDB leaves to `rowMaker`. */
function logEvents(): { made: UnstoredEvent[]; left: UnstoredEvent[] } {
  const made = [
    ...Array.from({ length: 40 }, (_, i) => envelope('order.placed', orderPlaced(i))),
    // The secret first, last, alone; a personal field missing; a null personal value.
    envelope('order.placed', { paymentToken: 'tok', orderId: 'o-first', email: 'a@b.c' }),
    envelope('order.placed', { orderId: 'o-last', email: null, paymentToken: 'tok' }),
    envelope('order.placed', { paymentToken: 'tok' }),
    envelope('order.placed', {}),
    // An alias, another version, correlation and causation, offsets and fractions in `time`.
    envelope('OrderCreated', orderPlaced(100), { dataschema: 'flamingo:order.placed/v2', correlationid: 'c-1', causationid: 'x-1' }),
    envelope('user.registered', { userId: 'u-1', email: 'ü@example.com', name: 'Zoë', marketing: true }, { time: '2024-05-01T14:00:00.123456+02:00' }),
    envelope('cart.checked_out', { cartId: 'c', paymentToken: 'tok', total: 12.5 }),
    envelope('review.flagged', { reviewId: 'r', flaggedBy: { id: 'u-9', roles: ['a', 'b'] } }),
    // Types without marked fields and types the catalog does not know: data as it is.
    envelope('stock.adjusted', { productId: 'p-1', delta: -3, nested: { deep: { deeper: ['x', { y: 'z' }] } } }, { subject: undefined, partitionkey: undefined }),
    envelope('no.such_type', { email: 'kept@example.com', n: 1 }, { dataschema: undefined }),
    envelope('stock.low', [1, 2, 3], { dataschema: 'flamingo:stock.low/v7' }),
    envelope('product.created', null),
    envelope('product.updated', 'text "quoted" \\ back/slash\ttab'),
  ];
  const left = [
    // JSON DuckDB writes otherwise than JavaScript: escapes, an exponent.
    envelope('order.placed', { ...orderPlaced(200), note: 'bell \u0007 and \u001f' }),
    envelope('stock.adjusted', { productId: 'p', delta: 1e21 }),
    // The marked member repeated deeper, identical.
    envelope('order.placed', { email: 'same@x.y', forwarded: { email: 'same@x.y' }, paymentToken: 't' }),
    // Data of a marked type that is not an object.
    envelope('order.placed', ['email', 'x']),
  ];
  return { made, left };
}

/** The warehouse live landing makes of the log. */
async function landed(file: string, rows: RowOptions): Promise<unknown[]> {
  const store = await openDuckDbWarehouse(file);
  try {
    const toRow = rowMaker(rows);
    for (let after = 0; ; ) {
      const page = await engine.read({ afterSequence: after, limit: 1000 });
      if (page.length === 0) break;
      await store.land(page.map(toRow));
      after = page[page.length - 1]!.sequence;
    }
    return await store.scan(0, 100_000);
  } finally {
    await store.close();
  }
}

/** The warehouse a rebuild from the log's stored envelopes makes. */
async function rebuilt(file: string, rows: RowOptions): Promise<unknown[]> {
  const store = await openDuckDbWarehouse(file);
  try {
    const progress = await rebuildWarehouse({ store, bus: { engine, read: (query) => engine.read(query) }, rows, chunkSize: 7 });
    expect(progress.done).toBe(await engine.head());
    return await store.scan(0, 100_000);
  } finally {
    await store.close();
  }
}

describe('rows from stored envelopes (DuckDB)', () => {
  for (const personalData of ['pseudonymise', 'remove', 'keep'] satisfies PersonalDataPolicy[]) {
    it(`rebuilds exactly the rows live landing lands (personal data: ${personalData})`, async () => {
      const { made, left } = logEvents();
      await engine.append([...made.slice(0, 20), left[0]!, ...made.slice(20), ...left.slice(1)]);
      const rows = { personalData, pseudonymKey: KEY };
      const live = await landed(path.join(dir, `live-${personalData}.duckdb`), rows);
      const fromLog = await rebuilt(path.join(dir, `rebuilt-${personalData}.duckdb`), rows);
      expect(fromLog).toHaveLength(made.length + left.length);
      expect(fromLog).toEqual(live);
      if (personalData !== 'keep') expect(JSON.stringify(fromLog)).not.toMatch(/customer\d@example\.com|tok_\d/);
    });
  }

  it('makes the ordinary envelopes in SQL and leaves the others to rowMaker', async () => {
    const { made, left } = logEvents();
    await engine.append([...made, ...left]);
    const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const connection = await instance.connect();
    try {
      await connection.run("SET TimeZone = 'UTC'");
      await connection.run(`CREATE TABLE staging (${STORED_STAGING_COLUMNS})`);
      const appender = await connection.createAppender('staging');
      for (const stored of await engine.readStored(0, 1000)) {
        appender.appendDouble(stored.sequence);
        appender.appendDouble(stored.recordedMs);
        appender.appendVarchar(stored.envelope);
        appender.endRow();
      }
      appender.flushSync();
      appender.closeSync();
      await connection.run(`CREATE TABLE target (${eventsColumnsSql('duckdb')})`);
      const sql = storedRowsSql({ personalData: 'pseudonymise', pseudonymKey: KEY }, 'staging', 'target');
      await connection.run(sql.pseudonyms, sql.params);
      await connection.run(sql.insert);
      const leftovers = (await connection.runAndReadAll(sql.leftovers)).getRowsJS().map((row) => Number(row[0]));
      expect(leftovers).toEqual(Array.from({ length: left.length }, (_, i) => made.length + i + 1));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it("computes the landing's pseudonyms (HMAC-SHA-256), for short and long keys", async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      for (const key of ['k', KEY, 'x'.repeat(64), 'long-ü-'.repeat(20)]) {
        const pads = hmacPads(key);
        for (const value of ['a@b.c', { name: 'Zoë', n: [1, 2] }, null, '✓ "q"']) {
          const reader = await connection.runAndReadAll(`SELECT ${pseudonymSql('$value')}`, {
            inner_pad: blobValue(pads.inner),
            outer_pad: blobValue(pads.outer),
            value: JSON.stringify(value),
          });
          const expected = `ps_${createHmac('sha256', key).update(JSON.stringify(value)).digest('base64url').slice(0, 22)}`;
          expect(reader.getRowsJS()[0]![0]).toBe(expected);
          expect(pseudonymiser(key)(value)).toBe(expected);
        }
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
