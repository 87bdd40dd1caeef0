import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import { usersTables } from './migrations/001_users.ts';
import { toPublicUser, usersStore, type UsersDatabase } from './store.ts';

describe.each(DIALECTS)('users store on %s', (dialect) => {
  let test: TestDatabase<UsersDatabase>;
  beforeAll(async () => {
    test = await openTestDatabase<UsersDatabase>(dialect, 'users', { '001_users': usersTables });
  });
  afterAll(() => test.cleanup());
  const at = '2026-01-01T00:00:00.000Z';

  it('stores an account and finds it by id and by e-mail in any case', async () => {
    const db = test.database.db;
    expect(await usersStore.insert(db, { id: 'u1', email: 'Ada@Example.com', name: 'Ada', passwordHash: 'scrypt$x', at })).toBe(true);
    expect((await usersStore.byId(db, 'u1'))?.email).toBe('Ada@Example.com');
    expect((await usersStore.byEmail(db, 'ada@example.COM'))?.id).toBe('u1');
  });

  it('refuses a second account with the same e-mail, case-insensitively, writing nothing', async () => {
    const db = test.database.db;
    expect(await usersStore.insert(db, { id: 'u2', email: 'ADA@example.com', name: 'Other', passwordHash: 'scrypt$y', at })).toBe(false);
    expect(await usersStore.byId(db, 'u2')).toBeUndefined();
  });

  it('bans and unbans once each', async () => {
    const db = test.database.db;
    expect(await usersStore.ban(db, 'u1', 'spam', at)).toBe(true);
    expect(await usersStore.ban(db, 'u1', 'spam', at)).toBe(false);
    expect(toPublicUser((await usersStore.byId(db, 'u1'))!)).toMatchObject({ banned: true, banReason: 'spam' });
    expect(await usersStore.unban(db, 'u1', at)).toBe(true);
    expect(await usersStore.unban(db, 'u1', at)).toBe(false);
  });

  it('never shows the password hash', async () => {
    const shown = toPublicUser((await usersStore.byId(test.database.db, 'u1'))!);
    expect(JSON.stringify(shown)).not.toContain('scrypt');
  });
});
