import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Email, Id, PersonName, Timestamp } from './fields.ts';

const UserId = Id('The user (UUIDv7).');

export const userRegistered = defineEvent({
  type: 'user.registered',
  version: 1,
  producer: 'users',
  kind: 'domain',
  key: ['userId'],
  subject: 'user',
  urgency: 'background',
  description: 'A customer created an account; carries the profile so consumers need not call back (seed 002 UserRegistered).',
  schema: Type.Object({
    userId: UserId,
    email: Email,
    name: PersonName,
    registeredAt: Type.Optional(Timestamp('When the account was created, if different from the event time.')),
  }),
  personalData: ['/email', '/name'],
  aliases: ['UserRegistered'],
});

export const userUpdated = defineEvent({
  type: 'user.updated',
  version: 1,
  producer: 'users',
  kind: 'state',
  key: ['userId'],
  subject: 'user',
  urgency: 'background',
  description: 'A profile changed; carries the whole current profile (event-carried state) and which fields changed.',
  schema: Type.Object({
    userId: UserId,
    email: Email,
    name: PersonName,
    changed: Type.Array(Type.Union([Type.Literal('email'), Type.Literal('name')]), {
      uniqueItems: true,
      description: 'The profile fields that changed.',
    }),
  }),
  personalData: ['/email', '/name'],
  aliases: [],
});

export const userBanned = defineEvent({
  type: 'user.banned',
  version: 1,
  producer: 'users',
  kind: 'domain',
  key: ['userId'],
  subject: 'user',
  urgency: 'immediate',
  description: 'An administrator banned a user: logins stop and open orders may be cancelled at once (seed 002 UserBanned, immediate).',
  schema: Type.Object({
    userId: UserId,
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why, e.g. `spam`.' }),
    bannedBy: Type.String({ minLength: 1, maxLength: 254, description: 'The administrator (id or e-mail; personal data).' }),
    until: Type.Optional(Timestamp('End of a temporary ban; absent means permanent.')),
  }),
  personalData: ['/bannedBy'],
  aliases: ['UserBanned'],
});

export const userUnbanned = defineEvent({
  type: 'user.unbanned',
  version: 1,
  producer: 'users',
  kind: 'domain',
  key: ['userId'],
  subject: 'user',
  urgency: 'background',
  description: 'A ban was lifted (by an administrator or because a temporary ban ended).',
  schema: Type.Object({
    userId: UserId,
    unbannedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'The administrator; absent when a temporary ban expired.' })),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  }),
  personalData: ['/unbannedBy'],
  aliases: [],
});

export const usersEvents = [userRegistered, userUpdated, userBanned, userUnbanned] as const;
