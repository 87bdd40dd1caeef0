/**
 * `GET /v1/me/stream`: a customer's changes as Server-Sent Events. Each change is read from the
 * `stream` table (so what is sent is what was committed), sent with its `position` as the SSE `id`;
 * a client that reconnects with `Last-Event-ID` (or `?lastEventId=`) gets exactly what came after.
 * Without one the stream starts at the present, announced by an `event: ready` carrying the
 * position, after which the page loads its lists. A comment line every 15 s keeps proxies from
 * closing an idle stream.
 *
 * Written by hand over the raw response (a few lines of the SSE format): the platform's HTTP layer
 * has no SSE support yet; this is the piece to move there.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Signals } from './live.ts';
import type { HubDb } from './store.ts';

const HEARTBEAT_MS = 15_000;
const PAGE = 500;

export interface OpenStreams {
  /** Serves one customer's stream on `reply` until the client leaves or `closeAll`. */
  serve(request: FastifyRequest, reply: FastifyReply, userId: string, after: number | undefined): Promise<void>;
  /** Number of open streams. */
  readonly size: number;
  /** Ends every open stream (the server is closing). */
  closeAll(): void;
  /** Ends the open streams of one customer (banned). */
  closeCustomer(userId: string): void;
}

export function openStreams(db: HubDb, signals: Signals, logger: Logger): OpenStreams {
  const open = new Map<() => void, string>();
  return {
    get size() {
      return open.size;
    },
    closeAll() {
      for (const end of [...open.keys()]) end();
    },
    closeCustomer(userId) {
      for (const [end, owner] of [...open]) if (owner === userId) end();
    },
    async serve(request, reply, userId, after) {
      let position: number;
      if (after === undefined) {
        const head = await db.selectFrom('stream').select((eb) => eb.fn.max('position').as('head')).where('user_id', '=', userId).executeTakeFirst();
        position = Number(head?.head ?? 0);
      } else {
        position = after;
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ position })}\n\n`);

      let reading = false;
      let pending = false;
      let closed = false;
      const drain = async () => {
        if (reading) {
          pending = true;
          return;
        }
        reading = true;
        try {
          do {
            pending = false;
            for (;;) {
              const rows = await db
                .selectFrom('stream')
                .select(['position', 'kind', 'payload'])
                .where('user_id', '=', userId)
                .where('position', '>', position)
                .orderBy('position')
                .limit(PAGE)
                .execute();
              if (closed) return;
              for (const row of rows) {
                res.write(`id: ${row.position}\nevent: ${row.kind}\ndata: ${row.payload}\n\n`);
                position = Number(row.position);
              }
              if (rows.length < PAGE) break;
            }
          } while (pending && !closed);
        } catch (error) {
          if (!closed) logger.error({ err: error, userId }, 'stream read failed');
        } finally {
          reading = false;
        }
      };
      const unlisten = signals.listen(userId, () => void drain());
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      const end = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unlisten();
        open.delete(end);
        res.end();
      };
      open.set(end, userId);
      request.raw.on('close', end);
      res.on('error', end);
      await drain();
    },
  };
}
