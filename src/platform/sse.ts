/**
 * Live updates over Server-Sent Events in the platform's HTTP layer (`@fastify/sse`): a route
 * declared `sse: 'only'` streams a feed whose items carry a monotonic position, sent as each
 * message's `id`, so a client that reconnects with `Last-Event-ID` resumes where it stopped
 * (CONVENTIONS.md "Web pages"). Heartbeat comments keep idle connections (and proxies) open.
 * The feed is read again every `idleMs` while nothing is new (at once when `wake` says something
 * changed): the server looks, the browser never polls.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fastifySSE } from '@fastify/sse';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from './errors.ts';

/** A comment line every this many ms on an open stream. */
export const SSE_HEARTBEAT_MS = 15_000;
/**
 * How often an open stream checks its credentials again (ms): a ban, an expired session or a
 * revoked key ends the stream within this time (plus the guard's caches) on every process, whether
 * or not this process hears of the change.
 */
export const SSE_REAUTHENTICATE_MS = 1_000;

/** One message of a feed: its position (the SSE `id`), its SSE `event` name and its data. */
export interface FeedItem {
  readonly position: number;
  readonly event: string;
  readonly data: unknown;
}

export interface FeedOptions {
  /** Where the stream starts when the client sends no `Last-Event-ID`: items after this position. */
  readonly after: number;
  /** Items after `position`, in order, at most a page; an empty array when there are none yet. */
  read(position: number): Promise<readonly FeedItem[]>;
  /** How long to wait before looking again when nothing is new. (Default: 250 ms) */
  readonly idleMs?: number;
  /**
   * Registers `changed`, to be called when something new may be there (e.g. a commit in this
   * process), so it is sent at once instead of at the next look; returns the unregister. (Default:
   * none: only `idleMs`)
   */
  readonly wake?: (changed: () => void) => () => void;
  /** Ends the stream when aborted (e.g. the customer was banned). */
  readonly signal?: AbortSignal;
}

const streams = new WeakMap<FastifyInstance, Set<AbortController>>();

/** Registers SSE on `app` (before its routes); open streams end when the server closes. */
export async function registerSse(app: FastifyInstance): Promise<void> {
  await app.register(fastifySSE, { heartbeatInterval: SSE_HEARTBEAT_MS });
  const open = new Set<AbortController>();
  streams.set(app, open);
  // A stream never ends by itself: without this, closing the server would wait for every client.
  app.addHook('preClose', async () => {
    for (const controller of open) controller.abort();
  });
}

/**
 * The position to resume after: the request's `Last-Event-ID` header when sent (a whole number,
 * else 400 naming the header), else `fallback`.
 */
export function resumePosition(request: FastifyRequest, fallback: number): number {
  const header = request.headers['last-event-id'];
  if (header === undefined) return fallback;
  const value = Array.isArray(header) ? header[0] : header;
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw badRequest('invalid_request', 'Last-Event-ID must be a position (a whole number) sent as an event id', [
      { path: '/headers/last-event-id', message: 'must be a whole number' },
    ]);
  }
  return Number(value.trim());
}

/**
 * Streams `feed` on `reply` (a route declared `sse: 'only'`) until the client goes away or the
 * server closes: every item after `Last-Event-ID` (or `options.after`), then new ones as they come.
 */
export async function streamFeed(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, options: FeedOptions): Promise<void> {
  let position = resumePosition(request, options.after);
  const controller = new AbortController();
  const open = streams.get(app);
  open?.add(controller);
  reply.sse.onClose(() => controller.abort());
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  if (options.signal?.aborted) controller.abort();
  // A change signalled while reading is not lost: the next wait then returns at once.
  let changed = false;
  let wakeUp: (() => void) | undefined;
  const unregister = options.wake?.(() => {
    changed = true;
    wakeUp?.();
  });
  reply.sse.sendHeaders();
  // Sent now, not with the first message: a client (EventSource's `open`) knows the stream is up
  // even while nothing happens.
  reply.raw.flushHeaders();
  const gone = () => controller.signal.aborted || !reply.sse.isConnected;
  let checkedAt = Date.now();
  /** Ends the stream when the request's credentials no longer hold (see `SSE_REAUTHENTICATE_MS`). */
  const reauthenticate = async () => {
    // Streams on routes no guard covers (none in the app; some tests) have nothing to check.
    if (typeof request.stillAuthenticated !== 'function' || Date.now() - checkedAt < SSE_REAUTHENTICATE_MS) return;
    checkedAt = Date.now();
    if (!(await request.stillAuthenticated())) controller.abort();
  };
  const idle = async () => {
    if (changed) return;
    const woken = new Promise<void>((resolve) => (wakeUp = resolve));
    const wait = Math.min(options.idleMs ?? 250, SSE_REAUTHENTICATE_MS);
    await Promise.race([woken, sleep(wait, undefined, { signal: controller.signal }).catch(() => undefined)]);
    wakeUp = undefined;
  };
  try {
    while (!gone()) {
      await reauthenticate();
      if (gone()) break;
      changed = false;
      const items = await options.read(position);
      for (const item of items) {
        if (gone()) break;
        await reply.sse.send({ id: String(item.position), event: item.event, data: item.data });
        position = item.position;
      }
      if (items.length === 0) await idle();
    }
  } catch (error) {
    // A client that went away (or a server closing) mid-send or mid-read ends the stream quietly.
    if (!gone()) throw error;
  } finally {
    unregister?.();
    open?.delete(controller);
    // Ended here (a ban, the server closing): the response ends too, even if the SSE context
    // no longer counts itself connected.
    if (!reply.raw.writableEnded) reply.raw.end();
  }
}
