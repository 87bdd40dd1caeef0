import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeFilePrivate, PRIVATE_FILE_MODE } from './private-files.ts';

/** A secret and where it came from. */
export interface Secret {
  readonly value: string;
  /** `env`: given in the configuration; `file`: read from the data dir; `generated`: created now. */
  readonly origin: 'env' | 'file' | 'generated';
  /** The file in the data dir, when not from the configuration. */
  readonly file?: string;
}

/** A random secret: `prefix` + 32 random bytes, base64url. */
export function randomSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/**
 * `given` when set; otherwise the secret in `<dataDir>/<fileName>`, created (mode 0600) on first use
 * (an existing file with a looser mode is tightened to 0600).
 * Two processes starting at once agree: the file is created exclusively and the loser reads it.
 */
export function readOrCreateSecret(dataDir: string, fileName: string, given: string | undefined, prefix = ''): Secret {
  if (given) return { value: given, origin: 'env' };
  const file = path.join(dataDir, fileName);
  const read = (): string | undefined => {
    try {
      const value = readFileSync(file, 'utf8').trim();
      return value.length > 0 ? value : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const existing = read();
  if (existing) {
    makeFilePrivate(file);
    return { value: existing, origin: 'file', file };
  }
  const value = randomSecret(prefix);
  try {
    writeFileSync(file, `${value}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const other = read();
    if (other) return { value: other, origin: 'file', file };
    throw error;
  }
  return { value, origin: 'generated', file };
}
