/**
 * Retries with several processes: the audit subscription runs in two processes on NATS +
 * PostgreSQL and fails for a few keys (a trigger in its database refuses them) until the fault is
 * cleared. Meanwhile every other key goes on in both processes, either process reports the same
 * retrying count (retry state lives on the server), and once the fault is gone the held keys
 * catch up in log order, each event applied once.
 */
import { expect, it } from 'vitest';
import { adminApi, keysOutOfOrder, labelled, query, recordApplyOrder, shared, showOutputOnFailure, startFlamingoProcess, startLoad, useScaleOutRun, waitFor } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-retries-admin-key-0123456789';
const KEYS = 16;
const FAILING = ['order/o-1', 'order/o-6', 'order/o-11'];

const scaleOut = useScaleOutRun();
const { processes } = scaleOut;


it('a failing key retries (same state from either process) without holding back other keys, then catches up in order', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const databaseUrl = scaleOut.run.databaseUrl!;
  const env = (name: string) => ({ ...scaleOut.run.env, DATABASE_URL: labelled(databaseUrl, name), FLAMINGO_ADMIN_KEY: ADMIN_KEY, FLAMINGO_AUDIT_PROJECTION: '1', FLAMINGO_SERVICES: 'none', LOG_LEVEL: 'error' });
  processes.push(...(await Promise.all(['retry-a', 'retry-b'].map((name) => startFlamingoProcess(name, ['start'], env(name))))));
  const [a, b] = processes.map((p) => adminApi(p.url, ADMIN_KEY));
  await recordApplyOrder(databaseUrl);
  // The fault: applying an event of a listed subject fails (the handler's transaction rolls back).
  await query(databaseUrl, 'CREATE TABLE audit.failing (subject text PRIMARY KEY)');
  await query(
    databaseUrl,
    `CREATE FUNCTION audit.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN IF EXISTS (SELECT 1 FROM audit.failing WHERE subject = NEW.subject) THEN RAISE EXCEPTION 'refused on purpose'; END IF; RETURN NEW; END $$`,
  );
  await query(databaseUrl, 'CREATE TRIGGER refuse BEFORE INSERT ON audit.audit_events FOR EACH ROW EXECUTE FUNCTION audit.refuse()');
  await query(databaseUrl, `INSERT INTO audit.failing SELECT unnest($1::text[])`, [FAILING]);

  const load = startLoad(processes.map((p) => p.url), await a.producerKey(), 2, { keys: KEYS });
  await waitFor(async () => (load.acknowledged.size >= 160 ? true : undefined), () => '160 events acknowledged', 30_000, 20);
  await load.stop();
  const log = await a.log();
  const healthy = log.filter((e) => !FAILING.includes(e.subject!));
  expect(healthy.length).toBeLessThan(log.length);

  // Every other key is applied while the failing ones retry.
  await waitFor(
    async () => {
      const [{ n }] = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM audit.audit_events');
      return Number(n) === healthy.length ? true : undefined;
    },
    () => `the ${healthy.length} events of healthy keys to be applied`,
    30_000,
  );
  // One retrying event per failing key (the rest of the key waits behind it), the same from either process.
  let lastSeen: unknown;
  const retrying = await waitFor(
    async () => {
      const [x, y] = await Promise.all([a.subscription('audit'), b.subscription('audit')]);
      lastSeen = [x, y];
      return x && y && x.retrying === FAILING.length && JSON.stringify(shared(x)) === JSON.stringify(shared(y)) ? x : undefined;
    },
    () => `both processes to report ${FAILING.length} retrying: ${JSON.stringify(lastSeen)}`,
    20_000,
  );
  expect(retrying).toMatchObject({ deadLetters: 0 });
  expect(retrying.lag).toBeGreaterThanOrEqual(log.length - healthy.length);

  // The fault cleared: the held keys catch up, in log order, each event once.
  await query(databaseUrl, 'DELETE FROM audit.failing');
  const head = log.at(-1)!.sequence;
  await waitFor(
    async () => {
      const [x, y] = await Promise.all([a.subscription('audit'), b.subscription('audit')]);
      return x && y && x.lag === 0 && x.retrying === 0 && y.retrying === 0 && x.position >= head ? true : undefined;
    },
    () => 'audit to catch up after the fault',
    45_000,
    200,
  );
  const rows = await query<{ event_id: string; applications: number }>(databaseUrl, 'SELECT event_id, applications FROM audit.audit_events');
  expect(rows.filter((r) => r.applications !== 1)).toEqual([]);
  expect(rows.map((r) => r.event_id).sort()).toEqual(log.map((e) => e.id).sort());
  expect(await keysOutOfOrder(databaseUrl)).toEqual([]);
  const retried = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM audit.audit_deliveries WHERE deliveries > 1');
  expect(Number(retried[0].n)).toBeGreaterThanOrEqual(FAILING.length);
});
