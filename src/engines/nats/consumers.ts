import { AckPolicy, DeliverPolicy, ReplayPolicy, type ConsumerConfig, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { SubscriptionConflictError, UnknownSubscriptionError, type Position, type ResolvedSubscriptionOptions } from '../../bus/kit/index.ts';
import { consumerName, parseConsumerName, type ConsumerRole, type Naming } from './naming.ts';
import { subjectFilters } from './read.ts';
import { isNotFound } from './streams.ts';

/**
 * A subscription on the server is a set of durable pull consumers on the event stream:
 * `ordering: 'key'` → one per partition (`<name>__p<n>`, filtered to `<prefix>.<n>.…`), each
 * pulled by the one process that leases it (leases.ts); `ordering: 'none'` → one consumer
 * (`<name>__all`) every process pulls. Consumers carry a JSON description (subscription, types,
 * ordering) so any process can list subscriptions.
 *
 * `max_deliver` is unlimited on purpose: the engine dead-letters an event itself after its last
 * attempt (it needs the error to record); a server-side limit would drop a message into an
 * advisory with no dead letter if a process died during the last attempt.
 */
export interface ConsumerContext {
  readonly jsm: JetStreamManager;
  readonly naming: Naming;
  readonly partitions: number;
  readonly multipleFilters: boolean;
  readonly ackWaitMs: number;
  readonly head: () => Promise<number>;
}

export interface ConsumerDescription {
  readonly flamingo: 1;
  readonly subscription: string;
  readonly types: readonly string[];
  readonly ordering: 'key' | 'none';
  /** The subscription's `delayMs`, so any process can tell scheduled events from lag. (Default: 0, consumers made before it was recorded) */
  readonly delayMs?: number;
}

/** The least `max_ack_pending` of a consumer; each process still pulls only what it can take. */
const MIN_ACK_PENDING = 1_000;

export function rolesOf(ordering: 'key' | 'none', partitions: number): ConsumerRole[] {
  return ordering === 'none' ? [{ kind: 'all' }] : Array.from({ length: partitions }, (_, partition) => ({ kind: 'partition' as const, partition }));
}

export function parseDescription(info: ConsumerInfo): ConsumerDescription | undefined {
  try {
    const value = JSON.parse(info.config.description ?? '') as Partial<ConsumerDescription>;
    return value.flamingo === 1 && typeof value.subscription === 'string' && Array.isArray(value.types) ? (value as ConsumerDescription) : undefined;
  } catch {
    return undefined;
  }
}

/** Creates what is missing of the subscription's consumers and returns their names. */
export async function ensureSubscriptionConsumers(ctx: ConsumerContext, options: ResolvedSubscriptionOptions): Promise<string[]> {
  const { jsm, naming } = ctx;
  const roles = rolesOf(options.ordering, ctx.partitions);
  const names = roles.map((role) => consumerName(options.name, role));
  const other = consumerName(options.name, options.ordering === 'none' ? { kind: 'partition', partition: 0 } : { kind: 'all' });
  const [conflicting, ...existing] = await Promise.all([other, ...names].map((name) => consumerInfo(jsm, naming.stream, name)));
  if (conflicting) {
    throw new SubscriptionConflictError(`subscription "${options.name}" exists with ordering '${options.ordering === 'none' ? 'key' : 'none'}', not '${options.ordering}'`);
  }
  const description = JSON.stringify({ flamingo: 1, subscription: options.name, types: options.types, ordering: options.ordering, delayMs: options.delayMs } satisfies ConsumerDescription);
  const maxAckPending = Math.max(MIN_ACK_PENDING, 2 * options.concurrency * options.maxBatchSize);
  const sibling = existing.find((info) => info !== undefined);
  const start = sibling ? startOf(sibling.config) : await startConfig(ctx, options.startAt);
  await Promise.all(
    roles.map(async (role, index) => {
      const filter = filterConfig(ctx, options.types, role);
      const found = existing[index];
      if (!found) {
        await addConsumer(jsm, naming.stream, {
          ...start,
          ...filter,
          durable_name: names[index],
          description,
          ack_policy: AckPolicy.Explicit,
          ack_wait: ctx.ackWaitMs * 1_000_000,
          max_deliver: -1,
          max_ack_pending: maxAckPending,
          replay_policy: ReplayPolicy.Instant,
        });
        return;
      }
      const stored = parseDescription(found);
      const sameTypes = stored?.types.join('\n') === options.types.join('\n') && (stored?.delayMs ?? 0) === options.delayMs;
      const wantsMore = (found.config.max_ack_pending ?? 0) < maxAckPending;
      const ackWait = ctx.ackWaitMs * 1_000_000;
      if (sameTypes && !wantsMore && found.config.ack_wait === ackWait) return;
      try {
        await jsm.consumers.update(naming.stream, names[index], { ...filter, description, max_ack_pending: Math.max(maxAckPending, found.config.max_ack_pending ?? 0), ack_wait: ackWait });
      } catch (error) {
        throw new SubscriptionConflictError(`subscription "${options.name}" cannot change its types or batch size on this server: ${(error as Error).message}`, { cause: error });
      }
    }),
  );
  return names;
}

/** Every Flamingo subscription consumer of the event stream, grouped by subscription. */
export async function listSubscriptionConsumers(ctx: ConsumerContext): Promise<Map<string, ConsumerInfo[]>> {
  const bySubscription = new Map<string, ConsumerInfo[]>();
  for await (const info of ctx.jsm.consumers.list(ctx.naming.stream) as AsyncIterable<ConsumerInfo | null>) {
    // NATS 2.9 lists a consumer deleted while the list is made (another process's `countSince`) as null.
    if (info === null) continue;
    const parsed = parseConsumerName(info.name);
    if (!parsed || parsed.role.kind === 'redrive' || !parseDescription(info)) continue;
    bySubscription.set(parsed.subscription, [...(bySubscription.get(parsed.subscription) ?? []), info]);
  }
  return bySubscription;
}

/**
 * Moves every consumer of the subscription to `to` by deleting and recreating it with the same
 * settings: pending retries go with it, dead letters stay. Processes attached to it keep pulling
 * and pick up the recreated consumer by name.
 */
export async function rewindSubscription(ctx: ConsumerContext, subscription: string, to: Position): Promise<void> {
  const { jsm, naming } = ctx;
  const names = [{ kind: 'all' } as const, ...rolesOf('key', ctx.partitions)].map((role) => consumerName(subscription, role));
  const infos = (await Promise.all(names.map((name) => consumerInfo(jsm, naming.stream, name)))).filter((info): info is ConsumerInfo => info !== undefined);
  if (infos.length === 0) throw new UnknownSubscriptionError(subscription);
  const start = await startConfig(ctx, to);
  await Promise.all(
    infos.map(async (info) => {
      const { deliver_policy: _policy, opt_start_seq: _seq, opt_start_time: _time, ...kept } = info.config;
      const config: Partial<ConsumerConfig> = { ...kept, ...start };
      for (let attempt = 0; ; attempt++) {
        await jsm.consumers.delete(naming.stream, info.name).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        try {
          await addConsumer(jsm, naming.stream, config);
          return;
        } catch (error) {
          // A process attaching at that instant recreated it at its own start: delete again.
          if (attempt >= 3) throw error;
        }
      }
    }),
  );
}

/**
 * Events of `types` recorded at or after `since`: the pending count of a short-lived consumer
 * started there (the server counts; nothing is delivered). On JetStream before 2.10 several types
 * are one filter of every type, as the subscription's own consumers are.
 */
export async function countSince(ctx: ConsumerContext, types: readonly string[], since: Date): Promise<number> {
  const counts = await Promise.all(
    subjectFilters(ctx, types, '*').map(async (filter) => {
      const info = await ctx.jsm.consumers.add(ctx.naming.stream, {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: since.toISOString(),
        filter_subject: filter,
        mem_storage: true,
        inactive_threshold: 10_000 * 1_000_000,
      });
      await ctx.jsm.consumers.delete(ctx.naming.stream, info.name).catch(() => undefined);
      return info.num_pending;
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

/** Throws `UnknownSubscriptionError` when the subscription has no consumer on the server. */
export async function assertSubscription(ctx: ConsumerContext, subscription: string): Promise<void> {
  const names = [consumerName(subscription, { kind: 'partition', partition: 0 }), consumerName(subscription, { kind: 'all' })];
  const found = await Promise.all(names.map((name) => consumerInfo(ctx.jsm, ctx.naming.stream, name)));
  if (!found.some((info) => info !== undefined)) throw new UnknownSubscriptionError(subscription);
}

async function consumerInfo(jsm: JetStreamManager, stream: string, name: string): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function addConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<void> {
  await jsm.consumers.add(stream, config);
}

function filterConfig(ctx: ConsumerContext, types: readonly string[], role: ConsumerRole): Partial<ConsumerConfig> {
  const filters = subjectFilters(ctx, types, role.kind === 'partition' ? role.partition : '*');
  return filters.length === 1 ? { filter_subject: filters[0] } : { filter_subjects: filters };
}

function startOf(config: ConsumerConfig): Partial<ConsumerConfig> {
  return { deliver_policy: config.deliver_policy, opt_start_seq: config.opt_start_seq, opt_start_time: config.opt_start_time };
}

/** A position as a consumer start; `now` becomes the sequence after the head, the same for every partition. */
async function startConfig(ctx: ConsumerContext, position: Position): Promise<Partial<ConsumerConfig>> {
  if (position === 'beginning') return { deliver_policy: DeliverPolicy.All };
  if (position === 'now') return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: (await ctx.head()) + 1 };
  if ('sequence' in position) return position.sequence <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: position.sequence };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(position.time).toISOString() };
}
