import { busTablesMigration, createOutbox } from '../../bus/index.ts';
import { migrate, openDatabase } from '../../platform/db.ts';
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
    async start(ctx) {
      const database = await openDatabase<UsersDatabase>(options.databaseName ?? 'users', ctx.database);
      try {
        await migrate(database.db, USERS_MIGRATIONS);
        const outbox = createOutbox({
          db: database.db,
          bus: ctx.bus,
          dialect: database.dialect,
          ...(ctx.database.databaseUrl ? { databaseUrl: ctx.database.databaseUrl } : {}),
          onError: (err, context) => ctx.logger.error({ err, ...context }, 'users outbox relay failed'),
        });
        registerUsersRoutes(ctx.http, { db: database.db, outbox, tokens: ctx.tokens, requireAdmin: ctx.requireAdmin });
        await outbox.start();
        return {
          async stop() {
            await outbox.stop();
            await database.close();
          },
        };
      } catch (error) {
        await database.close();
        throw error;
      }
    },
  };
}

export const usersService = createUsersService();
