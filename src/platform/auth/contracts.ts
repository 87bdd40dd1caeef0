/**
 * Consumer contracts from outside the repository's code (issue 14): registered over the API
 * (`POST /v1/contracts`) or kept in step with a delivery target. Stored in the platform database,
 * shared by every process; `GET /v1/catalog` and `flamingo catalog check --server` read them.
 */
import type { Kysely } from 'kysely';
import type { ConsumerContract, ContractRead } from '../../contracts/index.ts';
import type { PlatformDatabase } from './platform-database.ts';

/** Where a stored contract came from: `api` (registered by a team) or `target` (a delivery target's). */
export type ContractOrigin = 'api' | 'target';

export interface StoredContract extends ConsumerContract {
  readonly origin: ContractOrigin;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ContractStore {
  /** Registers or replaces the contract of `contract.consumer`. */
  put(contract: ConsumerContract, origin: ContractOrigin): Promise<StoredContract>;
  get(consumer: string): Promise<StoredContract | undefined>;
  /** Every stored contract, by consumer. */
  list(): Promise<StoredContract[]>;
  /** True when there was one to remove. */
  remove(consumer: string): Promise<boolean>;
}

type Row = PlatformDatabase['consumer_contracts'];

const contractOfRow = (row: Row): StoredContract => ({
  consumer: row.consumer,
  reads: JSON.parse(row.reads) as ContractRead[],
  origin: row.origin as ContractOrigin,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** The contracts table of the platform database. */
export function contractStore(db: Kysely<PlatformDatabase>): ContractStore {
  const get = async (consumer: string) => {
    const row = await db.selectFrom('consumer_contracts').selectAll().where('consumer', '=', consumer).executeTakeFirst();
    return row ? contractOfRow(row) : undefined;
  };
  return {
    async put(contract, origin) {
      const now = new Date().toISOString();
      const reads = JSON.stringify(contract.reads.map((r) => ({ type: r.type, ...(r.version === undefined ? {} : { version: r.version }), fields: [...r.fields] })));
      await db
        .insertInto('consumer_contracts')
        .values({ consumer: contract.consumer, reads, origin, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('consumer').doUpdateSet({ reads, origin, updated_at: now }))
        .execute();
      return (await get(contract.consumer))!;
    },
    get,
    async list() {
      return (await db.selectFrom('consumer_contracts').selectAll().orderBy('consumer').execute()).map(contractOfRow);
    },
    async remove(consumer) {
      const result = await db.deleteFrom('consumer_contracts').where('consumer', '=', consumer).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
