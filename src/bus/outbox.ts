import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { EventType } from '../contracts/index.ts';
import { busTables, type BusTables } from './bus-tables.ts';
import { errorText } from './deliver.ts';
import { buildEvent } from './envelope.ts';
import { EventValidationError, IdentityConflictError, InvalidOptionsError, UnknownEventTypeError } from './errors.ts';
import type { AnyPublishInput, Bus, PublishInput } from './types.ts';

/** The LISTEN/NOTIFY channel of outbox relays on PostgreSQL; the payload is the schema. */
export const OUTBOX_CHANNEL = 'flamingo_outbox';

export interface OutboxOptions<DB> {
  /** The service's own database, holding `flamingo_outbox` (see `busTablesMigration`). */
  readonly db: Kysely<DB>;
  /** Where the relay publishes. */
  readonly bus: Bus;
  readonly dialect: 'sqlite' | 'postgres';
  /** How often the relay looks for rows it was not woken for (ms). (Default: 1 000) */
  readonly pollIntervalMs?: number;
  /** PostgreSQL only: `LISTEN flamingo_outbox` on a connection of its own, so a commit wakes the relay at once. (Default: polling only) */
  readonly databaseUrl?: string;
  /** Most events per `publishAll`. (Default: 100) */
  readonly batchSize?: number;
  /** How long sent rows are kept before they are deleted (ms). (Default: 24 h) */
  readonly keepSentMs?: number;
  /**
   * Told about relay failures: a pass that failed (retried at the next wake or poll) or an event
   * that can never be published and is set aside (`failed_at`). (Default: console.error)
   */
  readonly onError?: (error: unknown, context: { readonly eventIds: readonly string[]; readonly permanent: boolean }) => void;
}

export interface Outbox<DB> {
  /**
   * Validates the event against the catalog and writes it in `trx` (the transaction of the state
   * change); its id and time are fixed now, so a re-publish after a crash is deduplicated. Resolves
   * to the event id. Adding an id already in the outbox changes nothing.
   */
  add<T extends EventType>(trx: Kysely<DB>, event: PublishInput<T>): Promise<string>;
  /** An event typed as one of several types (`PublishInput<'a'> | PublishInput<'b'>`) or known only at run time. */
  add(trx: Kysely<DB>, event: AnyPublishInput): Promise<string>;
  /** Starts the relay: woken after `add`, by NOTIFY on PostgreSQL, and by polling. */
  start(): Promise<void>;
  /** Stops the relay after the pass under way. */
  stop(): Promise<void>;
  /** Asks for a relay pass soon. */
  wake(): void;
  /** Publishes everything unsent now (in order, in batches); resolves to how many were published. */
  relay(): Promise<number>;
  /** How many events wait to be published (not sent, not set aside): the relay's backlog. */
  backlog(): Promise<number>;
}

interface OutboxRow {
  id: string;
  event: string;
}

/** Index of the one event a publish error is about, when it is about one event. */
function culpritOf(error: unknown): number | undefined {
  if (error instanceof UnknownEventTypeError) return error.index;
  if (error instanceof EventValidationError && error.issues.length > 0) return error.issues[0].index;
  // Its identity is taken by an event with other content: sending it again can never succeed.
  if (error instanceof IdentityConflictError && error.conflicts.length > 0) return error.conflicts[0].index;
  return undefined;
}

/**
 * The transactional outbox: a service writes its events in the same transaction as its state, and
 * the relay publishes them in order and marks them sent. A crash between publishing and marking
 * republishes the same ids, which the engine stores once. On PostgreSQL several processes may
 * relay one database: a transaction-scoped advisory lock lets one relay work at a time (keeping
 * the order) and `FOR UPDATE SKIP LOCKED` keeps rows from being taken twice. On SQLite one
 * process relays.
 */
export function createOutbox<DB>(options: OutboxOptions<DB>): Outbox<DB> {
  const { bus, dialect } = options;
  const db = busTables(options.db);
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 100;
  const keepSentMs = options.keepSentMs ?? 24 * 60 * 60 * 1_000;
  const onError =
    options.onError ??
    ((error: unknown, context: { eventIds: readonly string[]; permanent: boolean }) =>
      console.error(`outbox relay: ${context.permanent ? `set aside ${context.eventIds.join(', ')}` : 'pass failed'}: ${errorText(error)}`));
  if (dialect !== 'sqlite' && dialect !== 'postgres') throw new InvalidOptionsError(`dialect must be 'sqlite' or 'postgres', got ${String(dialect)}`);
  if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 1) throw new InvalidOptionsError(`pollIntervalMs must be an integer >= 1, got ${pollIntervalMs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionsError(`batchSize must be an integer >= 1, got ${batchSize}`);
  if (options.databaseUrl && dialect !== 'postgres') throw new InvalidOptionsError('databaseUrl (LISTEN/NOTIFY) needs dialect postgres');

  let started = false;
  let running: Promise<number> | undefined;
  let again = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let schema: string | undefined;
  let lastPrune = 0;

  /** Publishes one batch of rows and marks them; `trx` holds their locks on PostgreSQL. */
  const publishRows = async (trx: Kysely<BusTables>, rows: OutboxRow[]): Promise<number> => {
    const now = new Date().toISOString();
    try {
      await bus.publishAll(rows.map((row) => JSON.parse(row.event) as AnyPublishInput));
    } catch (error) {
      const culprit = culpritOf(error);
      if (culprit === undefined) throw error;
      // An event the catalog no longer accepts would block every later one: set it aside.
      const row = rows[culprit];
      await trx.updateTable('flamingo_outbox').set({ failed_at: now, last_error: errorText(error) }).where('id', '=', row.id).execute();
      onError(error, { eventIds: [row.id], permanent: true });
      return 0;
    }
    await trx
      .updateTable('flamingo_outbox')
      .set({ sent_at: now })
      .where(
        'id',
        'in',
        rows.map((row) => row.id),
      )
      .execute();
    return rows.length;
  };

  const unsent = (trx: Kysely<BusTables>) =>
    trx.selectFrom('flamingo_outbox').select(['id', 'event']).where('sent_at', 'is', null).where('failed_at', 'is', null).orderBy('position').limit(batchSize);

  /** One batch; resolves to how many rows it looked at (0: nothing left). */
  const pass = async (): Promise<{ seen: number; published: number }> => {
    if (dialect === 'postgres') {
      return db.transaction().execute(async (trx) => {
        const { rows: locked } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${OUTBOX_CHANNEL} || ':' || current_schema())) as locked`.execute(trx);
        // Another process is relaying this database; it keeps the order, this one stays out.
        if (!locked[0]?.locked) return { seen: 0, published: 0 };
        const rows = await unsent(trx).forUpdate().skipLocked().execute();
        if (rows.length === 0) return { seen: 0, published: 0 };
        return { seen: rows.length, published: await publishRows(trx, rows) };
      });
    }
    const rows = await unsent(db).execute();
    if (rows.length === 0) return { seen: 0, published: 0 };
    return { seen: rows.length, published: await publishRows(db, rows) };
  };

  const prune = async () => {
    if (Date.now() - lastPrune < 60_000) return;
    lastPrune = Date.now();
    const before = new Date(Date.now() - keepSentMs).toISOString();
    await db.deleteFrom('flamingo_outbox').where('sent_at', '<', before).execute();
  };

  const drain = async (): Promise<number> => {
    let published = 0;
    for (;;) {
      const result = await pass();
      published += result.published;
      if (result.seen < batchSize && result.published === result.seen) break;
      if (result.seen === 0) break;
    }
    await prune();
    return published;
  };

  /** Runs passes until nothing is left; a wake during a drain runs another one after it. */
  const runDrain = (): Promise<number> => {
    const current = drain().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        wake();
      }
    });
    running = current;
    return current;
  };

  const wake = () => {
    if (!started) return;
    if (running) {
      again = true;
      return;
    }
    runDrain().catch((error: unknown) => onError(error, { eventIds: [], permanent: false }));
  };

  let wakeSoon = false;
  let wakeLater: NodeJS.Timeout | undefined;
  /** After `add`: the transaction is not committed yet, so look on the next tick and a little later. */
  const wakeAfterCommit = () => {
    if (!wakeSoon) {
      wakeSoon = true;
      setImmediate(() => {
        wakeSoon = false;
        wake();
      });
    }
    wakeLater ??= setTimeout(() => {
      wakeLater = undefined;
      wake();
    }, 25).unref();
  };

  const listen = async () => {
    if (!options.databaseUrl || !started) return;
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on('notification', (message) => {
      if (message.channel === OUTBOX_CHANNEL && (message.payload === schema || schema === undefined)) wake();
    });
    client.on('error', (error) => {
      onError(error, { eventIds: [], permanent: false });
      if (listener === client) listener = undefined;
      void client.end().catch(() => undefined);
      scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (error) {
      void client.end().catch(() => undefined);
      throw error;
    }
    if (!started) {
      await client.end();
      return;
    }
    listener = client;
    // Rows committed while no one listened.
    wake();
  };

  const scheduleReconnect = () => {
    if (!started || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      listen().catch((error: unknown) => {
        onError(error, { eventIds: [], permanent: false });
        scheduleReconnect();
      });
    }, Math.max(pollIntervalMs, 1_000));
    reconnectTimer.unref();
  };

  const backlog = async () => {
    const row = await db
      .selectFrom('flamingo_outbox')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  };

  return {
    backlog,
    async add(trx: Kysely<DB>, event: AnyPublishInput) {
      const built = buildEvent(event);
      const stored = { ...event, id: built.id, time: built.time };
      await busTables(trx)
        .insertInto('flamingo_outbox')
        .values({ id: built.id, type: built.type, event: JSON.stringify(stored), created_at: new Date().toISOString() })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .execute();
      // Fires at commit, waking every listening relay of this database.
      if (dialect === 'postgres') await sql`select pg_notify(${OUTBOX_CHANNEL}, current_schema())`.execute(trx);
      // A pass on the next tick finds the row once committed (SQLite's single connection waits for
      // the commit); the one a little later covers PostgreSQL without LISTEN.
      wakeAfterCommit();
      return built.id;
    },

    async start() {
      if (started) return;
      started = true;
      if (dialect === 'postgres') {
        const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
        schema = rows[0]?.schema;
      }
      pollTimer = setInterval(wake, pollIntervalMs);
      pollTimer.unref();
      try {
        await listen();
      } catch (error) {
        onError(error, { eventIds: [], permanent: false });
        scheduleReconnect();
      }
      wake();
    },

    async stop() {
      started = false;
      if (pollTimer) clearInterval(pollTimer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      pollTimer = reconnectTimer = undefined;
      const client = listener;
      listener = undefined;
      await running?.catch(() => undefined);
      await client?.end().catch(() => undefined);
    },

    wake,

    async relay() {
      while (running) await running.catch(() => undefined);
      return runDrain();
    },
  };
}
