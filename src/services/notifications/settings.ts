import { Type } from '@sinclair/typebox';
import { ConfigError } from '../../platform/config.ts';
import { readSettings } from '../../platform/settings.ts';

export const DEFAULT_MAIL_FROM = 'Flamingo <no-reply@flamingo.localhost>';
export const DEFAULT_PUBLIC_URL = 'http://localhost:3000';
export const DEFAULT_SMTP_TIMEOUT_MS = 30_000;

/** The notifications service's own settings (platform/settings.ts reads them from the environment). */
export const notificationsSettings = Type.Object({
  /**
   * Where emails go: `smtp://user:pass@host:587` or `smtps://…:465` (nodemailer's connection URL,
   * query options included). (Default: none — emails are written as `.eml` files under `<data dir>/mail/`)
   */
  FLAMINGO_SMTP_URL: Type.String({ default: '', description: 'smtp:// or smtps:// URL of the mail server; unset: .eml files under <data dir>/mail/.' }),
  /** Time allowed to connect, greet and send one message; a claimed email is left to its sender twice this long. (Default: 30 000) */
  FLAMINGO_SMTP_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: DEFAULT_SMTP_TIMEOUT_MS, description: 'Milliseconds to send one email.' }),
  /** The sender. (Default: `Flamingo <no-reply@flamingo.localhost>`) */
  FLAMINGO_MAIL_FROM: Type.String({ default: DEFAULT_MAIL_FROM, description: 'The sender, "name@example.com" or "Name <name@example.com>".' }),
  /** The address customers open Flamingo at, for the links in emails. (Default: `http://localhost:3000`) */
  FLAMINGO_PUBLIC_URL: Type.String({ default: DEFAULT_PUBLIC_URL, description: 'http:// or https:// base of the links in emails.' }),
});

/** The settings as the service uses them. */
export interface NotificationsSettings {
  readonly smtpUrl?: string;
  readonly smtpTimeoutMs: number;
  readonly mailFrom: string;
  readonly publicUrl: string;
}

/** Reads and checks the settings; a bad value stops the start with one line per problem naming it. */
export function readNotificationsSettings(env: Readonly<Record<string, string | undefined>>): NotificationsSettings {
  const raw = readSettings(notificationsSettings, env);
  const problems: string[] = [];
  const url = (name: 'FLAMINGO_SMTP_URL' | 'FLAMINGO_PUBLIC_URL', value: string, protocols: readonly string[]) => {
    const text = value.trim();
    if (text === '') return undefined;
    try {
      if (protocols.includes(new URL(text).protocol)) return text.replace(/\/$/, '');
    } catch {
      // reported below
    }
    problems.push(`${name}: must be a ${protocols.map((p) => `${p}//…`).join(' or ')} URL, got "${text.replace(/\/\/[^@/]*@/, '//…@')}"`);
    return undefined;
  };
  const smtpUrl = url('FLAMINGO_SMTP_URL', raw.FLAMINGO_SMTP_URL, ['smtp:', 'smtps:']);
  const publicUrl = url('FLAMINGO_PUBLIC_URL', raw.FLAMINGO_PUBLIC_URL, ['http:', 'https:']) ?? DEFAULT_PUBLIC_URL;
  const mailFrom = raw.FLAMINGO_MAIL_FROM.trim() || DEFAULT_MAIL_FROM;
  if (!/^[^<>]*<[^<>@\s]+@[^<>@\s]+>$|^[^<>@\s]+@[^<>@\s]+$/.test(mailFrom)) {
    problems.push(`FLAMINGO_MAIL_FROM: must be an address, "name@example.com" or "Name <name@example.com>", got "${mailFrom}"`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...(smtpUrl === undefined ? {} : { smtpUrl }), smtpTimeoutMs: raw.FLAMINGO_SMTP_TIMEOUT_MS, mailFrom, publicUrl };
}
