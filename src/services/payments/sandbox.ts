import type { Kysely, Selectable } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import {
  IdempotencyKeyReusedError,
  RefundRefusedError,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type RefundRequest,
} from './provider.ts';

export interface SandboxChargesTable {
  id: string;
  idempotency_key: string;
  token: string;
  amount_cents: number | string | bigint;
  currency: string;
  /** `processing` until `settles_at` for `tok_slow`. */
  status: 'processing' | 'succeeded' | 'failed';
  failure_message: string | null;
  failure_code: string | null;
  created_at: string;
  settles_at: string;
  settled_at: string | null;
}

export interface SandboxRefundsTable {
  id: string;
  idempotency_key: string;
  charge_id: string;
  amount_cents: number | string | bigint;
  created_at: string;
}

export interface SandboxDatabase {
  sandbox_charges: SandboxChargesTable;
  sandbox_refunds: SandboxRefundsTable;
}

export interface SandboxOptions {
  readonly db: Kysely<SandboxDatabase>;
  /** How long a `tok_slow` charge stays `processing` before it succeeds. (Default: 3000 ms, `FLAMINGO_SANDBOX_SLOW_MS`) */
  readonly slowMs?: number;
}

/** The test tokens and what they do, as a real provider's test mode documents them. */
export const SANDBOX_TOKENS = {
  tok_ok: 'succeeds at once',
  tok_declined: 'fails: insufficient funds',
  tok_slow: 'succeeds after the slow delay',
} as const;

type Outcome = Pick<SandboxChargesTable, 'status' | 'failure_message' | 'failure_code'>;

function outcomeOf(token: string): Outcome {
  switch (token) {
    case 'tok_ok':
      return { status: 'succeeded', failure_message: null, failure_code: null };
    case 'tok_slow':
      return { status: 'processing', failure_message: null, failure_code: null };
    case 'tok_declined':
      return { status: 'failed', failure_message: 'insufficient funds', failure_code: 'card_declined' };
    default:
      return { status: 'failed', failure_message: 'invalid token', failure_code: 'invalid_token' };
  }
}

function resultOf(row: Selectable<SandboxChargesTable>): ChargeResult {
  return row.status === 'failed'
    ? { status: 'failed', chargeId: row.id, error: row.failure_message ?? 'declined', code: row.failure_code ?? 'declined' }
    : { status: 'succeeded', chargeId: row.id };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A sandbox payment provider that behaves like a real one in test mode: the token decides the
 * outcome (`tok_ok`, `tok_declined`, `tok_slow`, anything else is an invalid token), and charges
 * and refunds are remembered by idempotency key in the sandbox's own tables, so repeating a call —
 * after a crash, say — returns the first outcome and never charges twice. A `tok_slow` charge is
 * `processing` until its settle time; a repeated call waits for that same settlement.
 */
export function sandboxProvider(options: SandboxOptions): PaymentProvider & {
  /** The sandbox's record of charges, for the admin API and tests. */
  charges(filter?: { idempotencyKey?: string }): Promise<Selectable<SandboxChargesTable>[]>;
} {
  const { db } = options;
  const slowMs = options.slowMs ?? 3000;

  return {
    async charge(request: ChargeRequest): Promise<ChargeResult> {
      const now = new Date();
      const outcome = outcomeOf(request.token);
      const settlesAt = new Date(now.getTime() + (outcome.status === 'processing' ? slowMs : 0));
      await db
        .insertInto('sandbox_charges')
        .values({
          id: `ch_${uuidv7().replaceAll('-', '')}`,
          idempotency_key: request.idempotencyKey,
          token: request.token,
          amount_cents: request.amountCents,
          currency: request.currency,
          ...outcome,
          created_at: now.toISOString(),
          settles_at: settlesAt.toISOString(),
          settled_at: outcome.status === 'processing' ? null : now.toISOString(),
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute();
      let row = await db.selectFrom('sandbox_charges').selectAll().where('idempotency_key', '=', request.idempotencyKey).executeTakeFirstOrThrow();
      if (Number(row.amount_cents) !== request.amountCents || row.currency !== request.currency || row.token !== request.token) {
        throw new IdempotencyKeyReusedError(request.idempotencyKey);
      }
      if (row.status === 'processing') {
        await sleep(Math.max(0, Date.parse(row.settles_at) - Date.now()));
        await db
          .updateTable('sandbox_charges')
          .set({ status: 'succeeded', settled_at: new Date().toISOString() })
          .where('id', '=', row.id)
          .where('status', '=', 'processing')
          .execute();
        row = await db.selectFrom('sandbox_charges').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      }
      return resultOf(row);
    },

    async refund(request: RefundRequest) {
      const charge = await db.selectFrom('sandbox_charges').selectAll().where('id', '=', request.chargeId).executeTakeFirst();
      if (!charge) throw new RefundRefusedError(`no such charge ${request.chargeId}`);
      if (charge.status !== 'succeeded') throw new RefundRefusedError(`charge ${request.chargeId} is ${charge.status}, not succeeded`);
      if (request.amountCents !== Number(charge.amount_cents)) throw new RefundRefusedError('the sandbox refunds whole charges only');
      const existing = await db.selectFrom('sandbox_refunds').selectAll().where('idempotency_key', '=', request.idempotencyKey).executeTakeFirst();
      if (existing) {
        if (existing.charge_id !== request.chargeId) throw new IdempotencyKeyReusedError(request.idempotencyKey);
        return { refundId: existing.id };
      }
      const id = `re_${uuidv7().replaceAll('-', '')}`;
      const inserted = await db
        .insertInto('sandbox_refunds')
        .values({ id, idempotency_key: request.idempotencyKey, charge_id: request.chargeId, amount_cents: request.amountCents, created_at: new Date().toISOString() })
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) {
        const again = await db.selectFrom('sandbox_refunds').selectAll().where('idempotency_key', '=', request.idempotencyKey).executeTakeFirst();
        if (again && again.charge_id === request.chargeId) return { refundId: again.id };
        throw new RefundRefusedError(`charge ${request.chargeId} was already refunded`);
      }
      return { refundId: id };
    },

    async charges(filter = {}) {
      let query = db.selectFrom('sandbox_charges').selectAll().orderBy('created_at');
      if (filter.idempotencyKey !== undefined) query = query.where('idempotency_key', '=', filter.idempotencyKey);
      return query.execute();
    },
  };
}
