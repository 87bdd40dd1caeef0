import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchemas, TEST_DATABASE_URL, uniqueName } from '../../../test/support/service-databases.ts';
import type { DatabaseConfig } from '../db.ts';
import { openPlatformDatabase } from './platform-database.ts';
import { revocationStore } from './revocations.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-revocations-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const SETUPS: { name: string; config: DatabaseConfig }[] = [
  { name: 'SQLite', config: { dataDir } },
  { name: 'PostgreSQL', config: { dataDir, databaseUrl: TEST_DATABASE_URL } },
];

describe.each(SETUPS)('customer revocations on $name', ({ config }) => {
  it('revokes and restores in log order, ignoring older changes; two stores on one database agree within the cache time', async () => {
    const name = uniqueName('flamingo');
    const one = await openPlatformDatabase(config, name);
    const two = await openPlatformDatabase(config, name);
    try {
      const writer = revocationStore(one.db);
      const reader = revocationStore(two.db, { cacheMs: 100 });
      expect(await reader.isRevoked('u1')).toBe(false);
      expect(await writer.apply({ userId: 'u1', revoked: true, reason: 'spam', sequence: 10 })).toBe(true);
      expect(await writer.isRevoked('u1')).toBe(true);
      // The other store answered from its cache a moment ago; within its cache time it asks again.
      await sleep(120);
      expect(await reader.isRevoked('u1')).toBe(true);

      // A replayed (older) unban changes nothing; a later one restores the customer.
      expect(await writer.apply({ userId: 'u1', revoked: false, sequence: 9 })).toBe(false);
      expect(await writer.isRevoked('u1')).toBe(true);
      expect(await writer.apply({ userId: 'u1', revoked: false, sequence: 11 })).toBe(true);
      expect(await writer.isRevoked('u1')).toBe(false);

      // A temporary ban ends by itself.
      await writer.apply({ userId: 'u2', revoked: true, until: new Date(Date.now() + 150).toISOString(), sequence: 12 });
      expect(await writer.isRevoked('u2')).toBe(true);
      await sleep(200);
      expect(await writer.isRevoked('u2')).toBe(false);
    } finally {
      await one.close();
      await two.close();
      if (config.databaseUrl) await dropSchemas({ ...config, dataDir: path.join(dataDir, 'pg') }, [name]);
    }
  });
});
