import { findDefinition } from '../contracts/index.ts';
import { batchDeliver, singleDeliver } from './deliver.ts';
import { buildEvent, buildEvents, DEFAULT_SOURCE } from './envelope.ts';
import { UnknownEventTypeError } from './errors.ts';
import { handleBatchThrough, handleThrough, publishThrough, type BusMiddleware } from './middleware.ts';
import { checkPosition, resolveSubscriptionOptions } from './options.ts';
import type { AnyPublishInput, BatchSubscriptionOptions, Bus, Deliver, Engine, Subscription, SubscriptionOptions } from './types.ts';

export interface BusOptions {
  /** Where events are stored and delivered from (`sqliteEngine(…)`, the NATS engine). */
  readonly engine: Engine;
  /** `source` of events published without one, e.g. `/services/orders`. (Default: `/flamingo`) */
  readonly source?: string;
  /** Around every publish and handler call, for tracing and metrics; the first is the outermost. (Default: none) */
  readonly middleware?: readonly BusMiddleware[];
}

/** Exact types become their catalog names (aliases resolved); unknown ones are refused early. */
function canonicalTypes<O extends SubscriptionOptions>(options: O): O {
  const types = options.types.map((type) => {
    if (type === '*' || type.endsWith('.*')) return type;
    const definition = findDefinition(type);
    if (!definition) throw new UnknownEventTypeError(type);
    return definition.type;
  });
  return { ...options, types };
}

/** The typed bus over an engine: validates and builds envelopes, turns handler results into outcomes. */
export function createBus(options: BusOptions): Bus {
  const { engine } = options;
  const source = options.source ?? DEFAULT_SOURCE;
  const open = new Set<Subscription>();
  const middleware = options.middleware ?? [];
  const append = publishThrough(middleware, (events) => engine.append(events));

  const attach = async (subscriptionOptions: SubscriptionOptions | BatchSubscriptionOptions, mode: 'single' | 'batch', deliver: Deliver) => {
    const subscription = await engine.consume(resolveSubscriptionOptions(canonicalTypes(subscriptionOptions), mode), deliver);
    const tracked: Subscription = {
      name: subscription.name,
      close: async () => {
        open.delete(tracked);
        await subscription.close();
      },
    };
    open.add(tracked);
    return tracked;
  };

  return {
    engine,
    async publish(input: AnyPublishInput) {
      const [result] = await append([buildEvent(input, source)]);
      return result;
    },
    async publishAll(inputs) {
      if (inputs.length === 0) return [];
      return append(buildEvents(inputs, source));
    },
    subscribe(subscriptionOptions, handler) {
      return attach(subscriptionOptions, 'single', singleDeliver(handleThrough(middleware, handler)));
    },
    subscribeBatch(subscriptionOptions, handler) {
      return attach(subscriptionOptions, 'batch', batchDeliver(handleBatchThrough(middleware, handler)));
    },
    read: (query) => engine.read(query),
    subscriptions: () => engine.subscriptions(),
    rewind: async (subscription, to) => engine.rewind(subscription, checkPosition('to', to)),
    deadLetters: (subscription, deadLetterOptions) => engine.deadLetters(subscription, deadLetterOptions),
    retryDeadLetters: (subscription, eventId) => engine.retryDeadLetters(subscription, eventId),
    discardDeadLetters: (subscription, eventId) => engine.discardDeadLetters(subscription, eventId),
    async close() {
      await Promise.all([...open].map((subscription) => subscription.close()));
      await engine.close();
    },
  };
}
