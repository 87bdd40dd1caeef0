import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import { sandboxTables } from './migrations/002_sandbox.ts';
import { IdempotencyKeyReusedError, RefundRefusedError } from './provider.ts';
import { sandboxProvider, type SandboxDatabase } from './sandbox.ts';

describe.each(DIALECTS)('sandbox payment provider on %s', (dialect) => {
  let test: TestDatabase<SandboxDatabase>;
  let sandbox: ReturnType<typeof sandboxProvider>;
  beforeAll(async () => {
    test = await openTestDatabase<SandboxDatabase>(dialect, 'sandbox', { '002_sandbox': sandboxTables });
    sandbox = sandboxProvider({ db: test.database.db, slowMs: 300 });
  });
  afterAll(() => test.cleanup());

  const charge = (key: string, token: string, amountCents = 1000) => sandbox.charge({ idempotencyKey: key, token, amountCents, currency: 'EUR' });

  it('tok_ok succeeds, tok_declined fails with insufficient funds, anything else is an invalid token', async () => {
    expect(await charge('k-ok', 'tok_ok')).toMatchObject({ status: 'succeeded', chargeId: expect.stringMatching(/^ch_/) });
    expect(await charge('k-declined', 'tok_declined')).toMatchObject({ status: 'failed', error: 'insufficient funds', code: 'card_declined' });
    expect(await charge('k-bad', 'tok_whatever')).toMatchObject({ status: 'failed', error: 'invalid token', code: 'invalid_token' });
  });

  it('tok_slow settles after the slow delay', async () => {
    const started = Date.now();
    expect(await charge('k-slow', 'tok_slow')).toMatchObject({ status: 'succeeded' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('remembers charges by idempotency key: repeated and concurrent calls make one charge', async () => {
    const results = await Promise.all([charge('k-once', 'tok_slow'), charge('k-once', 'tok_slow'), charge('k-once', 'tok_slow')]);
    expect(new Set(results.map((r) => r.chargeId)).size).toBe(1);
    expect(await charge('k-once', 'tok_slow')).toEqual(results[0]);
    expect(await sandbox.charges({ idempotencyKey: 'k-once' })).toHaveLength(1);
  });

  it('refuses a key reused with another amount', async () => {
    await expect(charge('k-ok', 'tok_ok', 999)).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });

  it('refunds a succeeded charge once, idempotently, and refuses a failed one', async () => {
    const paid = await charge('k-refund', 'tok_ok');
    const first = await sandbox.refund({ idempotencyKey: 'r-1', chargeId: paid.chargeId, amountCents: 1000 });
    expect(await sandbox.refund({ idempotencyKey: 'r-1', chargeId: paid.chargeId, amountCents: 1000 })).toEqual(first);
    await expect(sandbox.refund({ idempotencyKey: 'r-2', chargeId: paid.chargeId, amountCents: 1000 })).rejects.toBeInstanceOf(RefundRefusedError);
    const declined = await charge('k-declined', 'tok_declined');
    await expect(sandbox.refund({ idempotencyKey: 'r-3', chargeId: declined.chargeId, amountCents: 1000 })).rejects.toBeInstanceOf(RefundRefusedError);
  });
});
