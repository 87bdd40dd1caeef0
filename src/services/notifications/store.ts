import type { Kysely, Selectable } from 'kysely';
import type { EventData } from '../../contracts/index.ts';

export type NotificationCategory = EventData<'notification.created'>['category'];

/** Every category, in the order preferences list them. */
export const CATEGORIES: readonly NotificationCategory[] = ['order', 'shipping', 'payment', 'account', 'security'];

/** Categories a customer cannot switch off on any channel (issue 9: security and payment). */
export const CRITICAL: ReadonlySet<NotificationCategory> = new Set(['payment', 'security']);

export interface NotificationsTable {
  id: string;
  user_id: string;
  category: NotificationCategory;
  urgency: 'immediate' | 'background';
  title: string;
  body: string;
  /** Path in the customer hub, e.g. `/account#/orders/<id>`. */
  link: string;
  order_id: string | null;
  source_event_id: string;
  source_type: string;
  created_at: string;
}

export interface RecipientsTable {
  user_id: string;
  email: string;
  name: string | null;
  updated_at: string;
}

export interface OrderOwnersTable {
  order_id: string;
  user_id: string;
  created_at: string;
}

export interface PreferencesTable {
  user_id: string;
  category: NotificationCategory;
  /** 1: emails of this category are sent; 0: not. */
  email: number;
  updated_at: string;
}

export type EmailStatus = 'pending' | 'sent';

export interface EmailOutboxTable {
  notification_id: string;
  /** 0 for immediate notifications, 1 for background ones: lower is sent first. */
  priority: number;
  status: EmailStatus;
  attempts: number;
  /** ISO time: when the row may be claimed next (a claim pushes it one lease ahead). */
  next_attempt_at: string;
  last_error: string | null;
  sent_at: string | null;
  created_at: string;
}

export interface NotificationsDatabase {
  notifications: NotificationsTable;
  recipients: RecipientsTable;
  order_owners: OrderOwnersTable;
  preferences: PreferencesTable;
  email_outbox: EmailOutboxTable;
}

export type NotificationsDb = Kysely<NotificationsDatabase>;
export type NotificationRow = Selectable<NotificationsTable>;
