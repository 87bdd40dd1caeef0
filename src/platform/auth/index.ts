export { createGuard, type Guard, type Principal } from './guard.ts';
export { openKeyStore, hashKey, PRODUCER_KEY_PREFIX, type ApiKeyInfo, type CreatedApiKey, type KeyStore } from './keys.ts';
export {
  createCustomerAccess,
  customerOrAdminSecurity,
  type CustomerAccess,
  type CustomerAccessOptions,
  type CustomerReader,
} from './customer.ts';
