/**
 * Section 7: the customer hub. Flamingo runs in this process with the notifications and hub
 * services (the services' databases on SQLite in the run's dir, the bus on the run's engine);
 * customers hold `GET /v1/me/stream` open over loopback HTTP; the order events are published on
 * the bus as the shop's services would.
 *
 * - event → visible on the stream, at `ordersPerMinute` orders a minute (four events an order,
 *   100 ms apart): from `publish` to the SSE `timeline` entry reaching the customer. Ceiling: the
 *   same events reaching a bare subscription of the same bus (publish → handler), in the same run.
 * - immediate lane: `backlog` background events (`user.updated`, which only the notifications
 *   service reads) are queued while it is down; it starts with them in front of it, and
 *   `payment.failed` events are published; from `publish` to the SSE `notification`
 *   reaching the customer. Ceiling: the same on the idle system, measured just before.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { startFlamingo, type RunningFlamingo } from '../src/app/flamingo.ts';
import type { AnyPublishInput } from '../src/bus/index.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createTokens } from '../src/platform/tokens.ts';
import { hubService } from '../src/services/hub/index.ts';
import { notificationsService } from '../src/services/notifications/index.ts';
import { notificationIdOf } from '../src/services/notifications/notify.ts';
import type { Figure } from './report.ts';
import { nowMs, paced, percentiles, sleep } from './stats.ts';

export interface HubSectionOptions {
  readonly dir: string;
  readonly ordersPerMinute: number;
  readonly durationMs: number;
  readonly customers: number;
  readonly backlog: number;
  readonly urgentSamples: number;
}

const SECRET = 'bench-hub-token-secret-0123456789abcdef';

interface StreamClient {
  close(): void;
}

/** Opens a customer's stream and calls `onEvent(kind, data)` for each SSE event. */
async function openStream(url: string, token: string, onEvent: (kind: string, data: unknown) => void): Promise<StreamClient> {
  const abort = new AbortController();
  const response = await fetch(`${url}/v1/me/stream`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` }, signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`GET /v1/me/stream answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const kind = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (kind && data) onEvent(kind, JSON.parse(data));
      }
    }
  })();
  return { close: () => abort.abort() };
}

/** Flamingo on the run's data dir, with the hub and notifications (or, `bare`, the bus alone). */
async function startHub(dir: string, bare = false): Promise<RunningFlamingo> {
  const dataDir = path.join(dir, 'hub');
  mkdirSync(dataDir, { recursive: true });
  const config = loadConfig(
    {
      PORT: '3000',
      HOST: '127.0.0.1',
      FLAMINGO_DATA_DIR: dataDir,
      FLAMINGO_TOKEN_SECRET: SECRET,
      FLAMINGO_ENGINE: process.env.BENCH_ENGINE ?? 'sqlite',
      FLAMINGO_NATS_STREAM: process.env.BENCH_NATS_STREAM,
      LOG_LEVEL: 'silent',
    },
    dataDir,
  );
  // The hub first: it is serving when the notifications service starts on its backlog.
  return startFlamingo({ ...config, port: 0 }, { registry: bare ? [] : [hubService(), notificationsService()] });
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const progress = (line: string) => process.stderr.write(`[bench] hub: ${line}\n`);

export async function hubSection(options: HubSectionOptions): Promise<Figure[]> {
  let flamingo = await startHub(options.dir);
  const tokens = createTokens(SECRET);
  const streams: StreamClient[] = [];
  /** Timeline entries by event id, notifications by id: when they reached a stream. */
  const seen = new Map<string, number>();
  const ceilingSeen = new Map<string, number>();
  const published = new Map<string, number>();
  const onStreamEvent = (kind: string, data: unknown) => {
    const at = nowMs();
    if (kind === 'timeline') seen.set((data as { entry: { eventId: string } }).entry.eventId, at);
    if (kind === 'notification') seen.set((data as { notification: { id: string } }).notification.id, at);
  };
  try {
    const { bus } = flamingo; // the first run's bus: phase 1 only
    const ceiling = await bus.subscribe({ name: 'bench.ceiling', types: ['order.placed', 'stock.reserved', 'payment.succeeded', 'order.confirmed'], startAt: 'now', concurrency: 8 }, (event) => {
      ceilingSeen.set(event.id, nowMs());
    });
    const customers = await Promise.all(
      Array.from({ length: options.customers }, async (_, i) => {
        const userId = uuidv7();
        await bus.publish({ type: 'user.registered', data: { userId, email: `bench${i}@example.test`, name: `Bench ${i}` } });
        const token = await tokens.sign({ userId, email: `bench${i}@example.test` });
        streams.push(await openStream(flamingo.url, token, onStreamEvent));
        return userId;
      }),
    );
    const publishOn = async (running: RunningFlamingo, event: AnyPublishInput) => {
      const id = uuidv7();
      published.set(id, nowMs());
      await running.bus.publish({ ...event, id } as AnyPublishInput);
      return id;
    };
    const publish = (event: AnyPublishInput) => publishOn(flamingo, event);

    // 1. Orders at a steady rate, each a short saga of four events.
    const ids: string[] = [];
    const sagas: Promise<void>[] = [];
    const rate = options.ordersPerMinute / 60;
    await paced(rate, options.durationMs, (i) => {
      const userId = customers[i % customers.length];
      const orderId = uuidv7();
      const items = [{ productId: uuidv7(), quantity: 1, unitPriceCents: 1000 }];
      sagas.push(
        (async () => {
          ids.push(await publish({ type: 'order.placed', data: { orderId, userId, items, totalCents: 1000, currency: 'EUR' } }));
          await sleep(100);
          ids.push(await publish({ type: 'stock.reserved', data: { orderId, items: [{ productId: items[0].productId, quantity: 1 }] } }));
          await sleep(100);
          ids.push(await publish({ type: 'payment.succeeded', data: { paymentId: uuidv7(), orderId, userId, amountCents: 1000, currency: 'EUR' } }));
          await sleep(100);
          ids.push(await publish({ type: 'order.confirmed', data: { orderId, userId, paymentId: uuidv7(), items, totalCents: 1000, currency: 'EUR' } }));
        })(),
      );
    });
    await Promise.all(sagas);
    await sleep(2_000);
    await ceiling.close();
    const latency = percentiles(ids.filter((id) => seen.has(id)).map((id) => seen.get(id)! - published.get(id)!));
    const bare = percentiles(ids.filter((id) => ceilingSeen.has(id)).map((id) => ceilingSeen.get(id)! - published.get(id)!));
    const missing = ids.length - latency.count;

    // 2. The immediate lane: payment.failed on the idle system, then behind a backlog.
    const urgent = async () => {
      const userId = customers[0];
      const sourceId = await publishOn(flamingo, { type: 'payment.failed', data: { orderId: uuidv7(), userId, error: 'card declined' } });
      const notificationId = notificationIdOf(sourceId, userId);
      for (;;) {
        const at = seen.get(notificationId);
        if (at !== undefined) return at - published.get(sourceId)!;
        if (nowMs() - published.get(sourceId)! > 30_000) throw new Error('a payment.failed notification did not reach the stream in 30 s');
        await sleep(2);
      }
    };
    progress(`steady rate done (${ids.length} events)`);
    const idle: number[] = [];
    for (let i = 0; i < options.urgentSamples; i++) idle.push(await urgent());
    progress('idle payment.failed done');

    // The backlog is queued while the consumers are down (publishing it beside them would let them
    // keep up), then they start with it in front of them.
    for (const stream of streams.splice(0)) stream.close();
    await flamingo.close();
    const queuer = await startHub(options.dir, true);
    const backlogStart = nowMs();
    try {
      const stranger = uuidv7();
      for (let i = 0; i < options.backlog; i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, options.backlog - i) }, () =>
            queuer.bus.publish({ type: 'user.updated', data: { userId: stranger, email: `s${i}@example.test`, name: 'Stranger', changed: ['email'] } }),
          ),
        );
      }
    } finally {
      await queuer.close();
    }
    const queuedMs = nowMs() - backlogStart;
    progress(`backlog of ${options.backlog} queued in ${ms(queuedMs)}`);
    flamingo = await startHub(options.dir);
    streams.push(await openStream(flamingo.url, await tokens.sign({ userId: customers[0], email: 'bench0@example.test' }), onStreamEvent));
    progress('consumers restarted');
    const lagBefore = (await flamingo.bus.subscriptions()).find((s) => s.name === 'notifications.background')?.lag ?? 0;
    const behind: number[] = [];
    for (let i = 0; i < options.urgentSamples; i++) behind.push(await urgent());
    const lag = (await flamingo.bus.subscriptions()).find((s) => s.name === 'notifications.background')?.lag ?? 0;
    const idleP = percentiles(idle);
    const behindP = percentiles(behind);

    return [
      {
        section: 'hub',
        name: `event → on /v1/me/stream at ${options.ordersPerMinute} orders/min, p50`,
        unit: 'ms',
        value: latency.p50,
        ceiling: bare.p50,
        ceilingName: 'publish → bare handler',
        note: `${latency.count} entries, ${options.customers} customers streaming${missing > 0 ? `; ${missing} never seen` : ''}`,
      },
      {
        section: 'hub',
        name: `event → on /v1/me/stream at ${options.ordersPerMinute} orders/min, p99`,
        unit: 'ms',
        value: latency.p99,
        ceiling: bare.p99,
        ceilingName: 'publish → bare handler',
        goals: [{ kind: 'atMost', value: 250 }],
        note: `max ${ms(latency.max)}`,
      },
      {
        section: 'hub',
        name: `payment.failed → inbox + stream behind ${options.backlog} queued background events (max of ${options.urgentSamples})`,
        unit: 'ms',
        value: behindP.max,
        ceiling: idleP.max,
        ceilingName: 'the same, idle',
        goals: [{ kind: 'atMost', value: 1_000 }],
        note: `p50 ${ms(behindP.p50)} (idle ${ms(idleP.p50)}); ${options.backlog} queued in ${ms(queuedMs)}; notifications.background ${lagBefore} behind at the first, still ${lag} after the last`,
      },
    ];
  } finally {
    for (const stream of streams) stream.close();
    await flamingo.close();
  }
}
