import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Id } from './fields.ts';

/**
 * What a notification is about, the unit of a customer's preferences (category × channel).
 * `payment` and `security` are critical: they cannot be switched off.
 */
export const NotificationCategory = Type.Union(
  [Type.Literal('order'), Type.Literal('shipping'), Type.Literal('payment'), Type.Literal('account'), Type.Literal('security')],
  { description: 'What the notification is about; `payment` and `security` are critical (always sent).' },
);

export const notificationCreated = defineEvent({
  type: 'notification.created',
  version: 1,
  producer: 'notifications',
  kind: 'domain',
  key: ['userId'],
  subject: 'user',
  urgency: 'background',
  description:
    'The notifications service told a customer something (in-app inbox always, email as the preferences say): ' +
    'the customer hub shows it in the inbox, on the order timeline and on the live stream. ' +
    'One per (source event, customer): `notificationId` is derived from both, so a rebuild makes no second one.',
  schema: Type.Object({
    notificationId: Id('The notification: a UUID derived from the source event id and the customer.'),
    userId: Id('The customer it is for.'),
    category: NotificationCategory,
    urgency: Type.Union([Type.Literal('immediate'), Type.Literal('background')], { description: "The source event type's catalog urgency." }),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    body: Type.String({ minLength: 1, maxLength: 2000 }),
    link: Type.String({ minLength: 1, maxLength: 500, description: 'Path of the page it is about in the customer hub, e.g. `/account#/orders/<orderId>`.' }),
    orderId: Type.Optional(Id('The order it is about, if any.')),
    sourceEventId: Id('The event the notification came from.'),
    sourceType: Type.String({ minLength: 1, maxLength: 100, description: 'The type of that event, e.g. `order.confirmed`.' }),
  }),
  personalData: [],
  aliases: [],
});

export const notificationsEvents = [notificationCreated] as const;
