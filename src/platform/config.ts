import { accessSync, constants, existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { catalog, findDefinition, isTypePattern, matchesTypePattern, publishedByOf } from '../contracts/index.ts';
import { ensurePrivateDir } from './private-files.ts';

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Which durable log the bus runs on. */
export type EngineSetting =
  /** The embedded default: `<dataDir>/bus.db`. */
  | { readonly kind: 'sqlite' }
  /** NATS JetStream; one or more servers (`nats://a:4222,nats://b:4222`). */
  | { readonly kind: 'nats'; readonly servers: readonly string[] }
  /** Redis Streams; one server (`redis://[user:password@]host:6379[/db]`, `rediss://` for TLS). */
  | { readonly kind: 'redis'; readonly url: string };

/**
 * Limits of the HTTP server against slow, flooding and hostile clients (README "Security › Limits").
 * Every value is a whole number; times are in milliseconds.
 */
export interface HttpSettings {
  /** `FLAMINGO_HTTP_HEADERS_TIMEOUT_MS`: time a client has to send the request line and headers; then 408 and the connection is closed. At most the request timeout. (Default: 10 000) */
  readonly headersTimeoutMs: number;
  /** `FLAMINGO_HTTP_REQUEST_TIMEOUT_MS`: time a client has to send a whole request, body included (a slow body is cut); then 408 and the connection is closed. (Default: 30 000) */
  readonly requestTimeoutMs: number;
  /** `FLAMINGO_HTTP_IDLE_TIMEOUT_MS`: a connection on which nothing moves this long, in either direction, is closed (Node's socket timeout). (Default: 120 000) */
  readonly idleTimeoutMs: number;
  /** `FLAMINGO_HTTP_KEEP_ALIVE_TIMEOUT_MS`: how long an idle keep-alive connection waits for its next request; longer than a load balancer's idle timeout (often 60 s). (Default: 72 000) */
  readonly keepAliveTimeoutMs: number;
  /** `FLAMINGO_HTTP_MAX_CONNECTIONS`: open connections per process; a connection beyond it is closed at once, without an answer. (Default: 10 000) */
  readonly maxConnections: number;
  /** `FLAMINGO_HTTP_MAX_DEPTH`: nesting levels of a JSON body (`{}` is 1), 1–256; deeper bodies get 400 `too_deep`. (Default: 32) */
  readonly maxDepth: number;
  /** `FLAMINGO_RATE_LIMIT_WINDOW_MS`: the window of the per-client rate limits below. (Default: 60 000) */
  readonly rateLimitWindowMs: number;
  /** `FLAMINGO_RATE_LIMIT_KEYLESS`: requests per window one client (IP address) may send to `POST /event`; more get 429 with `Retry-After`. 0 turns the limit off. (Default: 1 200) */
  readonly keylessRateLimit: number;
  /** `FLAMINGO_RATE_LIMIT_LOGIN`: sign-in attempts (`POST /v1/auth/login`) per window and client (IP address); more get 429 with `Retry-After`. 0 turns the limit off. (Default: 30) */
  readonly loginRateLimit: number;
}

/** The HTTP limits when nothing is configured. */
export const DEFAULT_HTTP_SETTINGS: HttpSettings = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 10_000,
  maxDepth: 32,
  rateLimitWindowMs: 60_000,
  keylessRateLimit: 1_200,
  loginRateLimit: 30,
};

/** The inbox retention when nothing is configured (7 days), and its floor (1 hour). */
export const DEFAULT_INBOX_RETENTION_MS = 7 * 24 * 3600_000;
export const MIN_INBOX_RETENTION_MS = 3600_000;

/** Flamingo's settings, read from the environment (and `flamingo.config.json`) and validated at start. */
export interface FlamingoConfig {
  /** `PORT`: HTTP port, 1–65535. (Default: 3000) */
  readonly port: number;
  /** `HOST`: interface to listen on. (Default: `0.0.0.0`, every interface, as a server is expected to) */
  readonly host: string;
  /**
   * `FLAMINGO_DATA_DIR`: bus log, service databases, generated secrets; created when missing, must be
   * writable. Made private at start: the directory mode 0700 and every file in it 0600. (Default: `./data`)
   */
  readonly dataDir: string;
  /** `FLAMINGO_ADMIN_KEY`: at least 16 characters. When unset, generated on first start into `<dataDir>/admin.key` (mode 0600). */
  readonly adminKey?: string;
  /** `FLAMINGO_ENGINE`: `sqlite`, `nats://host:port[,nats://…]` or `redis://host:port[/db]`. (Default: `sqlite`) */
  readonly engine: EngineSetting;
  /** `FLAMINGO_NATS_STREAM`: the JetStream stream of the NATS engine (dead letters in `<stream>_DLQ`). (Default: `FLAMINGO`) */
  readonly natsStream: string;
  /** `FLAMINGO_NATS_REPLICAS`: stream replicas, 1, 3 or 5 (3 or 5 need a cluster). (Default: 1) */
  readonly natsReplicas: number;
  /**
   * `FLAMINGO_NATS_PARTITIONS`: key partitions of the stream, 1–1024. Fixed once the stream exists:
   * a different number stops start-up. (Default: the existing stream's, 16 for a new one)
   */
  readonly natsPartitions?: number;
  /** `FLAMINGO_NATS_DUPLICATE_WINDOW_MS`: how long JetStream remembers event ids for deduplication. (Default: 120 000) */
  readonly natsDuplicateWindowMs: number;
  /**
   * `FLAMINGO_NATS_LEASE_MS`: how long a process keeps a key partition of a subscription without
   * renewing it (every quarter of it), 1 000–60 000: a killed process's partitions move this much
   * later. (Default: 3 000)
   */
  readonly natsLeaseMs: number;
  /**
   * `FLAMINGO_NATS_ACK_WAIT_MS`: how long JetStream waits for an acknowledgement before redelivering,
   * 1 000–300 000; held events get in-progress acks every third of it. (Default: 2 500)
   */
  readonly natsAckWaitMs: number;
  /** The Redis engine's settings (`FLAMINGO_REDIS_*`). */
  readonly redis: RedisSettings;
  /** `DATABASE_URL`: `postgres://…` puts the services' databases on PostgreSQL (one schema each). (Default: SQLite files in the data dir) */
  readonly databaseUrl?: string;
  /** `FLAMINGO_DATABASE_LAYOUT`: on PostgreSQL, a `schema` per service in `DATABASE_URL`'s database, or a `database` per service (`<database>_<service>`). (Default: `schema`) */
  readonly databaseLayout: 'schema' | 'database';
  /**
   * `FLAMINGO_DATABASE_POOL_SIZE`: on PostgreSQL, the most connections each service's pool opens
   * (1–100). Every service of every process has its own pool plus one `LISTEN` connection, and
   * PostgreSQL allows 100 clients by default. (Default: 4)
   */
  readonly databasePoolSize: number;
  /** `LOG_LEVEL`: one of pino's levels or `silent`. (Default: `info`) */
  readonly logLevel: LogLevel;
  /**
   * `FLAMINGO_SERVICES`: comma list of the services whose reactions and workers run in this process
   * (with `DATABASE_URL` every process serves every service's routes; on SQLite only these); `none`
   * for no service, only the bus, collector and admin API. (Default: undefined = all)
   */
  readonly services?: readonly string[];
  /**
   * `FLAMINGO_SEED_TYPES`: event types (or patterns; aliases such as `item_added_to_cart` are read
   * as their type) the seed endpoint `POST /event` accepts without an API key, because the seed's
   * Python producers send none. Only types the catalog marks `publishedBy: 'anyone'` may be listed:
   * a pattern matching any other type (`cart.*` matches `cart.checked_out`) stops start-up. Empty
   * (`FLAMINGO_SEED_TYPES=`) requires a key for every type. (Default: `cart.item_added`, the seed's
   * own example type; issue 7)
   */
  readonly seedTypes: readonly string[];
  /** `FLAMINGO_TOKEN_SECRET`: customer session token secret, at least 32 bytes. When unset, generated into `<dataDir>/token.secret`. */
  readonly tokenSecret?: string;
  /** `FLAMINGO_AUDIT_PROJECTION=1`: run the built-in audit projection (counts applied events, `<dataDir>/audit.db`). (Default: off) */
  readonly auditProjection: boolean;
  /**
   * `FLAMINGO_INBOX_RETENTION_MS`: how long each service's inbox remembers a handled event (a
   * redelivery within it is a no-op); pruned on a schedule. At least 3 600 000 (1 h), far beyond
   * any redelivery window. (Default: 604 800 000 = 7 days)
   */
  readonly inboxRetentionMs: number;
  /** The HTTP server's timeouts, connection limit, body depth and rate limits. */
  readonly http: HttpSettings;
  /** The raw settings, for the settings each service declares (`src/services/<name>/settings.ts`, read with platform/settings.ts). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The Redis Streams engine's settings. */
export interface RedisSettings {
  /** `FLAMINGO_REDIS_PREFIX`: the prefix of every key, in a hash tag (`{flamingo}:…`). (Default: `flamingo`) */
  readonly prefix: string;
  /** `FLAMINGO_REDIS_PARTITIONS`: key partitions (streams) of a new log, 1–1024; fixed once it exists. (Default: the existing log's, 16 for a new one) */
  readonly partitions?: number;
  /** `FLAMINGO_REDIS_DUPLICATE_WINDOW_MS`: how long event ids are remembered for deduplication, at least 1 000. (Default: 120 000; each id costs about 130 bytes of Redis memory for that long) */
  readonly duplicateWindowMs: number;
  /** `FLAMINGO_REDIS_RETENTION_MS`: events finished by every subscription and older than this are trimmed; 0 keeps every event. (Default: 0) */
  readonly retentionMs: number;
  /** `FLAMINGO_REDIS_LEASE_MS`: the visibility timeout: a killed process's partitions and unfinished events move after it, 1 000–60 000. (Default: 3 000) */
  readonly leaseMs: number;
}

/** A configuration that cannot start; `problems` has one line per bad setting. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** The settings a `flamingo.config.json` may hold: the same names as the environment variables. */
export const SETTINGS = [
  'PORT',
  'HOST',
  'FLAMINGO_DATA_DIR',
  'FLAMINGO_ADMIN_KEY',
  'FLAMINGO_ENGINE',
  'FLAMINGO_NATS_STREAM',
  'FLAMINGO_NATS_REPLICAS',
  'FLAMINGO_NATS_PARTITIONS',
  'FLAMINGO_NATS_DUPLICATE_WINDOW_MS',
  'FLAMINGO_NATS_LEASE_MS',
  'FLAMINGO_NATS_ACK_WAIT_MS',
  'FLAMINGO_REDIS_PREFIX',
  'FLAMINGO_REDIS_PARTITIONS',
  'FLAMINGO_REDIS_DUPLICATE_WINDOW_MS',
  'FLAMINGO_REDIS_RETENTION_MS',
  'FLAMINGO_REDIS_LEASE_MS',
  'DATABASE_URL',
  'FLAMINGO_DATABASE_LAYOUT',
  'FLAMINGO_DATABASE_POOL_SIZE',
  'LOG_LEVEL',
  'FLAMINGO_SERVICES',
  'FLAMINGO_SEED_TYPES',
  'FLAMINGO_TOKEN_SECRET',
  'FLAMINGO_AUDIT_PROJECTION',
  'FLAMINGO_INBOX_RETENTION_MS',
  'FLAMINGO_HTTP_HEADERS_TIMEOUT_MS',
  'FLAMINGO_HTTP_REQUEST_TIMEOUT_MS',
  'FLAMINGO_HTTP_IDLE_TIMEOUT_MS',
  'FLAMINGO_HTTP_KEEP_ALIVE_TIMEOUT_MS',
  'FLAMINGO_HTTP_MAX_CONNECTIONS',
  'FLAMINGO_HTTP_MAX_DEPTH',
  'FLAMINGO_RATE_LIMIT_WINDOW_MS',
  'FLAMINGO_RATE_LIMIT_KEYLESS',
  'FLAMINGO_RATE_LIMIT_LOGIN',
] as const;

const SERVICE_NAME = /^[a-z][a-z0-9_-]*$/;

/** The seed's own example type, the only one accepted without a key by default (issue 7). */
export const DEFAULT_SEED_TYPES: readonly string[] = ['cart.item_added'];

/**
 * Checks a keyless allowlist against the catalog: every entry must be a type pattern (an alias is
 * read as its type), and none may match a type that only its producer may publish. Problems are
 * added to `problems`, naming `FLAMINGO_SEED_TYPES`; returns the patterns with aliases resolved.
 */
export function checkSeedTypes(raw: readonly string[], problems: string[]): string[] {
  const patterns = raw.map((p) => findDefinition(p)?.type ?? p);
  const malformed = patterns.filter((p) => !isTypePattern(p));
  if (malformed.length > 0) {
    problems.push(`FLAMINGO_SEED_TYPES: must be event type patterns like cart.item_added, got ${malformed.map((b) => `"${b}"`).join(', ')}`);
    return [];
  }
  for (const pattern of patterns) {
    const owned = catalog.filter((e) => publishedByOf(e) === 'producer' && matchesTypePattern(pattern, e.type));
    if (owned.length === 0) continue;
    const named = owned.map((e) => `${e.type} (${e.producer})`);
    const shown = named.length > 4 ? [...named.slice(0, 4), `${named.length - 4} more`] : named;
    const open = catalog.filter((e) => publishedByOf(e) === 'anyone').map((e) => e.type);
    problems.push(
      `FLAMINGO_SEED_TYPES: "${pattern}" matches ${shown.join(', ')}, which only a key scoped to the producer may publish; ` +
        `list only types anyone may publish without a key (${open.join(', ')})`,
    );
  }
  return patterns;
}

/** Splits a comma list, trimming blanks. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Reads `flamingo.config.json` from `cwd` when present; the environment wins over it.
 * Problems (unreadable file, unknown names, non-scalar values) are added to `problems`.
 * @param declared the settings components declare besides `SETTINGS` (the services' own).
 */
function readConfigFile(cwd: string, problems: string[], declared: readonly string[]): Record<string, string> {
  const known = [...SETTINGS, ...declared];
  const file = path.join(cwd, 'flamingo.config.json');
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`flamingo.config.json: not valid JSON (${(error as Error).message})`);
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('flamingo.config.json: must be an object of setting names to values');
    return {};
  }
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!known.includes(name)) {
      problems.push(`flamingo.config.json: unknown setting "${name}" (known: ${known.join(', ')})`);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values[name] = String(value);
    } else {
      problems.push(`flamingo.config.json: ${name} must be a string, number or boolean`);
    }
  }
  return values;
}

/** Creates the data dir (mode 0700, an existing one tightened to 0700) and checks it is writable; the problem, if any. */
/** Kernel pseudo-filesystems: writing a probe there can block or write to the kernel, so they are refused by path (symbolic links resolved). */
const PSEUDO_FILESYSTEMS = ['/proc', '/sys', '/dev'];

function checkWritableDir(dir: string): string | undefined {
  const under = (where: string) => PSEUDO_FILESYSTEMS.find((root) => where === root || where.startsWith(`${root}/`));
  const named = under(dir);
  if (named !== undefined) return `${named} is a kernel pseudo-filesystem, not storage`;
  // Through a symbolic link too: a probe written there can block start-up.
  const real = realPathOf(dir);
  const reached = under(real);
  if (reached !== undefined) return `${reached} is a kernel pseudo-filesystem, not storage (the path leads to ${real})`;
  try {
    ensurePrivateDir(dir);
    accessSync(dir, constants.W_OK);
    // access() says yes to root everywhere; writing a file is the real test.
    const probe = path.join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

/** Where `dir` really is: its deepest existing ancestor with symbolic links resolved, and the rest of it. */
function realPathOf(dir: string): string {
  const missing: string[] = [];
  let existing = path.resolve(dir);
  while (!existsSync(existing) && path.dirname(existing) !== existing) {
    missing.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  try {
    return path.join(realpathSync(existing), ...missing);
  } catch {
    return path.resolve(dir);
  }
}

/** A whole-number setting: `fallback` when unset, a problem naming the setting when it breaks `rule`. */
function wholeNumber<F extends number | undefined>(
  name: string,
  raw: string | undefined,
  fallback: F,
  problems: string[],
  valid: (n: number) => boolean,
  rule: string,
): number | F {
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || !valid(value)) {
    problems.push(`${name}: ${rule}, got "${raw}"`);
    return fallback;
  }
  return value;
}

function parseEngine(value: string, problems: string[]): EngineSetting {
  if (value === 'sqlite') return { kind: 'sqlite' };
  if (/^rediss?:/.test(value)) {
    let ok: boolean;
    try {
      const url = new URL(value);
      ok = url.hostname.length > 0 && (url.port === '' || (Number(url.port) >= 1 && Number(url.port) <= 65535)) && /^(\/\d{0,2})?$/.test(url.pathname);
    } catch {
      ok = false;
    }
    if (ok) return { kind: 'redis', url: value };
    problems.push(`FLAMINGO_ENGINE: a Redis engine must be redis://[user:password@]host:port[/db] (or rediss:// for TLS), got "${redactedUrl(value)}"`);
    return { kind: 'sqlite' };
  }
  const servers = commaList(value);
  const ok =
    servers.length > 0 &&
    servers.every((s) => {
      if (!/^nats:\/\//.test(s)) return false;
      try {
        const url = new URL(s);
        return url.hostname.length > 0 && (url.port === '' || (Number(url.port) >= 1 && Number(url.port) <= 65535));
      } catch {
        return false;
      }
    });
  if (!ok) {
    problems.push(`FLAMINGO_ENGINE: must be "sqlite" or nats://host:port (comma-separated for a cluster) or redis://host:port[/db], got "${value}"`);
    return { kind: 'sqlite' };
  }
  return { kind: 'nats', servers };
}

/** A URL as it may be shown or logged: its password replaced by `…`. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
}

/** The Redis engine's settings; a problem naming the setting for each bad value. */
function parseRedisSettings(get: (name: (typeof SETTINGS)[number]) => string | undefined, problems: string[]): RedisSettings {
  const prefix = get('FLAMINGO_REDIS_PREFIX') || 'flamingo';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) problems.push(`FLAMINGO_REDIS_PREFIX: must be 1–64 letters, digits, _, . or -, got "${prefix}"`);
  return {
    prefix,
    partitions: wholeNumber('FLAMINGO_REDIS_PARTITIONS', get('FLAMINGO_REDIS_PARTITIONS'), undefined, problems, (n) => n >= 1 && n <= 1024, 'must be a whole number from 1 to 1024'),
    duplicateWindowMs: wholeNumber('FLAMINGO_REDIS_DUPLICATE_WINDOW_MS', get('FLAMINGO_REDIS_DUPLICATE_WINDOW_MS'), 120_000, problems, (n) => n >= 1_000, 'must be a whole number of milliseconds, at least 1000'),
    retentionMs: wholeNumber('FLAMINGO_REDIS_RETENTION_MS', get('FLAMINGO_REDIS_RETENTION_MS'), 0, problems, () => true, 'must be a whole number of milliseconds (0 keeps every event)'),
    leaseMs: wholeNumber('FLAMINGO_REDIS_LEASE_MS', get('FLAMINGO_REDIS_LEASE_MS'), 3_000, problems, (n) => n >= 1_000 && n <= 60_000, 'must be a whole number of milliseconds from 1000 to 60000'),
  };
}

/** The HTTP limits; a problem naming the setting for each bad value. */
function parseHttpSettings(get: (name: (typeof SETTINGS)[number]) => string | undefined, problems: string[]): HttpSettings {
  const d = DEFAULT_HTTP_SETTINGS;
  const ms = (name: (typeof SETTINGS)[number], fallback: number) =>
    wholeNumber(name, get(name), fallback, problems, (n) => n >= 1, 'must be a whole number of milliseconds, at least 1');
  const perWindow = (name: (typeof SETTINGS)[number], fallback: number) =>
    wholeNumber(name, get(name), fallback, problems, () => true, 'must be a whole number of requests (0 turns the limit off)');
  const settings: HttpSettings = {
    headersTimeoutMs: ms('FLAMINGO_HTTP_HEADERS_TIMEOUT_MS', d.headersTimeoutMs),
    requestTimeoutMs: ms('FLAMINGO_HTTP_REQUEST_TIMEOUT_MS', d.requestTimeoutMs),
    idleTimeoutMs: ms('FLAMINGO_HTTP_IDLE_TIMEOUT_MS', d.idleTimeoutMs),
    keepAliveTimeoutMs: ms('FLAMINGO_HTTP_KEEP_ALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs),
    maxConnections: wholeNumber('FLAMINGO_HTTP_MAX_CONNECTIONS', get('FLAMINGO_HTTP_MAX_CONNECTIONS'), d.maxConnections, problems, (n) => n >= 1, 'must be a whole number, at least 1'),
    maxDepth: wholeNumber('FLAMINGO_HTTP_MAX_DEPTH', get('FLAMINGO_HTTP_MAX_DEPTH'), d.maxDepth, problems, (n) => n >= 1 && n <= 256, 'must be a whole number from 1 to 256'),
    rateLimitWindowMs: ms('FLAMINGO_RATE_LIMIT_WINDOW_MS', d.rateLimitWindowMs),
    keylessRateLimit: perWindow('FLAMINGO_RATE_LIMIT_KEYLESS', d.keylessRateLimit),
    loginRateLimit: perWindow('FLAMINGO_RATE_LIMIT_LOGIN', d.loginRateLimit),
  };
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (settings.headersTimeoutMs > settings.requestTimeoutMs) {
    problems.push(
      `FLAMINGO_HTTP_HEADERS_TIMEOUT_MS: must be at most FLAMINGO_HTTP_REQUEST_TIMEOUT_MS (${settings.requestTimeoutMs}), got "${settings.headersTimeoutMs}"`,
    );
  }
  return settings;
}

function parseBoolean(name: string, value: string | undefined, problems: string[]): boolean {
  if (value === undefined || value === '') return false;
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  problems.push(`${name}: must be 1/true/yes/on or 0/false/no/off, got "${value}"`);
  return false;
}

/**
 * Reads and validates the configuration. Throws `ConfigError` listing every problem at once.
 * @param env the environment. (Default: `process.env`)
 * @param cwd where `./data` and `flamingo.config.json` are looked up. (Default: `process.cwd()`)
 * @param declared names of the settings the services declare (their schemas, checked when they
 *   start), also allowed in `flamingo.config.json`. (Default: none)
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env, cwd = process.cwd(), declared: readonly string[] = []): FlamingoConfig {
  const problems: string[] = [];
  const fromFile = readConfigFile(cwd, problems, declared);
  const get = (name: (typeof SETTINGS)[number]): string | undefined => env[name] ?? fromFile[name];

  let port = 3000;
  const rawPort = get('PORT');
  if (rawPort !== undefined && rawPort !== '') {
    if (!/^\d+$/.test(rawPort.trim()) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      problems.push(`PORT: must be a whole number from 1 to 65535, got "${rawPort}"`);
    } else {
      port = Number(rawPort);
    }
  }

  const host = get('HOST') || '0.0.0.0';
  if (/\s|\//.test(host)) problems.push(`HOST: must be a host name or IP address, got "${host}"`);

  const dataDir = path.resolve(cwd, get('FLAMINGO_DATA_DIR') || './data');
  const dirProblem = checkWritableDir(dataDir);
  if (dirProblem) problems.push(`FLAMINGO_DATA_DIR: ${dataDir} must be a writable directory (${dirProblem})`);

  const adminKey = get('FLAMINGO_ADMIN_KEY') || undefined;
  if (adminKey !== undefined && (adminKey.length < 16 || /\s/.test(adminKey))) {
    problems.push('FLAMINGO_ADMIN_KEY: must be at least 16 characters without spaces (unset it to have one generated)');
  }

  const engine = parseEngine(get('FLAMINGO_ENGINE') || 'sqlite', problems);

  const natsStream = get('FLAMINGO_NATS_STREAM') || 'FLAMINGO';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(natsStream)) problems.push(`FLAMINGO_NATS_STREAM: must be 1–64 letters, digits, _ or -, got "${natsStream}"`);
  const natsReplicas = wholeNumber('FLAMINGO_NATS_REPLICAS', get('FLAMINGO_NATS_REPLICAS'), 1, problems, (n) => [1, 3, 5].includes(n), 'must be 1, 3 or 5');
  const natsPartitions = wholeNumber('FLAMINGO_NATS_PARTITIONS', get('FLAMINGO_NATS_PARTITIONS'), undefined, problems, (n) => n >= 1 && n <= 1024, 'must be a whole number from 1 to 1024');
  const natsDuplicateWindowMs = wholeNumber(
    'FLAMINGO_NATS_DUPLICATE_WINDOW_MS',
    get('FLAMINGO_NATS_DUPLICATE_WINDOW_MS'),
    120_000,
    problems,
    (n) => n >= 1_000,
    'must be a whole number of milliseconds, at least 1000',
  );

  const natsLeaseMs = wholeNumber('FLAMINGO_NATS_LEASE_MS', get('FLAMINGO_NATS_LEASE_MS'), 3_000, problems, (n) => n >= 1_000 && n <= 60_000, 'must be a whole number of milliseconds from 1000 to 60000');
  const natsAckWaitMs = wholeNumber('FLAMINGO_NATS_ACK_WAIT_MS', get('FLAMINGO_NATS_ACK_WAIT_MS'), 2_500, problems, (n) => n >= 1_000 && n <= 300_000, 'must be a whole number of milliseconds from 1000 to 300000');
  const redis = parseRedisSettings(get, problems);

  const databaseLayout = get('FLAMINGO_DATABASE_LAYOUT') || 'schema';
  if (databaseLayout !== 'schema' && databaseLayout !== 'database') {
    problems.push(`FLAMINGO_DATABASE_LAYOUT: must be "schema" or "database", got "${databaseLayout}"`);
  }
  const databasePoolSize = wholeNumber('FLAMINGO_DATABASE_POOL_SIZE', get('FLAMINGO_DATABASE_POOL_SIZE'), 4, problems, (n) => n >= 1 && n <= 100, 'must be a whole number of connections from 1 to 100');
  const databaseUrl = get('DATABASE_URL') || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) {
    problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL');
  }

  const rawLevel = (get('LOG_LEVEL') || 'info').toLowerCase();
  const logLevel = (LOG_LEVELS as readonly string[]).includes(rawLevel) ? (rawLevel as LogLevel) : 'info';
  if (logLevel !== rawLevel) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, got "${get('LOG_LEVEL')}"`);

  let services: string[] | undefined;
  const rawServices = get('FLAMINGO_SERVICES');
  if (rawServices?.trim() === 'none') services = [];
  else if (rawServices !== undefined && rawServices.trim() !== '' && rawServices.trim() !== 'all') {
    services = commaList(rawServices);
    const bad = services.filter((s) => !SERVICE_NAME.test(s));
    if (bad.length > 0) problems.push(`FLAMINGO_SERVICES: service names are lower-case words, got ${bad.map((b) => `"${b}"`).join(', ')}`);
  }

  const rawSeed = get('FLAMINGO_SEED_TYPES');
  const seedTypes = checkSeedTypes(rawSeed === undefined ? DEFAULT_SEED_TYPES : commaList(rawSeed), problems);

  const tokenSecret = get('FLAMINGO_TOKEN_SECRET') || undefined;
  if (tokenSecret !== undefined && Buffer.byteLength(tokenSecret) < 32) {
    problems.push('FLAMINGO_TOKEN_SECRET: must be at least 32 bytes (unset it to have one generated)');
  }

  const auditProjection = parseBoolean('FLAMINGO_AUDIT_PROJECTION', get('FLAMINGO_AUDIT_PROJECTION'), problems);
  const inboxRetentionMs = wholeNumber(
    'FLAMINGO_INBOX_RETENTION_MS',
    get('FLAMINGO_INBOX_RETENTION_MS'),
    DEFAULT_INBOX_RETENTION_MS,
    problems,
    (n) => n >= MIN_INBOX_RETENTION_MS,
    'must be a whole number of milliseconds, at least 3600000 (1 h: longer than any redelivery window)',
  );
  const http = parseHttpSettings(get, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    dataDir,
    adminKey,
    engine,
    natsStream,
    natsReplicas,
    natsPartitions,
    natsDuplicateWindowMs,
    natsLeaseMs,
    natsAckWaitMs,
    redis,
    databaseUrl,
    databaseLayout: databaseLayout === 'database' ? 'database' : 'schema',
    databasePoolSize,
    logLevel,
    services,
    seedTypes,
    tokenSecret,
    auditProjection,
    inboxRetentionMs,
    http,
    env: { ...fromFile, ...env },
  };
}
