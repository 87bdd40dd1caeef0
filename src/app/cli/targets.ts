/** `flamingo targets …`: the delivery targets of a running Flamingo (admin key). */
import { readTime, TIME_RULE } from '../../contracts/index.ts';
import { createClient, type ClientOptions } from './client.ts';
import { UsageError, printTable } from './output.ts';

interface TargetView {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly types: readonly string[];
  readonly rateLimit: { limit: number; intervalMs: number; burst: number };
  readonly status: string;
  readonly circuit: { state: string };
  readonly limiter: { pausedUntil: string | null };
  readonly subscription: string;
}

export interface TargetsAddOptions extends ClientOptions {
  readonly types: string;
  readonly name?: string;
  /** `<limit>/<interval>`, e.g. `2/s`, `40/1000ms`, `120/min`. */
  readonly rate?: string;
  readonly burst?: string;
  readonly timeout?: string;
  readonly inFlight?: string;
  readonly ordering?: string;
  readonly binary?: boolean;
  readonly header?: readonly string[];
  readonly from?: string;
  readonly secret?: string;
  readonly json?: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, sec: 1_000, m: 60_000, min: 60_000, h: 3_600_000 };

/** `2/s` → `{ limit: 2, intervalMs: 1000 }`; `40/1500ms`, `120/min`. */
export function parseRate(rate: string): { limit: number; intervalMs: number } {
  const match = /^(\d+)\s*\/\s*(\d*)\s*(ms|s|sec|m|min|h)$/.exec(rate.trim());
  if (!match) throw new UsageError(`--rate: expected <requests>/<interval> such as 2/s, 40/1500ms or 120/min, got "${rate}"`);
  return { limit: Number(match[1]), intervalMs: (match[2] ? Number(match[2]) : 1) * UNITS[match[3]!]! };
}

function positionOf(from: string | undefined): unknown {
  if (from === undefined || from === 'now' || from === 'beginning') return from;
  if (/^\d+$/.test(from)) return { sequence: Number(from) };
  const time = readTime(from, { form: 'utc' });
  if (time !== undefined) return { time: new Date(Date.parse(time)).toISOString() };
  throw new UsageError(`--from: expected now, beginning, a sequence number or a time (a time ${TIME_RULE.utc}), got "${from}"`);
}

const integer = (option: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${option}: expected a whole number, got "${value}"`);
  return Number(value);
};

const row = (t: TargetView) => ({
  id: t.id,
  name: t.name,
  url: t.url,
  types: t.types,
  rate: `${t.rateLimit.limit}/${t.rateLimit.intervalMs}ms burst ${t.rateLimit.burst}`,
  status: t.status,
  circuit: t.circuit.state,
  pausedUntil: t.limiter.pausedUntil,
});
const COLUMNS = ['id', 'name', 'url', 'types', 'rate', 'status', 'circuit', 'pausedUntil'];

/** `flamingo targets add <url> --types …`: prints the target and its signing secret (shown once). */
export async function runTargetsAdd(url: string, options: TargetsAddOptions): Promise<void> {
  const headers: Record<string, string> = {};
  for (const header of options.header ?? []) {
    const at = header.indexOf(':');
    if (at <= 0) throw new UsageError(`--header: expected "Name: value", got "${header}"`);
    headers[header.slice(0, at).trim()] = header.slice(at + 1).trim();
  }
  const rate = options.rate === undefined ? undefined : parseRate(options.rate);
  const burst = integer('--burst', options.burst);
  const body = {
    url,
    types: options.types.split(',').map((t) => t.trim()).filter(Boolean),
    ...(options.name ? { name: options.name } : {}),
    ...(rate || burst !== undefined ? { rateLimit: { limit: rate?.limit ?? burst, ...(rate ? { intervalMs: rate.intervalMs } : {}), ...(burst !== undefined ? { burst } : {}) } } : {}),
    ...(options.timeout !== undefined ? { timeoutMs: integer('--timeout', options.timeout) } : {}),
    ...(options.inFlight !== undefined ? { maxInFlight: integer('--in-flight', options.inFlight) } : {}),
    ...(options.ordering ? { ordering: options.ordering } : {}),
    ...(options.binary ? { contentMode: 'binary' } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(options.from !== undefined ? { startAt: positionOf(options.from) } : {}),
    ...(options.secret ? { secret: options.secret } : {}),
  };
  const added = await createClient(options).request<TargetView & { secret: string }>('POST', '/v1/targets', { body });
  if (options.json) return console.log(JSON.stringify(added, null, 2));
  printTable([row(added)], COLUMNS);
  console.log(`signing secret (shown once): ${added.secret}`);
  console.log(`dead letters: flamingo dead-letters list ${added.subscription}`);
}

/** `flamingo targets list`. */
export async function runTargetsList(options: ClientOptions & { json?: boolean }): Promise<void> {
  const { targets } = await createClient(options).request<{ targets: TargetView[] }>('GET', '/v1/targets');
  if (options.json) return console.log(JSON.stringify(targets, null, 2));
  if (targets.length === 0) return console.log('no targets');
  printTable(targets.map(row), COLUMNS);
}

/** `flamingo targets show <id>`: the whole target as JSON (limiter, circuit, signing). */
export async function runTargetsShow(id: string, options: ClientOptions): Promise<void> {
  console.log(JSON.stringify(await createClient(options).request<TargetView>('GET', `/v1/targets/${encodeURIComponent(id)}`), null, 2));
}

/** `flamingo targets pause|resume <id>`. */
export async function runTargetsSetStatus(id: string, action: 'pause' | 'resume', options: ClientOptions): Promise<void> {
  const target = await createClient(options).request<TargetView>('POST', `/v1/targets/${encodeURIComponent(id)}/${action}`);
  console.log(`target ${target.id} is ${target.status}`);
}

/** `flamingo targets remove <id>`. */
export async function runTargetsRemove(id: string, options: ClientOptions): Promise<void> {
  await createClient(options).request('DELETE', `/v1/targets/${encodeURIComponent(id)}`);
  console.log(`target ${id} removed`);
}

/** `flamingo targets rotate-secret <id>`: prints the new secret (shown once). */
export async function runTargetsRotate(id: string, options: ClientOptions & { grace?: string }): Promise<void> {
  const grace = integer('--grace', options.grace);
  const rotated = await createClient(options).request<{ secret: string; previousExpiresAt: string }>(
    'POST',
    `/v1/targets/${encodeURIComponent(id)}/rotate-secret`,
    { body: grace === undefined ? {} : { graceSeconds: grace } },
  );
  console.log(`new signing secret (shown once): ${rotated.secret}`);
  console.log(`the previous secret signs too until ${rotated.previousExpiresAt}`);
}

interface AttemptView {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly status: number | null;
  readonly error: string | null;
  readonly outcome: string;
}

/** `flamingo targets attempts <id> [--event id] [--outcome o] [--since t] [--limit n]`. */
export async function runTargetsAttempts(
  id: string,
  options: ClientOptions & { event?: string; outcome?: string; since?: string; until?: string; limit?: string; json?: boolean },
): Promise<void> {
  const query = new URLSearchParams();
  if (options.event) query.set('eventId', options.event);
  if (options.outcome) query.set('outcome', options.outcome);
  if (options.since) query.set('since', options.since);
  if (options.until) query.set('until', options.until);
  query.set('limit', options.limit ?? '50');
  const { attempts } = await createClient(options).request<{ attempts: AttemptView[] }>('GET', `/v1/targets/${encodeURIComponent(id)}/attempts?${query}`);
  if (options.json) return console.log(JSON.stringify(attempts, null, 2));
  if (attempts.length === 0) return console.log('no attempts');
  printTable(
    attempts.map((a) => ({ ...a, durationMs: Math.round(a.durationMs) })),
    ['startedAt', 'eventId', 'eventType', 'attempt', 'status', 'durationMs', 'outcome', 'error'],
  );
}
