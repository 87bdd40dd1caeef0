/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, the `standardwebhooks` package
 * signs): `webhook-id` (the event id, the same on every retry), `webhook-timestamp` (Unix
 * seconds), `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
 * one per secret in use. During a rotation the old secret signs beside the new one until it
 * expires, so a receiver can switch secrets at its own pace.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A signing secret as stored; `expiresAt` (RFC 3339) is set on the old one during a rotation. */
export interface SigningSecret {
  /** `whsec_` + base64 of 24 random bytes, or what the admin gave. */
  readonly secret: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
}

/** A new secret in the Standard Webhooks format. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** A secret is `whsec_` + base64 of 24 to 64 bytes (the key Standard Webhooks verifiers decode). */
export function isValidSecret(secret: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!match) return false;
  const bytes = Buffer.from(match[1]!, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

/** The secrets that sign at `now`: every one not yet expired, newest first. */
export function activeSecrets(secrets: readonly SigningSecret[], now: Date): SigningSecret[] {
  return secrets.filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > now.getTime());
}

/** Adds `secret` as the newest; the ones in use expire after `graceMs` (expired ones are dropped). */
export function rotate(secrets: readonly SigningSecret[], secret: string, graceMs: number, now: Date): SigningSecret[] {
  const expiresAt = new Date(now.getTime() + graceMs).toISOString();
  const kept = activeSecrets(secrets, now).map((s) => ({ ...s, expiresAt: s.expiresAt !== null && Date.parse(s.expiresAt) < Date.parse(expiresAt) ? s.expiresAt : expiresAt }));
  return [{ secret, createdAt: now.toISOString(), expiresAt: null }, ...kept];
}

/** The three Standard Webhooks headers for one request. */
export function signatureHeaders(secrets: readonly SigningSecret[], id: string, body: string, now: Date): Record<string, string> {
  const signatures = activeSecrets(secrets, now).map((s) => new Webhook(s.secret).sign(id, now, body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
