/**
 * Replay with several processes: the audit subscription runs in two processes on NATS + PostgreSQL,
 * and a rewind asked of one of them moves the subscription for both. Every event is delivered
 * again (the processes keep pulling from the recreated consumers), the inbox keeps every effect
 * single, and events published afterwards are handled as before.
 */
import { expect, it } from 'vitest';
import { adminApi, labelled, query, shared, showOutputOnFailure, startFlamingoProcess, startLoad, useScaleOutRun, waitFor, type AdminApi } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-rewind-admin-key-0123456789';

const scaleOut = useScaleOutRun();
const { processes } = scaleOut;
/** A key of producer orders, whose order.placed the loads publish (issue 7). */
let ordersKey: string;


/** Posts `count` events spread over the processes and resolves once all are acknowledged. */
async function publish(targets: readonly string[], count: number): Promise<void> {
  const load = startLoad(targets, ordersKey, 2);
  await waitFor(async () => (load.acknowledged.size >= count ? true : undefined), () => `${count} events acknowledged`, 30_000, 20);
  await load.stop();
}

it('a rewind asked of one process replays the subscription in both; effects stay single', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const databaseUrl = scaleOut.run.databaseUrl!;
  const env = (name: string) => ({ ...scaleOut.run.env, DATABASE_URL: labelled(databaseUrl, name), FLAMINGO_ADMIN_KEY: ADMIN_KEY, FLAMINGO_AUDIT_PROJECTION: '1', FLAMINGO_SERVICES: 'none', LOG_LEVEL: 'warn' });
  processes.push(...(await Promise.all(['replay-a', 'replay-b'].map((name) => startFlamingoProcess(name, ['start'], env(name))))));
  const [a, b] = processes.map((p) => adminApi(p.url, ADMIN_KEY));
  ordersKey = await a.producerKey();
  const urls = processes.map((p) => p.url);
  // Which process saw an event's last delivery: its writer's application_name, on every write.
  await query(databaseUrl, 'ALTER TABLE audit.audit_deliveries ADD COLUMN seen_by text');
  await query(
    databaseUrl,
    `CREATE FUNCTION audit.mark_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.seen_by := current_setting('application_name'); RETURN NEW; END $$`,
  );
  await query(databaseUrl, 'CREATE TRIGGER mark_seen BEFORE INSERT OR UPDATE ON audit.audit_deliveries FOR EACH ROW EXECUTE FUNCTION audit.mark_seen()');

  const settled = async (api: AdminApi) => {
    const head = (await api.log()).at(-1)!.sequence;
    return waitFor(
      async () => {
        const audit = await api.subscription('audit');
        return audit && audit.lag === 0 && audit.inFlight === 0 && audit.position >= head ? audit : undefined;
      },
      () => 'audit to catch up',
      45_000,
      100,
    );
  };

  // Until both processes handle events (the partitions are shared out a few seconds after start).
  const handlers = async () => (await query<{ seen_by: string }>(databaseUrl, 'SELECT DISTINCT seen_by FROM audit.audit_deliveries')).length;
  await publish(urls, 200);
  await waitFor(
    async () => {
      if ((await handlers()) === 2) return true;
      await publish(urls, 20);
      return undefined;
    },
    () => 'both processes to handle events',
    30_000,
  );
  await settled(a);
  const before = await a.log();

  // Rewind through the first process only.
  const rewound = await a.call('POST', '/v1/subscriptions/audit/rewind', { position: 'beginning' });
  expect(rewound.status).toBe(200);
  await publish(urls, 50);
  const [fromA, fromB] = [await settled(a), await settled(b)];
  expect(shared(fromB)).toEqual(shared(fromA));

  const log = await a.log();
  expect(log.length).toBeGreaterThanOrEqual(before.length + 50);
  const deliveries = await query<{ event_id: string; deliveries: number; seen_by: string }>(databaseUrl, 'SELECT event_id, deliveries, seen_by FROM audit.audit_deliveries');
  const delivered = new Map(deliveries.map((d) => [d.event_id, d.deliveries]));
  // Replayed: every event from before the rewind was delivered again.
  expect(before.filter((e) => (delivered.get(e.id) ?? 0) < 2).map((e) => e.sequence)).toEqual([]);
  // Effects stay single, and nothing is missing.
  const applied = await query<{ event_id: string; applications: number }>(databaseUrl, 'SELECT event_id, applications FROM audit.audit_events');
  expect(applied.filter((r) => r.applications !== 1)).toEqual([]);
  expect(applied.map((r) => r.event_id).sort()).toEqual(log.map((e) => e.id).sort());
  // The replay ran in both processes.
  const replayedBy = new Map(deliveries.map((d) => [d.event_id, d.seen_by]));
  expect([...new Set(before.map((e) => replayedBy.get(e.id)))].sort()).toEqual(['replay-a', 'replay-b']);
});
