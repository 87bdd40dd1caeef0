import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../bus/index.ts';
import { errors, plainJson } from '../platform/http-schemas.ts';

/** One look at the bus: the log's head and each subscription's lag, at `time`. */
export interface OverviewSample {
  /** ISO 8601 instant of the look. */
  readonly time: string;
  /** The last sequence in the log. */
  readonly head: number;
  /** Subscription name → matching events not yet done. */
  readonly lag: Readonly<Record<string, number>>;
}

export interface OverviewSamplerOptions {
  /** Milliseconds between looks. (Default: 10 000) */
  readonly intervalMs?: number;
  /** How far back the samples reach, in milliseconds. (Default: 3 600 000, one hour) */
  readonly windowMs?: number;
}

/**
 * The last hour of the bus, in memory, for the console's charts: every `intervalMs` the head of
 * the log and each subscription's lag. The ingest rate is the rise of the head between two looks;
 * counting the log itself for it would read a whole hour of events on every page load. Samples
 * live in this process only (a restart starts an empty hour); Prometheus keeps the long history.
 */
export class OverviewSampler {
  readonly intervalMs: number;
  private readonly keep: number;
  private readonly samples: OverviewSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly bus: Bus,
    options: OverviewSamplerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.keep = Math.max(2, Math.ceil((options.windowMs ?? 3_600_000) / this.intervalMs) + 1);
  }

  /** Takes a first sample now, then one every `intervalMs` until `stop`. */
  start(): void {
    if (this.timer) return;
    void this.take();
    this.timer = setInterval(() => void this.take(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The samples, oldest first. */
  history(): readonly OverviewSample[] {
    return [...this.samples];
  }

  /** Takes one sample (a look that fails, e.g. the engine is away, leaves a gap). */
  async take(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        const [head, subscriptions] = await Promise.all([this.bus.engine.head(), this.bus.subscriptions()]);
        this.samples.push({ time: new Date().toISOString(), head, lag: Object.fromEntries(subscriptions.map((s) => [s.name, s.lag])) });
        if (this.samples.length > this.keep) this.samples.splice(0, this.samples.length - this.keep);
      } catch {
        // A gap in the chart says it: the engine did not answer (readiness reports why).
      } finally {
        this.running = undefined;
      }
    })();
    await this.running;
  }
}

const Sample = Type.Object({
  time: Type.String({ format: 'date-time' }),
  head: Type.Integer({ description: 'The last sequence in the log.' }),
  lag: Type.Record(Type.String(), Type.Integer(), { description: 'Subscription name → events not yet done.' }),
});

/** `GET /v1/overview` (admin): the sampler's last hour, for the console's ingest and lag charts. */
export function overviewRoutes(app: FastifyInstance, bus: Bus, options: OverviewSamplerOptions = {}): void {
  const sampler = new OverviewSampler(bus, options);
  app.addHook('onReady', async () => sampler.start());
  app.addHook('onClose', async () => sampler.stop());
  app.get(
    '/v1/overview',
    {
      config: { auth: 'admin' },
      serializerCompiler: plainJson,
      schema: {
        tags: ['admin'],
        summary: 'The last hour: the log head and each subscription lag, sampled',
        description:
          'Samples oldest first, one every `intervalSeconds`, kept in the answering process for an hour. ' +
          'The ingest rate between two samples is the rise of `head` over the time between them.',
        response: {
          200: Type.Object({ intervalSeconds: Type.Number(), engine: Type.String(), samples: Type.Array(Sample) }),
          ...errors(401, 403),
        },
      },
    },
    async () => ({ intervalSeconds: sampler.intervalMs / 1000, engine: bus.engine.name, samples: sampler.history() }),
  );
}
