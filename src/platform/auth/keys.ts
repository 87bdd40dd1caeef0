import { createHash } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { isTypePattern } from '../config.ts';
import { migrate, openDatabase, type DatabaseConfig, type ServiceDatabase } from '../db.ts';
import { randomSecret } from '../secrets.ts';

/** A producer key as listed (never the key itself). */
export interface ApiKeyInfo {
  readonly id: string;
  readonly name: string;
  /** The first characters of the key, to recognise it. */
  readonly prefix: string;
  /** Event type patterns it may publish: `order.*`, `cart.item_added`, `*`. */
  readonly types: readonly string[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** A key just created: `key` is shown this once and stored only as a hash. */
export interface CreatedApiKey extends ApiKeyInfo {
  readonly key: string;
}

export interface KeyStore {
  /** Creates a producer key; throws `RangeError` on a malformed pattern. */
  create(input: { name?: string; types: readonly string[] }): Promise<CreatedApiKey>;
  list(): Promise<ApiKeyInfo[]>;
  /** Revokes a key at once; false when there is no active key with that id. */
  revoke(id: string): Promise<boolean>;
  /** The active key this secret belongs to, or undefined. */
  verify(secret: string): Promise<ApiKeyInfo | undefined>;
  close(): Promise<void>;
}

interface ApiKeysTable {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  types: string;
  created_at: string;
  revoked_at: string | null;
}
interface KeysDatabase {
  api_keys: ApiKeysTable;
}

const migrations: Record<string, Migration> = {
  '001_api_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('types', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
    },
  },
};

/** Producer keys start with this, so a leaked one is recognisable (secret scanners, logs). */
export const PRODUCER_KEY_PREFIX = 'flm_';

/** SHA-256 is right for API keys: they carry 256 random bits, so a slow hash would add nothing. */
export const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

const toInfo = (row: ApiKeysTable): ApiKeyInfo => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  types: JSON.parse(row.types) as string[],
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

/** How long a verified key is trusted without asking the database again (revocations in another process take this long). */
const CACHE_MS = 5_000;

/**
 * Producer keys in database `flamingo` (`<dataDir>/flamingo.db`, or schema `flamingo` with
 * `DATABASE_URL`): hashed, with their allowed event type patterns.
 */
export async function openKeyStore(database: DatabaseConfig): Promise<KeyStore> {
  const handle: ServiceDatabase<KeysDatabase> = await openDatabase<KeysDatabase>('flamingo', database);
  await migrate(handle.db, migrations);
  const { db } = handle;
  const cache = new Map<string, { info: ApiKeyInfo; until: number }>();

  return {
    async create({ name, types }) {
      const bad = types.filter((t) => !isTypePattern(t));
      if (types.length === 0) throw new RangeError('types: give at least one event type pattern (order.*, cart.item_added, *)');
      if (bad.length > 0) throw new RangeError(`types: not event type patterns: ${bad.join(', ')}`);
      const key = randomSecret(PRODUCER_KEY_PREFIX);
      const row: ApiKeysTable = {
        id: uuidv7(),
        name: name?.trim() || 'producer',
        prefix: key.slice(0, PRODUCER_KEY_PREFIX.length + 6),
        hash: hashKey(key),
        types: JSON.stringify([...new Set(types)]),
        created_at: new Date().toISOString(),
        revoked_at: null,
      };
      await db.insertInto('api_keys').values(row).execute();
      return { ...toInfo(row), key };
    },
    async list() {
      const rows = await db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toInfo);
    },
    async revoke(id) {
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at: new Date().toISOString() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      for (const [hash, entry] of cache) if (entry.info.id === id) cache.delete(hash);
      return Number(result.numUpdatedRows) > 0;
    },
    async verify(secret) {
      if (!secret.startsWith(PRODUCER_KEY_PREFIX)) return undefined;
      const hash = hashKey(secret);
      const hit = cache.get(hash);
      if (hit && hit.until > Date.now()) return hit.info;
      const row = await db.selectFrom('api_keys').selectAll().where('hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
      if (!row) {
        cache.delete(hash);
        return undefined;
      }
      const info = toInfo(row);
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { info, until: Date.now() + CACHE_MS });
      return info;
    },
    async close() {
      cache.clear();
      await handle.close();
    },
  };
}

