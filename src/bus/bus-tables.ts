import { SqliteAdapter, sql, type Generated, type Kysely, type Migration } from 'kysely';

/** The bus's tables in a service's own database (`busTablesMigration` creates them). */
export type BusTables = {
  /** Events a subscription has handled (`handleOnce`). */
  flamingo_inbox: {
    subscription: string;
    event_id: string;
    /** RFC 3339. */
    handled_at: string;
  };
  /** Events written with a state change, waiting for the relay (`createOutbox`). */
  flamingo_outbox: {
    /** Insertion order; the relay publishes in this order. */
    position: Generated<number>;
    id: string;
    type: string;
    /** JSON of the publish input, its id and time fixed when it was added. */
    event: string;
    created_at: string;
    sent_at: string | null;
    /** Set when the event can never be published (it no longer passes the catalog). */
    failed_at: string | null;
    last_error: string | null;
  };
};

/**
 * The bus's view of a service database whatever its own schema type: only the bus tables are
 * touched through it (a generic `DB & BusTables` cannot be resolved by the compiler).
 */
export function busTables<DB>(db: Kysely<DB>): Kysely<BusTables> {
  return db as unknown as Kysely<BusTables>;
}

/** Whether a Kysely instance speaks SQLite (otherwise PostgreSQL is assumed). */
export function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * Creates `flamingo_inbox` and `flamingo_outbox` on SQLite or PostgreSQL. Services list it among
 * their migrations, e.g. `{ '000_bus': busTablesMigration, '001_init': … }`.
 */
export const busTablesMigration: Migration = {
  async up(db) {
    await db.schema
      .createTable('flamingo_inbox')
      .ifNotExists()
      .addColumn('subscription', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('handled_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('flamingo_inbox_pk', ['subscription', 'event_id'])
      .execute();
    await db.schema
      .createTable('flamingo_outbox')
      .ifNotExists()
      // SQLite: an INTEGER PRIMARY KEY is the rowid, numbered in insertion order.
      .addColumn('position', isSqlite(db) ? 'integer' : 'bigserial', (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text')
      .addColumn('failed_at', 'text')
      .addColumn('last_error', 'text')
      .execute();
    await db.schema
      .createIndex('flamingo_outbox_unsent')
      .ifNotExists()
      .on('flamingo_outbox')
      .column('position')
      .where(sql.ref('sent_at'), 'is', null)
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('flamingo_outbox').ifExists().execute();
    await db.schema.dropTable('flamingo_inbox').ifExists().execute();
  },
};
