/**
 * A customer's notification preferences: per category, the in-app inbox (always on) and email (on
 * unless switched off). Critical categories (payment, security) cannot be switched off.
 */
import { ApiError } from '../../platform/errors.ts';
import { CATEGORIES, CRITICAL, type NotificationCategory, type NotificationsDb } from './store.ts';

export interface CategoryPreference {
  readonly category: NotificationCategory;
  /** Critical categories are always delivered on every channel. */
  readonly critical: boolean;
  /** The in-app inbox: always true. */
  readonly inApp: true;
  readonly email: boolean;
}

export interface PreferenceChange {
  readonly category: NotificationCategory;
  readonly inApp?: boolean;
  readonly email?: boolean;
}

export async function emailWanted(db: NotificationsDb, userId: string, category: NotificationCategory): Promise<boolean> {
  if (CRITICAL.has(category)) return true;
  const row = await db.selectFrom('preferences').select('email').where('user_id', '=', userId).where('category', '=', category).executeTakeFirst();
  return row === undefined || row.email === 1;
}

export async function preferencesOf(db: NotificationsDb, userId: string): Promise<CategoryPreference[]> {
  const rows = await db.selectFrom('preferences').select(['category', 'email']).where('user_id', '=', userId).execute();
  const email = new Map(rows.map((r) => [r.category, r.email === 1]));
  return CATEGORIES.map((category) => ({
    category,
    critical: CRITICAL.has(category),
    inApp: true,
    email: CRITICAL.has(category) || (email.get(category) ?? true),
  }));
}

/**
 * Applies `changes` (all or nothing). 422 `critical_category` for switching off a critical
 * category, 422 `inbox_always_on` for switching off the in-app inbox, naming the field.
 */
export async function updatePreferences(db: NotificationsDb, userId: string, changes: readonly PreferenceChange[]): Promise<CategoryPreference[]> {
  changes.forEach((change, index) => {
    if (change.inApp === false) {
      throw new ApiError(422, 'inbox_always_on', 'the in-app inbox cannot be switched off', [
        { path: `/categories/${index}/inApp`, message: 'must be true: every notification is kept in the inbox' },
      ]);
    }
    if (change.email === false && CRITICAL.has(change.category)) {
      throw new ApiError(422, 'critical_category', `${change.category} notifications are critical and cannot be switched off`, [
        { path: `/categories/${index}/email`, message: `must be true: ${change.category} is critical` },
      ]);
    }
  });
  const now = new Date().toISOString();
  await db.transaction().execute(async (trx) => {
    for (const { category, email } of changes) {
      if (email === undefined) continue;
      const value = email ? 1 : 0;
      await trx
        .insertInto('preferences')
        .values({ user_id: userId, category, email: value, updated_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'category']).doUpdateSet({ email: value, updated_at: now }))
        .execute();
    }
  });
  return preferencesOf(db, userId);
}
