/**
 * `flamingo warehouse export`: `events` as Parquet files, Hive-partitioned by event type and date
 * (`type=order.placed/date=2024-03-01/data_0.parquet`) — the way out to ClickHouse, BigQuery,
 * Spark or Trino. DuckDB writes the Parquet for both backends: the rows are read from the warehouse
 * page by page into an in-memory DuckDB of the export's own (the warehouse's DuckDB has no file
 * access once open), which writes them into a private temporary directory; the route streams that
 * directory as a tar archive.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendTo } from './duckdb-appender.ts';
import type { WarehouseStore } from './store.ts';
import { eventsColumnsSql } from './views.ts';

/** What an export wrote. */
export interface ExportResult {
  /** The directory holding the partitions. */
  readonly dir: string;
  /** Files relative to `dir`, with `/` separators. */
  readonly files: readonly string[];
  readonly rows: number;
}

const PAGE = 50_000;

/** Writes every row of `events` as Parquet under a new temporary directory (the caller removes it). */
export async function exportParquet(store: WarehouseStore): Promise<ExportResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-export-'));
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    await connection.run("SET TimeZone = 'UTC'");
    await connection.run(`CREATE TABLE events (${eventsColumnsSql('duckdb').replace('data JSON', 'data VARCHAR')})`);
    let after = 0;
    let rows = 0;
    for (;;) {
      const page = await store.scan(after, PAGE);
      if (page.length === 0) break;
      await appendTo(connection, 'events', page);
      rows += page.length;
      after = page[page.length - 1]!.sequence;
    }
    const out = path.join(dir, 'events');
    if (rows > 0) {
      await connection.run(
        `COPY (SELECT *, CAST(time AS DATE) AS date FROM events ORDER BY sequence) TO '${out.replaceAll("'", "''")}' (FORMAT parquet, PARTITION_BY (type, date))`,
      );
    }
    return { dir, files: rows > 0 ? listFiles(dir) : [], rows };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function listFiles(root: string, relative = ''): string[] {
  const found: string[] = [];
  for (const name of readdirSync(path.join(root, relative)).sort()) {
    const child = relative ? `${relative}/${name}` : name;
    if (statSync(path.join(root, child)).isDirectory()) found.push(...listFiles(root, child));
    else found.push(child);
  }
  return found;
}
