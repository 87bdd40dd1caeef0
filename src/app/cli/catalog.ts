import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidSnapshotError, catalogSnapshot, checkCatalog, parseCatalogSnapshot, type ConsumerContract } from '../../contracts/index.ts';
import { CONTRACTS_DIR, InvalidContractFileError, codeContracts, readContractFiles } from '../contracts.ts';
import { createClient } from './client.ts';
import { UsageError } from './output.ts';

/** Options of `flamingo catalog check`. */
export interface CatalogCheckOptions {
  /** The snapshot of the last release; without it only the consumers and kinds are checked. */
  readonly against?: string;
  /** The folder of contract files. (Default: `contracts`; a missing folder holds none) */
  readonly contracts?: string;
  /** Also the contracts registered on this running Flamingo (`GET /v1/contracts`: the API's and the delivery targets'). (Default: none) */
  readonly server?: string;
  /** The admin key for `server`. (Default: as every command, `FLAMINGO_ADMIN_KEY` or the data dir's `admin.key`) */
  readonly key?: string;
  readonly json?: boolean;
}

/**
 * `flamingo catalog check [--against <snapshot.json>] [--contracts <dir>] [--server <url>]`: holds
 * the catalog of this checkout to the released snapshot, to what every consumer declares it reads
 * (the code's declarations, the contract files, and with `--server` the contracts registered at run
 * time), and each type to its kind (issue 14). Prints every change and finding; resolves to the exit
 * code: 1 when something breaks (naming consumer, type, version and field), else 0.
 */
export async function runCatalogCheck(options: CatalogCheckOptions): Promise<number> {
  const previous = options.against === undefined ? undefined : readSnapshot(options.against);
  const contracts: ConsumerContract[] = [...codeContracts()];
  try {
    contracts.push(...readContractFiles(options.contracts ?? CONTRACTS_DIR));
  } catch (error) {
    if (error instanceof InvalidContractFileError) throw new UsageError(error.message);
    throw error;
  }
  if (options.server !== undefined) {
    const client = createClient({ url: options.server, ...(options.key ? { key: options.key } : {}) });
    const answer = await client.request<{ contracts: (ConsumerContract & { origin: string })[] }>('GET', '/v1/contracts');
    contracts.push(...answer.contracts.filter((c) => c.origin !== 'code'));
  }
  const result = checkCatalog({ ...(previous ? { previous } : {}), current: catalogSnapshot(), contracts });
  if (options.json) {
    console.log(JSON.stringify({ failures: result.failures, consumers: contracts.length, changes: result.changes, findings: result.findings, kinds: result.kinds }, null, 2));
    return result.failures > 0 ? 1 : 0;
  }
  for (const c of result.changes) {
    const line = `${c.breaking ? 'BREAKING' : 'ok      '} ${c.type}${c.path === '/' ? '' : ` ${c.path}`}: ${c.message} [${c.rule}]`;
    if (c.breaking) console.error(line);
    else console.log(line);
  }
  for (const f of result.findings) {
    const line = `${f.breaking ? 'BREAKING' : 'listed  '} ${f.consumer} ${f.type} v${f.version}${f.field ? ` /${f.field}` : ''}: ${f.message} [${f.rule}]`;
    if (f.breaking) console.error(line);
    else console.log(line);
  }
  for (const k of result.kinds) console.error(`BREAKING ${k.type} v${k.version} /${k.field}: ${k.message} [notification-kind]`);
  const against = options.against ? ` against ${options.against}` : '';
  console.log(
    result.failures > 0
      ? `${result.failures} breaking finding${result.failures === 1 ? '' : 's'}${against} (${contracts.length} consumers): bump the version of the types named (keeping the old one deprecated), or revert`
      : `no breaking changes${against} (${result.changes.length} change${result.changes.length === 1 ? '' : 's'}, ${contracts.length} consumers)`,
  );
  return result.failures > 0 ? 1 : 0;
}

function readSnapshot(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return parseCatalogSnapshot(JSON.parse(text));
  } catch (error) {
    if (error instanceof InvalidSnapshotError || error instanceof SyntaxError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
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
