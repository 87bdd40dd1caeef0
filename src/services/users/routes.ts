import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { ensureOwner, signedInCustomer } from '../../platform/auth/index.ts';
import { ApiError, forbidden, notFound, unauthorized } from '../../platform/errors.ts';
import type { Tokens } from '../../platform/tokens.ts';
import { userBanned, userRegistered, userUnbanned, type UserEvent } from './events.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import { toPublicUser, usersStore, type UsersDatabase } from './store.ts';
import { ErrorAnswer } from '../../platform/http-schemas.ts';

export interface UsersRoutesOptions {
  readonly db: Kysely<UsersDatabase>;
  /** Runs a change in a transaction and adds the events it returns in the same one (the service runtime). */
  write<T extends { events: UserEvent[] }>(work: (trx: Kysely<UsersDatabase>) => Promise<T>): Promise<T>;
  readonly tokens: Tokens;
}

const User = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    banned: Type.Boolean(),
    banReason: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { description: 'A customer account; the password hash never leaves the users service.' },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const tags = ['users'];

const bannedError = () => forbidden('this account is banned', [{ path: '/userId', message: 'user is banned' }]);
const unknownUser = () =>
  unauthorized('the session token names no account: sign in again (POST /v1/auth/login)', 'invalid_token');

/** The users context's HTTP API: register, read, sign in, the signed-in user, ban and unban. */
export function registerUsersRoutes(http: FastifyInstance, options: UsersRoutesOptions): void {
  const { db, write, tokens } = options;
  const app = http.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/users',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Register a customer (publishes user.registered)',
        body: Type.Object({
          email: Type.String({ format: 'email', maxLength: 254 }),
          name: Type.String({ minLength: 1, maxLength: 200 }),
          password: Type.String({ minLength: 8, maxLength: 1024, description: 'At least 8 characters; stored as a scrypt hash only.' }),
        }),
        response: { 201: User, 400: ErrorAnswer, 409: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const { email, name, password } = request.body;
      const passwordHash = await hashPassword(password);
      const id = uuidv7();
      const at = new Date().toISOString();
      const { row: created } = await write(async (trx) => {
        if (!(await usersStore.insert(trx, { id, email, name, passwordHash, at }))) return { row: undefined, events: [] };
        const row = (await usersStore.byId(trx, id))!;
        return { row, events: [userRegistered({ userId: id, email: row.email, name })] };
      });
      if (!created) throw new ApiError(409, 'email_taken', 'an account with this e-mail exists', [{ path: '/email', message: 'is already registered' }]);
      return reply.status(201).send(toPublicUser(created));
    },
  );

  app.post(
    '/v1/auth/login',
    {
      // Anyone may sign in; counted per client against password guessing (FLAMINGO_RATE_LIMIT_LOGIN).
      config: { auth: 'public', clientRateLimit: 'login' },
      schema: {
        tags,
        summary: 'Sign in: a customer session token',
        body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }),
        response: { 200: Type.Object({ token: Type.String(), userId: Type.String() }), 401: ErrorAnswer, 403: ErrorAnswer, 429: ErrorAnswer },
      },
    },
    async (request) => {
      const { email, password } = request.body;
      const row = await usersStore.byEmail(db, email);
      // An unknown e-mail costs a hash check too, so timing does not tell which addresses exist.
      const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
      if (!row || !ok) throw new ApiError(401, 'invalid_credentials', 'wrong e-mail or password');
      if (row.banned_at !== null) throw bannedError();
      return { token: await tokens.sign({ userId: row.id, email: row.email }), userId: row.id };
    },
  );

  app.get(
    '/v1/users/me',
    {
      config: { auth: 'customer' },
      schema: {
        tags,
        summary: 'The signed-in customer (Bearer customer token); a banned user’s tokens are refused at once',
        response: { 200: User, 401: ErrorAnswer, 403: ErrorAnswer },
      },
    },
    async (request) => {
      const row = await usersStore.byId(db, signedInCustomer(request.principal));
      if (!row) throw unknownUser();
      if (row.banned_at !== null) throw bannedError();
      return toPublicUser(row);
    },
  );

  app.get(
    '/v1/users/:id',
    {
      config: { auth: 'customerOrAdmin' },
      schema: {
        tags,
        summary: 'A customer account (admin key, or the customer’s own session token)',
        description:
          'Personal data: answered for the admin key or the session token of this customer. No or an invalid ' +
          'key or token → 401; another customer’s token (or a producer key) → 403; a banned customer’s own token → 403, as for `/v1/users/me`.',
        params: IdParams,
        response: { 200: User, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
      },
    },
    async (request) => {
      ensureOwner(request.principal, request.params.id, [{ path: '/params/id', message: 'is not the customer of the token' }]);
      const row = await usersStore.byId(db, request.params.id);
      if (!row) throw notFound(`no user ${request.params.id}`);
      if (request.principal.kind === 'customer' && row.banned_at !== null) throw bannedError();
      return toPublicUser(row);
    },
  );

  app.post(
    '/v1/users/:id/ban',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Ban a customer (admin; publishes user.banned, immediate): sign-in refused, and their session tokens refused by every route within 1 s',
        params: IdParams,
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }),
        response: { 200: User, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const { id } = request.params;
      const at = new Date().toISOString();
      const { row } = await write(async (trx) => {
        const banned = await usersStore.ban(trx, id, request.body.reason, at);
        return { row: await usersStore.byId(trx, id), events: banned ? [userBanned({ userId: id, reason: request.body.reason, bannedBy: 'admin' })] : [] };
      });
      if (!row) throw notFound(`no user ${id}`);
      return toPublicUser(row);
    },
  );

  app.post(
    '/v1/users/:id/unban',
    {
      config: { auth: 'admin' },
      // An unban needs no body: a POST without one is an empty object.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        summary: 'Lift a ban (admin; publishes user.unbanned)',
        params: IdParams,
        body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }),
        response: { 200: User, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { reason } = request.body;
      const at = new Date().toISOString();
      const { row } = await write(async (trx) => {
        const unbanned = await usersStore.unban(trx, id, at);
        return { row: await usersStore.byId(trx, id), events: unbanned ? [userUnbanned({ userId: id, unbannedBy: 'admin', ...(reason ? { reason } : {}) })] : [] };
      });
      if (!row) throw notFound(`no user ${id}`);
      return toPublicUser(row);
    },
  );
}
