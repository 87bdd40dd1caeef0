/**
 * Stream tickets: a browser's `EventSource` cannot send an Authorization header, and a session
 * token in a URL would end up in logs and history. A signed-in customer trades their token for a
 * ticket that opens their stream and nothing else, for `TICKET_TTL_MS`; only its SHA-256 is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { HubDb } from './store.ts';

/** How long a ticket opens streams (reconnects included). */
export const TICKET_TTL_MS = 60_000;
const PREFIX = 'fst_';

const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

export async function issueTicket(db: HubDb, userId: string, now = Date.now()): Promise<{ ticket: string; expiresAt: string }> {
  const ticket = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now + TICKET_TTL_MS).toISOString();
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('stream_tickets').where('expires_at', '<', new Date(now).toISOString()).execute();
    await trx.insertInto('stream_tickets').values({ ticket_hash: hashOf(ticket), user_id: userId, expires_at: expiresAt }).execute();
  });
  return { ticket, expiresAt };
}

/** The customer a ticket is for, if it is one of ours and has not expired. */
export async function redeemTicket(db: HubDb, ticket: string, now = Date.now()): Promise<string | undefined> {
  if (!ticket.startsWith(PREFIX) || ticket.length > 100) return undefined;
  const row = await db.selectFrom('stream_tickets').select(['user_id', 'expires_at']).where('ticket_hash', '=', hashOf(ticket)).executeTakeFirst();
  return row && row.expires_at > new Date(now).toISOString() ? row.user_id : undefined;
}
