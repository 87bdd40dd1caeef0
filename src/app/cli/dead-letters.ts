import type { DeadLetter } from '../../bus/index.ts';
import { createClient, type ClientOptions } from './client.ts';
import { UsageError, printTable } from './output.ts';

const base = (subscription: string) => `/v1/subscriptions/${encodeURIComponent(subscription)}/dead-letters`;

/** `flamingo dead-letters list <subscription>`. */
export async function runDeadLettersList(subscription: string, options: ClientOptions & { json?: boolean; limit?: string }): Promise<void> {
  const limit = options.limit ?? '100';
  const { deadLetters } = await createClient(options).request<{ deadLetters: DeadLetter[] }>('GET', `${base(subscription)}?limit=${encodeURIComponent(limit)}`);
  if (options.json) return console.log(JSON.stringify(deadLetters, null, 2));
  if (deadLetters.length === 0) return console.log(`no dead letters in ${subscription}`);
  printTable(
    deadLetters.map((d) => ({ id: d.event.id, sequence: d.event.sequence, type: d.event.type, attempts: d.attempts, lastFailedAt: d.lastFailedAt, error: d.error.split('\n')[0].slice(0, 120) })),
    ['id', 'sequence', 'type', 'attempts', 'lastFailedAt', 'error'],
  );
}

function target(subscription: string, eventId: string | undefined, all: boolean | undefined): string {
  if (eventId && all) throw new UsageError('give an event id or --all, not both');
  if (!eventId && !all) throw new UsageError('give an event id, or --all for every dead letter of the subscription');
  return eventId ? `${base(subscription)}/${encodeURIComponent(eventId)}` : base(subscription);
}

/** `flamingo dead-letters retry <subscription> [eventId] [--all]`. */
export async function runDeadLettersRetry(subscription: string, eventId: string | undefined, options: ClientOptions & { all?: boolean }): Promise<void> {
  const { retried } = await createClient(options).request<{ retried: number }>('POST', `${target(subscription, eventId, options.all)}/retry`);
  console.log(`retried ${retried} dead letter${retried === 1 ? '' : 's'} of ${subscription}`);
}

/** `flamingo dead-letters discard <subscription> [eventId] [--all]`. */
export async function runDeadLettersDiscard(subscription: string, eventId: string | undefined, options: ClientOptions & { all?: boolean }): Promise<void> {
  const { discarded } = await createClient(options).request<{ discarded: number }>('DELETE', target(subscription, eventId, options.all));
  console.log(`discarded ${discarded} dead letter${discarded === 1 ? '' : 's'} of ${subscription}`);
}
