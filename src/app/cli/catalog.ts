import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidSnapshotError, catalogSnapshot, compareCatalog, parseCatalogSnapshot } from '../../contracts/index.ts';
import { UsageError } from './output.ts';

/**
 * `flamingo catalog check --against <snapshot.json>`: compares the catalog of this checkout with a
 * released snapshot, offline. Prints every change; resolves to the exit code: 1 when a change is
 * breaking (needs a version bump it did not get), else 0.
 */
export function runCatalogCheck(options: { against: string; json?: boolean }): number {
  let text: string;
  try {
    text = readFileSync(options.against, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${options.against}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let previous;
  try {
    previous = parseCatalogSnapshot(JSON.parse(text));
  } catch (error) {
    if (error instanceof InvalidSnapshotError || error instanceof SyntaxError) throw new UsageError(`${options.against}: ${error.message}`);
    throw error;
  }
  const changes = compareCatalog(previous, catalogSnapshot());
  const breaking = changes.filter((c) => c.breaking);
  if (options.json) {
    console.log(JSON.stringify({ breaking: breaking.length, changes }, null, 2));
  } else {
    for (const c of changes) {
      const line = `${c.breaking ? 'BREAKING' : 'ok      '} ${c.type}${c.path === '/' ? '' : ` ${c.path}`}: ${c.message} [${c.rule}]`;
      if (c.breaking) console.error(line);
      else console.log(line);
    }
    console.log(
      breaking.length > 0
        ? `${breaking.length} breaking change${breaking.length === 1 ? '' : 's'} against ${options.against}: bump the version of the types named, or revert`
        : `no breaking changes against ${options.against} (${changes.length} change${changes.length === 1 ? '' : 's'})`,
    );
  }
  return breaking.length > 0 ? 1 : 0;
}

/** `flamingo catalog snapshot [--out file]`: writes the snapshot a release keeps for later checks. */
export function runCatalogSnapshot(options: { out?: string }): void {
  const text = `${JSON.stringify(catalogSnapshot(), null, 2)}\n`;
  if (options.out) {
    writeFileSync(options.out, text);
    console.error(`wrote ${options.out}`);
  } else {
    process.stdout.write(text);
  }
}
