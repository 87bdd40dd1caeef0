import { ConfigError } from '../../platform/config.ts';

/** The notifications service's own settings, from the environment the app hands it. */
export interface NotificationsSettings {
  /**
   * `FLAMINGO_SMTP_URL`: where emails go, `smtp://user:pass@host:587` or `smtps://…:465` (nodemailer's
   * connection URL, query options such as `?tls.rejectUnauthorized=false` included). (Default: none —
   * emails are written as `.eml` files under `<data dir>/mail/`)
   */
  readonly smtpUrl?: string;
  /**
   * `FLAMINGO_SMTP_TIMEOUT_MS`: time allowed to connect, greet and send one message; a claimed email
   * is left to its sender twice this long before another attempt may take it. (Default: 30 000)
   */
  readonly smtpTimeoutMs: number;
  /** `FLAMINGO_MAIL_FROM`: the sender. (Default: `Flamingo <no-reply@flamingo.localhost>`) */
  readonly mailFrom: string;
  /** `FLAMINGO_PUBLIC_URL`: the address customers open Flamingo at, for the links in emails. (Default: `http://localhost:3000`) */
  readonly publicUrl: string;
}

export const DEFAULT_MAIL_FROM = 'Flamingo <no-reply@flamingo.localhost>';
export const DEFAULT_PUBLIC_URL = 'http://localhost:3000';
export const DEFAULT_SMTP_TIMEOUT_MS = 30_000;

/** Reads and checks the settings; a bad value stops the start with one line per problem naming it. */
export function readNotificationsSettings(env: Readonly<Record<string, string | undefined>>): NotificationsSettings {
  const problems: string[] = [];
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const url = (name: string, protocols: readonly string[]) => {
    const raw = value(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (protocols.includes(parsed.protocol)) return raw.replace(/\/$/, '');
    } catch {
      // reported below
    }
    problems.push(`${name}: must be a ${protocols.map((p) => `${p}//…`).join(' or ')} URL, got "${raw.replace(/\/\/[^@/]*@/, '//…@')}"`);
    return undefined;
  };
  const smtpUrl = url('FLAMINGO_SMTP_URL', ['smtp:', 'smtps:']);
  const publicUrl = url('FLAMINGO_PUBLIC_URL', ['http:', 'https:']) ?? DEFAULT_PUBLIC_URL;
  const rawTimeout = value('FLAMINGO_SMTP_TIMEOUT_MS');
  const smtpTimeoutMs = rawTimeout === undefined ? DEFAULT_SMTP_TIMEOUT_MS : Number(rawTimeout);
  if (!Number.isInteger(smtpTimeoutMs) || smtpTimeoutMs < 100 || smtpTimeoutMs > 600_000) {
    problems.push(`FLAMINGO_SMTP_TIMEOUT_MS: must be a whole number of milliseconds from 100 to 600000, got "${rawTimeout}"`);
  }
  const mailFrom = value('FLAMINGO_MAIL_FROM') ?? DEFAULT_MAIL_FROM;
  if (!/^[^<>]*<[^<>@\s]+@[^<>@\s]+>$|^[^<>@\s]+@[^<>@\s]+$/.test(mailFrom)) {
    problems.push(`FLAMINGO_MAIL_FROM: must be an address, "name@example.com" or "Name <name@example.com>", got "${mailFrom}"`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...(smtpUrl === undefined ? {} : { smtpUrl }), smtpTimeoutMs, mailFrom, publicUrl };
}
