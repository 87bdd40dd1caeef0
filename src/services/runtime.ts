/**
 * What every service (shop context or consumer) does around its own routes and reactions: opens
 * and migrates its database, relays its transactional outbox, keeps its subscriptions, prunes its
 * inbox on a schedule, and stops them all in order (pruning, subscriptions, the relay, the database).
 * In `server` mode (`ServiceContext.workerMode`) it makes no subscriptions and prunes nothing: the
 * process serves the routes, and another runs the reactions.
 */
import type { Kysely, Migration } from 'kysely';
import {
  createOutbox,
  handleOnce,
  handleOnceBatch,
  pruneInbox,
  type AnyPublishInput,
  type BatchHandler,
  type BatchResults,
  type BatchSubscriptionOptions,
  type DeliveredEvent,
  type Handler,
  type HandlerContext,
  type Subscription,
  type SubscriptionOptions,
} from '../bus/index.ts';
import type { EventType, OpaqueReadDeclaration, ReadDeclaration, ReadEvent, ReadFields } from '../contracts/index.ts';
import { DEFAULT_INBOX_RETENTION_MS } from '../platform/config.ts';
import { migrate, openDatabase, type Dialect } from '../platform/db.ts';
import type { RunningService, ServiceContext } from './service.ts';

/**
 * A subscription whose handler changes the service's state and returns the events that follow from it.
 * `R` is its declared reads (`declareReads`): the types it subscribes to and the fields of `data` its handler sees.
 */
export interface Reaction<DB, E, R extends ReadFields> {
  /** The subscription, `<service>.<purpose>`. */
  readonly name: string;
  /** What it reads (issue 14): the subscription's types are the declaration's; `event.data` holds the declared fields only. */
  readonly reads: ReadDeclaration<R>;
  readonly concurrency: number;
  /** The subscription's retry policy. (Default: the bus's) */
  readonly retry?: SubscriptionOptions['retry'];
  /** Deliver each event this long after it was recorded (a delayed subscription). (Default: 0) */
  readonly delayMs?: number;
  /** Where a new subscription starts. (Default: the bus's, `now`) */
  readonly startAt?: SubscriptionOptions['startAt'];
  /**
   * Handle up to this many events in one transaction: the events ready when a unit starts, in log
   * order per key, share one commit (one fsync on SQLite) with their inbox rows. (Default: 1, one
   * transaction per event)
   */
  readonly maxBatchSize?: number;
  /** Before a batch, in its transaction (e.g. lock the rows it will change in one order). */
  prepare?(trx: Kysely<DB>, events: readonly ReadEvent<R>[]): Promise<void>;
  /**
   * After the reaction's events, in the same transaction (a batch's, or one event's): e.g. write at
   * once what `react` gathered instead of writing it event by event. Not called when no event was new.
   */
  finish?(trx: Kysely<DB>): Promise<void>;
  /**
   * The reaction to one event, in the transaction that records it in the inbox; returns the events
   * that follow from it. `afterCommit(then)` runs `then` once that transaction has committed (wake
   * live readers, a sender); it is dropped if the transaction rolls back.
   */
  react(trx: Kysely<DB>, event: ReadEvent<R>, afterCommit: (then: () => void) => void): Promise<E[]>;
}

/** Subscription options of a service: the bus's, with the declared reads in place of `types` (issue 14). */
export type DeclaredSubscriptionOptions<D> = Omit<SubscriptionOptions, 'types'> & {
  /** What the handler reads; the subscription's types are the declaration's. */
  readonly reads: D;
};

/** Batch subscription options of a service: the bus's, with the declared reads in place of `types` (issue 14). */
export type DeclaredBatchSubscriptionOptions<D> = Omit<BatchSubscriptionOptions, 'types'> & {
  /** What the handler reads; the subscription's types are the declaration's. */
  readonly reads: D;
};

/** A batch handler on declared reads `R`: `BatchHandler`'s results, each event with the declared fields of `data` only. */
export type ReadBatchHandler<R extends ReadFields> = (events: readonly ReadEvent<R>[], context: HandlerContext) => Promise<void | BatchResults> | void | BatchResults;

/** What a reaction's events may take from the event they react to. */
export type Cause = Pick<DeliveredEvent, 'id' | 'correlationid' | 'traceparent'>;

/**
 * How long a service's inbox remembers a handled event (`DEFAULT_INBOX_RETENTION_MS`, 7 days): a
 * redelivery within it is a no-op. Far longer than any redelivery window (a lost ack comes back
 * within the engine's ack wait, a retry within its policy's delays: minutes); a dead letter is never
 * in the inbox (its transaction rolled back), so retrying one later is unaffected.
 */
export { DEFAULT_INBOX_RETENTION_MS };

/**
 * How often the outbox relay of a service in `server` mode looks for rows it was not woken for (30 s):
 * rarely, as the processes running the service's workers relay them at once; it keeps the database
 * pool idle between looks.
 */
const SERVER_MODE_POLL_MS = 30_000;

/** How often the runtime prunes the inbox: a tenth of the retention, at most hourly. */
export const inboxPruneInterval = (retentionMs: number) => Math.max(1_000, Math.min(3600_000, Math.floor(retentionMs / 10)));

export interface ServiceRuntimeOptions<E> {
  /** The service: the default database name and the subject of its log lines. */
  readonly name: string;
  /** The database: SQLite file stem or PostgreSQL schema. (Default: `name`) */
  readonly databaseName?: string;
  readonly migrations: Record<string, Migration>;
  /** Sets the conversation of every event the service adds (e.g. the cart or order it is about). (Default: the event as it is) */
  readonly correlate?: (event: E) => E;
  /**
   * What a reaction's event takes from the event it reacts to, besides `causationid` (always set):
   * e.g. its `correlationid` and `traceparent`. (Default: nothing)
   */
  readonly inherit?: (published: E, cause: Cause) => { readonly correlationid?: string; readonly traceparent?: string };
}

export interface ServiceRuntime<DB, E> {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /**
   * Whether the service's reactions and workers run in this process (`workerMode` `shared`). When
   * false, `subscribe` and `react` do nothing, and a service starts none of its own workers (timers,
   * senders): it serves its routes.
   */
  readonly workers: boolean;
  /** Runs `work` in a transaction and adds the events it returns (with their conversation, see `correlate`) to the outbox in the same transaction. */
  write<T extends { events: E[] }>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T>;
  /**
   * For a handler whose work spans more than one transaction (a call to a provider between two):
   * handles `event` once — `work`'s transaction records it in the inbox and adds the events `work`
   * returns, caused by it; a redelivery runs nothing.
   */
  once(event: Pick<DeliveredEvent, 'source' | 'id' | 'correlationid' | 'traceparent'>, context: HandlerContext, work: (trx: Kysely<DB>) => Promise<E[]>): Promise<void>;
  /**
   * Subscribes `handler` (see `once`) to the types `options.reads` declares; the handler sees the
   * declared fields of `data` only. The subscription is closed when the service stops.
   */
  subscribe<R extends ReadFields>(options: DeclaredSubscriptionOptions<ReadDeclaration<R>>, handler: (event: ReadEvent<R>, context: HandlerContext) => Promise<void> | void): Promise<void>;
  /** Subscribes a handler that takes events whole and reads no field of `data` (landing, audit). */
  subscribe(options: DeclaredSubscriptionOptions<OpaqueReadDeclaration>, handler: Handler): Promise<void>;
  /**
   * Subscribes a batch handler (e.g. `handleOnceBatch`) to the types `options.reads` declares, as
   * `subscribe` does a handler: it sees the declared fields of `data` only. The subscription is
   * closed when the service stops.
   */
  subscribeBatch<R extends ReadFields>(options: DeclaredBatchSubscriptionOptions<ReadDeclaration<R>>, handler: ReadBatchHandler<R>): Promise<void>;
  /** Subscribes a batch handler that takes events whole and reads no field of `data` (audit). */
  subscribeBatch(options: DeclaredBatchSubscriptionOptions<OpaqueReadDeclaration>, handler: BatchHandler): Promise<void>;
  /**
   * Subscribes a reaction: each event is handled once (inbox) in a transaction that also adds the
   * events it returns, caused by it. With `maxBatchSize` > 1 a batch shares one transaction; a
   * batch that fails is handled again event by event, so only the failing event is retried.
   */
  react<R extends ReadFields>(reaction: Reaction<DB, E, R>): Promise<void>;
}

/**
 * Starts a service: opens its database (`databaseName`), migrates it, starts its outbox relay, then
 * runs `setup` (routes and subscriptions). If any step fails, whatever was started is stopped
 * and the error is thrown.
 */
export async function startServiceRuntime<DB, E extends AnyPublishInput = AnyPublishInput>(
  context: ServiceContext,
  options: ServiceRuntimeOptions<E>,
  setup: (runtime: ServiceRuntime<DB, E>) => Promise<void> | void,
): Promise<RunningService> {
  const { name, correlate, inherit } = options;
  const workers = (context.workerMode ?? 'shared') === 'shared';
  const database = await openDatabase<DB>(options.databaseName ?? name, context.database);
  const { db, dialect } = database;
  const subscriptions: Subscription[] = [];
  const outbox = createOutbox({
    db,
    bus: context.bus,
    dialect,
    // LISTEN where the service's own transactions NOTIFY: its schema's database, or its own database.
    // Relays of one database in several processes take turns under a lock and publish idempotently
    // (see createOutbox), so a process serving the routes only relays too: what it writes itself at
    // once (woken by its own adds), and, every half minute, whatever is left (when no process runs the
    // service's workers). The processes running them listen for everyone's commits and poll each second.
    ...(workers ? {} : { pollIntervalMs: SERVER_MODE_POLL_MS }),
    ...(database.url && workers ? { databaseUrl: database.url } : {}),
    onError: (err, { eventIds, permanent }) => context.logger.error({ err, eventIds, permanent }, `${name} outbox relay failed`),
  });
  // The inbox is pruned on a schedule, like the outbox's sent rows: records older than the retention go.
  const retentionMs = context.inboxRetentionMs ?? DEFAULT_INBOX_RETENTION_MS;
  let pruning: Promise<void> | undefined;
  const prune = () => {
    pruning ??= pruneInbox(db, new Date(Date.now() - retentionMs))
      .then((pruned) => {
        if (pruned > 0) context.logger.debug({ pruned, retentionMs }, `${name} inbox pruned`);
      })
      .catch((err: unknown) => context.logger.warn({ err }, `${name} inbox pruning failed; trying again later`))
      .finally(() => (pruning = undefined));
  };
  let pruneTimer: NodeJS.Timeout | undefined;
  const unwatch = context.metrics.watchOutbox(name, () => outbox.backlog());
  const stop = async () => {
    unwatch();
    clearInterval(pruneTimer);
    await pruning;
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
    await outbox.stop();
    await database.close();
  };

  // The span active now (an HTTP request's, a handler's) is the event's parent; it wins over a
  // context inherited from the cause, which would skip the handler's span.
  const traced = (event: E): E => {
    const headers = context.traceContext?.();
    return headers?.traceparent ? { ...event, ...headers } : event;
  };
  const add = (trx: Kysely<DB>, event: E) => outbox.add(trx, traced(correlate ? correlate(event) : event));
  const addCaused = async (trx: Kysely<DB>, events: readonly E[], cause: Cause) => {
    for (const published of events) await add(trx, { ...published, causationid: cause.id, ...inherit?.(published, cause) });
  };
  const runtime: ServiceRuntime<DB, E> = {
    db,
    dialect,
    workers,
    write: (work) =>
      db.transaction().execute(async (trx) => {
        const result = await work(trx);
        for (const event of result.events) await add(trx, event);
        return result;
      }),
    async once(event, context, work) {
      await handleOnce<DB, EventType>(db, async (delivered, trx) => addCaused(trx, await work(trx), delivered))(event as DeliveredEvent, context);
    },
    async subscribe(subscriptionOptions: DeclaredSubscriptionOptions<ReadDeclaration | OpaqueReadDeclaration>, handler: Handler) {
      if (!workers) return;
      const { reads, ...options } = subscriptionOptions;
      subscriptions.push(await context.bus.subscribe({ ...options, types: reads.types as readonly EventType[] }, handler));
    },
    async subscribeBatch(subscriptionOptions: DeclaredBatchSubscriptionOptions<ReadDeclaration | OpaqueReadDeclaration>, handler: BatchHandler) {
      if (!workers) return;
      const { reads, ...options } = subscriptionOptions;
      subscriptions.push(await context.bus.subscribeBatch({ ...options, types: reads.types as readonly EventType[] }, handler));
    },
    async react<R extends ReadFields>(reaction: Reaction<DB, E, R>) {
      if (!workers) return;
      // The bus delivers whole events of the declared types; the reaction is typed with the declared fields only.
      type T = EventType;
      const subscriptionOptions = {
        name: reaction.name,
        types: reaction.reads.types as readonly T[],
        concurrency: reaction.concurrency,
        ...(reaction.retry === undefined ? {} : { retry: reaction.retry }),
        ...(reaction.delayMs === undefined ? {} : { delayMs: reaction.delayMs }),
        ...(reaction.startAt === undefined ? {} : { startAt: reaction.startAt }),
      };
      /** Reacts in `trx`; what the reaction asked to run after the commit comes back as one function. */
      const handle = async (trx: Kysely<DB>, event: DeliveredEvent<T>): Promise<(() => void) | undefined> => {
        let after: (() => void)[] | undefined;
        await addCaused(trx, await reaction.react(trx, event as unknown as ReadEvent<R>, (then) => (after ??= []).push(then)), event);
        return after && (() => after!.forEach((then) => then()));
      };
      if ((reaction.maxBatchSize ?? 1) <= 1) {
        subscriptions.push(
          await context.bus.subscribe(
            subscriptionOptions,
            async (event: DeliveredEvent<T>, handlerContext: HandlerContext) => {
              let then: (() => void) | undefined;
              await handleOnce<DB, T>(db, async (delivered, trx) => {
                then = await handle(trx, delivered);
                await reaction.finish?.(trx);
              })(event, handlerContext);
              then?.();
            },
          ),
        );
        return;
      }
      const batch = handleOnceBatch<DB, T>(db, (event, trx) => handle(trx, event), {
        ...(reaction.prepare ? { prepare: (trx, events) => reaction.prepare!(trx, events as unknown as readonly ReadEvent<R>[]) } : {}),
        ...(reaction.finish ? { finish: (trx) => reaction.finish!(trx) } : {}),
        onSplit: (error, events) =>
          context.logger.warn({ err: error, subscription: reaction.name, events: events.length }, 'batch failed; handling its events one by one'),
      });
      subscriptions.push(await context.bus.subscribeBatch({ ...subscriptionOptions, maxBatchSize: reaction.maxBatchSize }, batch));
    },
  };

  try {
    await migrate(db, options.migrations);
    await outbox.start();
    await setup(runtime);
    if (workers) {
      prune();
      pruneTimer = setInterval(prune, inboxPruneInterval(retentionMs)).unref();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
