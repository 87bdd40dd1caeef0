/**
 * The email outbox: a row per email, written in the transaction that made the notification, sent
 * by this worker. A row is claimed by pushing `next_attempt_at` one lease ahead (on PostgreSQL with
 * `FOR UPDATE SKIP LOCKED`, so processes share the work), sent, then marked `sent`. A send that
 * fails is retried with exponential backoff and jitter, forever: a mail server that is down delays
 * mail, never loses it, and never holds up the inbox (which does not wait for mail).
 *
 * Once per notification: the SMTP server takes a message only when its DATA ends, so a process
 * killed while sending leaves nothing there; the lease then runs out and the message is sent again
 * with the same `Message-ID`. What is left is the moment between the server's "250 OK" and the
 * `sent` mark; a resend then carries the same `Message-ID`, which receivers use to drop duplicates.
 */
import type { Logger } from 'pino';
import type { Dialect } from '../../platform/db.ts';
import type { Mailer } from './mailer.ts';
import type { NotificationsDb } from './store.ts';

export interface EmailOutboxOptions {
  readonly db: NotificationsDb;
  readonly dialect: Dialect;
  readonly mailer: Mailer;
  readonly logger: Logger;
  /** How long a claimed row is left to its sender before another may take it. (Default: 60 000 ms) */
  readonly leaseMs?: number;
  /** First retry delay; doubles each attempt. (Default: 1 000 ms) */
  readonly initialDelayMs?: number;
  /** Longest retry delay. (Default: 300 000 ms) */
  readonly maxDelayMs?: number;
  /** How often due rows are looked for when nothing wakes the worker. (Default: 1 000 ms) */
  readonly pollMs?: number;
  /** Emails sent at once. (Default: 4) */
  readonly concurrency?: number;
}

export interface EmailOutbox {
  /** Looks for due rows now (called after a notification with email commits). */
  wake(): void;
  /** Emails waiting to be sent (pending, due or not): the mail backlog. */
  backlog(): Promise<number>;
  stop(): Promise<void>;
}

/** The delay before attempt `attempts + 1`: `initial · 2^(attempts-1)`, capped, with ±20 % jitter. */
export function retryDelayMs(attempts: number, initialDelayMs: number, maxDelayMs: number): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export function startEmailOutbox(options: EmailOutboxOptions): EmailOutbox {
  const { db, dialect, mailer, logger } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const initialDelayMs = options.initialDelayMs ?? 1_000;
  const maxDelayMs = options.maxDelayMs ?? 300_000;
  const pollMs = options.pollMs ?? 1_000;
  const concurrency = options.concurrency ?? 4;
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  /** Takes up to `limit` due rows, pushing each one lease ahead and counting the attempt. */
  const claim = (limit: number) =>
    db.transaction().execute(async (trx) => {
      const now = new Date();
      let query = trx
        .selectFrom('email_outbox')
        .select(['notification_id', 'attempts'])
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now.toISOString())
        .orderBy('priority')
        .orderBy('next_attempt_at')
        .limit(limit);
      if (dialect === 'postgres') query = query.forUpdate().skipLocked();
      const rows = await query.execute();
      if (rows.length === 0) return [];
      const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
      await trx
        .updateTable('email_outbox')
        .set((eb) => ({ next_attempt_at: leaseUntil, attempts: eb('attempts', '+', 1) }))
        .where(
          'notification_id',
          'in',
          rows.map((r) => r.notification_id),
        )
        .execute();
      return rows.map((r) => ({ id: r.notification_id, attempts: r.attempts + 1 }));
    });

  const sendOne = async ({ id, attempts }: { id: string; attempts: number }) => {
    try {
      const notification = await db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const recipient = await db.selectFrom('recipients').select(['email', 'name']).where('user_id', '=', notification.user_id).executeTakeFirst();
      if (!recipient) throw new Error(`no e-mail address known for customer ${notification.user_id} yet (user.registered not seen)`);
      await mailer.send({ notification, to: recipient.email, ...(recipient.name ? { name: recipient.name } : {}) });
      await db.updateTable('email_outbox').set({ status: 'sent', sent_at: new Date().toISOString(), last_error: null }).where('notification_id', '=', id).execute();
    } catch (error) {
      const delay = retryDelayMs(attempts, initialDelayMs, maxDelayMs);
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, notificationId: id, attempts, retryInMs: delay }, 'email not sent; retrying later');
      await db
        .updateTable('email_outbox')
        .set({ next_attempt_at: new Date(Date.now() + delay).toISOString(), last_error: message.slice(0, 1000) })
        .where('notification_id', '=', id)
        .execute();
    }
  };

  const pass = async () => {
    for (;;) {
      again = false;
      const claimed = await claim(concurrency);
      if (claimed.length > 0) await Promise.all(claimed.map(sendOne));
      if (stopped || (claimed.length < concurrency && !again)) return;
    }
  };

  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((error: unknown) => {
        if (!stopped) logger.error({ err: error }, 'email outbox pass failed');
      })
      .finally(() => {
        running = undefined;
        schedule();
      });
  };
  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, pollMs);
    timer.unref();
  };

  run();
  return {
    wake: run,
    async backlog() {
      const row = await db
        .selectFrom('email_outbox')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      mailer.close();
    },
  };
}
