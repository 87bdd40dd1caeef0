/**
 * `flamingo warehouse sql | rebuild` and `flamingo keys create --role analyst` against a running
 * Flamingo: table, CSV and JSON output, an analyst key that reads the warehouse, the rebuild's
 * plain progress lines off a terminal and its progress bar on one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWarehouseRebuild } from '../src/app/cli/warehouse.ts';
import { warehouseService } from '../src/services/warehouse/index.ts';
import { runCli } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('flamingo warehouse', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({}, { registry: [warehouseService()] });
    env = { FLAMINGO_URL: server.url, FLAMINGO_KEY: server.adminKey };
    for (let i = 0; i < 5; i += 1) await server.flamingo.bus.publish({ type: 'cart.item_added', data: { items: [i], item: i } });
    for (;;) {
      const { body } = await server.request('GET', '/v1/subscriptions');
      if (body.subscriptions.find((s: { name: string }) => s.name === 'warehouse')?.details?.rowsLanded === 5) break;
      await sleep(25);
    }
  });
  afterAll(() => server.stop());

  it('runs SQL with a new analyst key, as a table, CSV or JSON', async () => {
    const created = await runCli(['keys', 'create', '--role', 'analyst', '--name', 'data team'], { env });
    expect(created.code, created.stderr).toBe(0);
    const analystKey = created.stdout.trim().split('\n').at(-1)!;
    expect(analystKey).toMatch(/^flm_/);
    const analyst = { FLAMINGO_URL: server.url, FLAMINGO_KEY: analystKey };
    const table = await runCli(['warehouse', 'sql', "SELECT type, count(*) AS n FROM events GROUP BY type"], { env: analyst });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n').slice(0, 2)).toEqual([expect.stringMatching(/^TYPE\s+N$/), expect.stringMatching(/^cart\.item_added\s+5$/)]);
    const csv = await runCli(['warehouse', 'sql', `SELECT item, items, 'a "quoted", text' AS note FROM cart_item_added ORDER BY item LIMIT 2`, '--format', 'csv'], { env: analyst });
    expect(csv.stdout.split('\n').slice(0, 3)).toEqual(['item,items,note', '0,[0],"a ""quoted"", text"', '1,[1],"a ""quoted"", text"']);
    const json = await runCli(['warehouse', 'sql', 'SELECT count(*) AS n FROM events', '--format', 'json'], { env: analyst });
    expect(JSON.parse(json.stdout)).toEqual({ columns: [{ name: 'n', type: expect.any(String) }], rows: [{ n: 5 }], truncated: false });
    // An analyst key reads the warehouse, nothing else; a bad query names the rule (exit 1).
    expect((await runCli(['subscriptions'], { env: analyst })).code).toBe(1);
    const refused = await runCli(['warehouse', 'sql', 'DROP TABLE events'], { env: analyst });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/400 (read_only|invalid_query)/);
    expect((await runCli(['warehouse', 'sql', 'SELECT 1', '--format', 'xml'], { env: analyst })).code).toBe(2);
  });

  it('shows the landing figures in flamingo subscriptions', async () => {
    const listed = await runCli(['subscriptions'], { env });
    expect(listed.stdout).toMatch(/warehouse .* rowsLanded=5 lastLandedSequence=5/);
  });

  it('prints plain progress lines off a terminal', async () => {
    const rebuilt = await runCli(['warehouse', 'rebuild'], { env });
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toMatch(/^rebuilt the warehouse: 5 events in [\d.]+ s \(\d+ events\/s\)$/m);
    expect(rebuilt.stderr).toMatch(/^rebuild: 5\/5 events, \d+ ev\/s, \d+ s left$/m);
    expect(rebuilt.stderr).not.toContain(String.fromCharCode(27));
  });

  it('draws a progress bar on a terminal', async () => {
    let drawn = '';
    const terminal = Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          drawn += String(chunk);
          done();
        },
      }),
      { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
    ) as unknown as NodeJS.WriteStream;
    await runWarehouseRebuild({ url: server.url, key: server.adminKey }, terminal);
    expect(drawn).toMatch(/rebuild \[=+\] 5\/5 events \| \d+ ev\/s \| .+ left/);
  });
});
