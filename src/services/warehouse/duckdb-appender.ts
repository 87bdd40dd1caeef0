/**
 * Wide rows through DuckDB's appender: one value a call, 13 a row. The landing path's batches go
 * this way (small, into a staging table); rebuilds load narrow rows instead (`duckdb-bulk-load.ts`).
 */
import { DuckDBTimestampTZValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { EventRow } from './rows.ts';

const micros = (time: string) => new DuckDBTimestampTZValue(BigInt(Date.parse(time)) * 1000n);

function appendRows(appender: DuckDBAppender, rows: readonly EventRow[]): void {
  for (const r of rows) {
    appender.appendVarchar(r.id);
    appender.appendVarchar(r.type);
    appender.appendInteger(r.version);
    appender.appendVarchar(r.source);
    if (r.subject === null) appender.appendNull();
    else appender.appendVarchar(r.subject);
    if (r.key === null) appender.appendNull();
    else appender.appendVarchar(r.key);
    if (r.producer === null) appender.appendNull();
    else appender.appendVarchar(r.producer);
    appender.appendTimestampTZ(micros(r.time));
    appender.appendTimestampTZ(micros(r.recordedTime));
    appender.appendBigInt(BigInt(r.sequence));
    if (r.correlationId === null) appender.appendNull();
    else appender.appendVarchar(r.correlationId);
    if (r.causationId === null) appender.appendNull();
    else appender.appendVarchar(r.causationId);
    appender.appendVarchar(r.data);
    appender.endRow();
  }
}

/** Appends `rows` to `table` through DuckDB's appender, in the connection's open transaction. */
export async function appendTo(connection: DuckDBConnection, table: string, rows: readonly EventRow[]): Promise<void> {
  const appender = await connection.createAppender(table);
  try {
    appendRows(appender, rows);
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
