import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CloudEvent } from '../../contracts/index.ts';
import { matchesTypes, typeSelection, type ReadQuery } from '../../bus/kit/index.ts';
import { toCloudEvent } from './event-codec.ts';
import { typeFilter, type Naming } from './naming.ts';
import { scan, type ScanStart } from './scan.ts';

export interface ReadSettings {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly naming: Naming;
  /** The server takes several filter subjects on one consumer (2.10+). */
  readonly multipleFilters: boolean;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;

/**
 * Events in log order through an ephemeral consumer. Types become subject filters (one on 2.9,
 * several on 2.10+); `subject`, `until` and — on 2.9 with several types — the types themselves
 * are checked here, so such a read may scan more of the log than it returns.
 */
export async function readEvents(settings: ReadSettings, query: ReadQuery): Promise<CloudEvent[]> {
  const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
  const types = query.types && query.types.length > 0 ? [...new Set(query.types)] : ['*'];
  const filters = subjectFilters(settings, types);
  const since = query.since === undefined ? undefined : new Date(query.since);
  const until = query.until === undefined ? undefined : new Date(query.until).getTime();
  const afterSequence = query.afterSequence ?? 0;
  const start: ScanStart = afterSequence > 0 || since === undefined ? { sequence: afterSequence + 1 } : { time: since };
  const events: CloudEvent[] = [];
  for await (const delivery of scan(settings.nc, settings.jsm, settings.naming.stream, { filter: filters, start, chunk: Math.max(limit, 100) })) {
    if (until !== undefined && delivery.storedAtMs >= until) break;
    if (since !== undefined && delivery.storedAtMs < since.getTime()) continue;
    const event = toCloudEvent(delivery);
    if (!matchesTypes(types, event.type)) continue;
    if (query.subject !== undefined && event.subject !== query.subject) continue;
    events.push(event);
    if (events.length >= limit) break;
  }
  return events;
}

/**
 * The consumer filter subjects of type patterns within one partition (or all with `'*'`); the
 * server refuses overlapping filters, so patterns covered by others are dropped. On a server
 * without multiple filters, several patterns become the whole partition (checked in process).
 */
export function subjectFilters(settings: { naming: Naming; multipleFilters: boolean }, types: readonly string[], partition: number | '*' = '*'): string[] {
  const selection = typeSelection(types);
  if (selection.all) return [typeFilter(settings.naming, partition, '*')];
  const prefixes = selection.prefixes.filter((prefix) => !selection.prefixes.some((other) => other !== prefix && prefix.startsWith(other)));
  const exact = selection.exact.filter((type) => !prefixes.some((prefix) => type.startsWith(prefix)));
  const filters = [...prefixes.map((prefix) => typeFilter(settings.naming, partition, `${prefix}*`)), ...exact.map((type) => typeFilter(settings.naming, partition, type))];
  return filters.length === 1 || settings.multipleFilters ? filters : [typeFilter(settings.naming, partition, '*')];
}
