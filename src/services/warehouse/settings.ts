import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError } from '../../platform/config.ts';
import type { PersonalDataPolicy } from './rows.ts';

/** The warehouse's own settings, from the environment the app hands it (README "Warehouse"). */
export interface WarehouseSettings {
  /** Where it lives: DuckDB `<data dir>/warehouse.duckdb` (embedded default) or PostgreSQL (`FLAMINGO_WAREHOUSE_URL=postgres://…`). */
  readonly backend: { readonly kind: 'duckdb'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string; readonly schema: string; readonly readerUrl?: string };
  /** `FLAMINGO_WAREHOUSE_PERSONAL_DATA`: what becomes of the catalog's personal-data fields. (Default: `pseudonymise`) */
  readonly personalData: PersonalDataPolicy;
  /** `FLAMINGO_WAREHOUSE_PSEUDONYM_KEY`: the key of the pseudonyms' keyed hash, ≥ 32 characters. (Default: generated into `<data dir>/warehouse.key`) */
  readonly pseudonymKey?: string;
  /** `FLAMINGO_WAREHOUSE_QUERY_TIMEOUT_MS`: a query running longer is cancelled, 100–600 000. (Default: 30 000) */
  readonly queryTimeoutMs: number;
  /** `FLAMINGO_WAREHOUSE_MAX_ROWS`: most rows one query returns, 1–1 000 000. (Default: 10 000) */
  readonly maxRows: number;
  /** `FLAMINGO_WAREHOUSE_BATCH_SIZE`: most events landed in one transaction, 1–10 000. (Default: 2 000) */
  readonly batchSize: number;
}

/**
 * The warehouse's settings schema (platform/settings.ts): the app checks the numbers before any
 * service starts; `readWarehouseSettings` checks the rest (URLs, names, the policy, the key) as the
 * warehouse starts, naming each bad one the same way.
 */
export const warehouseSettings = Type.Object({
  FLAMINGO_WAREHOUSE_URL: Type.String({ default: '', description: 'postgres://… of the warehouse; unset: DuckDB in the data dir.' }),
  FLAMINGO_WAREHOUSE_SCHEMA: Type.String({ default: 'warehouse', description: 'The warehouse schema on PostgreSQL.' }),
  FLAMINGO_WAREHOUSE_READER_URL: Type.String({ default: '', description: 'postgres://… of a read-only login for queries (default: <schema>_reader, created at start).' }),
  FLAMINGO_WAREHOUSE_PERSONAL_DATA: Type.String({ default: 'pseudonymise', description: 'pseudonymise, remove or keep the catalog personal data.' }),
  FLAMINGO_WAREHOUSE_PSEUDONYM_KEY: Type.String({ default: '', description: 'Key of the pseudonyms, at least 32 characters (default: generated into <data dir>/warehouse.key).' }),
  FLAMINGO_WAREHOUSE_QUERY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000, description: 'Milliseconds a query may run.' }),
  FLAMINGO_WAREHOUSE_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Most rows a query returns.' }),
  FLAMINGO_WAREHOUSE_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 2_000, description: 'Most events landed in one transaction.' }),
});

type SettingName = keyof Static<typeof warehouseSettings>;

const POLICIES: readonly PersonalDataPolicy[] = ['pseudonymise', 'remove', 'keep'];

/** Reads and checks the settings; every bad value is one line naming it (`ConfigError`). */
export function readWarehouseSettings(env: Readonly<Record<string, string | undefined>>, dataDir: string): WarehouseSettings {
  const problems: string[] = [];
  const get = (name: SettingName) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const whole = (name: SettingName, fallback: number, min: number, max: number, unit = '') => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) problems.push(`${name}: must be a whole number${unit} from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const postgresUrl = (name: SettingName) => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    let ok: boolean;
    try {
      ok = ['postgres:', 'postgresql:'].includes(new URL(raw).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`${name}: must be a postgres://… URL (unset: DuckDB in the data dir), got "${raw.replace(/\/\/[^@/]*@/, '//…@')}"`);
    return raw;
  };

  const url = postgresUrl('FLAMINGO_WAREHOUSE_URL');
  const readerUrl = postgresUrl('FLAMINGO_WAREHOUSE_READER_URL');
  const schema = get('FLAMINGO_WAREHOUSE_SCHEMA') ?? 'warehouse';
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(schema)) problems.push(`FLAMINGO_WAREHOUSE_SCHEMA: must be lower-case letters, digits and _ (at most 41), starting with a letter, got "${schema}"`);
  if (readerUrl && !url) problems.push('FLAMINGO_WAREHOUSE_READER_URL: only with FLAMINGO_WAREHOUSE_URL (the DuckDB warehouse has no reader login)');
  const personal = get('FLAMINGO_WAREHOUSE_PERSONAL_DATA') ?? 'pseudonymise';
  if (!POLICIES.includes(personal as PersonalDataPolicy)) problems.push(`FLAMINGO_WAREHOUSE_PERSONAL_DATA: must be one of ${POLICIES.join(', ')}, got "${personal}"`);
  const pseudonymKey = get('FLAMINGO_WAREHOUSE_PSEUDONYM_KEY');
  if (pseudonymKey !== undefined && pseudonymKey.length < 32) problems.push(`FLAMINGO_WAREHOUSE_PSEUDONYM_KEY: must be at least 32 characters, got ${pseudonymKey.length}`);
  const settings: WarehouseSettings = {
    backend: url ? { kind: 'postgres', url, schema, ...(readerUrl ? { readerUrl } : {}) } : { kind: 'duckdb', file: path.join(dataDir, 'warehouse.duckdb') },
    personalData: personal as PersonalDataPolicy,
    ...(pseudonymKey ? { pseudonymKey } : {}),
    queryTimeoutMs: whole('FLAMINGO_WAREHOUSE_QUERY_TIMEOUT_MS', 30_000, 100, 600_000, ' of milliseconds'),
    maxRows: whole('FLAMINGO_WAREHOUSE_MAX_ROWS', 10_000, 1, 1_000_000),
    batchSize: whole('FLAMINGO_WAREHOUSE_BATCH_SIZE', 2_000, 1, 10_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}
