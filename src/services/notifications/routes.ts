/** The notifications service's HTTP API: the signed-in customer's preferences. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { signedInCustomer } from '../../platform/auth/index.ts';
import { errors } from '../../platform/http-schemas.ts';
import { preferencesOf, updatePreferences } from './preferences.ts';
import { CATEGORIES, type NotificationsDb } from './store.ts';

const Category = Type.Union(
  CATEGORIES.map((c) => Type.Literal(c)),
  { description: 'order, shipping, payment, account or security' },
);
const Preferences = Type.Object(
  {
    categories: Type.Array(
      Type.Object({
        category: Category,
        critical: Type.Boolean({ description: 'payment and security: always sent on every channel, cannot be switched off' }),
        inApp: Type.Boolean({ description: 'the in-app inbox: always on' }),
        email: Type.Boolean({ description: 'emails of this category (Default: true)' }),
      }),
    ),
  },
  { description: 'Per category × channel. Critical categories (payment, security) cannot be switched off.' },
);

export function registerNotificationsRoutes(http: FastifyInstance, db: NotificationsDb): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['customer hub'];
  const customer = { config: { auth: 'customer' as const } };

  app.get(
    '/v1/me/preferences',
    { ...customer, schema: { tags, summary: "The signed-in customer's notification preferences", response: { 200: Preferences } } },
    async (request) => ({ categories: await preferencesOf(db, signedInCustomer(request.principal)) }),
  );

  app.put(
    '/v1/me/preferences',
    {
      ...customer,
      schema: {
        tags,
        summary: 'Changes notification preferences (only the categories and channels named); 422 for switching off a critical category or the inbox',
        body: Type.Object(
          {
            categories: Type.Array(
              Type.Object({ category: Category, inApp: Type.Optional(Type.Boolean()), email: Type.Optional(Type.Boolean()) }),
              { maxItems: CATEGORIES.length, uniqueItems: true },
            ),
          },
        ),
        response: { 200: Preferences, ...errors(422) },
      },
    },
    async (request) => ({ categories: await updatePreferences(db, signedInCustomer(request.principal), request.body.categories) }),
  );
}
