/**
 * Every consumer contract of the repository (issue 14): the declarations of every service's
 * subscriptions, the app's own (the revocation feed), and the contract files under `contracts/`.
 * `flamingo catalog check` reads them all; `GET /v1/catalog` adds the ones registered at run time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConsumerContractSchema, contractOf, validateAgainst, type ConsumerContract } from '../contracts/index.ts';
import { auditProjection, services, type ServiceDefinition } from '../services/index.ts';
import { revocationsReads } from './revocations.ts';

/** The declarations made in code: every service (the audit projection included) and the app's subscriptions. */
export function codeContracts(definitions: readonly ServiceDefinition[] = [...services, auditProjection]): ConsumerContract[] {
  return [...definitions.flatMap((d) => d.reads), revocationsReads].map(contractOf);
}

/** Thrown by `readContractFiles` for a file that is not a contract; names the file and each problem. */
export class InvalidContractFileError extends Error {
  constructor(readonly file: string, problems: readonly string[]) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'InvalidContractFileError';
  }
}

/** The default folder of contract files: `contracts/` at the root of the checkout. */
export const CONTRACTS_DIR = 'contracts';

/**
 * Reads every `*.json` of `dir` as a consumer contract (`{ consumer, reads: [{ type, version, fields }] }`).
 * A missing folder holds none.
 * @throws InvalidContractFileError for a file that is not JSON or not a contract.
 */
export function readContractFiles(dir: string): ConsumerContract[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.map((name) => {
    const file = path.join(dir, name);
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new InvalidContractFileError(file, [(error as Error).message]);
    }
    const issues = validateAgainst(ConsumerContractSchema, value);
    if (issues.length > 0) throw new InvalidContractFileError(file, issues.map((i) => `${i.path} ${i.message}`));
    return value as ConsumerContract;
  });
}
