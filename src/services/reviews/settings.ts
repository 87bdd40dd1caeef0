import { Type } from '@sinclair/typebox';
import { commaList } from '../../platform/config.ts';

/** The reviews service's own settings (platform/settings.ts reads them from the environment). */
export const reviewsSettings = Type.Object({
  /** Comma-separated words and phrases moderation flags; replaces the default list. (Default: empty = the default list) */
  FLAMINGO_REVIEWS_BANNED_WORDS: Type.String({ default: '', description: 'Comma-separated words and phrases moderation flags (replaces the default list).' }),
});

/** The banned words a setting names, or `undefined` for the default list. */
export function bannedWordsOf(setting: string): string[] | undefined {
  const words = commaList(setting);
  return words.length === 0 ? undefined : words;
}
