/** What the users context publishes (catalog: src/contracts/catalog/users.ts). Never a password or its hash. */
import type { PublishInput } from '../../bus/index.ts';
import type { EventData } from '../../contracts/index.ts';

export const SOURCE = '/services/users';

export const userRegistered = (data: EventData<'user.registered'>): PublishInput<'user.registered'> => ({ type: 'user.registered', source: SOURCE, data });

/** Immediate (seed 002): other services stop serving the user as soon as they see it. */
export const userBanned = (data: EventData<'user.banned'>): PublishInput<'user.banned'> => ({ type: 'user.banned', source: SOURCE, data });

export const userUnbanned = (data: EventData<'user.unbanned'>): PublishInput<'user.unbanned'> => ({ type: 'user.unbanned', source: SOURCE, data });

/** An event the users context publishes; the service runtime adds it in the transaction of the change. */
export type UserEvent = PublishInput<'user.registered'> | PublishInput<'user.banned'> | PublishInput<'user.unbanned'>;
