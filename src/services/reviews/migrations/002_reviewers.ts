import type { Kysely, Migration } from 'kysely';

/**
 * `reviewers`: the name a review is shown under (issue 7: public reads never show a customer id),
 * a display name made from the profile in `user.registered` / `user.updated` ("Ada L.").
 */
export const reviewersTable: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('reviewers')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('reviewers').execute();
  },
};
