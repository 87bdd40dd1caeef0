/**
 * Owner-only files: the data dir holds e-mails, password hashes, the event log and generated
 * secrets, so nothing in it is readable by other users of the machine (README "Security › Files").
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/** Mode of the data dir: only its owner may list or enter it. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every database file (with SQLite's `-wal` and `-shm`) and secret in it. */
export const PRIVATE_FILE_MODE = 0o600;

/** Sets `mode` when the current one grants more; throws when that is not allowed (not the owner). */
function tighten(target: string, mode: number): void {
  if ((statSync(target).mode & 0o777 & ~mode) !== 0) chmodSync(target, mode);
}

/**
 * Creates `dir` (and missing parents) with mode 0700, or tightens an existing one to 0700.
 * Throws the `fs` error (`EACCES`, `EPERM`, …) when it cannot.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(dir, PRIVATE_DIR_MODE);
}

/** Tightens an existing file to mode 0600 (a secret or database written by an older Flamingo). */
export function makeFilePrivate(file: string): void {
  tighten(file, PRIVATE_FILE_MODE);
}

/**
 * Makes `file` exist with mode 0600 before SQLite opens it: SQLite creates a missing database with
 * mode 0644 (less the umask) and gives its `-wal`, `-shm` and `-journal` files the mode of the
 * database file, so creating the database file first is what keeps all of them private. Existing
 * files (from an older Flamingo) and their `-wal`/`-shm` are tightened to 0600.
 */
export function ensurePrivateDatabaseFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  tighten(file, PRIVATE_FILE_MODE);
  for (const companion of [`${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(companion)) tighten(companion, PRIVATE_FILE_MODE);
  }
}
