/**
 * Dead letters with several processes: events whose data fails the schema reach the audit
 * subscription in two processes on NATS + PostgreSQL (appended to the log behind the collector's
 * back, as an old producer or a bug could) and go to its dead letters, wherever their partition is
 * handled. Either process lists the same dead letters; a retry asked of one is delivered again and
 * dead-lettered anew; a discard asked of either removes them for both.
 */
import { v7 as uuidv7 } from 'uuid';
import { expect, it } from 'vitest';
import type { Engine } from '../src/bus/index.ts';
import { natsEngine } from '../src/engines/nats/index.ts';
import { adminApi, labelled, showOutputOnFailure, startFlamingoProcess, startLoad, useScaleOutRun, waitFor, type AdminApi } from './support/scale-out.ts';
import { TEST_NATS_URL } from './support/stacks.ts';

const ADMIN_KEY = 'scale-out-dead-letters-admin-key-0123456789';
const BROKEN = 20;

let engine: Engine | undefined;
const scaleOut = useScaleOutRun();
const { processes } = scaleOut;

scaleOut.onCleanup(async () => engine?.close());

interface DeadLetterView {
  event: { id: string; sequence: number };
  error: string;
  attempts: number;
  lastFailedAt: string;
}

const deadLetters = async (api: AdminApi): Promise<DeadLetterView[]> => {
  const answer = await api.call('GET', '/v1/subscriptions/audit/dead-letters?limit=1000');
  expect(answer.status).toBe(200);
  return (answer.body.deadLetters as DeadLetterView[]).sort((x, y) => x.event.sequence - y.event.sequence);
};

/** Both processes report `count` dead letters for the audit subscription. */
const bothReport = (a: AdminApi, b: AdminApi, count: number) =>
  waitFor(
    async () => {
      const [x, y] = await Promise.all([a.subscription('audit'), b.subscription('audit')]);
      return x?.deadLetters === count && y?.deadLetters === count && x.lag === 0 ? true : undefined;
    },
    () => `both processes to report ${count} dead letters`,
    20_000,
  );

it('dead letters made in either process are listed, retried and discarded from either', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const env = (name: string) => ({ ...scaleOut.run.env, DATABASE_URL: labelled(scaleOut.run.databaseUrl!, name), FLAMINGO_ADMIN_KEY: ADMIN_KEY, FLAMINGO_AUDIT_PROJECTION: '1', FLAMINGO_SERVICES: 'none', LOG_LEVEL: 'error' });
  processes.push(...(await Promise.all(['dead-a', 'dead-b'].map((name) => startFlamingoProcess(name, ['start'], env(name))))));
  const [a, b] = processes.map((p) => adminApi(p.url, ADMIN_KEY));

  // Valid events through the collector, broken ones straight into the log, keys spread over the partitions.
  const load = startLoad(processes.map((p) => p.url), await a.producerKey(), 2);
  engine = natsEngine({ servers: TEST_NATS_URL, stream: scaleOut.run.stream! });
  const broken = Array.from({ length: BROKEN }, (_, i) => ({ id: uuidv7(), key: `broken-${i}` }));
  await engine.append(
    broken.map(({ id, key }) => ({
      specversion: '1.0' as const,
      id,
      source: '/scale-out-test',
      type: 'order.placed',
      subject: `order/${key}`,
      partitionkey: key,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { orderId: key },
    })),
  );
  await waitFor(async () => (load.acknowledged.size >= 100 ? true : undefined), () => '100 events acknowledged', 30_000, 20);
  await load.stop();

  await bothReport(a, b, BROKEN);
  const [fromA, fromB] = await Promise.all([deadLetters(a), deadLetters(b)]);
  expect(fromB).toEqual(fromA);
  expect(fromA.map((d) => d.event.id).sort()).toEqual(broken.map((e) => e.id).sort());
  for (const letter of fromA) expect(letter.error).toContain('invalid data for order.placed');

  // Retried through either process, a few times over: delivered again (to whichever process) and
  // dead again with a later failure — every one of them each time: a retry that fails at once must
  // not lose the event.
  let previous = fromA;
  for (const [round, api] of [b, a, b, a, b, a].entries()) {
    expect((await api.call('POST', '/v1/subscriptions/audit/dead-letters/retry')).body).toEqual({ retried: BROKEN });
    let latest: DeadLetterView[] = [];
    const before = previous;
    previous = await waitFor(
      async () => {
        latest = await deadLetters(a);
        const failedAgain = latest.filter((d) => d.lastFailedAt > (before.find((f) => f.event.id === d.event.id)?.lastFailedAt ?? ''));
        return failedAgain.length === BROKEN ? latest : undefined;
      },
      () => `round ${round + 1}: the ${BROKEN} retried dead letters to fail again; missing ${JSON.stringify(broken.map((e) => e.id).filter((id) => !latest.some((d) => d.event.id === id)))}`,
      5_000,
      50,
    );
    expect(previous.map((d) => d.event.id)).toEqual(fromA.map((d) => d.event.id));
  }
  await bothReport(a, b, BROKEN);

  // Discarded one through a and the rest through b: gone for both.
  expect((await a.call('DELETE', `/v1/subscriptions/audit/dead-letters/${broken[0].id}`)).body).toEqual({ discarded: 1 });
  await bothReport(a, b, BROKEN - 1);
  expect((await b.call('DELETE', '/v1/subscriptions/audit/dead-letters')).body).toEqual({ discarded: BROKEN - 1 });
  await bothReport(a, b, 0);
  expect(await deadLetters(a)).toEqual([]);
});
