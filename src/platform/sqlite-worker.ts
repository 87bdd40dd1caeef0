import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

/**
 * A Kysely dialect for a SQLite file whose one connection lives in a worker thread of its own
 * (DESIGN.md "Runtime": no fsync runs on the event loop that serves HTTP). The worker opens the
 * file with the same settings as ever (WAL, `synchronous = FULL`, `busy_timeout`, foreign keys) and
 * runs each statement it is sent; a commit's fsync blocks the worker, never the event loop, and a
 * query's answer comes back as a message, so the event loop turns between the statements of a
 * transaction. Transactions are as with Kysely's own SQLite driver: one connection, taken in turn;
 * a transaction's BEGIN travels with its first statement rather than as a message of its own.
 */
export interface SqliteWorkerOptions {
  /** The database file (created when missing). */
  readonly file: string;
}

// Plain CommonJS for `eval`, so the worker needs no TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  parentPort.postMessage({ ready: true });
} catch (error) {
  parentPort.postMessage({ ready: false, error: { message: String((error && error.message) || error), name: error && error.name, code: error && error.code } });
}
const statements = new Map();
const prepare = (sql) => {
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    if (statements.size >= 1000) statements.delete(statements.keys().next().value);
    statements.set(sql, statement);
  }
  return statement;
};
// A Buffer arrives as a Uint8Array; better-sqlite3 binds Buffers.
const bind = (parameters) => parameters.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
const wire = (error) => ({ message: String((error && error.message) || error), name: error && error.name, code: error && error.code });
// The transaction whose BEGIN failed, and how: nothing sent in it runs (as if BEGIN had been a
// round trip of its own that failed), and its rollback has nothing to undo.
let refused;
parentPort.on('message', (message) => {
  if (message === 'close') {
    try { db && db.close(); } finally { parentPort.close(); }
    return;
  }
  if (refused && message.transaction === refused.transaction) {
    parentPort.postMessage(message.rollback ? { id: message.id } : { id: message.id, error: refused.error });
    return;
  }
  if (message.begin) {
    try {
      prepare('begin').run();
    } catch (error) {
      refused = { transaction: message.transaction, error: wire(error) };
      parentPort.postMessage({ id: message.id, error: refused.error });
      return;
    }
  }
  try {
    const statement = prepare(message.sql);
    if (statement.reader) {
      parentPort.postMessage({ id: message.id, rows: statement.all(bind(message.parameters)) });
    } else {
      const { changes, lastInsertRowid } = statement.run(bind(message.parameters));
      parentPort.postMessage({ id: message.id, changes, lastInsertRowid });
    }
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: wire(error) });
  }
});
`;

interface WireError {
  readonly message: string;
  readonly name?: string;
  readonly code?: string;
}

type Reply =
  | { readonly ready: boolean; readonly error?: WireError }
  | { readonly id: number; readonly rows?: unknown[]; readonly changes?: number | bigint; readonly lastInsertRowid?: number | bigint; readonly error?: WireError };

/** The error as better-sqlite3 threw it in the worker: same message, name (`SqliteError`) and `code`. */
function rebuild(wire: WireError): Error {
  const error = new Error(wire.message) as Error & { code?: string };
  if (wire.name) error.name = wire.name;
  if (wire.code !== undefined) error.code = wire.code;
  return error;
}

/** A statement as the worker receives it. */
interface Request {
  readonly id: number;
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** The transaction the statement belongs to (numbered by the connection), if any. */
  readonly transaction?: number;
  /** Run `begin` first: the transaction's BEGIN, carried by its first statement (or its commit or rollback). */
  readonly begin?: true;
  /** The transaction's rollback: answered without running anything if its BEGIN failed. */
  readonly rollback?: true;
}

type Statement = Omit<Request, 'id' | 'transaction' | 'begin'>;

/**
 * The one connection. BEGIN costs no round trip of its own: `begin()` only records that one is
 * owed, and the next statement sent carries it. A failed BEGIN answers that statement (and every
 * later one of the transaction, the worker refusing them) with its error, as it would have
 * answered `begin` itself; the rollback that follows finds nothing to undo.
 */
class WorkerConnection implements DatabaseConnection {
  private transactions = 0;
  private transaction: number | undefined;
  private beginOwed = false;

  constructor(private readonly send: (request: Omit<Request, 'id'>) => Promise<QueryResult<unknown>>) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.post({ sql: compiledQuery.sql, parameters: compiledQuery.parameters }) as Promise<QueryResult<R>>;
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (const row of rows) yield { rows: [row] };
  }

  begin(): void {
    this.transaction = ++this.transactions;
    this.beginOwed = true;
  }

  async commit(): Promise<void> {
    await this.post({ sql: 'commit', parameters: [] });
    // A failed commit leaves the transaction to its rollback.
    this.forget();
  }

  async rollback(): Promise<void> {
    try {
      await this.post({ sql: 'rollback', parameters: [], rollback: true });
    } finally {
      this.forget();
    }
  }

  /** Back to no transaction (a BEGIN still owed is dropped: nothing ran in it). */
  forget(): void {
    this.transaction = undefined;
    this.beginOwed = false;
  }

  private post(statement: Statement): Promise<QueryResult<unknown>> {
    if (this.transaction === undefined) return this.send(statement);
    const begin = this.beginOwed;
    this.beginOwed = false;
    return this.send({ ...statement, transaction: this.transaction, ...(begin ? { begin } : {}) });
  }
}

class SqliteWorkerDriver implements Driver {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (result: QueryResult<unknown>) => void; reject: (error: unknown) => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  private connection: WorkerConnection | undefined;
  private locked: Promise<void> | undefined;
  private unlock: (() => void) | undefined;
  private exited: Promise<void> | undefined;

  constructor(private readonly options: SqliteWorkerOptions) {}

  async init(): Promise<void> {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.options.file, driver } });
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (reply: Reply) => ('ready' in reply && reply.ready ? resolve() : reject(rebuild(('error' in reply && reply.error) || { message: 'worker did not start' }))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`SQLite worker for ${this.options.file} exited with ${code}`)));
    });
    worker.on('message', (reply: Reply) => {
      if (!('id' in reply)) return;
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.error) waiting.reject(rebuild(reply.error));
      else if (reply.rows) waiting.resolve({ rows: reply.rows });
      else {
        waiting.resolve({
          rows: [],
          ...(reply.changes === undefined || reply.changes === null ? {} : { numAffectedRows: BigInt(reply.changes) }),
          ...(reply.lastInsertRowid === undefined || reply.lastInsertRowid === null ? {} : { insertId: BigInt(reply.lastInsertRowid) }),
        });
      }
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiting of this.pending.values()) waiting.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error(`SQLite worker for ${this.options.file} has stopped`)));
    await ready.catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    this.connection = new WorkerConnection((request) => this.send(request));
  }

  private send(request: Omit<Request, 'id'>): Promise<QueryResult<unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Referenced while a query is out, so the process waits for its answer.
      if (this.pending.size === 1) this.worker!.ref();
      this.worker!.postMessage({ ...request, id } satisfies Request);
    });
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // One connection, as SQLite has: callers take it in turn.
    while (this.locked) await this.locked;
    this.locked = new Promise((resolve) => (this.unlock = resolve));
    return this.connection!;
  }

  async releaseConnection(): Promise<void> {
    this.connection!.forget();
    const unlock = this.unlock;
    this.locked = this.unlock = undefined;
    unlock?.();
  }

  // The one connection is `this.connection`, the one Kysely passes back.
  async beginTransaction(): Promise<void> {
    this.connection!.begin();
  }

  async commitTransaction(): Promise<void> {
    await this.connection!.commit();
  }

  async rollbackTransaction(): Promise<void> {
    await this.connection!.rollback();
  }

  async destroy(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    worker.ref();
    worker.postMessage('close');
    await this.exited;
  }
}

/** The dialect: Kysely's SQLite adapter, compiler and introspector over `SqliteWorkerDriver`. */
export class SqliteWorkerDialect implements Dialect {
  constructor(private readonly options: SqliteWorkerOptions) {}
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new SqliteWorkerDriver(this.options);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
