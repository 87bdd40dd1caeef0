/**
 * Several `flamingo start` processes on one NATS JetStream stream and one PostgreSQL database, as
 * on several machines: each with a data dir of its own, the same admin key and token secret, and
 * its PostgreSQL connections labelled with its name (`application_name`), so a row can say which
 * process wrote it. Plus a producer that spreads events over the processes and fails over as a
 * load balancer would, and readers of the admin API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, onTestFailed } from 'vitest';
import { BIN } from './cli.ts';
import { freePort } from './process.ts';
import { SCALE_OUT, type Stack, type StackRun } from './stacks.ts';
import { createJsonClient } from '../../src/platform/http-client.ts';

/** A `node bin/flamingo.js start …` child process. */
export interface FlamingoProcess {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code or signal once it is gone. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

/** `DATABASE_URL` whose connections carry `application_name=<name>` (PostgreSQL's `current_setting('application_name')`). */
export function labelled(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', name);
  return url.toString();
}

/**
 * Starts `node bin/flamingo.js <args>` on a free loopback port with only `env` (plus PATH, HOST,
 * PORT and a fresh FLAMINGO_DATA_DIR) and resolves once `/readyz` answers 200.
 */
export async function startFlamingoProcess(name: string, args: readonly string[], env: Record<string, string>, timeoutMs = 45_000): Promise<FlamingoProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `flamingo-${name}-`));
  const child = spawn(process.execPath, [BIN, ...args], {
    // Two connections a service: test files run side by side, each with processes of about ten
    // services, against one PostgreSQL of 100 clients.
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), FLAMINGO_DATA_DIR: dataDir, FLAMINGO_DATABASE_POOL_SIZE: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let gone = false;
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      gone = true;
      resolve(signal ?? code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`${name} exited during start-up:\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready after ${timeoutMs} ms:\n${output}`);
    }
    await sleep(100);
  }
  return { name, url, child, dataDir, output: () => output, exited };
}

/** Prints the end of every process's output when the running test fails. */
export function showOutputOnFailure(processes: readonly FlamingoProcess[]): void {
  onTestFailed(() => {
    for (const p of processes) console.error(`── ${p.name} (${p.url}) ──\n${p.output().slice(-4_000)}`);
  });
}

/** SIGTERM (SIGKILL after `graceMs`) to the processes still running; removes their data dirs. */
export async function stopProcesses(processes: readonly FlamingoProcess[], graceMs = 10_000): Promise<void> {
  await Promise.all(
    processes.map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
        await p.exited;
        clearTimeout(timer);
      }
      rmSync(p.dataDir, { recursive: true, force: true });
    }),
  );
}

/** The admin API of one process. */
export function adminApi(url: string, key: string) {
  const client = createJsonClient({ url, bearer: key });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are asserted field by field
  const call = (method: string, route: string, body?: unknown) => client.request<any>(method, route, { body });
  return {
    call,
    /** `GET /v1/subscriptions`, the one named. */
    async subscription(name: string): Promise<SubscriptionView | undefined> {
      const answer = await call('GET', '/v1/subscriptions');
      if (answer.status !== 200) throw new Error(`GET /v1/subscriptions answered ${answer.status}: ${answer.text}`);
      return (answer.body.subscriptions as SubscriptionView[]).find((s) => s.name === name);
    },
    /** A new key scoped to `producer` (default: orders, whose `order.placed` the loads publish; issue 7). */
    async producerKey(producer = 'orders'): Promise<string> {
      const created = await call('POST', '/v1/keys', { producer });
      if (created.status !== 201) throw new Error(`POST /v1/keys answered ${created.status}: ${created.text}`);
      return created.body.key as string;
    },
    /** The whole log through `GET /v1/events`, in order. */
    async log(): Promise<LoggedEvent[]> {
      const events: LoggedEvent[] = [];
      for (let after = 0; ; ) {
        const page = await call('GET', `/v1/events?limit=1000&afterSequence=${after}`);
        if (page.status !== 200) throw new Error(`GET /v1/events answered ${page.status}: ${page.text}`);
        events.push(...(page.body.events as LoggedEvent[]));
        if (page.body.next === null) return events;
        after = page.body.next;
      }
    },
  };
}

export type AdminApi = ReturnType<typeof adminApi>;

export interface SubscriptionView {
  name: string;
  types: string[];
  position: number;
  lag: number;
  inFlight: number;
  retrying: number;
  deadLetters: number;
  scheduled: number;
  /** Handlers attached across every process. */
  consumers: number;
}

export interface LoggedEvent {
  id: string;
  type: string;
  sequence: number;
  subject?: string;
  partitionkey?: string;
}

/** What the processes agree on about a subscription once it settled: everything but `consumers` (each process sees another's change at its next renewal). */
export function shared(view: SubscriptionView | undefined): Omit<SubscriptionView, 'consumers'> | undefined {
  if (!view) return undefined;
  const { consumers: _consumers, ...rest } = view;
  return rest;
}

/** Runs `sql` on the database and returns the rows. */
export async function query<Row>(databaseUrl: string, sql: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** Producers posting `order.placed` events (some in batches of three) to the processes, round robin. */
export interface Load {
  /** Event ids a process answered 2xx for. */
  readonly acknowledged: Set<string>;
  /** Requests that got no answer or a 503 (the process was gone or stopping) and were sent again to another process. */
  failovers: number;
  /** Stops the producers between requests; resolves once none is sending. */
  pause(): Promise<void>;
  resume(): void;
  /** Stops the producers; each first tries to get its unanswered events acknowledged somewhere (20 tries). */
  stop(): Promise<void>;
}

export interface LoadOptions {
  /** How many different order ids (ordering keys) the events share. (Default: a new one for every event) */
  readonly keys?: number;
}

const orderPlaced = (id: string, orderId: string) => ({
  specversion: '1.0',
  id,
  source: '/scale-out-test',
  type: 'order.placed',
  data: { orderId, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR' },
});

/**
 * Starts `producers` producers over `targets` (read at every request, so the caller may change
 * it), publishing `order.placed` with `key` — a key scoped to producer orders (`adminApi(…).producerKey()`). An unanswered request, or one answered 503 (a process shutting down), is sent again with
 * the same ids to the next process, as a careful producer behind a load balancer does; that
 * process is left alone for a second. Any other answer but 202 fails the producer (and `stop`).
 */
export function startLoad(targets: readonly string[], key: string, producers = 4, options: LoadOptions = {}): Load {
  let sent = 0;
  const orderId = (n: number, i: number, k: number) => (options.keys ? `o-${(sent += 1) % options.keys}` : `o-${n}-${i}-${k}`);
  const acknowledged = new Set<string>();
  const shunned = new Map<string, number>();
  let stopping = false;
  let stoppedAt = 0;
  let paused = false;
  let resumed: () => void = () => undefined;
  let resumeSignal = Promise.resolve();
  const idle = new Set<number>();
  const load: Load = {
    acknowledged,
    failovers: 0,
    async pause() {
      paused = true;
      resumeSignal = new Promise((resolve) => (resumed = resolve));
      while (idle.size < producers) await sleep(10);
    },
    resume() {
      paused = false;
      resumed();
    },
    async stop() {
      stopping = true;
      stoppedAt = Date.now();
      load.resume();
      await Promise.all(running);
    },
  };

  const producer = async (n: number) => {
    let turn = n;
    for (let i = 1; !stopping; i += 1) {
      if (paused) {
        idle.add(n);
        await resumeSignal;
        idle.delete(n);
        continue;
      }
      const ids = i % 5 === 0 ? [uuidv7(), uuidv7(), uuidv7()] : [uuidv7()];
      const body = ids.length > 1 ? ids.map((id, k) => orderPlaced(id, orderId(n, i, k))) : orderPlaced(ids[0], orderId(n, i, 0));
      for (let tries = 0; ; tries += 1) {
        // Stopping with every process gone: give up (these ids were never acknowledged).
        if (stopping && (tries >= 20 || Date.now() - stoppedAt > 10_000)) break;
        turn += 1;
        const candidates = targets.filter((t) => (shunned.get(t) ?? 0) < Date.now());
        const target = (candidates.length > 0 ? candidates : targets)[turn % (candidates.length || targets.length)];
        let response: Response;
        try {
          response = await fetch(`${target}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': ids.length > 1 ? 'application/cloudevents-batch+json' : 'application/cloudevents+json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(15_000),
          });
        } catch {
          load.failovers += 1;
          shunned.set(target, Date.now() + 1_000);
          await sleep(20);
          continue;
        }
        if (response.status === 503) {
          // A process shutting down refuses new requests: another one takes them.
          await response.arrayBuffer();
          load.failovers += 1;
          shunned.set(target, Date.now() + 1_000);
          await sleep(20);
          continue;
        }
        if (response.status !== 202) throw new Error(`${target} answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
        for (const id of ids) acknowledged.add(id);
        break;
      }
    }
    idle.add(n);
  };
  const running = Array.from({ length: producers }, (_, n) => producer(n));
  return load;
}

/** Polls `probe` until it returns something other than undefined; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: () => string, timeoutMs: number, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(everyMs);
  }
}

/**
 * Records the order in which the audit projection applies events: `audit.audit_events.applied_order`
 * is drawn from a sequence inside the applying transaction. Call once the processes have migrated.
 */
export async function recordApplyOrder(databaseUrl: string): Promise<void> {
  await query(databaseUrl, 'ALTER TABLE audit.audit_events ADD COLUMN applied_order bigserial');
}

/**
 * Keys whose events were applied out of log order, with the sequences in the order applied
 * (needs `recordApplyOrder`). Empty when every key's events were applied in log order.
 */
export async function keysOutOfOrder(databaseUrl: string): Promise<{ subject: string; applied: number[] }[]> {
  const rows = await query<{ subject: string; applied: string[] }>(
    databaseUrl,
    'SELECT subject, array_agg(sequence ORDER BY applied_order) AS applied FROM audit.audit_events GROUP BY subject',
  );
  return rows
    .map((row) => ({ subject: row.subject, applied: row.applied.map(Number) }))
    .filter((row) => row.applied.some((sequence, i) => i > 0 && sequence < row.applied[i - 1]));
}

/** One test file's NATS + PostgreSQL run, its Flamingo processes and what else it must stop. */
export interface ScaleOutRun {
  /** The provisioned run (stream, database, env); available from the file's own `beforeAll` on. */
  readonly run: StackRun;
  /** Processes to stop after the file's tests. */
  readonly processes: FlamingoProcess[];
  /** Something else to stop first (a load, an engine); its failure does not stop the clean-up. */
  onCleanup(cleanup: () => Promise<unknown>): void;
}

/**
 * Provisions a scale-out run (on `stack`, NATS by default) before the file's (or describe block's) tests and, after them, stops what `onCleanup`
 * registered, then the processes, then removes the run (stream and database).
 */
export function useScaleOutRun(stack: Stack = SCALE_OUT): ScaleOutRun {
  let run: StackRun | undefined;
  const processes: FlamingoProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    run = await stack.provision();
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    try {
      await stopProcesses(processes);
    } finally {
      await run?.cleanup();
    }
  });
  return {
    get run() {
      if (!run) throw new Error('the scale-out run is provisioned in beforeAll');
      return run;
    },
    processes,
    onCleanup: (cleanup) => void cleanups.push(cleanup),
  };
}
