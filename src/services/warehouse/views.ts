/**
 * The warehouse's SQL beside the wide `events` table: one flattened view per event type, generated
 * from the catalog's schemas, and the models the data team asked for (seed 002's analytics
 * consumers). Both are views over `events`, so they are never stale: a late event (an older `time`)
 * or a rebuild is accounted for by the next query, and exactly one row per event (`source` + `id`) in `events`
 * means nothing is counted twice. DuckDB and PostgreSQL read the same SQL except where a type or
 * JSON function is spelled differently (`SqlDialect`).
 */
import type { TSchema } from '@sinclair/typebox';
import { catalog, declareReads } from '../../contracts/index.ts';

export type WarehouseDialect = 'duckdb' | 'postgres';

interface SqlDialect {
  readonly json: string;
  readonly text: string;
  readonly bigint: string;
  readonly double: string;
  readonly boolean: string;
  readonly timestamp: string;
  /** Elements of a JSON array. */
  arrayLength(expression: string): string;
}

const DIALECTS: Record<WarehouseDialect, SqlDialect> = {
  duckdb: {
    json: 'JSON',
    text: 'VARCHAR',
    bigint: 'BIGINT',
    double: 'DOUBLE',
    boolean: 'BOOLEAN',
    timestamp: 'TIMESTAMPTZ',
    arrayLength: (e) => `json_array_length(${e})`,
  },
  postgres: {
    json: 'jsonb',
    text: 'text',
    bigint: 'bigint',
    double: 'double precision',
    boolean: 'boolean',
    timestamp: 'timestamptz',
    arrayLength: (e) => `jsonb_array_length(${e})`,
  },
};

/** The `events` table's column definitions (`source` + `id` is made the primary key separately). */
export function eventsColumnsSql(dialect: WarehouseDialect): string {
  const d = DIALECTS[dialect];
  return [
    `id ${d.text} NOT NULL`,
    `type ${d.text} NOT NULL`,
    `version INTEGER NOT NULL`,
    `source ${d.text} NOT NULL`,
    `subject ${d.text}`,
    `key ${d.text}`,
    `producer ${d.text}`,
    `time ${d.timestamp} NOT NULL`,
    `recorded_time ${d.timestamp} NOT NULL`,
    `sequence ${d.bigint} NOT NULL`,
    `correlation_id ${d.text}`,
    `causation_id ${d.text}`,
    `data ${d.json} NOT NULL`,
  ].join(', ');
}

/** `totalCents` → `total_cents`. */
export const snakeCase = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** The view of an event type: `order.placed` → `order_placed`. */
export const viewNameOf = (type: string) => type.replace(/\./g, '_');

const quoteText = (value: string) => `'${value.replaceAll("'", "''")}'`;
const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The SQL expression reading field `name` of `data`, typed from its schema. */
function columnExpression(name: string, schema: TSchema, d: SqlDialect): string {
  const text = `data->>${quoteText(name)}`;
  const type = (schema as { type?: unknown }).type;
  if (type === 'integer') return `CAST(${text} AS ${d.bigint})`;
  if (type === 'number') return `CAST(${text} AS ${d.double})`;
  if (type === 'boolean') return `CAST(${text} AS ${d.boolean})`;
  if (type === 'string') return (schema as { format?: unknown }).format === 'date-time' ? `CAST(${text} AS ${d.timestamp})` : text;
  const anyOf = (schema as { anyOf?: readonly { type?: unknown }[] }).anyOf;
  if (anyOf && anyOf.every((s) => s.type === 'string')) return text;
  // Objects, arrays and mixed unions stay JSON.
  return `data->${quoteText(name)}`;
}

/** Every event type's flattened view: envelope columns, then one column per field of `data`. */
export function typeViews(dialect: WarehouseDialect): { name: string; sql: string }[] {
  const d = DIALECTS[dialect];
  return catalog.map((definition) => {
    const properties = (definition.schema as { properties?: Record<string, TSchema> }).properties ?? {};
    const columns = Object.entries(properties).map(([field, schema]) => `${columnExpression(field, schema, d)} AS ${quoteIdent(snakeCase(field))}`);
    const name = viewNameOf(definition.type);
    const select = ['id AS event_id', 'time', 'recorded_time', 'sequence', 'version', 'subject', ...columns].join(', ');
    return { name, sql: `CREATE VIEW ${name} AS SELECT ${select} FROM events WHERE type = ${quoteText(definition.type)}` };
  });
}

/**
 * The fields of `data` the modelled views read (issue 14): a catalog change that removes or
 * retypes one of them fails `flamingo catalog check` naming the warehouse. (The per-type views
 * follow the schema and read whatever it has.)
 */
export const modelReads = declareReads('warehouse', {
  'order.placed': ['orderId', 'userId', 'items', 'totalCents', 'currency'],
  'order.confirmed': ['orderId', 'userId'],
  'order.cancelled': ['orderId', 'userId', 'reason'],
  'order.completed': ['orderId', 'userId'],
  'stock.reserved': ['orderId'],
  'payment.succeeded': ['orderId', 'amountCents', 'currency'],
  'payment.refunded': ['orderId', 'amountCents', 'currency'],
  'shipment.dispatched': ['orderId'],
  'shipment.delivered': ['orderId'],
  'user.registered': [],
  'product.reviewed': ['reviewId', 'productId', 'rating'],
  'review.flagged': ['reviewId'],
  'stock.low': ['productId', 'sku', 'name', 'onHand', 'threshold'],
});

/** The modelled views (README "Warehouse"). Days are UTC days (the connections run in UTC). */
export function modelViews(dialect: WarehouseDialect): { name: string; sql: string }[] {
  const d = DIALECTS[dialect];
  const cents = (field: string) => `CAST(data->>'${field}' AS ${d.bigint})`;
  return [
    {
      name: 'orders',
      sql: `CREATE VIEW orders AS
WITH ev AS (
  SELECT type, time, data, data->>'orderId' AS order_id FROM events
  WHERE type IN ('order.placed', 'order.confirmed', 'order.cancelled', 'order.completed', 'stock.reserved',
                 'payment.succeeded', 'payment.refunded', 'shipment.dispatched', 'shipment.delivered')
),
placed AS (
  SELECT DISTINCT ON (order_id) order_id, data->>'userId' AS customer_id, data->'items' AS items,
    ${d.arrayLength("data->'items'")} AS item_count, ${cents('totalCents')} AS total_cents, data->>'currency' AS currency, time AS placed_at
  FROM ev WHERE type = 'order.placed' ORDER BY order_id, time
),
life AS (
  SELECT order_id,
    min(data->>'userId') FILTER (WHERE type LIKE 'order.%') AS customer_id,
    min(time) FILTER (WHERE type LIKE 'order.%') AS first_seen_at,
    min(time) FILTER (WHERE type = 'stock.reserved') AS stock_reserved_at,
    min(time) FILTER (WHERE type = 'payment.succeeded') AS paid_at,
    min(time) FILTER (WHERE type = 'order.confirmed') AS confirmed_at,
    min(time) FILTER (WHERE type = 'shipment.dispatched') AS shipped_at,
    max(time) FILTER (WHERE type = 'shipment.delivered') AS delivered_at,
    min(time) FILTER (WHERE type = 'order.completed') AS completed_at,
    min(time) FILTER (WHERE type = 'order.cancelled') AS cancelled_at,
    min(data->>'reason') FILTER (WHERE type = 'order.cancelled') AS cancellation_reason,
    CAST(coalesce(sum(${cents('amountCents')}) FILTER (WHERE type = 'payment.refunded'), 0) AS ${d.bigint}) AS refunded_cents,
    count(*) FILTER (WHERE type LIKE 'order.%') AS order_events
  FROM ev GROUP BY order_id
)
SELECT l.order_id, coalesce(p.customer_id, l.customer_id) AS customer_id, p.items, p.item_count, p.total_cents, p.currency,
  coalesce(p.placed_at, l.first_seen_at) AS placed_at, l.paid_at, l.confirmed_at, l.shipped_at,
  CASE WHEN l.completed_at IS NOT NULL THEN l.delivered_at END AS delivered_at, l.completed_at, l.cancelled_at,
  CASE
    WHEN l.cancelled_at IS NOT NULL THEN 'cancelled'
    WHEN l.completed_at IS NOT NULL THEN 'completed'
    WHEN l.shipped_at IS NOT NULL OR l.delivered_at IS NOT NULL THEN 'shipped'
    WHEN l.confirmed_at IS NOT NULL THEN 'confirmed'
    WHEN l.stock_reserved_at IS NOT NULL THEN 'stock_reserved'
    ELSE 'pending'
  END AS status,
  l.cancellation_reason, l.refunded_cents
FROM life l LEFT JOIN placed p ON p.order_id = l.order_id
WHERE l.order_events > 0`,
    },
    {
      name: 'daily_sales',
      sql: `CREATE VIEW daily_sales AS
WITH facts AS (
  SELECT CAST(time AS DATE) AS day, data->>'currency' AS currency,
    CASE WHEN type = 'order.placed' THEN 1 ELSE 0 END AS orders,
    CASE WHEN type = 'payment.succeeded' THEN ${cents('amountCents')} ELSE 0 END AS revenue,
    CASE WHEN type = 'payment.refunded' THEN ${cents('amountCents')} ELSE 0 END AS refunds
  FROM events WHERE type IN ('order.placed', 'payment.succeeded', 'payment.refunded')
)
SELECT day, currency, CAST(sum(orders) AS ${d.bigint}) AS orders, CAST(sum(revenue) AS ${d.bigint}) AS revenue_cents,
  CAST(sum(refunds) AS ${d.bigint}) AS refunds_cents, CAST(sum(revenue) - sum(refunds) AS ${d.bigint}) AS net_cents
FROM facts GROUP BY day, currency`,
    },
    {
      name: 'signups_daily',
      sql: `CREATE VIEW signups_daily AS
SELECT CAST(time AS DATE) AS day, count(*) AS signups FROM events WHERE type = 'user.registered' GROUP BY CAST(time AS DATE)`,
    },
    {
      name: 'product_ratings',
      sql: `CREATE VIEW product_ratings AS
WITH reviews AS (
  SELECT data->>'reviewId' AS review_id, data->>'productId' AS product_id, CAST(data->>'rating' AS ${d.double}) AS rating
  FROM events WHERE type = 'product.reviewed'
),
flagged AS (SELECT DISTINCT data->>'reviewId' AS review_id FROM events WHERE type = 'review.flagged')
SELECT product_id, count(*) AS ratings, avg(rating) AS average_rating
FROM reviews r WHERE NOT EXISTS (SELECT 1 FROM flagged f WHERE f.review_id = r.review_id)
GROUP BY product_id`,
    },
    {
      name: 'stock_alerts',
      sql: `CREATE VIEW stock_alerts AS
SELECT id AS event_id, time, data->>'productId' AS product_id, data->>'sku' AS sku, data->>'name' AS name,
  CAST(data->>'onHand' AS ${d.bigint}) AS on_hand, CAST(data->>'threshold' AS ${d.bigint}) AS threshold
FROM events WHERE type = 'stock.low'`,
    },
  ];
}

/** Every view, models first. */
export function allViews(dialect: WarehouseDialect): { name: string; sql: string }[] {
  return [...modelViews(dialect), ...typeViews(dialect)];
}
