/**
 * A process of the fail-over section: `failover-worker.ts <nats|redis> <servers or url> <log> <subscription> <file>`
 * attaches a key-ordered consumer (concurrency 16) to `<subscription>` with the engine's default
 * lease and ack wait, and appends the id of every event it is handed to `<file>` — synchronously,
 * before acknowledging it, so a SIGKILL loses no record of a delivery. Sends `{ ready: true }` once attached.
 */
import { appendFileSync } from 'node:fs';
import { resolveSubscriptionOptions, type Engine } from '../src/bus/kit/index.ts';

const [kind, servers, log, subscription, file] = process.argv.slice(2);

async function open(): Promise<Engine> {
  if (kind === 'nats') return (await import('../src/engines/nats/index.ts')).natsEngine({ servers: servers.split(','), stream: log });
  return (await import('../src/engines/redis/index.ts')).redisEngine({ url: servers, prefix: log });
}

async function main(): Promise<void> {
  const engine = await open();
  await engine.consume(resolveSubscriptionOptions({ name: subscription, types: ['order.*'], concurrency: 16 }), async (events) => {
    appendFileSync(file, events.map((event) => `${event.id}\n`).join(''));
    // A moment of work (5 ms), so that events are in flight when a process dies.
    await new Promise((resolve) => setTimeout(resolve, 5));
    return events.map(() => ({ kind: 'ack' as const }));
  });
  process.send!({ ready: true });
  process.on('message', (message) => {
    if (message === 'stop') void engine.close().finally(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((error: unknown) => process.send!({ error: (error as Error).stack ?? String(error) }, () => process.exit(1)));
