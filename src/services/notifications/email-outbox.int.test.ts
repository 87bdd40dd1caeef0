import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { v7 as uuidv7 } from 'uuid';
import { freePort } from '../../../test/support/process.ts';
import { waitUntil } from '../../../test/support/service-server.ts';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import { openDatabase, type Dialect, type ServiceDatabase } from '../../platform/db.ts';
import { retryDelayMs, startEmailOutbox, type EmailOutbox } from './email-outbox.ts';
import { createMailer } from './mailer.ts';
import { notificationsTables } from './migrations/001_notifications.ts';
import type { NotificationsDatabase } from './store.ts';

describe('retry delays', () => {
  it('double from the first, capped, within ±20 %', () => {
    for (let attempts = 1; attempts <= 12; attempts++) {
      const base = Math.min(60_000, 1_000 * 2 ** (attempts - 1));
      const delay = retryDelayMs(attempts, 1_000, 60_000);
      expect(delay).toBeGreaterThanOrEqual(base * 0.8);
      expect(delay).toBeLessThanOrEqual(base * 1.2);
    }
  });
});

describe.each(DIALECTS)('email outbox on %s', (dialect: Dialect) => {
  let test: TestDatabase<NotificationsDatabase>;
  let second: ServiceDatabase<NotificationsDatabase>;
  let smtp: SMTPServer;
  let smtpUrl: string;
  const received: ParsedMail[] = [];
  const refusedOnce = new Set<string>();
  beforeAll(async () => {
    test = await openTestDatabase<NotificationsDatabase>(dialect, 'notifications', { '001_notifications': notificationsTables });
    // A second process's connection to the same database (on SQLite: the same file).
    second = await openDatabase<NotificationsDatabase>(test.name, test.config);
    const port = await freePort();
    smtpUrl = `smtp://127.0.0.1:${port}`;
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream).then((mail) => {
          // Every message is refused once with a temporary error (451), as a busy server does.
          if (!refusedOnce.has(mail.messageId!)) {
            refusedOnce.add(mail.messageId!);
            callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
            return;
          }
          received.push(mail);
          callback();
        }, callback);
      },
    });
    await new Promise<void>((resolve) => smtp.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await second?.close();
    await test?.cleanup();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('two senders share the rows, retry refusals with backoff and send each email once', async () => {
    const { db } = test.database;
    const userId = uuidv7();
    const now = new Date().toISOString();
    await db.insertInto('recipients').values({ user_id: userId, email: 'ada@example.test', name: 'Ada', updated_at: now }).execute();
    const ids = Array.from({ length: 20 }, () => uuidv7());
    for (const [i, id] of ids.entries()) {
      await db
        .insertInto('notifications')
        .values({ id, user_id: userId, category: 'order', urgency: 'background', title: `Note ${i}`, body: 'Body', link: '/account#/notifications', order_id: null, source_event_id: uuidv7(), source_type: 'order.confirmed', created_at: now })
        .execute();
      await db
        .insertInto('email_outbox')
        .values({ notification_id: id, priority: i === 19 ? 0 : 1, status: 'pending', attempts: 0, next_attempt_at: now, last_error: null, sent_at: null, created_at: now })
        .execute();
    }
    const logger = pino({ level: 'silent' });
    const options = { dialect, logger, leaseMs: 5_000, initialDelayMs: 50, maxDelayMs: 200, pollMs: 50 };
    const senders: EmailOutbox[] = [
      startEmailOutbox({ ...options, db, mailer: createMailer({ smtpUrl, from: 'Shop <shop@example.test>', publicUrl: 'https://shop.example.test', mailDir: '/nonexistent' }) }),
      startEmailOutbox({ ...options, db: second.db, mailer: createMailer({ smtpUrl, from: 'Shop <shop@example.test>', publicUrl: 'https://shop.example.test', mailDir: '/nonexistent' }) }),
    ];
    try {
      await waitUntil(async () => (received.length >= 20 ? true : undefined), 30_000, '20 emails');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(received.map((m) => m.messageId).sort()).toEqual(ids.map((id) => `<${id}@example.test>`).sort());
      const rows = await db.selectFrom('email_outbox').select(['status', 'attempts', 'last_error']).execute();
      expect(rows.every((r) => r.status === 'sent' && r.attempts === 2 && r.last_error === null)).toBe(true);
    } finally {
      await Promise.all(senders.map((s) => s.stop()));
    }
  });
});
