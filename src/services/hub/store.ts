import type { Generated, Kysely, Selectable } from 'kysely';

/** Where an order stands for its customer; moves with the events of its saga. */
export type OrderStatus = 'placed' | 'paid' | 'confirmed' | 'dispatched' | 'delivered' | 'completed' | 'cancelled';

export interface OrdersTable {
  id: string;
  user_id: string;
  status: OrderStatus;
  total_cents: number;
  currency: string;
  item_count: number;
  /** When it was placed (`order.placed` time, ISO). */
  placed_at: string;
  updated_at: string;
}

export interface TimelineTable {
  event_id: string;
  order_id: string;
  user_id: string;
  type: string;
  sentence: string;
  /** The event's `time`, normalised to ISO UTC: entries are ordered by it, then by `sequence`. */
  time: string;
  /** The event's log position. */
  sequence: number;
}

export interface HubNotificationsTable {
  id: string;
  user_id: string;
  category: string;
  urgency: string;
  title: string;
  body: string;
  link: string;
  order_id: string | null;
  source_event_id: string;
  source_type: string;
  created_at: string;
  sequence: number;
  read_at: string | null;
}

/** What a change on the live stream is: a timeline entry, a new notification, read marks. */
export type StreamKind = 'timeline' | 'notification' | 'read';

export interface StreamTable {
  position: Generated<number>;
  user_id: string;
  kind: StreamKind;
  /** JSON: what the stream sends as the SSE `data`. */
  payload: string;
  created_at: string;
}

export interface HubDatabase {
  orders: OrdersTable;
  timeline: TimelineTable;
  notifications: HubNotificationsTable;
  stream: StreamTable;
}

export type HubDb = Kysely<HubDatabase>;
export type OrderRow = Selectable<OrdersTable>;
export type TimelineRow = Selectable<TimelineTable>;
export type NotificationRow = Selectable<HubNotificationsTable>;

/** An order as the API shows it. */
export interface OrderSummary {
  readonly id: string;
  readonly status: OrderStatus;
  readonly totalCents: number;
  readonly currency: string;
  readonly itemCount: number;
  readonly placedAt: string;
  readonly updatedAt: string;
}

export interface TimelineEntry {
  readonly eventId: string;
  readonly type: string;
  readonly sentence: string;
  readonly time: string;
}

export interface Notification {
  readonly id: string;
  readonly category: string;
  readonly urgency: string;
  readonly title: string;
  readonly body: string;
  readonly link: string;
  readonly orderId?: string;
  readonly sourceType: string;
  readonly createdAt: string;
  readonly read: boolean;
  readonly readAt?: string;
}

export const orderOf = (row: OrderRow): OrderSummary => ({
  id: row.id,
  status: row.status,
  totalCents: Number(row.total_cents),
  currency: row.currency,
  itemCount: row.item_count,
  placedAt: row.placed_at,
  updatedAt: row.updated_at,
});

export const entryOf = (row: Pick<TimelineRow, 'event_id' | 'type' | 'sentence' | 'time'>): TimelineEntry => ({
  eventId: row.event_id,
  type: row.type,
  sentence: row.sentence,
  time: row.time,
});

export const notificationOf = (row: NotificationRow): Notification => ({
  id: row.id,
  category: row.category,
  urgency: row.urgency,
  title: row.title,
  body: row.body,
  link: row.link,
  ...(row.order_id === null ? {} : { orderId: row.order_id }),
  sourceType: row.source_type,
  createdAt: row.created_at,
  read: row.read_at !== null,
  ...(row.read_at === null ? {} : { readAt: row.read_at }),
});

/** Unread notifications of a customer, counted in the caller's transaction. */
export async function unreadCount(db: HubDb, userId: string): Promise<number> {
  const row = await db.selectFrom('notifications').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).where('read_at', 'is', null).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The order's timeline: by time, then log order. */
export async function timelineOf(db: HubDb, orderId: string): Promise<TimelineEntry[]> {
  const rows = await db.selectFrom('timeline').select(['event_id', 'type', 'sentence', 'time']).where('order_id', '=', orderId).orderBy('time').orderBy('sequence').execute();
  return rows.map(entryOf);
}
