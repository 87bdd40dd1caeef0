import { setTimeout as sleep } from 'node:timers/promises';
import { readTime, redactEvent, timeMs, TIME_RULE, type CloudEvent } from '../../contracts/index.ts';
import { createClient, type ClientOptions } from './client.ts';
import { UsageError } from './output.ts';

export interface TailOptions extends ClientOptions {
  /** Types or patterns, comma-separated. */
  readonly type?: string;
  /** `now` (default), `beginning`, a sequence, or an RFC 3339 time. */
  readonly from?: string;
  /** Full events as JSON lines instead of one summary line each. */
  readonly json?: boolean;
  /** Poll interval in ms. (Default: 500) */
  readonly interval?: string;
  /** Stop after this many events. (Default: follow forever) */
  readonly count?: string;
}

interface Page {
  events: CloudEvent[];
  next: number | null;
  head: number;
}

/** `flamingo tail`: prints events as they are stored (polls `GET /v1/events`), until interrupted. */
export async function runTail(options: TailOptions, signal?: AbortSignal): Promise<void> {
  const client = createClient(options);
  const interval = Number(options.interval ?? 500);
  const limitCount = options.count === undefined ? Infinity : Number(options.count);
  if (!Number.isFinite(interval) || interval < 10) throw new UsageError('--interval must be a number of milliseconds >= 10');
  if (limitCount !== Infinity && !(Number.isInteger(limitCount) && limitCount > 0)) throw new UsageError('--count must be a whole number > 0');

  const base = new URLSearchParams({ limit: '500' });
  if (options.type) base.set('type', options.type);
  const from = options.from ?? 'now';
  let after = 0;
  let since: string | undefined;
  if (from === 'now') after = (await client.request<Page>('GET', `/v1/events?limit=1`)).head;
  else if (from === 'beginning') after = 0;
  else if (/^\d+$/.test(from)) after = Math.max(0, Number(from) - 1);
  else if (readTime(from, { form: 'utc' }) !== undefined) since = new Date(timeMs(from, { form: 'utc' })).toISOString();
  else throw new UsageError(`--from must be now, beginning, a sequence number or a time; a time ${TIME_RULE.utc}`);

  let printed = 0;
  while (!signal?.aborted) {
    const query = new URLSearchParams(base);
    query.set('afterSequence', String(after));
    if (since) query.set('since', since);
    const page = await client.request<Page>('GET', `/v1/events?${query}`);
    for (const event of page.events) {
      console.log(
        options.json
          ? // The server masks secrets already; masking again keeps an older server's answer off the terminal too.
            JSON.stringify(redactEvent(event))
          : [event.sequence, event.recordedtime, event.type, event.subject ?? '-', event.id].join('  '),
      );
      after = event.sequence;
      if (++printed >= limitCount) return;
    }
    // A page that is not full saw every match up to `head` (read before the page), so the next
    // poll can start there instead of scanning again what the filter excludes.
    if (page.next === null) after = Math.max(after, page.head);
    if (page.events.length === 0) await sleep(interval, undefined, { signal }).catch(() => undefined);
  }
}
