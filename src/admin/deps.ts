import type { Bus } from '../bus/index.ts';
import type { ConsumerContract } from '../contracts/index.ts';
import type { ContractStore, KeyStore } from '../platform/auth/index.ts';
import type { Metrics } from '../platform/metrics.ts';
import type { OverviewSamplerOptions } from './overview.ts';

/** What the admin API needs. */
export interface AdminDeps {
  readonly bus: Bus;
  readonly keys: KeyStore;
  readonly metrics: Metrics;
  /** Consumer contracts registered at run time (`POST /v1/contracts`, delivery targets). */
  readonly contracts: ContractStore;
  /** The contracts declared in the code of every service (issue 14): shown by the catalog, never replaced over the API. */
  readonly codeContracts: readonly ConsumerContract[];
  /** Flamingo's version, shown by the catalog documents. */
  readonly version: string;
  /** The console overview's sampling. (Default: every 10 s, one hour kept) */
  readonly overview?: OverviewSamplerOptions;
}
