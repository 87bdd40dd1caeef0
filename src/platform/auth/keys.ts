import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { DatabaseConfig } from '../db.ts';
import { randomSecret } from '../secrets.ts';
import { openPlatformDatabase, type ApiKeysTable, type PlatformDatabase } from './platform-database.ts';
import { KeyScopeError, checkPublishScope, type PublishScope } from './publishing.ts';

/**
 * What a key is for: `producer` keys publish (within their `PublishScope`); `analyst` keys read the
 * warehouse (`POST /v1/warehouse/query`, export) and nothing else — they publish nothing.
 */
export type KeyRole = 'producer' | 'analyst';
export const KEY_ROLES: readonly KeyRole[] = ['producer', 'analyst'];

/** A key as listed (never the key itself). */
export interface ApiKeyInfo extends PublishScope {
  readonly id: string;
  readonly role: KeyRole;
  readonly name: string;
  /** The first characters of the key, to recognise it. */
  readonly prefix: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** A key just created: `key` is shown this once and stored only as a hash. */
export interface CreatedApiKey extends ApiKeyInfo {
  readonly key: string;
}

export interface KeyStore {
  /**
   * Creates a producer key. `producer` (a producer of the catalog) lets it publish that producer's
   * types; `types` narrows it to patterns (Default: `*` with a producer; required without one).
   * `role: 'analyst'` makes a key that reads the warehouse and publishes nothing (no `types` nor
   * `producer` then). Throws `KeyScopeError` (a `RangeError`) naming the field at fault.
   */
  create(input: { name?: string; types?: readonly string[]; producer?: string; role?: KeyRole }): Promise<CreatedApiKey>;
  list(): Promise<ApiKeyInfo[]>;
  /** Revokes a key at once; false when there is no active key with that id. */
  revoke(id: string): Promise<boolean>;
  /** The active key this secret belongs to, or undefined. */
  verify(secret: string): Promise<ApiKeyInfo | undefined>;
  close(): Promise<void>;
}

/** Producer keys start with this, so a leaked one is recognisable (secret scanners, logs). */
export const PRODUCER_KEY_PREFIX = 'flm_';

/** SHA-256 is right for API keys: they carry 256 random bits, so a slow hash would add nothing. */
export const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

const toInfo = (row: ApiKeysTable): ApiKeyInfo => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  types: JSON.parse(row.types) as string[],
  producer: row.producer ?? null,
  role: row.role === 'analyst' ? 'analyst' : 'producer',
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

/** How long a verified key is trusted without asking the database again (revocations in another process take this long). */
const CACHE_MS = 5_000;

/**
 * Producer keys in the platform database (`platform-database.ts`): hashed, with the event type
 * patterns and the producer they may publish for. `close()` leaves the database open.
 */
export function keyStore(db: Kysely<PlatformDatabase>): KeyStore {
  const cache = new Map<string, { info: ApiKeyInfo; until: number }>();

  return {
    async create({ name, types, producer, role = 'producer' }) {
      if (role === 'analyst' && (types !== undefined || producer !== undefined)) {
        throw new KeyScopeError(types !== undefined ? 'types' : 'producer', 'an analyst key reads the warehouse and publishes nothing: give no types nor producer');
      }
      const scope: PublishScope = role === 'analyst' ? { types: [], producer: null } : checkPublishScope({ types, producer });
      const key = randomSecret(PRODUCER_KEY_PREFIX);
      const row: ApiKeysTable = {
        id: uuidv7(),
        name: name?.trim() || scope.producer || role,
        prefix: key.slice(0, PRODUCER_KEY_PREFIX.length + 6),
        hash: hashKey(key),
        types: JSON.stringify(scope.types),
        producer: scope.producer,
        role,
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
    },
  };
}

/**
 * A key store on its own handle of the platform database, closed with it (tools and tests).
 * @param name the platform database's name. (Default: `flamingo`)
 */
export async function openKeyStore(database: DatabaseConfig, name?: string): Promise<KeyStore> {
  const handle = await openPlatformDatabase(database, name);
  const store = keyStore(handle.db);
  return {
    ...store,
    async close() {
      await store.close();
      await handle.close();
    },
  };
}
