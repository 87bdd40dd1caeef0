import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    const created = await keys.create({ name: 'webshop', types: ['cart.*', 'order.placed', 'cart.*'] });
    expect(created.key).toMatch(/^flm_[A-Za-z0-9_-]{43}$/);
    expect(created.types).toEqual(['cart.*', 'order.placed']);
    expect(created.key.startsWith(created.prefix)).toBe(true);

    const listed = await keys.list();
    expect(listed.find((k) => k.id === created.id)).toEqual({
      id: created.id,
      name: 'webshop',
      prefix: created.prefix,
      types: ['cart.*', 'order.placed'],
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

  it('refuses malformed patterns', async () => {
    await expect(keys.create({ types: [] })).rejects.toThrow(RangeError);
    await expect(keys.create({ types: ['order.*', '*.placed'] })).rejects.toThrow(/not event type patterns: \*\.placed/);
  });

  it('works the same on PostgreSQL (schema flamingo)', async () => {
    const pg = await openKeyStore({ dataDir, databaseUrl: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
    try {
      const created = await pg.create({ name: `pg-${Date.now()}`, types: ['order.*'] });
      expect((await pg.verify(created.key))?.types).toEqual(['order.*']);
      expect(await pg.revoke(created.id)).toBe(true);
      expect(await pg.verify(created.key)).toBeUndefined();
    } finally {
      await pg.close();
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
