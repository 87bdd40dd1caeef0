import type { Bus } from '../bus/index.ts';
import type { KeyStore } from '../platform/auth/index.ts';
import type { Metrics } from '../platform/metrics.ts';

/** What the admin API needs. */
export interface AdminDeps {
  readonly bus: Bus;
  readonly keys: KeyStore;
  readonly metrics: Metrics;
  /** Flamingo's version, shown by the catalog documents. */
  readonly version: string;
}
