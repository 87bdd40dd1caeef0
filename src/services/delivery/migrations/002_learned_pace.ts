import type { Kysely, Migration } from 'kysely';

/** `delivery_limiters.learned_interval_ms`: the target's own pace when it tells it (GraphQL restore rate, `RateLimit-Policy`), ms per request. */
export const learnedPace: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('delivery_limiters').addColumn('learned_interval_ms', 'double precision').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('delivery_limiters').dropColumn('learned_interval_ms').execute();
  },
};
