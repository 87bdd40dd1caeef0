/**
 * Section 2: consume rate. A log pre-filled with `events` 1 KB events; one subscription from the
 * beginning with a handler that does nothing, then three new subscriptions at once (total events
 * handled per second). Ceiling: the raw reader of the same log (SQLite: SELECT … ORDER BY sequence
 * + JSON.parse; NATS: a durable pull consumer + JSON.parse + ack).
 */
import { v7 as uuidv7 } from 'uuid';
import type { Bus } from '../src/bus/index.ts';
import type { UnstoredEvent } from '../src/contracts/index.ts';
import { orderPlacedEnvelope } from './fixtures.ts';
import type { Figure } from './report.ts';
import { cpuMeter, nowMs } from './stats.ts';
import type { Target } from './targets.ts';

export interface ConsumeSectionOptions {
  /** Events in the pre-filled log. */
  readonly events: number;
  /** `concurrency` of each subscription. */
  readonly concurrency: number;
  /** Give up waiting for a subscription to catch up after this long. */
  readonly timeoutMs: number;
}

const GOAL = 100_000;

/** Fills the log through the engine directly, 1 000 events per append (the bus would only add validation). */
async function prefill(bus: Bus, count: number): Promise<void> {
  const template = Array.from({ length: 1_000 }, (_, n) => orderPlacedEnvelope(n));
  for (let done = 0; done < count; ) {
    const size = Math.min(1_000, count - done);
    const batch: UnstoredEvent[] = new Array<UnstoredEvent>(size);
    for (let i = 0; i < size; i++) batch[i] = { ...template[i], id: uuidv7() };
    await bus.engine.append(batch);
    done += size;
  }
}

/** Subscribes `names` at once from the beginning; resolves with the events handled per second once each got `count`. */
async function consumeAll(
  bus: Bus,
  names: readonly string[],
  count: number,
  options: ConsumeSectionOptions,
): Promise<{ rate: number; handled: number; complete: boolean; cpuUsPerEvent: number }> {
  let handled = 0;
  const target = count * names.length;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const start = nowMs();
  const used = cpuMeter();
  const subscriptions = await Promise.all(
    names.map((name) =>
      bus.subscribe({ name, types: ['order.placed'], startAt: 'beginning', concurrency: options.concurrency }, () => {
        handled += 1;
        if (handled === target) finish();
      }),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const complete = await Promise.race([finished.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), options.timeoutMs)))]);
  clearTimeout(timer);
  const ms = nowMs() - start;
  const cpuUsPerEvent = used() / Math.max(1, handled);
  await Promise.all(subscriptions.map((s) => s.close()));
  return { rate: (handled * 1000) / ms, handled, complete, cpuUsPerEvent };
}

export async function consumeSection(target: Target, options: ConsumeSectionOptions, runId: string): Promise<Figure[]> {
  const one = `1 subscription, ${options.events / 1000}k events, concurrency ${options.concurrency}`;
  const three = `3 subscriptions at once (total)`;
  const goals = [{ kind: 'atLeast', value: GOAL }] as const;
  const opened = await target.open('consume');
  const { bus, log } = opened;
  try {
    const fillStart = nowMs();
    await prefill(bus, options.events);
    const fillMs = nowMs() - fillStart;
    const ceilingName = `${target.raw.label} scan, best of 2`;
    const scanUsed = cpuMeter();
    const firstScan = await target.raw.scan(log, options.events);
    const rawCpu = scanUsed() / Math.max(1, firstScan.events);
    const single = await consumeAll(bus, [`bench-${runId}-one`], options.events, options);
    const triple = await consumeAll(bus, ['a', 'b', 'c'].map((x) => `bench-${runId}-${x}`), options.events, options);
    // Scanned again after the subscriptions, so a busy moment of the machine does not set the ceiling alone.
    const raw = { rate: Math.max(firstScan.rate, (await target.raw.scan(log, options.events)).rate) };
    const describe = (r: { handled: number; complete: boolean; cpuUsPerEvent: number }, expected: number, extra?: string) =>
      [
        r.complete ? undefined : `only ${r.handled} of ${expected} handled within ${options.timeoutMs / 1000} s`,
        `CPU ${r.cpuUsPerEvent.toFixed(1)} µs/event (raw scan ${rawCpu.toFixed(1)})`,
        extra,
      ]
        .filter(Boolean)
        .join('; ');
    return [
      {
        section: 'consume',
        name: one,
        unit: 'ev/s',
        value: single.rate,
        ceiling: raw.rate,
        ceilingName,
        goals,
        note: describe(single, options.events, `pre-filled at ${Math.round((options.events * 1000) / fillMs)} ev/s (engine.append, 1 000/call)`),
      },
      { section: 'consume', name: three, unit: 'ev/s', value: triple.rate, ceiling: raw.rate, ceilingName, goals, note: describe(triple, options.events * 3) },
    ];
  } finally {
    await opened.close();
  }
}
