/**
 * The customer hub's HTTP API, `/v1/me/*`: the signed-in customer's orders with their timelines,
 * the notification inbox with its unread count, and the live stream. A customer sees their own
 * data only; another customer's order is 404 (its existence is not revealed).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { signedInCustomer } from '../../platform/auth/index.ts';
import { badRequest, notFound } from '../../platform/errors.ts';
import { errors } from '../../platform/http-schemas.ts';
import { streamFeed } from '../../platform/sse.ts';
import type { Feeds } from './feed.ts';
import { appendStream, lockCustomer, type Signals } from './live.ts';
import { orderOf, notificationOf, timelineOf, unreadCount, type HubDb } from './store.ts';

export interface HubRouteDeps {
  readonly db: HubDb;
  readonly signals: Signals;
  readonly feeds: Feeds;
}

const OrderSchema = Type.Object({
  id: Type.String(),
  status: Type.String({ description: 'placed, paid, confirmed, dispatched, delivered, completed or cancelled' }),
  totalCents: Type.Integer(),
  currency: Type.String(),
  itemCount: Type.Integer(),
  placedAt: Type.String(),
  updatedAt: Type.String(),
});
const EntrySchema = Type.Object({
  eventId: Type.String(),
  type: Type.String({ description: 'the event type, e.g. payment.succeeded' }),
  sentence: Type.String(),
  time: Type.String(),
});
const NotificationSchema = Type.Object({
  id: Type.String(),
  category: Type.String(),
  urgency: Type.String(),
  title: Type.String(),
  body: Type.String(),
  link: Type.String(),
  orderId: Type.Optional(Type.String()),
  sourceType: Type.String(),
  createdAt: Type.String(),
  read: Type.Boolean(),
  readAt: Type.Optional(Type.String()),
});
const Page = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: '(Default: 20)' })),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the `next` of the previous page' })),
};

/** Cursors are opaque to clients: base64url of the sort key of the last item. */
const cursorOf = (...parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
function parseCursor(cursor: string): [string, string | number] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === 2 && typeof parts[0] === 'string' && (typeof parts[1] === 'string' || typeof parts[1] === 'number')) {
      return [parts[0], parts[1]];
    }
  } catch {
    // answered below
  }
  throw badRequest('invalid_request', 'after is not a cursor this API gave', [{ path: '/query/after', message: 'must be the `next` of a previous page' }]);
}

export function registerHubRoutes(http: FastifyInstance, deps: HubRouteDeps): void {
  const { db, signals } = deps;
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['customer hub'];
  const customer = { config: { auth: 'customer' as const } };

  app.get(
    '/v1/me/orders',
    {
      ...customer,
      schema: {
        tags,
        summary: "The signed-in customer's orders, newest first, with current status and totals",
        querystring: Type.Object(Page),
        response: { 200: Type.Object({ orders: Type.Array(OrderSchema), next: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (request) => {
      const userId = signedInCustomer(request.principal);
      const limit = request.query.limit ?? 20;
      let query = db.selectFrom('orders').selectAll().where('user_id', '=', userId).orderBy('placed_at', 'desc').orderBy('id', 'desc').limit(limit + 1);
      if (request.query.after) {
        const [placedAt, id] = parseCursor(request.query.after);
        query = query.where((eb) => eb.or([eb('placed_at', '<', placedAt), eb.and([eb('placed_at', '=', placedAt), eb('id', '<', String(id))])]));
      }
      const rows = await query.execute();
      const orders = rows.slice(0, limit).map(orderOf);
      const last = orders.at(-1);
      return { orders, next: rows.length > limit && last ? cursorOf(last.placedAt, last.id) : null };
    },
  );

  app.get(
    '/v1/me/orders/:orderId',
    {
      ...customer,
      schema: {
        tags,
        summary: 'One of the customer\'s orders with its full timeline (by time, then log order); another customer\'s order is 404',
        params: Type.Object({ orderId: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: Type.Object({ ...OrderSchema.properties, timeline: Type.Array(EntrySchema) }), ...errors(404) },
      },
    },
    async (request) => {
      const userId = signedInCustomer(request.principal);
      const row = await db.selectFrom('orders').selectAll().where('id', '=', request.params.orderId).where('user_id', '=', userId).executeTakeFirst();
      if (!row) throw notFound(`no order ${request.params.orderId}`);
      return { ...orderOf(row), timeline: await timelineOf(db, row.id) };
    },
  );

  app.get(
    '/v1/me/notifications',
    {
      ...customer,
      schema: {
        tags,
        summary: "The customer's notifications, newest first, and how many are unread",
        querystring: Type.Object({ ...Page, unread: Type.Optional(Type.Boolean({ description: 'only unread ones' })) }),
        response: {
          200: Type.Object({ notifications: Type.Array(NotificationSchema), unreadCount: Type.Integer(), next: Type.Union([Type.String(), Type.Null()]) }),
        },
      },
    },
    async (request) => {
      const userId = signedInCustomer(request.principal);
      const limit = request.query.limit ?? 20;
      return db.transaction().execute(async (trx) => {
        let query = trx.selectFrom('notifications').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('sequence', 'desc').limit(limit + 1);
        if (request.query.unread) query = query.where('read_at', 'is', null);
        if (request.query.after) {
          const [createdAt, sequence] = parseCursor(request.query.after);
          query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('sequence', '<', Number(sequence))])]));
        }
        const rows = await query.execute();
        const last = rows.slice(0, limit).at(-1);
        return {
          notifications: rows.slice(0, limit).map(notificationOf),
          unreadCount: await unreadCount(trx, userId),
          next: rows.length > limit && last ? cursorOf(last.created_at, Number(last.sequence)) : null,
        };
      });
    },
  );

  /** Marks notifications read; the new count is computed and streamed in the same transaction. */
  const markRead = async (userId: string, id: string | undefined) => {
    const now = new Date().toISOString();
    const result = await db.transaction().execute(async (trx) => {
      await lockCustomer(trx, userId);
      let unread = trx.selectFrom('notifications').select('id').where('user_id', '=', userId).where('read_at', 'is', null);
      if (id !== undefined) unread = unread.where('id', '=', id);
      const ids = (await unread.execute()).map((r) => r.id);
      if (id !== undefined && ids.length === 0) {
        const exists = await trx.selectFrom('notifications').select('id').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
        if (!exists) throw notFound(`no notification ${id}`);
      }
      if (ids.length > 0) await trx.updateTable('notifications').set({ read_at: now }).where('user_id', '=', userId).where('id', 'in', ids).execute();
      const count = await unreadCount(trx, userId);
      if (ids.length > 0) await appendStream(trx, { userId, kind: 'read', payload: { ids, readAt: now, unreadCount: count } });
      return { read: ids.length, unreadCount: count };
    });
    if (result.read > 0) signals.notify([userId]);
    return result;
  };
  const ReadAnswer = Type.Object({ read: Type.Integer({ description: 'notifications newly marked read' }), unreadCount: Type.Integer() });

  app.post(
    '/v1/me/notifications/:id/read',
    {
      ...customer,
      schema: {
        tags,
        summary: 'Marks one notification read (again is harmless); answers the new unread count',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: ReadAnswer, ...errors(404) },
      },
    },
    async (request) => markRead(signedInCustomer(request.principal), request.params.id),
  );

  app.post(
    '/v1/me/notifications/read-all',
    { ...customer, schema: { tags, summary: 'Marks every notification read; answers the new unread count (0)', response: { 200: ReadAnswer } } },
    async (request) => markRead(signedInCustomer(request.principal), undefined),
  );

  app.get(
    '/v1/me/stream',
    {
      // A bearer token, or the browser session cookie (POST /v1/auth/session) for EventSource.
      ...customer,
      sse: 'only',
      schema: {
        tags,
        summary: "The customer's changes, live (Server-Sent Events, resumable with Last-Event-ID)",
        description:
          'Events `timeline` ({orderId, entry, order}), `notification` ({notification, unreadCount}) and `read` ({ids, readAt, unreadCount}); ' +
          '`id` is a monotonic position: a client reconnecting with Last-Event-ID gets exactly what came after. Without it the stream starts now.',
        response: { ...errors(400, 401, 403, 406) },
      },
    },
    async (request, reply) => {
      const userId = signedInCustomer(request.principal);
      await streamFeed(http, request, reply, await deps.feeds.of(userId));
    },
  );

  app.get('/account', { config: { auth: 'public' as const }, schema: { hide: true } }, async (_request, reply) => reply.redirect('/web/account/'));
}
