/**
 * `flamingo warehouse sql | rebuild | export`: the data team's warehouse, through a running
 * Flamingo (`POST /v1/warehouse/query`, `POST /v1/warehouse/rebuild`, `GET /v1/warehouse/export`).
 */
import { createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar } from 'cli-progress';
import { stringify } from 'csv-stringify/sync';
import { extract } from 'tar-stream';
import { HttpError, createClient, defaultUrl, resolveKey, type ClientOptions } from './client.ts';
import { UsageError, printTable } from './output.ts';

interface QueryAnswer {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  truncated: boolean;
}

const FORMATS = ['table', 'csv', 'json'] as const;

/** `flamingo warehouse sql "<query>" [--format table|csv|json]`. */
export async function runWarehouseSql(sql: string, options: ClientOptions & { format?: string }): Promise<void> {
  const format = options.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  const answer = await createClient(options).request<QueryAnswer>('POST', '/v1/warehouse/query', { body: { sql } });
  const names = answer.columns.map((c) => c.name);
  const cell = (value: unknown) => (value !== null && typeof value === 'object' ? JSON.stringify(value) : value);
  if (format === 'json') console.log(JSON.stringify(answer, null, 2));
  else if (format === 'csv') process.stdout.write(stringify([names, ...answer.rows.map((row) => names.map((n) => cell(row[n])))]));
  else printTable(answer.rows.map((row) => Object.fromEntries(names.map((n) => [n, cell(row[n])]))), names);
  if (answer.truncated) console.error(`(only the first ${answer.rows.length} rows: FLAMINGO_WAREHOUSE_MAX_ROWS)`);
  else if (format === 'table') console.error(`(${answer.rows.length} row${answer.rows.length === 1 ? '' : 's'})`);
}

/** A streaming request (rebuild progress, export archive); throws `HttpError` for a non-2xx answer. */
async function open(method: string, route: string, options: ClientOptions): Promise<Response> {
  const url = (options.url || defaultUrl()).replace(/\/+$/, '');
  const key = resolveKey(options.key);
  let response: Response;
  try {
    response = await fetch(`${url}${route}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {} });
  } catch (error) {
    throw new Error(`cannot reach Flamingo at ${url}; is \`flamingo start\` running? (--url, FLAMINGO_URL)`, { cause: error });
  }
  if (!response.ok) {
    const text = await response.text();
    let body: HttpError['body'];
    try {
      body = JSON.parse(text) as HttpError['body'];
    } catch {
      body = undefined;
    }
    throw new HttpError(response.status, body);
  }
  return response;
}

interface ProgressLine {
  done?: number;
  total?: number;
  rate?: number;
  elapsedSeconds?: number;
  finished?: boolean;
  error?: string;
}

/**
 * `flamingo warehouse rebuild`: a progress bar (events done / total, rate, time left) on a
 * terminal, a plain line per update otherwise.
 */
export async function runWarehouseRebuild(options: ClientOptions, output: NodeJS.WriteStream = process.stderr): Promise<void> {
  const response = await open('POST', '/v1/warehouse/rebuild', options);
  const bar = output.isTTY
    ? new SingleBar({ stream: output, format: 'rebuild [{bar}] {value}/{total} events | {rate} ev/s | {eta_formatted} left', etaBuffer: 20 })
    : undefined;
  let started = false;
  let final: ProgressLine | undefined;
  let buffered = '';
  const handle = (line: ProgressLine) => {
    if (line.error !== undefined) throw new Error(`rebuild failed: ${line.error}`);
    if (line.finished) final = line;
    const done = line.done ?? 0;
    const total = Math.max(line.total ?? 0, done);
    const rate = Math.round(line.rate ?? 0);
    if (bar) {
      if (!started) bar.start(total, done, { rate });
      else bar.setTotal(total);
      bar.update(done, { rate });
    } else if (!line.finished) {
      output.write(`rebuild: ${done}/${total} events, ${rate} ev/s, ${rate > 0 ? Math.ceil((total - done) / rate) : '?'} s left\n`);
    }
    started = true;
  };
  try {
    for await (const chunk of Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream<Uint8Array>)) {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (text) handle(JSON.parse(text) as ProgressLine);
      }
    }
  } finally {
    bar?.stop();
  }
  if (!final) throw new Error('the rebuild stopped without finishing (the server closed the stream)');
  console.log(`rebuilt the warehouse: ${final.done} events in ${(final.elapsedSeconds ?? 0).toFixed(1)} s (${Math.round(final.rate ?? 0)} events/s)`);
}

/** A path inside the archive that stays inside `out` (no absolute path, no `..`). */
function safeTarget(out: string, name: string): string {
  const target = path.resolve(out, name);
  if (path.isAbsolute(name) || name.split(/[\\/]/).includes('..') || !target.startsWith(path.resolve(out) + path.sep)) {
    throw new Error(`the archive holds an unsafe path: ${JSON.stringify(name)}`);
  }
  return target;
}

/** `flamingo warehouse export --out <dir>`: Parquet files, Hive-partitioned by type and date. */
export async function runWarehouseExport(options: ClientOptions & { out: string }): Promise<void> {
  const out = path.resolve(options.out);
  mkdirSync(out, { recursive: true });
  if (readdirSync(out).length > 0) throw new UsageError(`--out ${out} is not empty: export into a new or empty directory`);
  const response = await open('GET', '/v1/warehouse/export', options);
  const files: string[] = [];
  const unpack = extract();
  unpack.on('entry', (header, stream, next) => {
    try {
      if (header.type !== 'file') throw new Error(`the archive holds a ${header.type} entry (${header.name}); only files are expected`);
      const target = safeTarget(out, header.name);
      mkdirSync(path.dirname(target), { recursive: true });
      files.push(header.name);
      pipeline(stream, createWriteStream(target, { mode: 0o600 })).then(() => next(), next);
    } catch (error) {
      stream.resume();
      next(error as Error);
    }
  });
  await pipeline(Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream<Uint8Array>), unpack);
  console.log(`exported ${response.headers.get('x-flamingo-rows') ?? '?'} events into ${files.length} Parquet file${files.length === 1 ? '' : 's'} under ${out}`);
}
