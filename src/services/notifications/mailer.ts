/**
 * How an email leaves: nodemailer to `FLAMINGO_SMTP_URL`, or, on the embedded default, nodemailer's
 * stream transport writing each message as `<data dir>/mail/<notification id>.eml` (written to a
 * temporary name and renamed, so a file is whole or absent). Messages carry a text and an HTML part,
 * the link to the hub and a `Message-ID` derived from the notification id, stable across retries.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { NotificationRow } from './store.ts';

export interface OutgoingMail {
  readonly notification: NotificationRow;
  readonly to: string;
  readonly name?: string;
}

export interface Mailer {
  /** Where mail goes, for the start-up log: `smtp://host:port` (no credentials) or the mail directory. */
  readonly target: string;
  /** Sends one message; resolves once the server (or the file) has it, throws otherwise. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

export interface MailerOptions {
  readonly smtpUrl?: string;
  readonly from: string;
  /** Absolute base of the links in emails, e.g. `http://localhost:3000`. */
  readonly publicUrl: string;
  /** Where `.eml` files go without SMTP. */
  readonly mailDir: string;
  /** Time allowed to connect, greet and send one message. (Default: 30 000 ms) */
  readonly timeoutMs?: number;
}

/** `<notification id>@<sender's domain>`: the same id for every attempt, so a receiver can tell a resend. */
export function messageIdOf(notificationId: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'flamingo.localhost';
  return `<${notificationId}@${domain}>`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The message nodemailer sends. */
export function composeMail(mail: OutgoingMail, options: Pick<MailerOptions, 'from' | 'publicUrl'>) {
  const { notification: n } = mail;
  const link = new URL(n.link, `${options.publicUrl}/`).toString();
  const greeting = mail.name ? `Hello ${mail.name},` : 'Hello,';
  return {
    from: options.from,
    to: mail.name ? { name: mail.name, address: mail.to } : mail.to,
    subject: n.title,
    messageId: messageIdOf(n.id, options.from),
    headers: { 'X-Flamingo-Notification': n.id, 'X-Flamingo-Category': n.category },
    text: `${greeting}\n\n${n.body}\n\nSee it in your account: ${link}\n\n— Flamingo\n`,
    html:
      `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">` +
      `<p>${escapeHtml(greeting)}</p><h1 style="font-size:1.2em">${escapeHtml(n.title)}</h1><p>${escapeHtml(n.body)}</p>` +
      `<p><a href="${escapeHtml(link)}">See it in your account</a></p><p>— Flamingo</p></body></html>`,
  };
}

export function createMailer(options: MailerOptions): Mailer {
  const timeout = options.timeoutMs ?? 30_000;
  if (options.smtpUrl) {
    const url = new URL(options.smtpUrl);
    const smtp = nodemailer.createTransport({ url: options.smtpUrl, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout });
    return {
      target: `${url.protocol}//${url.host}`,
      async send(mail) {
        await smtp.sendMail(composeMail(mail, options));
      },
      close: () => smtp.close(),
    };
  }
  const files = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    target: options.mailDir,
    async send(mail) {
      const info = await files.sendMail(composeMail(mail, options));
      mkdirSync(options.mailDir, { recursive: true, mode: 0o700 });
      const file = path.join(options.mailDir, `${mail.notification.id}.eml`);
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, info.message as Buffer, { mode: 0o600 });
      renameSync(partial, file);
    },
    close: () => files.close(),
  };
}
