import type { SubscriptionInfo } from '../../bus/index.ts';
import { createClient, type ClientOptions } from './client.ts';
import { printTable } from './output.ts';

/**
 * `flamingo subscriptions`: position, lag, in-flight, retrying, dead letters, scheduled (a delayed
 * subscription's events waiting for their delay, not lag) and consumers (across every process) of each subscription.
 */
export async function runSubscriptions(options: ClientOptions & { json?: boolean }): Promise<void> {
  const { subscriptions } = await createClient(options).request<{ subscriptions: (SubscriptionInfo & { details?: Record<string, number> })[] }>('GET', '/v1/subscriptions');
  if (options.json) return console.log(JSON.stringify(subscriptions, null, 2));
  if (subscriptions.length === 0) return console.log('no subscriptions');
  // A consumer's own figures (the warehouse's rows landed and last landed sequence), as `key=value`.
  const rows = subscriptions.map((s) => ({ ...s, details: s.details ? Object.entries(s.details).map(([k, v]) => `${k}=${v}`).join(' ') : undefined }));
  printTable(rows as unknown as Record<string, unknown>[], ['name', 'types', 'position', 'lag', 'scheduled', 'inFlight', 'retrying', 'deadLetters', 'consumers', 'details']);
}
