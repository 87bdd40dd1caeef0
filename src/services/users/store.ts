import type { Kysely, Selectable } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  /** Lower-cased e-mail: the unique key, so `A@x.io` and `a@x.io` are one account. */
  email_key: string;
  name: string;
  /** `scrypt$…` (passwords.ts); never leaves this service. */
  password_hash: string;
  banned_at: string | null;
  ban_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface UsersDatabase {
  users: UsersTable;
}

/** A user as the API shows it: no password hash, ever. */
export interface PublicUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly banned: boolean;
  readonly banReason?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

type Row = Selectable<UsersTable>;

export const emailKey = (email: string) => email.trim().toLowerCase();

export function toPublicUser(row: Row): PublicUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    banned: row.banned_at !== null,
    ...(row.ban_reason === null ? {} : { banReason: row.ban_reason }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Queries and changes of the users table; every function takes the db or an open transaction. */
export const usersStore = {
  /** Inserts a new account; `false` when the e-mail is taken (case-insensitively), nothing written. */
  async insert(db: Kysely<UsersDatabase>, user: { id: string; email: string; name: string; passwordHash: string; at: string }): Promise<boolean> {
    const inserted = await db
      .insertInto('users')
      .values({
        id: user.id,
        email: user.email.trim(),
        email_key: emailKey(user.email),
        name: user.name,
        password_hash: user.passwordHash,
        banned_at: null,
        ban_reason: null,
        created_at: user.at,
        updated_at: user.at,
      })
      .onConflict((oc) => oc.column('email_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  byId(db: Kysely<UsersDatabase>, id: string): Promise<Row | undefined> {
    return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  },

  byEmail(db: Kysely<UsersDatabase>, email: string): Promise<Row | undefined> {
    return db.selectFrom('users').selectAll().where('email_key', '=', emailKey(email)).executeTakeFirst();
  },

  /** Bans an account; `false` when it was already banned (nothing changes then). */
  async ban(db: Kysely<UsersDatabase>, id: string, reason: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable('users')
      .set({ banned_at: at, ban_reason: reason, updated_at: at })
      .where('id', '=', id)
      .where('banned_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  /** Lifts a ban; `false` when the account was not banned. */
  async unban(db: Kysely<UsersDatabase>, id: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable('users')
      .set({ banned_at: null, ban_reason: null, updated_at: at })
      .where('id', '=', id)
      .where('banned_at', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },
};
