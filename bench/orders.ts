/**
 * Section 6: orders per second end to end (placed → confirmed) at a steady rate. A fresh server
 * with every service runs in a child process; the services engineer's `measureOrderThroughput`
 * (tools/simulate/) places orders through the HTTP API and follows the log for confirmations.
 * The ceiling is the rate asked for: a system that keeps up confirms as many orders as are placed.
 */
import { measureOrderThroughput } from '../tools/simulate/index.ts';
import { services } from '../src/services/index.ts';
import { ADMIN_KEY, startServerChild } from './http.ts';
import type { Figure } from './report.ts';

export interface OrdersSectionOptions {
  readonly dir: string;
  readonly durationS: number;
  /** Orders placed per second. */
  readonly rate: number;
  /** After the last order, how long to wait for confirmations. */
  readonly settleMs: number;
}

/** The simulator's last error, if any. */
function errorSample(samples: readonly string[]): string {
  return samples.length > 0 ? ` (last: ${samples[samples.length - 1].slice(0, 160)})` : '';
}

const ms = (value: number | undefined) => (value === undefined ? '—' : `${Math.round(value)} ms`);

export async function ordersSection(options: OrdersSectionOptions): Promise<Figure[]> {
  const name = `orders placed → confirmed, offered ${options.rate}/s`;
  const unavailable = (reason: string): Figure[] => [{ section: 'orders', name, unit: 'orders/s', value: undefined, note: `not available: ${reason}` }];
  const registered = services.map((s) => s.name);
  const missing = ['users', 'catalog', 'orders', 'payments'].filter((s) => !registered.includes(s));
  if (missing.length > 0) return unavailable(`src/services/index.ts does not register ${missing.join(', ')}`);

  let server;
  try {
    server = await startServerChild('shop', options.dir);
  } catch (error) {
    return unavailable(`the server did not start: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    const result = await measureOrderThroughput({ url: server.url, key: ADMIN_KEY, rate: options.rate, durationMs: options.durationS * 1000, settleMs: options.settleMs, seed: 1 });
    const problems = [
      result.skipped > 0 ? `${result.skipped} not sent (the API did not keep up)` : '',
      result.cancelled > 0 ? `${result.cancelled} cancelled` : '',
      result.errors > 0 ? `${result.errors} requests failed${errorSample(result.errorSamples)}` : '',
      result.placed > result.confirmed + result.cancelled ? `${result.placed - result.confirmed - result.cancelled} not confirmed within ${options.settleMs / 1000} s` : '',
    ].filter(Boolean);
    return [
      {
        section: 'orders',
        name,
        unit: 'orders/s',
        value: result.ordersPerSecond,
        ceiling: options.rate,
        ceilingName: 'offered rate',
        note: [
          `${result.placed} placed, ${result.confirmed} confirmed in ${options.durationS} s; placed → confirmed p50 ${ms(result.latencyMs.p50)}, p99 ${ms(result.latencyMs.p99)}, max ${ms(result.latencyMs.max)}`,
          ...problems,
        ].join('; '),
      },
    ];
  } catch (error) {
    return unavailable(`the run failed: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    await server.stop();
  }
}
