import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { usersTables } from './migrations/001_users.ts';
import { registerUsersRoutes } from './routes.ts';
import type { UsersDatabase } from './store.ts';

export const USERS_MIGRATIONS = { '000_bus': busTablesMigration, '001_users': usersTables };

export interface UsersServiceOptions {
  /** The SQLite file stem / PostgreSQL schema of the service's database. (Default: `users`) */
  readonly databaseName?: string;
}

/**
 * The users context: accounts with scrypt-hashed passwords, sign-in tokens, bans. Publishes
 * `user.registered`, `user.banned` (immediate), `user.unbanned`; reacts to nothing.
 */
export function createUsersService(options: UsersServiceOptions = {}): ServiceDefinition {
  return {
    name: 'users',
    start: (ctx) =>
      startServiceRuntime<UsersDatabase>(ctx, { name: 'users', databaseName: options.databaseName, migrations: USERS_MIGRATIONS }, ({ db, outbox }) => {
        registerUsersRoutes(ctx.http, { db, outbox, tokens: ctx.tokens });
      }),
  };
}

export const usersService = createUsersService();
