import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import type { Dialect } from '../../platform/db.ts';
import { notificationsTables } from './migrations/001_notifications.ts';
import { notify, writeLearnt, type NotifiedEvent } from './notify.ts';
import type { NotificationsDatabase, NotificationsDb } from './store.ts';

describe.each(DIALECTS)('notify on %s', (dialect: Dialect) => {
  let test: TestDatabase<NotificationsDatabase>;
  let db: NotificationsDb;
  beforeAll(async () => {
    test = await openTestDatabase<NotificationsDatabase>(dialect, 'notifications', { '001_notifications': notificationsTables });
    db = test.database.db;
  });
  afterAll(() => test.cleanup());

  const placed = (orderId: string, userId: string) =>
    ({ specversion: '1.0', id: uuidv7(), source: '/test', type: 'order.placed', time: new Date().toISOString(), data: { orderId, userId }, sequence: 1 }) as unknown as NotifiedEvent;
  const owners = (trx: NotificationsDb, ids: string[]) => trx.selectFrom('order_owners').select(['order_id', 'user_id']).where('order_id', 'in', ids).orderBy('order_id').execute();

  it('learns order owners at once, or with deferOwners together when the transaction writes what it learnt', async () => {
    const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()];
    const user = uuidv7();
    await db.transaction().execute(async (trx) => {
      await notify(trx, placed(a, user));
      expect(await owners(trx, [a])).toEqual([{ order_id: a, user_id: user }]);
      await notify(trx, placed(b, user), { deferOwners: true });
      await notify(trx, placed(c, user), { deferOwners: true });
      await notify(trx, placed(b, uuidv7()), { deferOwners: true });
      expect(await owners(trx, [b, c])).toEqual([]);
      await writeLearnt(trx);
      await writeLearnt(trx);
    });
    // The first owner learnt of an order stays.
    expect(await owners(db, [b, c])).toEqual([b, c].sort().map((order_id) => ({ order_id, user_id: user })));
  });
});
