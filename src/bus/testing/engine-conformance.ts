/**
 * The engine conformance suite (Watermill's TestPubSub): every engine registers it in its own
 * integration test, `engineConformance('sqlite', async (ctx) => ({ engine, reopen }))`, and must
 * pass it for appends, reads, fan-out, competing consumers (and which options they must share),
 * ordering, retries, dead letters, replay, delays, batches, statistics and restarts. Features an
 * engine cannot offer are switched off with flags, never by editing a test. Test support: imported
 * by tests only, through `src/bus/testing/index.ts`.
 */
import { isDeepStrictEqual } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import { extensionsOf, type CloudEvent, type UnstoredEvent } from '../../contracts/index.ts';
import { buildEvent } from '../envelope.ts';
import {
  createBus,
  EventValidationError,
  failPermanently,
  HeldBack,
  IdentityConflictError,
  retryAfter,
  SubscriptionConflictError,
  UnknownEventTypeError,
  type Bus,
  type DeliveredEvent,
  type Engine,
  type HandlerContext,
  type PublishInput,
  type SubscriptionInfo,
} from '../index.ts';

export interface ConformanceContext {
  /** Unique per test: name streams, files or schemas after it so tests never share a log. */
  readonly id: string;
}

export interface EngineUnderTest {
  readonly engine: Engine;
  /** Opens the same log again after `engine.close()` (restart tests run only when given). */
  readonly reopen?: () => Promise<Engine>;
}

/** What an engine cannot do; every flag defaults to "it can". */
export interface ConformanceFeatures {
  /** `startAt` and `rewind` to an instant. (Default: true) */
  readonly timePositions?: boolean;
  /** `delayMs` subscriptions. (Default: true) */
  readonly delayedSubscriptions?: boolean;
  /** Close and reopen the engine on the same log (needs `reopen`). (Default: true) */
  readonly restart?: boolean;
  /** `rewind` while consumers are attached. (Default: true) */
  readonly rewindWhileConsuming?: boolean;
  /**
   * A subscription at concurrency 1 sees every event in log order, not just each key's. When
   * false, the ordering tests check that every event comes exactly once and each key's events in
   * log order (all the bus promises). (Default: true)
   */
  readonly logOrderAcrossKeys?: boolean;
  /**
   * `inFlight` counts exactly the events whose handlers run. When false it may also count events
   * the engine fetched ahead and holds in the process, so the statistics test only checks that it
   * is at least the running ones and at most the events neither done nor retrying. (Default: true)
   */
  readonly exactInFlight?: boolean;
  /**
   * A call to `append` is stored all or nothing even when one of its events is refused at the
   * server (an identity conflict). When false (JetStream has no atomic batch) the refused event is
   * not stored and the call rejects, but its other events may be. (Default: true)
   */
  readonly atomicBatches?: boolean;
  /** How early a retry or delay may fire against its due time, for coarse broker timers (ms). (Default: 5) */
  readonly timingToleranceMs?: number;
  /**
   * Two engines may open one log at once (as processes do); `reopen` gives the second. SQLite's
   * log belongs to one engine. (Default: true)
   */
  readonly sharedLog?: boolean;
  /** How long to wait for deliveries before a test fails (ms). (Default: 5 000) */
  readonly deliveryTimeoutMs?: number;
}

type CartInput = PublishInput<'cart.item_added'> | PublishInput<'cart.item_removed'>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A key (the cart id) per name, stable within a test. */
const keyOf = (name: string) => {
  const hex = Buffer.from(name.padEnd(6, '_').slice(0, 6)).toString('hex');
  return `0190a000-0000-7000-8000-${hex}`;
};

const added = (key: string, item: number): CartInput => ({ type: 'cart.item_added', data: { cartId: keyOf(key), items: [item], item } });
const removed = (key: string, item: number): CartInput => ({ type: 'cart.item_removed', data: { cartId: keyOf(key), items: [], item } });
const itemOf = (event: CloudEvent): number => (event.data as { item: number }).item;

/** A handler that records what it got, and when. */
function recorder() {
  const events: CloudEvent[] = [];
  const contexts: HandlerContext[] = [];
  const times: number[] = [];
  return {
    events,
    contexts,
    times,
    record(event: CloudEvent, context: HandlerContext) {
      events.push(event);
      contexts.push(context);
      times.push(Date.now());
    },
    items: () => events.map(itemOf),
  };
}

let counter = 0;

export function engineConformance(
  name: string,
  makeEngine: (context: ConformanceContext) => Promise<EngineUnderTest>,
  features: ConformanceFeatures = {},
): void {
  const timePositions = features.timePositions ?? true;
  const delayed = features.delayedSubscriptions ?? true;
  const liveRewind = features.rewindWhileConsuming ?? true;
  const restart = features.restart ?? true;
  const logOrder = features.logOrderAcrossKeys ?? true;
  const exactInFlight = features.exactInFlight ?? true;
  const sharedLog = features.sharedLog ?? true;
  const tolerance = features.timingToleranceMs ?? 5;
  const atomicBatches = features.atomicBatches ?? true;
  const timeoutMs = features.deliveryTimeoutMs ?? 5_000;

  async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = timeoutMs): Promise<void> {
    const until = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(5);
    }
  }

  /**
   * `got` holds exactly the events numbered `expected` (given in log order), each once: in that
   * order when the engine keeps log order across keys, else in log order per key.
   */
  function expectLogOrder(got: readonly CloudEvent[], expected: readonly number[]): void {
    const items = got.map(itemOf);
    if (logOrder) {
      expect(items).toEqual(expected);
      return;
    }
    expect([...items].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    const keyOfItem = new Map(got.map((event) => [itemOf(event), event.partitionkey ?? event.id]));
    const byKey = (list: readonly number[]) => {
      const groups: Record<string, number[]> = {};
      for (const item of list) (groups[keyOfItem.get(item)!] ??= []).push(item);
      return groups;
    };
    expect(byKey(items)).toEqual(byKey(expected));
  }

  /**
   * Two competing consumers of one subscription that take a moment per event; `expectShared`
   * publishes 20 events of 20 keys and checks that both got some and every event came once.
   */
  function competingConsumers() {
    const one = recorder();
    const two = recorder();
    const slow = (r: ReturnType<typeof recorder>) => async (e: DeliveredEvent, c: HandlerContext) => {
      r.record(e, c);
      await sleep(5);
    };
    return {
      first: slow(one),
      second: slow(two),
      async expectShared(bus: Bus): Promise<void> {
        await bus.publishAll(Array.from({ length: 20 }, (_, i) => added(`k${i}`, i)));
        await waitFor('20 events', () => one.events.length + two.events.length >= 20);
        await sleep(30);
        const items = [...one.items(), ...two.items()].sort((a, b) => a - b);
        expect(items).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(one.events.length).toBeGreaterThan(0);
        expect(two.events.length).toBeGreaterThan(0);
      },
    };
  }

  describe(`engine conformance: ${name}`, () => {
    const toClose: (Bus | Engine)[] = [];
    afterEach(async () => {
      for (const closable of toClose.splice(0).reverse()) await closable.close().catch(() => undefined);
    });

    async function setup(): Promise<EngineUnderTest & { bus: Bus; subscriptionName: (suffix?: string) => string }> {
      const made = await makeEngine({ id: `${name}-${process.pid}-${++counter}-${Date.now().toString(36)}` });
      const bus = createBus({ engine: made.engine, source: '/conformance' });
      toClose.push(bus);
      let subscriptions = 0;
      return { ...made, bus, subscriptionName: (suffix = 'sub') => `${suffix}-${++subscriptions}` };
    }

    async function reopenBus(made: EngineUnderTest): Promise<Bus> {
      if (!made.reopen) throw new Error(`${name}: restart tests need makeEngine to return reopen (or pass { restart: false })`);
      const engine = await made.reopen();
      const bus = createBus({ engine, source: '/conformance' });
      toClose.push(bus);
      return bus;
    }

    async function info(bus: Bus, subscription: string): Promise<SubscriptionInfo> {
      const found = (await bus.subscriptions()).find((s) => s.name === subscription);
      if (!found) throw new Error(`subscription ${subscription} not listed`);
      return found;
    }

    describe('append and read', () => {
      it('stores an event and reads it back with its sequence and recorded time', async () => {
        const { bus, engine } = await setup();
        const before = Date.now();
        const result = await bus.publish(added('a', 1));
        expect(result).toMatchObject({ duplicate: false });
        expect(result.sequence).toBeGreaterThan(0);
        expect(await engine.head()).toBe(result.sequence);
        const [stored] = await bus.read({});
        expect(stored).toMatchObject({
          specversion: '1.0',
          id: result.id,
          source: '/conformance',
          type: 'cart.item_added',
          subject: `cart/${keyOf('a')}`,
          partitionkey: keyOf('a'),
          datacontenttype: 'application/json',
          dataschema: 'flamingo:cart.item_added/v1',
          data: { cartId: keyOf('a'), items: [1], item: 1 },
          sequence: result.sequence,
        });
        expect(Date.parse(stored.recordedtime)).toBeGreaterThanOrEqual(before - 1_000);
        expect(Date.parse(stored.recordedtime)).toBeLessThanOrEqual(Date.now() + 1_000);
      });

      it('publishing an id twice stores it once and answers the first result', async () => {
        const { bus } = await setup();
        const id = uuidv7();
        const first = await bus.publish({ ...added('a', 1), id });
        const again = await bus.publish({ ...added('a', 1), id });
        const concurrent = await Promise.all([bus.publish({ ...added('a', 2), id: uuidv7() }), bus.publish({ ...added('a', 1), id })]);
        expect(again).toEqual({ id, sequence: first.sequence, duplicate: true });
        expect(concurrent[1]).toEqual({ id, sequence: first.sequence, duplicate: true });
        expect((await bus.read({})).map((e) => e.id).filter((x) => x === id)).toHaveLength(1);
        expect(await bus.read({})).toHaveLength(2);
      });

      it('stores a batch all or nothing', async () => {
        const { bus, engine } = await setup();
        await bus.publish(added('a', 0));
        const head = await engine.head();
        await expect(bus.publishAll([added('a', 1), { type: 'cart.item_added', data: { items: 'nope' } } as never])).rejects.toBeInstanceOf(EventValidationError);
        expect(await engine.head()).toBe(head);
        const unstorable = { ...buildEvent(added('a', 3)), data: { item: 10n } } as UnstoredEvent;
        const [neighbour, failing] = await Promise.allSettled([engine.append([buildEvent(added('b', 2))]), engine.append([buildEvent(added('a', 4)), unstorable])]);
        expect(neighbour.status).toBe('fulfilled');
        expect(failing.status).toBe('rejected');
        expect((await bus.read({})).map(itemOf)).toEqual([0, 2]);
        const results = await bus.publishAll([added('a', 5), added('b', 6)]);
        expect(results[1].sequence).toBeGreaterThan(results[0].sequence);
      });

      it('keeps extension attributes on the stored event: read back and handed to handlers; refuses invalid names', async () => {
        const { bus, subscriptionName } = await setup();
        const got = recorder();
        await bus.subscribe({ name: subscriptionName(), types: ['cart.*'] }, (e, c) => got.record(e, c));
        const extensions = { shopregion: 'eu', pubsubname: 'pubsub', knativearrivaltime: '2024-05-01T12:00:00Z', retries: 3, vip: true };
        await bus.publish({ ...added('a', 1), extensions });
        await waitFor('the event', () => got.events.length === 1);
        expect(extensionsOf(got.events[0])).toEqual(extensions);
        const [stored] = await bus.read({});
        expect(extensionsOf(stored)).toEqual(extensions);
        expect(Object.keys(stored)).toEqual(expect.arrayContaining(Object.keys(extensions)));
        const error = await bus.publish({ ...added('a', 2), extensions: { Shop_Region: 'eu', sequence: 1 } }).catch((e: unknown) => e);
        expect((error as EventValidationError).issues).toEqual([
          { path: '/Shop_Region', message: expect.stringMatching(/lower-case letters/) },
          { path: '/sequence', message: expect.stringMatching(/not an extension/) },
        ]);
        expect(await bus.read({})).toHaveLength(1);
      });

      it('stores a UUID id in lower case: the same UUID in upper case is the same event', async () => {
        const { bus } = await setup();
        const id = '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B';
        const first = await bus.publish({ ...added('a', 1), id });
        expect(first).toMatchObject({ id: id.toLowerCase(), duplicate: false });
        expect(await bus.publish({ ...added('a', 1), id: id.toLowerCase() })).toEqual({ id: id.toLowerCase(), sequence: first.sequence, duplicate: true });
        expect((await bus.read({})).map((e) => e.id)).toEqual([id.toLowerCase()]);
      });

      it('identifies an event by source + id (CloudEvents): one id from two sources is two events', async () => {
        const { bus } = await setup();
        const a = await bus.publish({ ...added('a', 1), id: '1', source: '/shop-a' });
        const b = await bus.publish({ ...added('b', 2), id: '1', source: '/shop-b' });
        expect(a.duplicate).toBe(false);
        expect(b).toMatchObject({ id: '1', duplicate: false });
        expect(b.sequence).not.toBe(a.sequence);
        expect(await bus.publish({ ...added('b', 2), id: '1', source: '/shop-b' })).toEqual({ id: '1', sequence: b.sequence, duplicate: true });
        expect((await bus.read({})).map((e) => [e.source, e.id, itemOf(e)])).toEqual([
          ['/shop-a', '1', 1],
          ['/shop-b', '1', 2],
        ]);
      });

      it('refuses the same source + id with other content, naming the stored sequence; an identical resend stays a duplicate', async () => {
        const { bus, engine } = await setup();
        const id = uuidv7();
        // No time given: the time the bus fills in is not content, so the resend below matches.
        const first = await bus.publish({ ...added('a', 1), id, extensions: { shopregion: 'eu' } });
        await sleep(3);
        const resend = await bus.publish({ ...added('a', 1), id, extensions: { shopregion: 'eu' }, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
        expect(resend).toEqual({ id, sequence: first.sequence, duplicate: true });
        const head = await engine.head();
        for (const changed of [
          { ...added('a', 2), id, extensions: { shopregion: 'eu' } },
          { ...added('a', 1), id, extensions: { shopregion: 'us' } },
          { ...added('a', 1), id, extensions: { shopregion: 'eu' }, subject: 'cart/other' },
          { ...added('a', 1), id, extensions: { shopregion: 'eu' }, time: '2024-01-01T00:00:00Z' },
        ]) {
          const error = await bus.publish(changed).catch((e: unknown) => e);
          expect(error, JSON.stringify(changed)).toBeInstanceOf(IdentityConflictError);
          expect((error as IdentityConflictError).conflicts).toEqual([{ index: 0, id, source: '/conformance', sequence: first.sequence }]);
          expect((error as Error).message).toContain(`sequence ${first.sequence}`);
        }
        expect(await engine.head()).toBe(head);
        const [stored] = await bus.read({});
        expect(stored).toMatchObject({ id, data: { item: 1 }, shopregion: 'eu' });
        expect(await bus.read({})).toHaveLength(1);
        // An event stored with a time matches a resend with that time.
        const timed = await bus.publish({ ...added('b', 3), time: '2024-01-01T00:00:00Z', id: 'timed' });
        expect(await bus.publish({ ...added('b', 3), time: '2024-01-01T00:00:00Z', id: 'timed' })).toEqual({ ...timed, duplicate: true });
      });

      it(`refuses a batch with an event of a used identity and other content${atomicBatches ? ', storing none of it' : ''}; neighbours are unharmed`, async () => {
        const { bus, engine } = await setup();
        const taken = await bus.publish({ ...added('a', 1), id: 'taken' });
        const [neighbour, batch] = await Promise.allSettled([
          bus.publishAll([added('c', 5)]),
          bus.publishAll([added('b', 2), { ...added('a', 9), id: 'taken' }, { ...added('a', 1), id: 'taken', source: '/elsewhere' }]),
        ]);
        expect(neighbour.status).toBe('fulfilled');
        expect(batch.status).toBe('rejected');
        const error = (batch as PromiseRejectedResult).reason as IdentityConflictError;
        expect(error).toBeInstanceOf(IdentityConflictError);
        expect(error.conflicts).toEqual([{ index: 1, id: 'taken', source: '/conformance', sequence: taken.sequence }]);
        const items = (await bus.read({})).map(itemOf);
        expect(items.filter((item) => item === 9)).toEqual([]);
        if (atomicBatches) expect(items.sort()).toEqual([1, 5]);
        // The same batch without the conflict goes through; a resend of it is all duplicates.
        const fixed = [added('b', 2), { ...added('a', 1), id: 'taken' }, { ...added('a', 1), id: 'taken', source: '/elsewhere' }];
        const results = await bus.publishAll(fixed.map((input, i) => ({ ...input, id: input.id ?? `fixed-${i}` })));
        expect(results[1]).toEqual({ id: 'taken', sequence: taken.sequence, duplicate: true });
        const again = await bus.publishAll(fixed.map((input, i) => ({ ...input, id: input.id ?? `fixed-${i}` })));
        expect(again.map((r) => r.duplicate)).toEqual([true, true, true]);
        expect(await engine.head()).toBeGreaterThan(taken.sequence);
      });

      it('refuses a batch that gives one id twice, naming the later event, and stores none of it', async () => {
        const { bus, engine } = await setup();
        await bus.publish(added('a', 0));
        const head = await engine.head();
        const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
        const error = await bus.publishAll([{ ...added('a', 1), id }, { ...added('b', 2), id }]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(EventValidationError);
        expect((error as EventValidationError).issues).toEqual([{ index: 1, path: '/id', message: expect.stringMatching(/repeats the id of event 0/) }]);
        expect(await engine.head()).toBe(head);
        expect(await bus.publishAll([])).toEqual([]);
        expect(await engine.head()).toBe(head);
      });

      it('reads in log order with filters: types and patterns, subject, after a sequence, time window, limit', async () => {
        const { bus } = await setup();
        const first = await bus.publishAll([added('a', 1), removed('a', 2), added('b', 3)]);
        await sleep(15);
        const later = await bus.publishAll([added('a', 4), removed('b', 5)]);
        const items = async (query: Parameters<Bus['read']>[0]) => (await bus.read(query)).map(itemOf);
        expect(await items({})).toEqual([1, 2, 3, 4, 5]);
        expect(await items({ types: ['cart.item_removed'] })).toEqual([2, 5]);
        expect(await items({ types: ['cart.*'] })).toEqual([1, 2, 3, 4, 5]);
        expect(await items({ types: ['order.*'] })).toEqual([]);
        expect(await items({ subject: `cart/${keyOf('a')}` })).toEqual([1, 2, 4]);
        expect(await items({ afterSequence: first[1].sequence })).toEqual([3, 4, 5]);
        expect(await items({ limit: 2 })).toEqual([1, 2]);
        const [boundary] = await bus.read({ afterSequence: first[2].sequence, limit: 1 });
        expect(boundary.sequence).toBe(later[0].sequence);
        if (timePositions) {
          expect(await items({ since: boundary.recordedtime })).toEqual([4, 5]);
          expect(await items({ until: boundary.recordedtime })).toEqual([1, 2, 3]);
        }
      });
    });

    describe('delivery', () => {
      it(`fans out: every subscription gets every matching event, in log order${logOrder ? '' : ' per key'}`, async () => {
        const { bus, subscriptionName } = await setup();
        await bus.publishAll([added('a', 1), added('b', 2), removed('a', 3)]);
        const all = recorder();
        const removals = recorder();
        await bus.subscribe({ name: subscriptionName(), types: ['cart.*'] }, (e, c) => all.record(e, c));
        await bus.subscribe({ name: subscriptionName(), types: ['cart.item_removed'] }, (e, c) => removals.record(e, c));
        await bus.publish(added('a', 4));
        await waitFor('4 events', () => all.events.length === 4 && removals.events.length === 1);
        await sleep(20);
        expectLogOrder(all.events, [1, 2, 3, 4]);
        expect(removals.items()).toEqual([3]);
        expect(all.contexts[0]).toMatchObject({ attempt: 1 });
      });

      it('shares one subscription between competing consumers: each event once', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const consumers = competingConsumers();
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, consumers.first);
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, consumers.second);
        await consumers.expectShared(bus);
      });

      it('keeps each key in log order while different keys run in parallel', async () => {
        const { bus, subscriptionName } = await setup();
        const got = recorder();
        const running = new Map<string, number>();
        let overlapSameKey = false;
        let maxRunning = 0;
        let now = 0;
        await bus.subscribe({ name: subscriptionName(), types: ['cart.*'], concurrency: 4 }, async (event, context) => {
          const key = event.partitionkey!;
          if ((running.get(key) ?? 0) > 0) overlapSameKey = true;
          running.set(key, (running.get(key) ?? 0) + 1);
          maxRunning = Math.max(maxRunning, ++now);
          got.record(event, context);
          await sleep(8);
          now--;
          running.set(key, running.get(key)! - 1);
        });
        const inputs = Array.from({ length: 15 }, (_, i) => added(['x', 'y', 'z'][i % 3], i));
        await bus.publishAll(inputs);
        await waitFor('15 events', () => got.events.length === 15);
        expect(overlapSameKey).toBe(false);
        expect(maxRunning).toBeGreaterThan(1);
        for (const key of ['x', 'y', 'z']) {
          const expected = inputs.filter((input) => (input.data as { cartId: string }).cartId === keyOf(key)).map((input) => (input.data as { item: number }).item);
          expect(got.events.filter((e) => e.partitionkey === keyOf(key)).map(itemOf)).toEqual(expected);
        }
      });

      it("with ordering 'none' runs events of one key side by side", async () => {
        const { bus, subscriptionName } = await setup();
        let running = 0;
        let maxRunning = 0;
        let handled = 0;
        await bus.subscribe({ name: subscriptionName(), types: ['cart.*'], concurrency: 4, ordering: 'none' }, async () => {
          maxRunning = Math.max(maxRunning, ++running);
          await sleep(10);
          running--;
          handled++;
        });
        await bus.publishAll(Array.from({ length: 8 }, (_, i) => added('same', i)));
        await waitFor('8 events', () => handled === 8);
        expect(maxRunning).toBeGreaterThan(1);
      });

      it('subscribes by catalog name or alias and refuses types the catalog does not know', async () => {
        const { bus, subscriptionName } = await setup();
        const got = recorder();
        await expect(bus.subscribe({ name: subscriptionName(), types: ['cart.teleported' as never] }, () => undefined)).rejects.toBeInstanceOf(UnknownEventTypeError);
        await bus.subscribe({ name: subscriptionName(), types: ['item_added_to_cart' as never] }, (e, c) => got.record(e, c));
        await bus.publishAll([removed('a', 1), { type: 'item_added_to_cart' as never, data: { cartId: keyOf('a'), items: [2], item: 2 } } as never]);
        await waitFor('the aliased event', () => got.events.length === 1);
        expect(got.events[0]).toMatchObject({ type: 'cart.item_added', data: { item: 2 } });
        expect((await bus.subscriptions()).map((s) => s.types)).toContainEqual(['cart.item_added']);
      });

      it('lets a closing subscription finish its running handler and then delivers no more', async () => {
        const { bus, subscriptionName } = await setup();
        let finished = 0;
        const got = recorder();
        const subscription = await bus.subscribe({ name: subscriptionName(), types: ['cart.*'] }, async (e, c) => {
          got.record(e, c);
          await sleep(40);
          finished++;
        });
        await bus.publish(added('a', 1));
        await waitFor('the first delivery', () => got.events.length === 1);
        await subscription.close();
        expect(finished).toBe(1);
        await bus.publish(added('a', 2));
        await sleep(50);
        expect(got.items()).toEqual([1]);
      });
    });

    describe('competing consumers', () => {
      /** The call is refused with `SubscriptionConflictError` naming the option. */
      async function refused(call: Promise<unknown>, option: RegExp): Promise<void> {
        const error = await call.then(
          () => new Error('accepted'),
          (thrown: unknown) => thrown,
        );
        expect(error).toBeInstanceOf(SubscriptionConflictError);
        expect((error as Error).message).toMatch(option);
      }

      it(`refuses a second consumer whose retry policy, types, ordering${delayed ? ', delay' : ''} or mode differ, and keeps the first`, async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        const options = { name: subscription, types: ['cart.*' as const], retry: { maxAttempts: 3, initialDelayMs: 10 } };
        await bus.subscribe(options, (e, c) => got.record(e, c));
        const ignore = () => undefined;
        await refused(bus.subscribe({ ...options, retry: { maxAttempts: 5, initialDelayMs: 10 } }, ignore), /retry policy/);
        await refused(bus.subscribe({ ...options, retry: { maxAttempts: 3, initialDelayMs: 10, jitter: 0 } }, ignore), /retry policy/);
        await refused(bus.subscribe({ ...options, retry: undefined }, ignore), /retry policy/);
        await refused(bus.subscribe({ ...options, types: ['cart.item_added'] }, ignore), /types/);
        await refused(bus.subscribe({ ...options, ordering: 'none' }, ignore), /ordering/);
        if (delayed) await refused(bus.subscribe({ ...options, delayMs: 100 }, ignore), /delayMs/);
        await refused(bus.subscribeBatch(options, ignore), /mode/);
        expect((await info(bus, subscription)).consumers).toBe(1);
        await bus.publishAll([added('a', 1), added('b', 2)]);
        await waitFor('2 events', () => got.events.length === 2);
        await sleep(20);
        expect(got.items().sort()).toEqual([1, 2]);
      });

      it('refuses a second batch consumer with another maxBatchSize or maxWaitMs', async () => {
        const { bus, subscriptionName } = await setup();
        const options = { name: subscriptionName(), types: ['cart.*' as const], maxBatchSize: 10 };
        const ignore = () => undefined;
        await bus.subscribeBatch(options, ignore);
        await refused(bus.subscribeBatch({ ...options, maxBatchSize: 20 }, ignore), /maxBatchSize/);
        await refused(bus.subscribeBatch({ ...options, maxWaitMs: 50 }, ignore), /maxWaitMs/);
        await refused(bus.subscribe(options, ignore), /mode/);
        await bus.subscribeBatch({ ...options, concurrency: 2 }, ignore);
        expect((await info(bus, options.name)).consumers).toBe(2);
      });

      it('accepts a second consumer with the same options, its own concurrency and the defaults spelled out: they share the events', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const consumers = competingConsumers();
        const options = { name: subscription, types: ['cart.*' as const], retry: { maxAttempts: 3 } };
        await bus.subscribe(options, consumers.first);
        // startAt applies only where a subscription is created; 200 ms and 2 are the policy's defaults.
        await bus.subscribe({ ...options, concurrency: 3, startAt: 'now', retry: { maxAttempts: 3, initialDelayMs: 200, factor: 2 } }, consumers.second);
        expect((await info(bus, subscription)).consumers).toBe(2);
        await consumers.expectShared(bus);
      });
    });

    describe('failures', () => {
      it('retries a throwing handler with exponential backoff until it succeeds', async () => {
        const { bus, subscriptionName } = await setup();
        const got = recorder();
        await bus.subscribe(
          { name: subscriptionName(), types: ['cart.*'], retry: { initialDelayMs: 20, factor: 2, jitter: 0, maxAttempts: 5 } },
          (event, context) => {
            got.record(event, context);
            if (context.attempt < 3) throw new Error(`flaky ${context.attempt}`);
          },
        );
        await bus.publish(added('a', 1));
        await waitFor('3 attempts', () => got.events.length === 3);
        await sleep(60);
        expect(got.contexts.map((c) => c.attempt)).toEqual([1, 2, 3]);
        expect(got.times[1] - got.times[0]).toBeGreaterThanOrEqual(20 - tolerance);
        expect(got.times[2] - got.times[1]).toBeGreaterThanOrEqual(40 - tolerance);
        expect(got.events.length).toBe(3);
      });

      it('honours retryAfter over the backoff policy', async () => {
        const { bus, subscriptionName } = await setup();
        const got = recorder();
        await bus.subscribe({ name: subscriptionName(), types: ['cart.*'], retry: { initialDelayMs: 5, jitter: 0 } }, (event, context) => {
          got.record(event, context);
          if (context.attempt === 1) throw retryAfter(120, 'target said 429');
        });
        await bus.publish(added('a', 1));
        await waitFor('2 attempts', () => got.events.length === 2);
        expect(got.times[1] - got.times[0]).toBeGreaterThanOrEqual(120 - tolerance);
      });

      it('holds back later events of a retrying key, not other keys', async () => {
        const { bus, subscriptionName } = await setup();
        const got = recorder();
        await bus.subscribe({ name: subscriptionName(), types: ['cart.*'], concurrency: 2 }, (event, context) => {
          got.record(event, context);
          if (itemOf(event) === 1 && context.attempt === 1) throw retryAfter(80);
        });
        // One event of each key first, so both are flowing before the retry starts its clock (a
        // partitioned engine may take up the keys' partitions one after another).
        await bus.publishAll([added('a', 0), added('b', 0)]);
        await waitFor('one event of each key', () => got.events.length === 2);
        await bus.publishAll([added('a', 1), added('a', 2), added('b', 3)]);
        await waitFor('4 deliveries', () => got.events.length === 6);
        const order = got.items().slice(2);
        expect(order.indexOf(2)).toBe(order.lastIndexOf(1) + 1);
        expect(order.indexOf(3)).toBeLessThan(order.lastIndexOf(1));
      });

      it('a batch handler\'s event held back behind a failed one of its key is not retrying, and comes after it', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const handled: number[] = [];
        let failing = true;
        // Published before the subscription starts, so an engine may hand them over in one batch.
        await bus.publishAll([added('a', 1), added('a', 2), added('a', 3), added('b', 4)]);
        await bus.subscribeBatch(
          { name: subscription, types: ['cart.*'], startAt: 'beginning', maxBatchSize: 10, retry: { maxAttempts: 20, initialDelayMs: 100, maxDelayMs: 100 } },
          (events) => {
            const failed = new Map<string | undefined, string>();
            return events.map((event) => {
              const behind = failed.get(event.partitionkey);
              if (behind !== undefined) return new HeldBack(behind);
              if (itemOf(event) === 1 && failing) {
                failed.set(event.partitionkey, event.id);
                return new Error('item 1 fails');
              }
              handled.push(itemOf(event));
              return undefined;
            });
          },
        );
        await waitFor('item 1 retrying, item 4 handled', async () => (await info(bus, subscription)).retrying === 1 && handled.includes(4));
        await sleep(250);
        // However the engine batched them: only item 1 retries; the rest of its key waits, uncounted.
        expect((await info(bus, subscription)).retrying).toBe(1);
        expect(handled).toEqual([4]);
        failing = false;
        await waitFor('every item handled', () => handled.length === 4);
        expect(handled).toEqual([4, 1, 2, 3]);
        await waitFor('nothing left', async () => (await info(bus, subscription)).retrying === 0);
        expect(await bus.deadLetters(subscription)).toEqual([]);
      });

      it('dead-letters an event after its last attempt, with error, attempts and times, and moves on', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        await bus.subscribe({ name: subscription, types: ['cart.*'], retry: { maxAttempts: 3, initialDelayMs: 10, jitter: 0 } }, (event, context) => {
          got.record(event, context);
          if (itemOf(event) === 1) throw new Error('warehouse unreachable');
        });
        const [bad] = await bus.publishAll([added('a', 1), added('a', 2)]);
        await waitFor('the later event of the key', () => got.items().includes(2));
        expect(got.items()).toEqual([1, 1, 1, 2]);
        await waitFor('the dead letter', async () => (await bus.deadLetters(subscription)).length === 1);
        const [dead] = await bus.deadLetters(subscription);
        expect(dead).toMatchObject({ subscription, attempts: 3, event: { id: bad.id, sequence: bad.sequence } });
        expect(dead.error).toContain('warehouse unreachable');
        expect(Date.parse(dead.firstFailedAt)).toBeLessThan(Date.parse(dead.lastFailedAt));
      });

      it('dead-letters at once when the handler fails permanently', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, (event, context) => {
          got.record(event, context);
          throw failPermanently('cart belongs to nobody');
        });
        await bus.publish(added('a', 1));
        await waitFor('the dead letter', async () => (await bus.deadLetters(subscription)).length === 1);
        const [dead] = await bus.deadLetters(subscription);
        expect(dead.attempts).toBe(1);
        expect(dead.error).toContain('cart belongs to nobody');
        expect(got.events).toHaveLength(1);
        expect(dead.firstFailedAt).toBe(dead.lastFailedAt);
      });

      it('dead-letters events that fail their schema or have no catalog type, without calling the handler', async () => {
        const { bus, engine, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        const valid = buildEvent(added('a', 1));
        const invalid = { ...buildEvent(added('a', 2)), data: { items: 'not a list', item: 2 } } as UnstoredEvent;
        const unknown = { ...buildEvent(added('a', 3)), type: 'cart.teleported' } as UnstoredEvent;
        await engine.append([invalid, unknown, valid]);
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, (e, c) => got.record(e, c));
        await waitFor('the valid event', () => got.events.length === 1);
        await waitFor('2 dead letters', async () => (await bus.deadLetters(subscription)).length === 2);
        const dead = await bus.deadLetters(subscription);
        expect(dead.map((d) => d.event.id)).toEqual([invalid.id, unknown.id]);
        expect(dead[0].error).toContain('/data/items');
        expect(dead[0].attempts).toBe(1);
        expect(dead[1].error).toContain('cart.teleported');
        expect(got.items()).toEqual([1]);
      });

      it('lists, retries one, retries all and discards dead letters', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        let failing = true;
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, (event, context) => {
          got.record(event, context);
          if (failing) throw failPermanently('not yet');
        });
        const published = await bus.publishAll([added('a', 1), added('b', 2), added('c', 3)]);
        await waitFor('3 dead letters', async () => (await bus.deadLetters(subscription)).length === 3);
        expect((await bus.deadLetters(subscription, { limit: 2 })).map((d) => d.event.id)).toEqual([published[0].id, published[1].id]);
        expect((await bus.deadLetters(subscription, { afterSequence: published[0].sequence })).map((d) => d.event.id)).toEqual([published[1].id, published[2].id]);

        failing = false;
        expect(await bus.retryDeadLetters(subscription, published[1].id)).toBe(1);
        await waitFor('the retried event', () => got.events.length === 4);
        expect(got.events[3].id).toBe(published[1].id);
        expect(got.contexts[3].attempt).toBe(1);
        expect((await bus.deadLetters(subscription)).map((d) => d.event.id)).toEqual([published[0].id, published[2].id]);
        expect(await bus.retryDeadLetters(subscription, 'no-such-event')).toBe(0);

        expect(await bus.retryDeadLetters(subscription)).toBe(2);
        await waitFor('both retried events', () => got.events.length === 6);
        expect(got.events.slice(4).map((e) => e.id).sort()).toEqual([published[0].id, published[2].id].sort());
        expect(await bus.deadLetters(subscription)).toEqual([]);

        failing = true;
        const more = await bus.publishAll([added('d', 4), added('e', 5)]);
        await waitFor('2 new dead letters', async () => (await bus.deadLetters(subscription)).length === 2);
        expect(await bus.discardDeadLetters(subscription, more[0].id)).toBe(1);
        expect((await bus.deadLetters(subscription)).map((d) => d.event.id)).toEqual([more[1].id]);
        expect(await bus.discardDeadLetters(subscription)).toBe(1);
        expect(await bus.deadLetters(subscription)).toEqual([]);
        expect(await bus.retryDeadLetters(subscription)).toBe(0);
        await sleep(30);
        expect(got.events).toHaveLength(8);
      });

      it('retries all dead letters in log order, one at a time per key, also one retried alone and dead-lettered again', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        let failing = true;
        let running = 0;
        let overlapped = false;
        await bus.subscribe({ name: subscription, types: ['cart.*'], concurrency: 4 }, async (event, context) => {
          got.record(event, context);
          overlapped ||= running > 0;
          running += 1;
          await sleep(10);
          running -= 1;
          if (failing) throw failPermanently('not yet');
        });
        const published = await bus.publishAll([added('a', 1), added('a', 2), added('a', 3)]);
        await waitFor('3 dead letters', async () => (await bus.deadLetters(subscription)).length === 3);

        // The second one goes back alone and fails again: its dead letter is now the newest.
        expect(await bus.retryDeadLetters(subscription, published[1].id)).toBe(1);
        await waitFor('the second event dead again', async () => got.events.length === 4 && (await bus.deadLetters(subscription)).length === 3);
        expect((await bus.deadLetters(subscription)).map((d) => itemOf(d.event))).toEqual([1, 2, 3]);

        failing = false;
        expect(await bus.retryDeadLetters(subscription)).toBe(3);
        await waitFor('the three retried events', () => got.events.length === 7);
        await sleep(30);
        expect(got.items()).toEqual([1, 2, 3, 2, 1, 2, 3]);
        expect(overlapped).toBe(false);
        expect(await bus.deadLetters(subscription)).toEqual([]);
      });

      it('keeps the retry state and dead letters of two events with one id from two sources apart; by id, both are retried', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        let failing = true;
        await bus.subscribe({ name: subscription, types: ['cart.*'], retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10 } }, (event, context) => {
          got.record(event, context);
          if (failing) throw new Error(`fails ${event.source}`);
        });
        await bus.publishAll([
          { ...added('a', 1), id: '1', source: '/shop-a' },
          { ...added('b', 2), id: '1', source: '/shop-b' },
        ]);
        await waitFor('2 dead letters', async () => (await bus.deadLetters(subscription)).length === 2);
        const letters = await bus.deadLetters(subscription);
        expect(letters.map((d) => [d.event.source, d.attempts, d.error])).toEqual([
          ['/shop-a', 2, expect.stringContaining('fails /shop-a')],
          ['/shop-b', 2, expect.stringContaining('fails /shop-b')],
        ]);
        expect(got.events).toHaveLength(4);
        failing = false;
        expect(await bus.retryDeadLetters(subscription, '1')).toBe(2);
        await waitFor('both retried', () => got.events.length === 6);
        expect(got.events.slice(4).map((e) => e.source).sort()).toEqual(['/shop-a', '/shop-b']);
        expect(await bus.deadLetters(subscription)).toEqual([]);
      });
    });

    describe('positions and replay', () => {
      it('starts a new subscription at the beginning, now, a sequence or a time', async () => {
        const { bus, subscriptionName } = await setup();
        const [, second] = await bus.publishAll([added('a', 1), added('a', 2)]);
        await sleep(15);
        await bus.publish(added('a', 3));
        const [third] = await bus.read({ afterSequence: second.sequence });
        const start = async (startAt: Parameters<Bus['subscribe']>[0]['startAt']) => {
          const got = recorder();
          await bus.subscribe({ name: subscriptionName(), types: ['cart.*'], startAt }, (e, c) => got.record(e, c));
          return got;
        };
        const beginning = await start(undefined);
        const now = await start('now');
        const fromSequence = await start({ sequence: second.sequence });
        const fromTime = timePositions ? await start({ time: third.recordedtime }) : undefined;
        await bus.publish(added('a', 4));
        await waitFor('every start', () => beginning.events.length === 4 && now.events.length === 1 && fromSequence.events.length === 3 && (fromTime?.events.length ?? 2) === 2);
        await sleep(20);
        expect(beginning.items()).toEqual([1, 2, 3, 4]);
        expect(now.items()).toEqual([4]);
        expect(fromSequence.items()).toEqual([2, 3, 4]);
        if (fromTime) expect(fromTime.items()).toEqual([3, 4]);
      });

      it.skipIf(!liveRewind)('rewinds a running subscription to a sequence, a time and the beginning', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, (e, c) => got.record(e, c));
        const published = await bus.publishAll([added('a', 1), added('b', 2), added('a', 3)]);
        await sleep(15);
        await bus.publishAll([added('b', 4), added('a', 5)]);
        await waitFor('5 events', () => got.events.length === 5);

        await bus.rewind(subscription, { sequence: published[2].sequence });
        await waitFor('replay from a sequence', () => got.events.length === 8);
        expectLogOrder(got.events.slice(5), [3, 4, 5]);

        if (timePositions) {
          const fourth = got.events.find((event) => itemOf(event) === 4)!;
          await bus.rewind(subscription, { time: fourth.recordedtime });
          await waitFor('replay from a time', () => got.events.length === 10);
          expectLogOrder(got.events.slice(8), [4, 5]);
        }
        const seen = got.events.length;
        await bus.rewind(subscription, 'beginning');
        await waitFor('replay from the beginning', () => got.events.length === seen + 5);
        expectLogOrder(got.events.slice(seen), [1, 2, 3, 4, 5]);
        await bus.rewind(subscription, 'now');
        await bus.publish(added('c', 6));
        await waitFor('the next event', () => got.items().at(-1) === 6);
        await sleep(20);
        expect(got.events.length).toBe(seen + 6);
      });

      it('rewinds a subscription that has no consumer attached', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        const got = recorder();
        const first = await bus.subscribe({ name: subscription, types: ['cart.*'] }, (e, c) => got.record(e, c));
        const published = await bus.publishAll([added('a', 1), added('a', 2), added('a', 3)]);
        await waitFor('3 events', () => got.events.length === 3);
        await first.close();
        await bus.rewind(subscription, { sequence: published[1].sequence });
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, (e, c) => got.record(e, c));
        await waitFor('the replay', () => got.events.length === 5);
        expect(got.items()).toEqual([1, 2, 3, 2, 3]);
        await expect(bus.rewind('no-such-subscription', 'beginning')).rejects.toThrow(/no-such-subscription/);
      });

      it.skipIf(!delayed)('delays a delayed subscription until recordedtime + delayMs', async () => {
        const { bus, subscriptionName } = await setup();
        const got = recorder();
        await bus.subscribe({ name: subscriptionName(), types: ['cart.*'], delayMs: 150 }, (e, c) => got.record(e, c));
        await bus.publishAll([added('a', 1), added('b', 2)]);
        await waitFor('the delayed events', () => got.events.length === 2);
        for (let i = 0; i < 2; i++) expect(got.times[i] - Date.parse(got.events[i].recordedtime)).toBeGreaterThanOrEqual(150 - tolerance);
      });
    });

    describe('batches', () => {
      it('hands a batch handler events in log order, at most maxBatchSize a call, and retries a throwing call together', async () => {
        const { bus, subscriptionName } = await setup();
        await bus.publishAll(Array.from({ length: 25 }, (_, i) => added(`k${i % 4}`, i)));
        const calls: { items: number[]; attempt: number }[] = [];
        let failed = false;
        await bus.subscribeBatch({ name: subscriptionName(), types: ['cart.*'], maxBatchSize: 10, retry: { initialDelayMs: 10, jitter: 0 } }, (events, context) => {
          calls.push({ items: events.map(itemOf), attempt: context.attempt });
          if (!failed) {
            failed = true;
            throw new Error('warehouse busy');
          }
        });
        await waitFor('25 events', () => new Set(calls.slice(1).flatMap((c) => c.items)).size === 25);
        expect(calls.every((c) => c.items.length >= 1 && c.items.length <= 10)).toBe(true);
        // The failed call's events come back together, as a second attempt (other ready events may join them).
        const retried = calls.find((c) => c.attempt === 2);
        expect(retried?.items).toEqual(expect.arrayContaining(calls[0].items));
        const handled = calls.slice(1).flatMap((c) => c.items);
        expect(handled).toHaveLength(25);
        for (let k = 0; k < 4; k++) {
          const ofKey = handled.filter((i) => i % 4 === k);
          expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
        }
      });
    });

    describe('statistics', () => {
      it('reports position, lag, in flight, retrying, dead letters and consumers', async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const published = await bus.publishAll([added('a', 1), added('b', 2), added('c', 3), added('d', 4)]);
        const ran: number[] = [];
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, async (event) => {
          const item = itemOf(event);
          ran.push(item);
          if (item === 1) await gate;
          if (item === 2) throw failPermanently('bad');
          if (item === 3) throw retryAfter(60_000);
        });
        try {
          await waitFor('the first event to block its handler', () => ran.includes(1));
          // At concurrency 1 nothing else runs while it blocks; what ran before it is the events
          // that reached the subscription earlier: none in log order, else any of the other keys.
          if (logOrder) expect(ran).toEqual([1]);
          const before = (item: number) => (ran.includes(item) ? 1 : 0);
          const retrying = before(3);
          const expected = {
            name: subscription,
            types: ['cart.*'],
            position: published[0].sequence - 1,
            lag: 4 - before(2) - before(4),
            retrying,
            deadLetters: before(2),
            scheduled: 0,
            consumers: 1,
          };
          const inFlightFits = (inFlight: number) => (exactInFlight ? inFlight === 1 : inFlight >= 1 && inFlight <= expected.lag - retrying);
          let now = await info(bus, subscription);
          await waitFor('the statistics of one blocked handler', async () => {
            now = await info(bus, subscription);
            const { inFlight, ...rest } = now;
            return isDeepStrictEqual(rest, expected) && inFlightFits(inFlight);
          }).catch(() => undefined);
          const { inFlight, ...rest } = now;
          expect(rest).toEqual(expected);
          if (exactInFlight) expect(inFlight).toBe(1);
          else {
            expect(inFlight).toBeGreaterThanOrEqual(1);
            expect(inFlight).toBeLessThanOrEqual(expected.lag - retrying);
          }
        } finally {
          release();
        }
        await waitFor('a dead letter and a retry', async () => {
          const now = await info(bus, subscription);
          return now.deadLetters === 1 && now.retrying === 1 && now.lag === 1 && now.inFlight === 0;
        }).catch(() => undefined);
        // Every event before the retrying one is done (handled or dead-lettered), whatever its key.
        expect(await info(bus, subscription)).toEqual({
          name: subscription,
          types: ['cart.*'],
          position: published[2].sequence - 1,
          lag: 1,
          inFlight: 0,
          retrying: 1,
          deadLetters: 1,
          scheduled: 0,
          consumers: 1,
        });
      });

      it.skipIf(!delayed)("shows a delayed subscription's waiting events as scheduled, neither lag nor in flight, and as lag once due", async () => {
        const { bus, subscriptionName } = await setup();
        const subscription = subscriptionName();
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const ran: number[] = [];
        await bus.subscribe({ name: subscription, types: ['cart.*'], delayMs: 1_500 }, async (event) => {
          ran.push(itemOf(event));
          await gate;
        });
        const published = await bus.publishAll([added('a', 1), added('a', 2), added('a', 3)]);
        const waiting = await info(bus, subscription);
        expect(ran).toEqual([]);
        expect(waiting).toMatchObject({ position: published[0].sequence - 1, lag: 0, inFlight: 0, retrying: 0, scheduled: 3, consumers: 1 });
        try {
          // Due: the first runs (and blocks its key), the other two wait behind it.
          await waitFor('the first delayed event to run', () => ran.length === 1, timeoutMs + 1_500);
          let due = await info(bus, subscription);
          await waitFor('the statistics of a due subscription', async () => {
            due = await info(bus, subscription);
            return due.scheduled === 0 && due.lag === 3 && due.inFlight >= 1;
          }).catch(() => undefined);
          expect(due).toMatchObject({ lag: 3, scheduled: 0 });
          if (exactInFlight) expect(due.inFlight).toBe(1);
        } finally {
          release();
        }
        await waitFor('every event', () => ran.length === 3);
        await waitFor('nothing left', async () => (await info(bus, subscription)).lag === 0).catch(() => undefined);
        expect(await info(bus, subscription)).toMatchObject({ lag: 0, scheduled: 0, inFlight: 0 });
      });

      it('counts the consumers attached through every bus and process on the log', async () => {
        const made = await setup();
        const subscription = made.subscriptionName();
        const other = createBus({ engine: made.engine, source: '/conformance' });
        toClose.push(other);
        const handler = () => undefined;
        const first = await made.bus.subscribe({ name: subscription, types: ['cart.*'] }, handler);
        await made.bus.subscribe({ name: subscription, types: ['cart.*'] }, handler);
        await other.subscribe({ name: subscription, types: ['cart.*'] }, handler);
        const consumers = async (bus: Bus) => (await info(bus, subscription)).consumers;
        const settle = async (bus: Bus, expected: number) => {
          await waitFor(`${expected} consumers`, async () => (await consumers(bus)) === expected).catch(() => undefined);
          expect(await consumers(bus)).toBe(expected);
        };
        await settle(made.bus, 3);
        let elsewhere: Bus | undefined;
        if (sharedLog) {
          // A second engine on the same log: another process.
          if (!made.reopen) throw new Error(`${name}: the shared-log test needs makeEngine to return reopen (or pass { sharedLog: false })`);
          elsewhere = createBus({ engine: await made.reopen(), source: '/conformance' });
          toClose.push(elsewhere);
          const third = await elsewhere.subscribe({ name: subscription, types: ['cart.*'] }, handler);
          await settle(made.bus, 4);
          await settle(elsewhere, 4);
          await third.close();
          await settle(made.bus, 3);
        }
        await first.close();
        await settle(elsewhere ?? made.bus, 2);
      });
    });

    describe.skipIf(!restart)('restart', () => {
      it('resumes where it left off: nothing acknowledged before a clean close is delivered again', async () => {
        const made = await setup();
        const subscription = made.subscriptionName();
        const before = recorder();
        const sub = await made.bus.subscribe({ name: subscription, types: ['cart.*'] }, (event, context) => {
          before.record(event, context);
          if (itemOf(event) === 3) throw failPermanently('keeps failing');
        });
        await made.bus.publishAll(Array.from({ length: 10 }, (_, i) => added(`k${i % 3}`, i)));
        await waitFor('10 events', () => before.events.length === 10);
        await waitFor('the dead letter', async () => (await made.bus.deadLetters(subscription)).length === 1);
        await sub.close();
        await made.bus.publish(added('k0', 10));
        await made.bus.close();

        const bus = await reopenBus(made);
        expect((await bus.read({ limit: 1000 })).map(itemOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect((await bus.deadLetters(subscription)).map((d) => itemOf(d.event))).toEqual([3]);
        const after = recorder();
        await bus.subscribe({ name: subscription, types: ['cart.*'] }, (e, c) => after.record(e, c));
        await bus.publish(added('k1', 11));
        await waitFor('the events after the restart', () => after.events.length >= 2);
        await sleep(50);
        expectLogOrder(after.events, [10, 11]);
        expect(await info(bus, subscription)).toMatchObject({ lag: 0, deadLetters: 1 });
      });

      it('keeps retry attempts across a restart', async () => {
        const made = await setup();
        const subscription = made.subscriptionName();
        const attempts: number[] = [];
        const options = { name: subscription, types: ['cart.*' as const], retry: { maxAttempts: 3, initialDelayMs: 10, jitter: 0 } };
        const sub = await made.bus.subscribe(options, (_event, context) => {
          attempts.push(context.attempt);
          throw new Error('down');
        });
        await made.bus.publish(added('a', 1));
        await waitFor('2 attempts', () => attempts.length === 2);
        await sub.close();
        await made.bus.close();

        const bus = await reopenBus(made);
        await bus.subscribe(options, (_event, context) => {
          attempts.push(context.attempt);
          throw new Error('still down');
        });
        await waitFor('the dead letter', async () => (await bus.deadLetters(subscription)).length === 1);
        expect(attempts).toEqual([1, 2, 3]);
        expect((await bus.deadLetters(subscription))[0]).toMatchObject({ attempts: 3, error: expect.stringContaining('still down') });
      });
    });
  });
}
