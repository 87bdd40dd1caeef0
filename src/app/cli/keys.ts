import type { ApiKeyInfo, CreatedApiKey } from '../../platform/auth/index.ts';
import { commaList } from '../../platform/config.ts';
import { createClient, type ClientOptions } from './client.ts';
import { UsageError, printTable } from './output.ts';

/** `flamingo keys create [--producer orders] [--types 'order.*'] [--name webshop]`, or `--role analyst`. */
export async function runKeysCreate(options: ClientOptions & { types?: string; producer?: string; name?: string; role?: string; json?: boolean }): Promise<void> {
  if (options.role !== undefined && options.role !== 'producer' && options.role !== 'analyst') throw new UsageError(`--role must be producer or analyst, got "${options.role}"`);
  if (options.role === 'analyst') {
    if (options.producer !== undefined || options.types !== undefined) throw new UsageError('an analyst key publishes nothing: give no --producer nor --types');
    const created = await createClient(options).request<CreatedApiKey>('POST', '/v1/keys', { body: { role: 'analyst', ...(options.name === undefined ? {} : { name: options.name }) } });
    if (options.json) return console.log(JSON.stringify(created, null, 2));
    console.log(`created analyst key ${created.id} (${created.name}): reads the warehouse, nothing else`);
    console.log(created.key);
    console.error('Store the key now: it is not shown again.');
    return;
  }
  const types = options.types === undefined ? undefined : commaList(options.types);
  if (types?.length === 0) throw new UsageError('--types needs at least one event type pattern, e.g. "order.*,cart.item_added"');
  if (types === undefined && options.producer === undefined) throw new UsageError('give --producer (e.g. orders), --types (e.g. cart.item_added), or both');
  const body = { ...(options.name === undefined ? {} : { name: options.name }), ...(options.producer === undefined ? {} : { producer: options.producer }), ...(types ? { types } : {}) };
  const created = await createClient(options).request<CreatedApiKey>('POST', '/v1/keys', { body });
  if (options.json) return console.log(JSON.stringify(created, null, 2));
  const scope = created.producer === null ? 'no producer' : `producer ${created.producer}`;
  console.log(`created key ${created.id} (${created.name}) for ${scope}, types ${created.types.join(', ')}`);
  console.log(created.key);
  console.error('Store the key now: it is not shown again.');
}

/** `flamingo keys list`. */
export async function runKeysList(options: ClientOptions & { json?: boolean }): Promise<void> {
  const { keys } = await createClient(options).request<{ keys: ApiKeyInfo[] }>('GET', '/v1/keys');
  if (options.json) return console.log(JSON.stringify(keys, null, 2));
  if (keys.length === 0) return console.log('no producer keys; create one with `flamingo keys create --producer <producer>`');
  printTable(keys as unknown as Record<string, unknown>[], ['id', 'name', 'prefix', 'role', 'producer', 'types', 'createdAt', 'revokedAt']);
}

/** `flamingo keys revoke <id>`. */
export async function runKeysRevoke(id: string, options: ClientOptions): Promise<void> {
  await createClient(options).request('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
  console.log(`revoked key ${id}`);
}
