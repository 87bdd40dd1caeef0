/**
 * The users context: accounts with scrypt-hashed passwords, sign-in tokens, bans. Publishes
 * `user.registered`, `user.banned` (immediate), `user.unbanned`; reacts to nothing.
 */
import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import type { UserEvent } from './events.ts';
import { usersTables } from './migrations/001_users.ts';
import { registerUsersRoutes } from './routes.ts';
import type { UsersDatabase } from './store.ts';

export const usersMigrations = { '000_bus': busTablesMigration, '001_users': usersTables };

export interface UsersServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: `users`) */
  readonly databaseName?: string;
}

export function usersService(options: UsersServiceOptions = {}): ServiceDefinition {
  return {
    name: 'users',
    /** What its subscriptions read (issue 14). */
    reads: [],
    start: (context) =>
      startServiceRuntime<UsersDatabase, UserEvent>(context, { name: 'users', databaseName: options.databaseName, migrations: usersMigrations }, (runtime) => {
        registerUsersRoutes(context.http, { db: runtime.db, write: runtime.write, tokens: context.tokens });
      }),
  };
}
