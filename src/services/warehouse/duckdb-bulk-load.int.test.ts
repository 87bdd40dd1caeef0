/**
 * The rebuild's narrow bulk load lands exactly the rows the wide appender (the landing path) lands:
 * every column, NULLs, times with offsets, values holding the staging's separator characters,
 * across several moves and both stagings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendTo } from './duckdb-appender.ts';
import { bulkLoader } from './duckdb-bulk-load.ts';
import type { EventRow } from './rows.ts';
import { eventsColumnsSql } from './views.ts';

let dir: string;
let instance: DuckDBInstance;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-bulk-load-'));
  instance = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'), { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
});

afterEach(() => {
  instance.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
});

function row(n: number): EventRow {
  const odd = n % 7 === 3;
  return {
    id: `evt-${n}`,
    type: n % 2 === 0 ? 'order.placed' : 'no.such_type',
    version: 1 + (n % 3),
    source: odd ? '/odd\x1esource' : '/shop',
    subject: n % 5 === 0 ? null : `order/${n}`,
    key: n % 4 === 0 ? null : n % 11 === 0 ? 'key\x1fwith mark' : `k-${n}`,
    producer: n % 2 === 0 ? 'orders' : null,
    time: n % 3 === 0 ? '2024-03-01T10:00:00.123+02:00' : new Date(Date.UTC(2024, 2, 1, 0, 0, n)).toISOString(),
    recordedTime: '2024-03-01T08:00:01.5Z',
    sequence: n,
    correlationId: n % 6 === 0 ? `c-${n}` : null,
    causationId: n % 9 === 0 ? `evt-${n - 1}` : null,
    data: JSON.stringify({ n, text: 'a "quoted"\nline ✓', nested: { list: [1, null, 'x'] } }),
  };
}

describe('DuckDB bulk load', () => {
  it('lands what the wide appender lands, row for row, across moves and both stagings', async () => {
    const connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    await connection.run(`CREATE TABLE wide (${eventsColumnsSql('duckdb')})`);
    await connection.run(`CREATE TABLE narrow (${eventsColumnsSql('duckdb')})`);
    const rows = Array.from({ length: 230 }, (_, i) => row(i + 1));
    await appendTo(connection, 'wide', rows);

    const loader = await bulkLoader(instance, 'narrow', { moveRows: 40 });
    for (let i = 0; i < rows.length; i += 17) await loader.append(rows.slice(i, i + 17));
    await loader.flush();
    await loader.close();

    const count = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRowsJS()[0]![0]);
    expect(await count('SELECT count(*) FROM narrow')).toBe(rows.length);
    expect(await count('SELECT count(*) FROM (SELECT * FROM narrow EXCEPT ALL SELECT * FROM wide)')).toBe(0);
    expect(await count('SELECT count(*) FROM (SELECT * FROM wide EXCEPT ALL SELECT * FROM narrow)')).toBe(0);
    expect(await count(`SELECT count(*) FROM narrow WHERE source = '/odd' || chr(30) || 'source'`)).toBe(rows.filter((r) => r.source !== '/shop').length);
    expect(await count('SELECT count(*) FROM narrow WHERE subject IS NULL')).toBe(rows.filter((r) => r.subject === null).length);
    connection.closeSync();
  });

  it('reports a failed move and leaves nothing half-moved', async () => {
    const connection = await instance.connect();
    // The target refuses a second row with the same id: the move of a staging holding one fails.
    await connection.run(`CREATE TABLE keyed (${eventsColumnsSql('duckdb')}, PRIMARY KEY (id))`);
    const loader = await bulkLoader(instance, 'keyed', { moveRows: 10 });
    await loader.append([row(1), row(2), row(1)]);
    await expect(loader.flush()).rejects.toThrow(/constraint|duplicate/i);
    await expect(loader.append([row(3)])).rejects.toThrow(/constraint|duplicate/i);
    await loader.close();
    expect(Number((await connection.runAndReadAll('SELECT count(*) FROM keyed')).getRowsJS()[0]![0])).toBe(0);
    connection.closeSync();
  });
});
