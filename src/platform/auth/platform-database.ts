/**
 * The platform's own database `flamingo` (`<dataDir>/flamingo.db`, or schema `flamingo` with
 * `DATABASE_URL`, shared by every process): producer keys and revoked customers. One migration
 * list for both, since one database has one migration history.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { migrate, openDatabase, type DatabaseConfig, type ServiceDatabase } from '../db.ts';

export interface ApiKeysTable {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  /** JSON array of event type patterns. */
  types: string;
  /** The catalog producer the key speaks for (`orders`), or null: only types anyone may publish. */
  producer: string | null;
  /** `producer` (publishes events) or `analyst` (reads the warehouse, nothing else). */
  role: string;
  created_at: string;
  revoked_at: string | null;
}

/** A customer whose session tokens are refused (`user.banned`), or no longer (`user.unbanned`). */
export interface CustomerRevocationsTable {
  user_id: string;
  /** 1 while banned. */
  revoked: number;
  /** End of a temporary ban (RFC 3339), or null. */
  until: string | null;
  reason: string | null;
  /** Log position of the event applied last: an older one never overwrites it. */
  sequence: number | string | bigint;
  updated_at: string;
}

/** A consumer contract (issue 14): what one consumer outside the repository's code reads. */
export interface ConsumerContractsTable {
  consumer: string;
  /** JSON array of `{ type, version?, fields }`. */
  reads: string;
  /** `api` (`POST /v1/contracts`) or `target` (a delivery target's, kept in step with it). */
  origin: string;
  created_at: string;
  updated_at: string;
}

export interface PlatformDatabase {
  api_keys: ApiKeysTable;
  customer_revocations: CustomerRevocationsTable;
  consumer_contracts: ConsumerContractsTable;
}

export const PLATFORM_MIGRATIONS: Record<string, Migration> = {
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
  // Issue 7: a key may speak for one producer of the catalog; keys made before have none.
  '002_api_key_producer': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('api_keys').addColumn('producer', 'text').execute();
    },
  },
  // Issue 11: analyst keys read the warehouse and nothing else; every older key is a producer key.
  '004_api_key_role': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('api_keys').addColumn('role', 'text', (c) => c.notNull().defaultTo('producer')).execute();
    },
  },
  // Issue 7: banned customers, read by the customer guard of every process.
  '003_customer_revocations': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('customer_revocations')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('revoked', 'integer', (c) => c.notNull())
        .addColumn('until', 'text')
        .addColumn('reason', 'text')
        .addColumn('sequence', 'bigint', (c) => c.notNull().defaultTo(sql`0`))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

PLATFORM_MIGRATIONS['005_consumer_contracts'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('consumer_contracts')
      .addColumn('consumer', 'text', (c) => c.primaryKey())
      .addColumn('reads', 'text', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};

/** The platform database's usual name. */
export const PLATFORM_DATABASE = 'flamingo';

/**
 * Opens and migrates the platform database.
 * @param name its SQLite file stem or PostgreSQL schema; tests give each run its own. (Default: `flamingo`)
 */
export async function openPlatformDatabase(database: DatabaseConfig, name = PLATFORM_DATABASE): Promise<ServiceDatabase<PlatformDatabase>> {
  const handle = await openDatabase<PlatformDatabase>(name, database);
  try {
    await migrate(handle.db, PLATFORM_MIGRATIONS);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}
