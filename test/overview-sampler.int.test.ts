/** The overview sampler (the console's last hour) on a real SQLite bus. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createBus, type Bus } from '../src/bus/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import { OverviewSampler } from '../src/admin/overview.ts';

const opened: Bus[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((bus) => bus.close()));
});
const openBus = () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-overview-')), 'bus.db');
  const bus = createBus({ engine: sqliteEngine({ file }), source: '/test' });
  opened.push(bus);
  return bus;
};
const addItem = (bus: Bus, item: number) => bus.publish({ type: 'cart.item_added', data: { cartId: '0190a000-0000-7000-8000-00000000000a', items: [item], item } });

it('samples the head and each subscription lag, keeping only the window', async () => {
  const bus = openBus();
  // A window of 3 intervals keeps 4 samples.
  const sampler = new OverviewSampler(bus, { intervalMs: 1000, windowMs: 3000 });
  await sampler.take();
  expect(sampler.history()).toEqual([{ time: expect.any(String), head: 0, lag: {} }]);

  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const subscription = await bus.subscribe({ name: 'slow', types: ['cart.*'] }, () => held);
  for (let i = 1; i <= 3; i += 1) await addItem(bus, i);
  await sampler.take();
  const second = sampler.history()[1];
  expect(second.head).toBe(3);
  expect(second.lag.slow).toBeGreaterThanOrEqual(2); // one may be in flight, still not done

  for (let i = 0; i < 5; i += 1) await sampler.take();
  const history = sampler.history();
  expect(history).toHaveLength(4);
  expect(history.every((s) => s.head === 3)).toBe(true);
  expect(history.map((s) => s.time)).toEqual([...history.map((s) => s.time)].sort());
  release();
  await subscription.close();
});

it('leaves a gap, without throwing, when the engine does not answer', async () => {
  const bus = openBus();
  const sampler = new OverviewSampler(bus, { intervalMs: 1000 });
  await sampler.take();
  await bus.close();
  await sampler.take(); // the engine is closed: no sample, no throw
  expect(sampler.history()).toHaveLength(1);
  opened.splice(0);
});
