import type { Deliver } from '../types.ts';

/** One handler attached to a subscription in this process (one `bus.subscribe` call). */
export interface PooledConsumer {
  readonly deliver: Deliver;
  /** Units it runs at once (its `concurrency` option). */
  readonly concurrency: number;
  /** Units it runs now, from hand-out until their outcomes are settled. */
  readonly running: number;
  /** Detaching: it gets no more units. */
  readonly detaching: boolean;
}

export interface ConsumerPoolOptions {
  /** The capacity changed (a consumer attached or began to detach). */
  readonly onCapacity: (capacity: number) => void;
  /**
   * The last consumer has detached and none of its units runs any more. Called once per time the
   * pool empties; `detach` resolves after it.
   */
  readonly onEmpty: () => void | Promise<void>;
}

/**
 * The competing consumers of one subscription in this process (Kafka's consumer group members,
 * as far as one process goes): they share its events, each up to its own concurrency.
 */
export interface ConsumerPool {
  /** Attaches a handler that runs up to `concurrency` units at once. */
  attach(deliver: Deliver, concurrency: number): PooledConsumer;
  /**
   * Stops handing `consumer` units at once (the capacity drops), then resolves once its running
   * units are settled — after `onEmpty` when it was the last. A second call resolves at once.
   */
  detach(consumer: PooledConsumer): Promise<void>;
  /** Detaches every consumer (engine close). */
  detachAll(): Promise<void>;
  /**
   * Units the subscription may run at once here: the sum of the concurrencies of the consumers
   * not detaching. The dispatcher's concurrency follows it, so `pick` finds a consumer for every
   * unit the dispatcher hands out.
   */
  readonly capacity: number;
  /** Consumers attached and not detaching. */
  readonly size: number;
  /** A consumer with a free slot, in turn (round robin), or undefined when none has one. */
  pick(): PooledConsumer | undefined;
  /** Holds one of `consumer`'s slots until `release`. */
  take(consumer: PooledConsumer): void;
  release(consumer: PooledConsumer): void;
}

interface Member extends PooledConsumer {
  running: number;
  detaching: boolean;
  drained?: () => void;
}

export function createConsumerPool(options: ConsumerPoolOptions): ConsumerPool {
  let members: Member[] = [];
  let next = 0;
  let capacity = 0;
  let size = 0;

  const changed = () => {
    capacity = 0;
    size = 0;
    for (const member of members) {
      if (member.detaching) continue;
      capacity += member.concurrency;
      size++;
    }
    options.onCapacity(capacity);
  };

  const detach = async (consumer: PooledConsumer): Promise<void> => {
    const member = consumer as Member;
    if (member.detaching || !members.includes(member)) return;
    member.detaching = true;
    changed();
    if (member.running > 0) await new Promise<void>((resolve) => (member.drained = resolve));
    members = members.filter((m) => m !== member);
    // Another consumer may have attached while this one drained: then the subscription runs on.
    if (members.length === 0) await options.onEmpty();
  };

  return {
    attach(deliver, concurrency) {
      const member: Member = { deliver, concurrency, running: 0, detaching: false };
      members.push(member);
      changed();
      return member;
    },
    detach,
    async detachAll() {
      await Promise.all(members.map(detach));
    },
    get capacity() {
      return capacity;
    },
    get size() {
      return size;
    },
    pick() {
      const count = members.length;
      for (let i = 0; i < count; i++) {
        const member = members[(next + i) % count];
        if (!member.detaching && member.running < member.concurrency) {
          next = (next + i + 1) % count;
          return member;
        }
      }
      return undefined;
    },
    take(consumer) {
      (consumer as Member).running++;
    },
    release(consumer) {
      const member = consumer as Member;
      if (--member.running === 0 && member.drained) member.drained();
    },
  };
}
