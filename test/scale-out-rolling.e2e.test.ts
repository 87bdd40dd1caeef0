/**
 * A rolling restart under load: of two processes sharing the audit subscription on NATS +
 * PostgreSQL, one is stopped with SIGTERM and a new one started, then the other likewise. A
 * process that stops hands its partitions back at once, so the others carry on within seconds
 * (no ack-wait pause as after a crash), and every accepted event is applied exactly once, each
 * key's events in log order — also when a batch fails while its partition changes hands (about one
 * application in a hundred fails, as on a database that refuses a connection now and then).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { adminApi, keysOutOfOrder, labelled, query, recordApplyOrder, showOutputOnFailure, startFlamingoProcess, startLoad, useScaleOutRun, waitFor, type FlamingoProcess, type Load } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-rolling-admin-key-0123456789';

const scaleOut = useScaleOutRun();
const { processes } = scaleOut;
let load: Load | undefined;

scaleOut.onCleanup(async () => load?.stop());

it('a rolling restart under load, with failing batches, loses nothing, applies everything once in per-key order and hands over without pause', { timeout: 120_000 }, async () => {
  showOutputOnFailure(processes);
  const databaseUrl = scaleOut.run.databaseUrl!;
  const env = (name: string) => ({ ...scaleOut.run.env, DATABASE_URL: labelled(databaseUrl, name), FLAMINGO_ADMIN_KEY: ADMIN_KEY, FLAMINGO_AUDIT_PROJECTION: '1', FLAMINGO_SERVICES: 'none', LOG_LEVEL: 'warn' });
  const start = (name: string) => startFlamingoProcess(name, ['start'], env(name));
  const [a, b] = await Promise.all([start('roll-a'), start('roll-b')]);
  processes.push(a, b);
  await query(databaseUrl, `ALTER TABLE audit.audit_events ADD COLUMN handled_by text DEFAULT current_setting('application_name')`);
  await recordApplyOrder(databaseUrl);
  // Fails its batch's transaction; the batch is then applied event by event, an event that fails
  // again retried and the rest of its key held back behind it. The count survives the rollback (a sequence).
  await query(databaseUrl, 'CREATE SEQUENCE audit.hiccups');
  await query(databaseUrl, `CREATE FUNCTION audit.hiccup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF random() < 0.01 THEN PERFORM nextval('audit.hiccups'); RAISE EXCEPTION 'hiccup'; END IF; RETURN NEW; END $$`);
  await query(databaseUrl, 'CREATE TRIGGER hiccup BEFORE INSERT ON audit.audit_events FOR EACH ROW EXECUTE FUNCTION audit.hiccup()');

  /** The processes answering; the producers spread events over them. */
  const live = [a.url, b.url];
  // Few keys, many events each: a key's events must be applied in log order wherever its partition is.
  load = startLoad(live, await adminApi(a.url, ADMIN_KEY).producerKey(), 2, { keys: 24 });
  await sleep(1_500);

  // Replace b, then a: stop one with SIGTERM (the producers fail over), start its successor.
  const exits: (number | NodeJS.Signals | null)[] = [];
  const replace = async (old: FlamingoProcess, name: string) => {
    old.child.kill('SIGTERM');
    exits.push(await old.exited);
    live.splice(live.indexOf(old.url), 1);
    const next = await start(name);
    processes.push(next);
    live.push(next.url);
    await sleep(1_500);
  };
  await replace(b, 'roll-c');
  await replace(a, 'roll-d');
  await load.stop();
  expect(exits).toEqual([0, 0]);

  const api = adminApi(live[0], ADMIN_KEY);
  const log = await api.log();
  const stoppedAt = Date.now();
  await waitFor(
    async () => {
      const audit = await api.subscription('audit');
      return audit && audit.lag === 0 && audit.inFlight === 0 && audit.position >= log.at(-1)!.sequence ? true : undefined;
    },
    () => 'audit to catch up',
    60_000,
    100,
  );
  const catchUpMs = Date.now() - stoppedAt;

  const count = new Map<string, number>();
  for (const e of log) count.set(e.id, (count.get(e.id) ?? 0) + 1);
  expect([...count.values()].filter((n) => n !== 1)).toEqual([]);
  expect([...load.acknowledged].filter((id) => count.get(id) !== 1)).toEqual([]);
  const rows = await query<{ event_id: string; applications: number; handled_by: string }>(databaseUrl, 'SELECT event_id, applications, handled_by FROM audit.audit_events');
  expect(rows.filter((r) => r.applications !== 1)).toEqual([]);
  expect(rows.map((r) => r.event_id).sort()).toEqual(log.map((e) => e.id).sort());
  const by = new Map<string, number>();
  for (const r of rows) by.set(r.handled_by, (by.get(r.handled_by) ?? 0) + 1);
  expect(await keysOutOfOrder(databaseUrl)).toEqual([]);
  const [{ hiccups }] = await query<{ hiccups: number }>(databaseUrl, 'SELECT CASE WHEN is_called THEN last_value ELSE 0 END::int AS hiccups FROM audit.hiccups');
  expect(hiccups).toBeGreaterThan(0);
  // Stopped cleanly, nothing waited for the ack wait (30 s): the survivors were caught up within seconds.
  expect(catchUpMs).toBeLessThan(15_000);
  console.log(`rolling restart: ${log.length} events, ${load.acknowledged.size} acknowledged, applied by ${JSON.stringify(Object.fromEntries(by))}, ${hiccups} failed applications; caught up ${catchUpMs} ms after the load stopped`);
});
