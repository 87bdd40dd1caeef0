/** What every run against a server shares: where it is, the admin key, and a seed. */
import { randomSource, runIdOf } from './options.ts';

export interface RunBasics {
  /** The server. (Default: http://127.0.0.1:3000) */
  readonly url?: string;
  /** The admin key: products, stock, shipments and the event log need it. */
  readonly key?: string;
  /** Makes the shoppers' choices repeatable. (Default: random) */
  readonly seed?: number;
}

export function randomIdOrSeed(options: RunBasics): { runId: string; random: () => number } {
  return { runId: runIdOf(), random: randomSource(options.seed) };
}
