import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Bus, Position, SubscriptionInfo } from '../bus/index.ts';
import { notFound } from '../platform/errors.ts';
import type { AdminDeps } from './deps.ts';
import { errors, plainJson } from '../platform/http-schemas.ts';

export const SubscriptionInfoSchema = Type.Object({
  name: Type.String(),
  types: Type.Array(Type.String()),
  position: Type.Integer({ description: 'Every matching event up to here is done (handled or dead-lettered).' }),
  lag: Type.Integer({ description: 'Matching events after position not yet done and due (not counting scheduled ones).' }),
  inFlight: Type.Integer({ description: 'Events whose handlers run now (on NATS, also events fetched ahead and due).' }),
  retrying: Type.Integer({ description: 'Events waiting for their next attempt.' }),
  deadLetters: Type.Integer(),
  scheduled: Type.Integer({ description: 'Events a delayed subscription holds until recordedtime + its delay: recorded less than the delay ago, not lag.' }),
  consumers: Type.Integer({ description: 'Handlers attached across every process (a vanished process drops out after the engine lease time).' }),
  details: Type.Optional(
    Type.Record(Type.String(), Type.Number(), { description: "The consumer's own figures, e.g. the warehouse's `rowsLanded` and `lastLandedSequence`." }),
  ),
});

export const SubscriptionParams = Type.Object({ name: Type.String({ minLength: 1 }) });

/** The subscription named, or 404. */
export async function findSubscription(bus: Bus, name: string): Promise<SubscriptionInfo> {
  const found = (await bus.subscriptions()).find((s) => s.name === name);
  if (!found) throw notFound(`no subscription named ${JSON.stringify(name)}`);
  return found;
}

/** The info as a mutable JSON value. */
const plain = (info: SubscriptionInfo) => ({ ...info, types: [...info.types] });

const RewindBody = Type.Union(
  [
    Type.Object({ sequence: Type.Integer({ minimum: 0, description: 'The next event handled is the first with this sequence or greater.' }) }, { additionalProperties: false }),
    Type.Object({ time: Type.String({ format: 'date-time', description: 'The next event handled is the first recorded at or after this instant.' }) }, { additionalProperties: false }),
    Type.Object({ position: Type.Union([Type.Literal('beginning'), Type.Literal('now')]) }, { additionalProperties: false }),
  ],
  { description: 'One of {sequence}, {time} or {position: "beginning"|"now"}.' },
);

/** `GET /v1/subscriptions`, `POST /v1/subscriptions/:name/rewind` (admin). */
export function subscriptionRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { bus } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    '/v1/subscriptions',
    {
      config: { auth: 'admin' as const },
      serializerCompiler: plainJson,
      schema: {
        tags: ['admin'],
        summary: 'List subscriptions with position, lag, in-flight, retrying, dead letters, scheduled events and consumers',
        response: { 200: Type.Object({ subscriptions: Type.Array(SubscriptionInfoSchema) }), ...errors(401, 403) },
      },
    },
    async () => ({
      subscriptions: (await bus.subscriptions()).map((info) => {
        const details = deps.metrics.subscriptionDetails(info.name);
        return details ? { ...plain(info), details: { ...details } } : plain(info);
      }),
    }),
  );
  typed.post(
    '/v1/subscriptions/:name/rewind',
    {
      config: { auth: 'admin' as const },
      serializerCompiler: plainJson,
      schema: {
        tags: ['admin'],
        summary: 'Rewind (or fast-forward) a subscription to replay events',
        description: 'Pending retries are dropped; events from the new position are delivered again.',
        params: SubscriptionParams,
        body: RewindBody,
        response: { 200: SubscriptionInfoSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { name } = request.params;
      await findSubscription(bus, name);
      const body = request.body;
      const to: Position = 'sequence' in body ? { sequence: body.sequence } : 'time' in body ? { time: body.time } : body.position;
      await bus.rewind(name, to);
      request.log.info({ subscription: name, to }, 'subscription rewound');
      return plain(await findSubscription(bus, name));
    },
  );
}
