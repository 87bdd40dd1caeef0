/** Parsing of the simulator's command-line values, with messages that name the option. */
import { UsageError } from '../../src/app/cli/output.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `2m`, `1h`, or a plain number of seconds. */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new UsageError(`${option} must be a duration such as 30s, 2m or 500ms (got "${value}")`);
  const ms = Number(match[1]) * UNITS[match[2] ?? 's'];
  if (ms <= 0) throw new UsageError(`${option} must be more than 0`);
  return ms;
}

export function parsePositive(option: string, value: string, { integer = false } = {}): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${option} must be a ${integer ? 'whole ' : ''}number > 0 (got "${value}")`);
  }
  return n;
}

/** A small seeded generator (mulberry32), so a run can be repeated; Math.random without a seed. */
export function randomSource(seed?: number): () => number {
  if (seed === undefined) return Math.random;
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A short id that keeps one run's SKUs and e-mail addresses apart from another's. */
export function runIdOf(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}
