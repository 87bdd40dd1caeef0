/**
 * Scale-out: two `flamingo start` processes on one log — a NATS JetStream stream, or Redis Streams —
 * and one PostgreSQL database share the work. Producers post to both; the audit projection (a key-ordered `handleOnce`
 * subscription whose inbox and effects are in PostgreSQL) runs in both and each process applies
 * part of the events (competing consumers); either answers the same position and lag for it. Then
 * one is killed with SIGKILL under load: the survivor takes over its partitions, and every event a
 * process acknowledged is stored once and applied exactly once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../src/engines/nats/naming.ts';
import { adminApi, keysOutOfOrder, labelled, query, recordApplyOrder, shared, showOutputOnFailure, startFlamingoProcess, startLoad, useScaleOutRun, waitFor, type AdminApi, type Load, type SubscriptionView } from './support/scale-out.ts';
import { REDIS_SCALE_OUT, SCALE_OUT } from './support/stacks.ts';

const ADMIN_KEY = 'scale-out-admin-key-0123456789';
/** The engine's default partition count (a new stream). */
const PARTITIONS = 16;

interface Applied {
  event_id: string;
  sequence: string;
  subject: string;
  applications: number;
  handled_by: string;
}

/** The audit subscription as `api` reports it once it has handled everything up to `head`. */
const caughtUp = (api: AdminApi, head: number) => async (): Promise<SubscriptionView | undefined> => {
  const audit = await api.subscription('audit');
  return audit && audit.lag === 0 && audit.inFlight === 0 && audit.retrying === 0 && audit.position >= head ? audit : undefined;
};

describe.each([SCALE_OUT, REDIS_SCALE_OUT])('scale-out on $name', (stack) => {
  const scaleOut = useScaleOutRun(stack);
  const { processes } = scaleOut;
  let load: Load | undefined;

  scaleOut.onCleanup(async () => load?.stop());

  it('two processes split the audit subscription; the survivor of a SIGKILL applies every accepted event exactly once', { timeout: 150_000 }, async () => {
    showOutputOnFailure(processes);
    const databaseUrl = scaleOut.run.databaseUrl!;
    const env = (name: string) => ({
      ...scaleOut.run.env,
      DATABASE_URL: labelled(databaseUrl, name),
      FLAMINGO_ADMIN_KEY: ADMIN_KEY,
      FLAMINGO_AUDIT_PROJECTION: '1',
      FLAMINGO_SERVICES: 'none',
      LOG_LEVEL: 'warn',
    });
    const started = Date.now();
    const [a, b] = await Promise.all(['flamingo-a', 'flamingo-b'].map((name) => startFlamingoProcess(name, ['start'], env(name))));
    processes.push(a, b);
    const startUpMs = Date.now() - started;
    const apiA = adminApi(a.url, ADMIN_KEY);
    const apiB = adminApi(b.url, ADMIN_KEY);
    // Which process applied an event: the audit row takes its writer's application_name.
    await query(databaseUrl, `ALTER TABLE audit.audit_events ADD COLUMN handled_by text DEFAULT current_setting('application_name')`);
    await recordApplyOrder(databaseUrl);
    const applied = () => query<Applied>(databaseUrl, 'SELECT event_id, sequence, subject, applications, handled_by FROM audit.audit_events');

    // ── Both processes take events and handle them ─────────────────────────────────────────────
    // 64 keys: a key's events must be applied in log order, also across the takeover.
    load = startLoad([a.url, b.url], await apiA.producerKey(), 4, { keys: 64 });
    // At least 300 events, and until both processes apply some (partitions are shared out a few seconds after start).
    const appliers = async () => (await query<{ handled_by: string }>(databaseUrl, 'SELECT DISTINCT handled_by FROM audit.audit_events')).length;
    await waitFor(async () => (load!.acknowledged.size >= 300 && (await appliers()) === 2 ? true : undefined), () => `300 acknowledged events (${load!.acknowledged.size}) applied by both processes`, 30_000);
    // Under load, either process answers for the subscription as a whole: its consumers in both processes.
    const [duringA, duringB] = await Promise.all([apiA.subscription('audit'), apiB.subscription('audit')]);
    expect(duringA).toMatchObject({ name: 'audit', consumers: 2, scheduled: 0 });
    expect(duringB).toMatchObject({ name: 'audit', consumers: 2, scheduled: 0 });
    await load.pause();

    let log = await apiA.log();
    const head = log[log.length - 1].sequence;
    const settledA = await waitFor(caughtUp(apiA, head), () => `audit to catch up on ${a.name}`, 30_000);
    const settledB = await waitFor(caughtUp(apiB, head), () => `audit to catch up on ${b.name}`, 30_000);
    expect(shared(settledB)).toEqual(shared(settledA));
    expect(settledA).toMatchObject({ lag: 0, deadLetters: 0, position: head });
    const beforeKill = await applied();
    const byProcess = (rows: Applied[], name: string) => rows.filter((r) => r.handled_by === name);
    // Competing consumers: each process applied a share, none an event twice.
    expect(byProcess(beforeKill, a.name).length).toBeGreaterThan(0);
    expect(byProcess(beforeKill, b.name).length).toBeGreaterThan(0);
    expect(beforeKill.length).toBe(log.length);
    const partitionsOf = (rows: Applied[]) => new Set(rows.map((r) => partitionOf(r.subject.slice('order/'.length), PARTITIONS)));
    const partitionsOfB = partitionsOf(byProcess(beforeKill, b.name));

    // ── SIGKILL one under load ──────────────────────────────────────────────────────────────────
    load.resume();
    await sleep(1_500);
    b.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await b.exited).toBe('SIGKILL');
    const headAtKill = (await apiA.log()).at(-1)!.sequence;
    await sleep(2_000);
    await load.stop();
    const acknowledged = load.acknowledged;

    log = await apiA.log();
    const lastSequence = log[log.length - 1].sequence;
    const final = await waitFor(caughtUp(apiA, lastSequence), () => `the survivor to handle every event up to ${lastSequence}`, 90_000, 250);
    const takeoverMs = Date.now() - killedAt;
    // The killed process's consumer drops out with its lease.
    expect(final).toMatchObject({ lag: 0, deadLetters: 0, consumers: 1 });

    // Every acknowledged event stored once, and every stored event applied exactly once.
    const count = new Map<string, number>();
    for (const e of log) count.set(e.id, (count.get(e.id) ?? 0) + 1);
    expect([...count.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...acknowledged].filter((id) => count.get(id) !== 1)).toEqual([]);
    const rows = await applied();
    expect(rows.filter((r) => r.applications !== 1)).toEqual([]);
    expect(rows.map((r) => r.event_id).sort()).toEqual(log.map((e) => e.id).sort());
    const inbox = await query<{ n: string }>(databaseUrl, `SELECT count(*) AS n FROM audit.flamingo_inbox WHERE subscription = 'audit'`);
    expect(Number(inbox[0].n)).toBe(log.length);

    expect(await keysOutOfOrder(databaseUrl)).toEqual([]);

    // The survivor took over the killed process's partitions.
    const afterKillByA = byProcess(rows, a.name).filter((r) => Number(r.sequence) > headAtKill);
    const takenOver = [...partitionsOf(afterKillByA)].filter((p) => partitionsOfB.has(p));
    expect(takenOver.length).toBeGreaterThan(0);

    const redelivered = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM audit.audit_deliveries WHERE deliveries > 1');
    console.log(
      `scale-out: start-up of two processes ${startUpMs} ms; ${log.length} events stored, ${acknowledged.size} acknowledged ` +
        `(${load.failovers} requests failed over after the kill); before the kill ${byProcess(beforeKill, a.name).length} applied by ${a.name}, ` +
        `${byProcess(beforeKill, b.name).length} by ${b.name} (partitions ${[...partitionsOfB].sort((x, y) => x - y).join(',')}); ` +
        `${afterKillByA.length} applied by the survivor after the kill, ${takenOver.length} of the killed process's partitions taken over; ` +
        `all handled ${takeoverMs} ms after the kill; ${redelivered[0].n} events delivered more than once`,
    );
  });
});
