import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, TEST_DATABASE_URL, uniqueName } from '../../../test/support/service-databases.ts';
import { openKeyStore, type KeyStore } from './keys.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-keys-'));
let keys: KeyStore;
beforeAll(async () => {
  keys = await openKeyStore({ dataDir });
});
afterAll(async () => {
  await keys.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('producer keys', () => {
  it('creates a key shown once, stored hashed, that verifies until revoked', async () => {
    const created = await keys.create({ name: 'webshop', producer: 'webshop', types: ['cart.*', 'cart.checked_out', 'cart.*'] });
    expect(created.key).toMatch(/^flm_[A-Za-z0-9_-]{43}$/);
    expect(created.types).toEqual(['cart.*', 'cart.checked_out']);
    expect(created.producer).toBe('webshop');
    expect(created.key.startsWith(created.prefix)).toBe(true);

    const listed = await keys.list();
    expect(listed.find((k) => k.id === created.id)).toEqual({
      id: created.id,
      name: 'webshop',
      prefix: created.prefix,
      role: 'producer',
      types: ['cart.*', 'cart.checked_out'],
      producer: 'webshop',
      createdAt: created.createdAt,
      revokedAt: null,
    });
    expect(JSON.stringify(listed)).not.toContain(created.key);

    expect((await keys.verify(created.key))?.id).toBe(created.id);
    expect(await keys.verify(`${created.key}x`)).toBeUndefined();
    expect(await keys.verify('not-a-key')).toBeUndefined();

    expect(await keys.revoke(created.id)).toBe(true);
    expect(await keys.verify(created.key)).toBeUndefined();
    expect(await keys.revoke(created.id)).toBe(false);
    expect((await keys.list()).find((k) => k.id === created.id)?.revokedAt).toEqual(expect.any(String));
  });

  it('makes analyst keys, which publish nothing (issue 11)', async () => {
    const analyst = await keys.create({ role: 'analyst' });
    expect(analyst).toMatchObject({ role: 'analyst', name: 'analyst', producer: null, types: [] });
    expect((await keys.verify(analyst.key))?.role).toBe('analyst');
    await expect(keys.create({ role: 'analyst', producer: 'orders' })).rejects.toMatchObject({ field: 'producer' });
    await expect(keys.create({ role: 'analyst', types: ['*'] })).rejects.toMatchObject({ field: 'types' });
  });

  it('refuses malformed patterns', async () => {
    await expect(keys.create({ types: [] })).rejects.toThrow(RangeError);
    await expect(keys.create({ types: ['order.*', '*.placed'], producer: 'orders' })).rejects.toThrow(/not event type patterns: \*\.placed/);
  });

  it('scopes a key to a producer of the catalog; without one only to types anyone may publish (issue 7)', async () => {
    const orders = await keys.create({ producer: 'orders' });
    expect([orders.name, orders.producer, orders.types]).toEqual(['orders', 'orders', ['*']]);
    expect((await keys.verify(orders.key))?.producer).toBe('orders');
    const open = await keys.create({ types: ['cart.item_added'] });
    expect(open.producer).toBeNull();
    await expect(keys.create({ producer: 'warehouse' })).rejects.toMatchObject({ field: 'producer', message: expect.stringMatching(/"warehouse" is not a producer of the catalog/) });
    await expect(keys.create({ types: ['order.*'] })).rejects.toMatchObject({ field: 'types', message: expect.stringMatching(/order\.\* matches only types produced by orders/) });
    await expect(keys.create({ producer: 'orders', types: ['payment.*'] })).rejects.toMatchObject({ field: 'types' });
    await expect(keys.create({ types: ['nothing.here'] })).rejects.toThrow(/matches no type of the catalog/);
  });

  it('works the same on PostgreSQL (a schema of the platform database)', async () => {
    const config = { dataDir, databaseUrl: TEST_DATABASE_URL };
    const schema = uniqueName('flamingo');
    let pg: KeyStore | undefined;
    try {
      pg = await openKeyStore(config, schema);
      const created = await pg.create({ name: `pg-${Date.now()}`, types: ['order.*'], producer: 'orders' });
      expect(await pg.verify(created.key)).toMatchObject({ types: ['order.*'], producer: 'orders' });
      expect(await pg.revoke(created.id)).toBe(true);
      expect(await pg.verify(created.key)).toBeUndefined();
    } finally {
      await pg?.close();
      await dropSchemas({ ...config, dataDir: path.join(dataDir, 'pg') }, [schema]);
    }
  });

  it('keeps keys across reopening', async () => {
    const created = await keys.create({ types: ['*'] });
    const again = await openKeyStore({ dataDir });
    try {
      expect((await again.verify(created.key))?.types).toEqual(['*']);
    } finally {
      await again.close();
    }
  });
});
