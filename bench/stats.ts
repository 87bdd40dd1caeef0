/** Small measuring helpers: clocks, percentiles, pacing. */

/** Milliseconds from a monotonic clock, sub-microsecond resolution. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles of `values` (sorted in place). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))];
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { count: values.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: values[values.length - 1], mean };
}

/**
 * Starts counting this process's CPU time (user + system, every thread: GC helpers and SQLite
 * included); the returned function gives the microseconds used since. On a shared machine CPU per
 * event is steadier than events per second.
 */
export function cpuMeter(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return used.user + used.system;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves on the next turn of the event loop after pending I/O. */
export const yieldLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Calls `send(i)` at a fixed `rate` per second for `durationMs`: a 1 ms interval timer that, on each
 * tick, sends every event whose due time (start + i / rate) has passed, so a late tick catches up
 * instead of lowering the rate. Resolves with how late the sends were behind their due times.
 */
export function paced(rate: number, durationMs: number, send: (i: number) => void): Promise<{ sent: number; lagP99Ms: number; lagMaxMs: number }> {
  const total = Math.round((rate * durationMs) / 1000);
  const lags: number[] = [];
  return new Promise((resolve) => {
    const start = nowMs();
    let i = 0;
    const tick = () => {
      const now = nowMs();
      while (i < total && start + (i * 1000) / rate <= now) {
        lags.push(nowMs() - (start + (i * 1000) / rate));
        send(i);
        i += 1;
      }
      if (i >= total) {
        clearInterval(timer);
        const lag = percentiles(lags);
        resolve({ sent: i, lagP99Ms: lag.p99, lagMaxMs: lag.max });
      }
    };
    const timer = setInterval(tick, 1);
  });
}

/** Runs `workers` loops of `step` in parallel until `durationMs` has passed; resolves with the steps done and the time taken. */
export async function closedLoop(workers: number, durationMs: number, step: (i: number) => Promise<unknown>): Promise<{ done: number; ms: number }> {
  let next = 0;
  let done = 0;
  const start = nowMs();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (nowMs() < end) {
        await step(next++);
        done += 1;
      }
    }),
  );
  return { done, ms: nowMs() - start };
}
