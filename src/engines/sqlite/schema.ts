import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** The log file's layout version (`PRAGMA user_version`). */
const SCHEMA_VERSION = 2;

/** The log table; the benchmark's raw ceiling writes the same shape. */
export const LOG_TABLE = `
CREATE TABLE IF NOT EXISTS events (
  sequence     INTEGER PRIMARY KEY,
  id           TEXT    NOT NULL,
  type         TEXT    NOT NULL,
  subject      TEXT,
  partitionkey TEXT,
  recorded_ms  INTEGER NOT NULL,
  envelope     TEXT    NOT NULL,
  source       TEXT    NOT NULL DEFAULT '',
  digest       TEXT
);
-- CloudEvents identity: source + id (bus/identity.ts); digest is the content's (contentDigest),
-- compared when the identity comes again.
CREATE UNIQUE INDEX IF NOT EXISTS events_identity ON events (source, id);
CREATE INDEX IF NOT EXISTS events_recorded ON events (recorded_ms);
`;

/**
 * Layout 1 → 2: events were identified by id alone; now by source + id. Rows of layout 1 keep no
 * digest (NULL): a resend of one of them is taken as identical, as layout 1 did.
 */
const IDENTITY_BY_SOURCE = `
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN digest TEXT;
UPDATE events SET source = coalesce(json_extract(envelope, '$.source'), '');
DROP INDEX IF EXISTS events_id;
`;

const SCHEMA = `${LOG_TABLE}
CREATE TABLE IF NOT EXISTS subscriptions (
  name       TEXT    PRIMARY KEY,
  types      TEXT    NOT NULL,
  position   INTEGER NOT NULL,
  done       TEXT    NOT NULL DEFAULT '[]',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS retries (
  subscription    TEXT    NOT NULL,
  sequence        INTEGER NOT NULL,
  attempts        INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error      TEXT,
  first_failed_ms INTEGER,
  last_failed_ms  INTEGER,
  redeliver       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (subscription, sequence)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dead_letters (
  subscription    TEXT    NOT NULL,
  sequence        INTEGER NOT NULL,
  event_id        TEXT    NOT NULL,
  error           TEXT    NOT NULL,
  attempts        INTEGER NOT NULL,
  first_failed_ms INTEGER NOT NULL,
  last_failed_ms  INTEGER NOT NULL,
  PRIMARY KEY (subscription, sequence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dead_letters_event ON dead_letters (subscription, event_id);
`;

/**
 * Creates `file` with mode 0600 (or tightens it, and its `-wal`/`-shm`, to 0600) before SQLite opens
 * it: SQLite would create it 0644 less the umask, and gives its `-wal`/`-shm` the database file's
 * mode. The directory made for it is 0700. (The same rule as the platform's private files; engines
 * do not import the platform.)
 */
function createPrivately(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const each of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(each) && (statSync(each).mode & 0o077) !== 0) chmodSync(each, 0o600);
  }
}

/** The log file is open in another engine (another process, or this one): one engine owns a log. */
export class LogInUseError extends Error {
  override readonly name = 'LogInUseError';
}

/**
 * Claims the log for this engine: an exclusive SQLite lock on `<file>.lock`, held until `release`
 * and dropped by the OS if the process dies, so a crash never leaves a stale claim. A second engine
 * on the same log would keep its own idea of the head and of subscription state, so it is refused.
 */
export function claimLog(file: string): { release(): void } {
  if (file === ':memory:') return { release: () => undefined };
  createPrivately(`${path.resolve(file)}.lock`);
  const lock = new Database(`${path.resolve(file)}.lock`);
  try {
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec(`CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL); DELETE FROM owner; INSERT INTO owner (pid) VALUES (${process.pid});`);
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new LogInUseError(`${file} is open in another engine; one process owns a SQLite log (run several processes on the NATS engine)`);
    }
    throw error;
  }
  return { release: () => lock.close() };
}

/**
 * Opens (creating when missing, mode 0600) the log file: WAL so readers never block the writer,
 * `synchronous = FULL` so a commit is on disk before `append` resolves.
 */
export function openLogDatabase(file: string): Database.Database {
  if (file !== ':memory:') createPrivately(file);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    // The writer commits often in small transactions; a larger WAL between checkpoints keeps them
    // cheap. (The engine moves checkpoints to a worker thread when it can.)
    db.pragma('wal_autocheckpoint = 4000');
    db.pragma('cache_size = -65536');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`${file} has log layout ${version}; this Flamingo reads up to ${SCHEMA_VERSION}`);
    if (version < SCHEMA_VERSION) {
      db.transaction(() => {
        if (version === 1) db.exec(IDENTITY_BY_SOURCE);
        db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
