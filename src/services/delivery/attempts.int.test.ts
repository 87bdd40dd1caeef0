import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dialect } from '../../platform/db.ts';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import { attemptLog, type Attempt } from './attempts.ts';
import { deliveryMigrations } from './index.ts';
import { send } from './send.ts';
import type { DeliveryDatabase } from './store.ts';
import type { Target } from './targets.ts';

describe.each(DIALECTS)('the attempt log on %s', (dialect: Dialect) => {
  let test: TestDatabase<DeliveryDatabase> | undefined;
  afterEach(() => test?.cleanup());

  const attempt = (over: Partial<Omit<Attempt, 'id'>>): Omit<Attempt, 'id'> => ({
    targetId: 't1',
    eventId: 'e1',
    eventType: 'cart.item_added',
    attempt: 1,
    startedAt: new Date().toISOString(),
    durationMs: 12.5,
    status: 200,
    responseHeaders: { 'content-type': 'application/json' },
    responseBody: '{"ok":true}',
    error: null,
    outcome: 'delivered',
    ...over,
  });

  it('records attempts made at once together, filters them, pages newest first and prunes the old', async () => {
    test = await openTestDatabase<DeliveryDatabase>(dialect, 'delivery_attempts', deliveryMigrations);
    const log = attemptLog(test.database.db);
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString();
    await Promise.all([
      log.record(attempt({ eventId: 'e0', startedAt: old, outcome: 'failed', status: 400 })),
      log.record(attempt({ eventId: 'e1', outcome: 'throttled', status: 429 })),
      log.record(attempt({ eventId: 'e1', attempt: 1 })),
      log.record(attempt({ eventId: 'e2', targetId: 't2' })),
    ]);
    expect((await log.list('t1')).map((a) => a.eventId)).toEqual(['e1', 'e1', 'e0']);
    expect(await log.list('t1', { outcome: 'throttled' })).toMatchObject([{ eventId: 'e1', status: 429, responseHeaders: { 'content-type': 'application/json' } }]);
    expect((await log.list('t1', { eventId: 'e0' })).map((a) => a.outcome)).toEqual(['failed']);
    expect((await log.list('t1', { until: new Date(Date.now() - 86_400_000).toISOString() })).map((a) => a.eventId)).toEqual(['e0']);
    const [first] = await log.list('t1', { limit: 1 });
    expect((await log.list('t1', { before: first!.id })).length).toBe(2);
    expect(await log.prune(new Date(Date.now() - 86_400_000))).toBe(1);
    expect((await log.list('t1')).length).toBe(2);
  });

  it('stores a hostile reply as text: invalid UTF-8 and NUL replaced, the first 4 KB kept', async () => {
    test = await openTestDatabase<DeliveryDatabase>(dialect, 'delivery_attempts', deliveryMigrations);
    const server = createServer((_request, response) => {
      response.writeHead(502, { 'x-odd': 'yes' });
      response.end(Buffer.concat([Buffer.from('a\u0000b'), Buffer.from([0xff, 0xfe]), Buffer.alloc(8_000, 0x41)]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new Agent();
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await send(agent, { url, timeoutMs: 2_000 } as Target, '{}', { 'content-type': 'application/json' });
      expect(result).toMatchObject({ kind: 'reply', status: 502 });
      if (result.kind !== 'reply') return;
      const log = attemptLog(test.database.db);
      await log.record(attempt({ status: result.status, responseBody: result.bodyKept, outcome: 'retrying' }));
      const [stored] = await log.list('t1');
      expect(stored!.responseBody!.startsWith('a\ufffdb\ufffd\ufffdAAA')).toBe(true);
      expect(Buffer.byteLength(stored!.responseBody!)).toBeLessThanOrEqual(4_096 + 8);
    } finally {
      await agent.close();
      server.close();
    }
  });
});
