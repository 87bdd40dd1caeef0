/**
 * Finds the parts under test at run time: the bus, the engines, the server and the order
 * simulator. A part that is missing or does not load makes its sections print "not available"
 * instead of stopping the whole run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BusOptions } from '../src/bus/bus.ts';
import type { Bus, Engine } from '../src/bus/types.ts';

export type Loaded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const root = fileURLToPath(new URL('../', import.meta.url));

/** Imports the first of `candidates` (paths from the repository root) that exists. */
async function importFirst(candidates: readonly string[]): Promise<Loaded<Record<string, unknown>>> {
  for (const candidate of candidates) {
    const file = `${root}${candidate}`;
    if (!existsSync(file)) continue;
    try {
      return { ok: true, value: (await import(pathToFileURL(file).href)) as Record<string, unknown> };
    } catch (error) {
      return { ok: false, reason: `${candidate} does not load: ${(error as Error).message.split('\n')[0]}` };
    }
  }
  return { ok: false, reason: `${candidates[0]} is not there yet` };
}

async function exported<T>(candidates: readonly string[], name: string): Promise<Loaded<T>> {
  const mod = await importFirst(candidates);
  if (!mod.ok) return mod;
  const value = mod.value[name];
  if (typeof value !== 'function') return { ok: false, reason: `${candidates[0]} exports no ${name}()` };
  return { ok: true, value: value as T };
}

export type CreateBus = (options: BusOptions) => Bus;
export const loadCreateBus = () => exported<CreateBus>(['src/bus/index.ts', 'src/bus/bus.ts'], 'createBus');

/** `sqliteEngine({ file })`: some versions return the engine, others a promise of it. */
export type SqliteEngineFactory = (options: { file: string }) => Engine | Promise<Engine>;
export const loadSqliteEngine = () => exported<SqliteEngineFactory>(['src/engines/sqlite/index.ts'], 'sqliteEngine');

/** `natsEngine({ servers, stream })`: the stream name keeps a run apart from every other user of the server. */
export type NatsEngineFactory = (options: { servers: readonly string[]; stream?: string }) => Engine | Promise<Engine>;
export const loadNatsEngine = () => exported<NatsEngineFactory>(['src/engines/nats/index.ts'], 'natsEngine');

export const loadApp = () => importFirst(['src/app/flamingo.ts', 'src/app/index.ts']);

export const loadSimulator = () => importFirst(['src/app/simulate/index.ts']);

/** Names of the services the registry (`src/services/index.ts`) starts. */
export async function loadServiceNames(): Promise<Loaded<string[]>> {
  const mod = await importFirst(['src/services/index.ts']);
  if (!mod.ok) return mod;
  const services = mod.value.services;
  if (!Array.isArray(services)) return { ok: false, reason: 'src/services/index.ts exports no services list' };
  return { ok: true, value: services.map((s: { name?: unknown }) => String(s.name)) };
}
