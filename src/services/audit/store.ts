import { sql, type Kysely } from 'kysely';
import type { DeliveredEvent } from '../../bus/index.ts';

export interface AuditDatabase {
  /** One row per applied event; `applications` stays 1 when the inbox keeps its promise. */
  audit_events: { event_id: string; sequence: number; type: string; subject: string | null; applications: number };
  /** Deliveries seen, redeliveries included (outside the transaction: at-least-once is visible here). */
  audit_deliveries: { event_id: string; deliveries: number };
}

/** How many times each id appears in `ids`, in first-seen order. */
function counted(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

export const auditStore = {
  /**
   * The effect of `events`, inside the inbox's transaction, in one statement; counting applications
   * makes a second one visible (an id listed twice, from two sources, counts twice, as two statements would).
   */
  async applyAll(trx: Kysely<AuditDatabase>, events: readonly DeliveredEvent[]): Promise<void> {
    const first = new Map<string, DeliveredEvent>();
    for (const event of events) if (!first.has(event.id)) first.set(event.id, event);
    const rows = [...counted(events.map((event) => event.id))].map(([id, applications]) => {
      const event = first.get(id)!;
      return { event_id: id, sequence: event.sequence, type: event.type, subject: event.subject ?? null, applications };
    });
    if (rows.length === 0) return;
    await trx
      .insertInto('audit_events')
      .values(rows)
      .onConflict((oc) => oc.column('event_id').doUpdateSet({ applications: sql`audit_events.applications + excluded.applications` }))
      .execute();
  },

  /** Counts a delivery of each of `eventIds` (an id listed twice counts twice), in one statement, on its own (not in the inbox's transaction). */
  async delivered(db: Kysely<AuditDatabase>, eventIds: readonly string[]): Promise<void> {
    const rows = [...counted(eventIds)].map(([event_id, deliveries]) => ({ event_id, deliveries }));
    if (rows.length === 0) return;
    await db
      .insertInto('audit_deliveries')
      .values(rows)
      .onConflict((oc) => oc.column('event_id').doUpdateSet({ deliveries: sql`audit_deliveries.deliveries + excluded.deliveries` }))
      .execute();
  },
};
