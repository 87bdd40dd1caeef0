export { createGuard, banned, type Guard, type GuardOptions } from './guard.ts';
export { sessionRoutes, SESSION_COOKIE, SESSION_ROUTE, SESSION_TTL_SECONDS } from './session.ts';
export { ROUTE_AUTH, type Principal, type RouteAuth } from './principal.ts';
export { keyStore, openKeyStore, hashKey, PRODUCER_KEY_PREFIX, type ApiKeyInfo, type CreatedApiKey, type KeyStore } from './keys.ts';
export { KeyScopeError, PRODUCERS, checkPublishScope, publishRefusal, type PublishScope } from './publishing.ts';
export { revocationStore, type RevocationChange, type RevocationStore, type RevocationStoreOptions } from './revocations.ts';
export { openPlatformDatabase, PLATFORM_DATABASE, PLATFORM_MIGRATIONS, type PlatformDatabase } from './platform-database.ts';
export { customerIdOf, ensureOwner, signedInCustomer } from './customer.ts';
export { contractStore, type ContractOrigin, type ContractStore, type StoredContract } from './contracts.ts';
