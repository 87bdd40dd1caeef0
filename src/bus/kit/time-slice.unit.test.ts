import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../contracts/index.ts';
import { resolveSubscriptionOptions } from '../options.ts';
import type { RunnerItem } from './deliver-unit.ts';
import { createSubscriptionRunner } from './subscription-runner.ts';
import { SLICE_MS } from './time-slice.ts';

const event = (n: number): CloudEvent => ({ specversion: '1.0', id: `e${n}`, source: '/test', type: 'cart.item_added', time: '', datacontenttype: 'application/json', data: { n }, sequence: n, recordedtime: '' });

/** Busy for `ms` without giving the event loop a turn, as a synchronous SQLite commit is. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('time slices of the handlers', () => {
  it('lets the event loop turn while a subscription drains a backlog whose handlers never wait', async () => {
    const HANDLER_MS = 1;
    const EVENTS = 200;
    const acked: number[] = [];
    const runner = createSubscriptionRunner<RunnerItem>({
      options: resolveSubscriptionOptions({ name: 'slices', types: ['*'], concurrency: 4 }, 'single'),
      storage: { ack: (item) => void acked.push(item.event.sequence as number), retry: (_, verdict) => verdict.at, dead: () => undefined },
      onStop: () => undefined,
    });
    let handled = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    // Resolves synchronously, like a query on better-sqlite3 behind Kysely: only microtasks between events.
    runner.attach(async () => {
      busy(HANDLER_MS);
      if (++handled === EVENTS) done();
      return [{ kind: 'ack' }];
    }, 4);
    // A timer due now stands for the HTTP request waiting on the event loop.
    let handledWhenTimerRan: number | undefined;
    setTimeout(() => (handledWhenTimerRan = handled), 0);
    for (let n = 1; n <= EVENTS; n++) runner.push({ key: undefined, readyAt: 0, attempts: 0, event: event(n) });
    await finished;
    await runner.close();
    expect(acked).toHaveLength(EVENTS);
    // Without slices the timer would run only after all 200 ms of handlers.
    expect(handledWhenTimerRan).toBeDefined();
    expect(handledWhenTimerRan!).toBeLessThan(EVENTS / 2);
    expect(handledWhenTimerRan! * HANDLER_MS).toBeLessThanOrEqual(10 * SLICE_MS);
  });
});
