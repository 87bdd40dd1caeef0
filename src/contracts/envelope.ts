/**
 * The CloudEvents 1.0 envelope (structured JSON) with Flamingo's extensions, see DESIGN.md "Events".
 */

/** An event as it travels on the bus once stored: every field the engine assigns is present. */
export interface CloudEvent<T extends string = string, D = unknown> {
  specversion: '1.0';
  /** UUIDv7, unique per event; publishing the same id twice stores it once. */
  id: string;
  /** Who produced it, a URI reference such as `/services/orders` or `/collector`. */
  source: string;
  type: T;
  /** What the event is about, `<noun>/<key>` (e.g. `order/0190…`); derived from the catalog key. */
  subject?: string;
  /** When it happened (the seed's `event_time`), RFC 3339. */
  time: string;
  datacontenttype: 'application/json';
  /** `flamingo:<type>/v<version>`; changes when the schema changes incompatibly. */
  dataschema?: string;
  data: D;
  /** Log position, assigned by the engine; strictly increasing within one log. */
  sequence: number;
  /** When the bus stored it (the seed's `stamp`), RFC 3339. */
  recordedtime: string;
  /** The ordering key: events with the same key reach a subscription in log order. */
  partitionkey?: string;
  traceparent?: string;
  tracestate?: string;
  correlationid?: string;
  causationid?: string;
}

/** An event before the engine stored it: no sequence and no recorded time yet. */
export type UnstoredEvent<T extends string = string, D = unknown> = Omit<CloudEvent<T, D>, 'sequence' | 'recordedtime'>;

/** The envelope attributes a producer may set; everything but `type` and `data` has a default. */
export const ENVELOPE_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'sequence',
  'recordedtime',
  'partitionkey',
  'traceparent',
  'tracestate',
  'correlationid',
  'causationid',
] as const;
