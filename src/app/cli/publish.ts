import { v7 as uuidv7 } from 'uuid';
import { createClient, type ClientOptions } from './client.ts';
import { UsageError } from './output.ts';

export interface PublishOptions extends ClientOptions {
  readonly data: string;
  readonly id?: string;
  readonly subject?: string;
  readonly source?: string;
  readonly time?: string;
}

/** `flamingo publish <type> --data '{…}'`: one structured CloudEvent to a running Flamingo. */
export async function runPublish(type: string, options: PublishOptions): Promise<void> {
  let data: unknown;
  try {
    data = JSON.parse(options.data);
  } catch (error) {
    throw new UsageError(`--data must be JSON: ${(error as Error).message}`);
  }
  // CloudEvents requires an id; a new UUIDv7 unless one is given (give one to make a retry idempotent).
  const event: Record<string, unknown> = { specversion: '1.0', id: options.id ?? uuidv7(), type, source: options.source ?? '/cli', data };
  if (options.subject) event.subject = options.subject;
  if (options.time) event.time = options.time;
  const client = createClient(options);
  const result = await client.request<{ id: string; sequence: number; duplicate: boolean }>('POST', '/v1/events', {
    body: event,
    contentType: 'application/cloudevents+json',
  });
  console.log(`${result.duplicate ? 'already stored' : 'published'} ${result.id} at sequence ${result.sequence}`);
}
