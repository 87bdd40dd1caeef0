import type { ApiKeyInfo, CreatedApiKey } from '../../platform/auth/index.ts';
import { commaList } from '../../platform/config.ts';
import { createClient, type ClientOptions } from './client.ts';
import { UsageError, printTable } from './output.ts';

/** `flamingo keys create --types 'order.*,cart.*' [--name webshop]`. */
export async function runKeysCreate(options: ClientOptions & { types: string; name?: string; json?: boolean }): Promise<void> {
  const types = commaList(options.types);
  if (types.length === 0) throw new UsageError('--types needs at least one event type pattern, e.g. "order.*,cart.item_added"');
  const created = await createClient(options).request<CreatedApiKey>('POST', '/v1/keys', { body: { name: options.name, types } });
  if (options.json) return console.log(JSON.stringify(created, null, 2));
  console.log(`created key ${created.id} (${created.name}) for ${created.types.join(', ')}`);
  console.log(created.key);
  console.error('Store the key now: it is not shown again.');
}

/** `flamingo keys list`. */
export async function runKeysList(options: ClientOptions & { json?: boolean }): Promise<void> {
  const { keys } = await createClient(options).request<{ keys: ApiKeyInfo[] }>('GET', '/v1/keys');
  if (options.json) return console.log(JSON.stringify(keys, null, 2));
  if (keys.length === 0) return console.log('no producer keys; create one with `flamingo keys create --types ...`');
  printTable(keys as unknown as Record<string, unknown>[], ['id', 'name', 'prefix', 'types', 'createdAt', 'revokedAt']);
}

/** `flamingo keys revoke <id>`. */
export async function runKeysRevoke(id: string, options: ClientOptions): Promise<void> {
  await createClient(options).request('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
  console.log(`revoked key ${id}`);
}
