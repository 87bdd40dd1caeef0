/**
 * A delivery target's consumer contract (issue 14), registered automatically: a target forwards
 * `data` whole to a system outside, so it reads every field of every type it takes, at the version
 * current when it first took the type. `flamingo catalog check` then fails when a catalog change
 * would break what a target's receiver was built against, naming the target's subscription.
 */
import type { TObject } from '@sinclair/typebox';
import { catalog, matchesTypes, type ConsumerContract, type ContractRead } from '../../contracts/index.ts';
import type { ContractStore } from '../../platform/auth/index.ts';
import { subscriptionOf, type Target } from './targets.ts';

/**
 * The contract of `target`: per catalog type its patterns match, the version and every top-level
 * field. A type already in `previous` keeps its version and fields there (a restart or a change of
 * the target does not move it silently to a newer version).
 */
export function targetContract(target: Pick<Target, 'id' | 'types'>, previous?: ConsumerContract): ConsumerContract {
  const kept = new Map((previous?.reads ?? []).map((r) => [r.type, r]));
  const reads: ContractRead[] = catalog
    .filter((entry) => matchesTypes(target.types, entry.type))
    .map((entry) => kept.get(entry.type) ?? { type: entry.type, version: entry.version, fields: Object.keys((entry.schema as TObject).properties) });
  return { consumer: subscriptionOf(target.id), reads };
}

/** Keeps the stored contracts of targets in step with the targets: one per target, none for a removed one. */
export async function syncTargetContracts(store: ContractStore, targets: readonly Pick<Target, 'id' | 'types'>[]): Promise<void> {
  const wanted = new Set(targets.map((t) => subscriptionOf(t.id)));
  const stored = (await store.list()).filter((c) => c.origin === 'target');
  for (const contract of stored) if (!wanted.has(contract.consumer)) await store.remove(contract.consumer);
  const byConsumer = new Map(stored.map((c) => [c.consumer, c]));
  for (const target of targets) {
    const contract = targetContract(target, byConsumer.get(subscriptionOf(target.id)));
    if (contract.reads.length > 0) await store.put(contract, 'target');
    else await store.remove(contract.consumer);
  }
}
