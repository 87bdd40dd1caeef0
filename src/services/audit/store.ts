import { sql, type Kysely } from 'kysely';
import type { DeliveredEvent } from '../../bus/index.ts';

export interface AuditDatabase {
  /** One row per applied event; `applications` stays 1 when the inbox keeps its promise. */
  audit_events: { event_id: string; sequence: number; type: string; subject: string | null; applications: number };
  /** Deliveries seen, redeliveries included (outside the transaction: at-least-once is visible here). */
  audit_deliveries: { event_id: string; deliveries: number };
}

export const auditStore = {
  /** The effect, inside the inbox's transaction; counting applications makes a second one visible. */
  async apply(trx: Kysely<AuditDatabase>, event: DeliveredEvent): Promise<void> {
    await trx
      .insertInto('audit_events')
      .values({ event_id: event.id, sequence: event.sequence, type: event.type, subject: event.subject ?? null, applications: 1 })
      .onConflict((oc) => oc.column('event_id').doUpdateSet({ applications: sql`audit_events.applications + 1` }))
      .execute();
  },

  /** Counts a delivery, on its own (not in the inbox's transaction). */
  async delivered(db: Kysely<AuditDatabase>, eventId: string): Promise<void> {
    await db
      .insertInto('audit_deliveries')
      .values({ event_id: eventId, deliveries: 1 })
      .onConflict((oc) => oc.column('event_id').doUpdateSet({ deliveries: sql`audit_deliveries.deliveries + 1` }))
      .execute();
  },
};
