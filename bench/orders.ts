/**
 * Section 6: orders per second end to end (placed → confirmed) at a steady rate, with the order
 * simulator of `src/app/simulate/` against a fresh server. Until the simulator is there, the
 * section says so and measures nothing.
 */
import { loadSimulator } from './parts.ts';
import type { Figure } from './report.ts';

export interface OrdersSectionOptions {
  readonly dir: string;
  readonly engine: 'sqlite' | 'nats';
  readonly durationS: number;
  /** Orders placed per second. */
  readonly rate: number;
}

const NAME = 'orders placed → confirmed';

export async function ordersSection(_options: OrdersSectionOptions): Promise<Figure[]> {
  const simulator = await loadSimulator();
  if (!simulator.ok) return [{ section: 'orders', name: NAME, unit: 'orders/s', value: undefined, note: `not available: ${simulator.reason}` }];
  return [
    {
      section: 'orders',
      name: NAME,
      unit: 'orders/s',
      value: undefined,
      note: `not available: src/app/simulate/ exports ${Object.keys(simulator.value).join(', ') || 'nothing'}; the bench does not drive it yet`,
    },
  ];
}
