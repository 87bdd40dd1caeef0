/**
 * Automatic moderation of review text: links, repeated text and banned words are spam. Pure, so the
 * rules are easy to specify; the moderation handler flags what this finds.
 */

/** Words and phrases no review needs; `FLAMINGO_REVIEWS_BANNED_WORDS` (comma-separated) replaces them. */
export const DEFAULT_BANNED_WORDS: readonly string[] = [
  'viagra',
  'casino',
  'crypto giveaway',
  'free money',
  'click here',
  'buy followers',
  'work from home',
  'payday loan',
];

export type ModerationReason = 'link' | 'repeated_text' | 'banned_word' | 'duplicate';

const LINK = /\bhttps?:\/\/|\bwww\.|\b[a-z0-9-]{2,}\.(?:com|net|org|io|ru|cn|xyz|biz|info|top|shop|click|link)\b/i;
/** The same character eight times in a row: `!!!!!!!!`, `aaaaaaaa`. */
const REPEATED_CHARACTER = /(\S)\1{7,}/u;

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

/** A word four times in a row, or one word making up more than 40 % of a text of 8 words or more. */
function hasRepeatedText(text: string): boolean {
  if (REPEATED_CHARACTER.test(text)) return true;
  const all = words(text);
  let run = 1;
  for (let i = 1; i < all.length; i++) {
    run = all[i] === all[i - 1] ? run + 1 : 1;
    if (run >= 4) return true;
  }
  if (all.length < 8) return false;
  const counts = new Map<string, number>();
  for (const word of all) counts.set(word, (counts.get(word) ?? 0) + 1);
  return Math.max(...counts.values()) / all.length > 0.4;
}

function hasBannedWord(text: string, banned: readonly string[]): boolean {
  const normalized = ` ${words(text).join(' ')} `;
  return banned.some((phrase) => {
    const wanted = words(phrase).join(' ');
    return wanted !== '' && normalized.includes(` ${wanted} `);
  });
}

export interface ModerationInput {
  readonly title?: string;
  readonly comment: string;
  /** Earlier texts of the same reviewer: the same text again is spam. */
  readonly previousTexts?: readonly string[];
}

/** Why the text is spam; empty when it is fine. */
export function moderate(input: ModerationInput, banned: readonly string[] = DEFAULT_BANNED_WORDS): ModerationReason[] {
  const text = [input.title, input.comment].filter((t) => t !== undefined && t !== '').join('\n');
  const reasons: ModerationReason[] = [];
  if (LINK.test(text)) reasons.push('link');
  if (hasRepeatedText(text)) reasons.push('repeated_text');
  if (hasBannedWord(text, banned)) reasons.push('banned_word');
  const normalized = words(input.comment).join(' ');
  if (normalized.length >= 20 && (input.previousTexts ?? []).some((t) => words(t).join(' ') === normalized)) reasons.push('duplicate');
  return reasons;
}
