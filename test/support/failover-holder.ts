/**
 * A process that holds a subscription's events and never finishes them, for the fail-over tests:
 * `node --import tsx test/support/failover-holder.ts <engine> <log> <subscription>` attaches a
 * key-ordered consumer to `<subscription>` on the NATS stream (`nats`) or Redis prefix (`redis`)
 * `<log>` with the engine's default lease and ack wait, prints `ready` once attached and
 * `holding <event id>` for each event it is handed, and never answers (with room for 64 at once,
 * so it holds every partition it took): the test kills it.
 */
import { resolveSubscriptionOptions, type Engine } from '../../src/bus/kit/index.ts';

const [kind, log, subscription] = process.argv.slice(2);

async function open(): Promise<Engine> {
  if (kind === 'nats') {
    const { natsEngine } = await import('../../src/engines/nats/index.ts');
    return natsEngine({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', stream: log });
  }
  if (kind === 'redis') {
    const { redisEngine } = await import('../../src/engines/redis/index.ts');
    return redisEngine({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: log });
  }
  throw new Error(`unknown engine ${kind}`);
}

const engine = await open();
await engine.consume(resolveSubscriptionOptions({ name: subscription, types: ['order.*'], concurrency: 64 }), async (events) => {
  for (const event of events) process.stdout.write(`holding ${event.id}\n`);
  return await new Promise<never>(() => undefined);
});
process.stdout.write('ready\n');
