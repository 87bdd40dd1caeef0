import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_HTTP_SETTINGS, loadConfig } from './config.ts';

const cwd = mkdtempSync(path.join(os.tmpdir(), 'flamingo-config-unit-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env, cwd);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('loadConfig', () => {
  it('has defaults a server user expects', () => {
    const config = loadConfig({}, cwd);
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      dataDir: path.join(cwd, 'data'),
      engine: { kind: 'sqlite' },
      logLevel: 'info',
      services: undefined,
      seedTypes: ['cart.item_added'],
      auditProjection: false,
    });
    expect(config.adminKey).toBeUndefined();
  });

  it('reads every setting', () => {
    const config = loadConfig(
      {
        PORT: '8080',
        HOST: '127.0.0.1',
        FLAMINGO_DATA_DIR: 'elsewhere',
        FLAMINGO_ADMIN_KEY: 'a-long-enough-admin-key',
        FLAMINGO_ENGINE: 'nats://a:4222,nats://b:4222',
        DATABASE_URL: 'postgres://127.0.0.1/test',
        LOG_LEVEL: 'DEBUG',
        FLAMINGO_SERVICES: 'orders, payments',
        FLAMINGO_SEED_TYPES: '',
        FLAMINGO_AUDIT_PROJECTION: 'true',
      },
      cwd,
    );
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: path.join(cwd, 'elsewhere'),
      adminKey: 'a-long-enough-admin-key',
      engine: { kind: 'nats', servers: ['nats://a:4222', 'nats://b:4222'] },
      databaseUrl: 'postgres://127.0.0.1/test',
      logLevel: 'debug',
      services: ['orders', 'payments'],
      seedTypes: [],
      auditProjection: true,
    });
  });

  it('lists every problem at once', () => {
    expect(problemsOf({ PORT: '-1', LOG_LEVEL: 'loud', FLAMINGO_AUDIT_PROJECTION: 'maybe', FLAMINGO_TOKEN_SECRET: 'short' })).toEqual([
      'PORT: must be a whole number from 1 to 65535, got "-1"',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'FLAMINGO_TOKEN_SECRET: must be at least 32 bytes (unset it to have one generated)',
      'FLAMINGO_AUDIT_PROJECTION: must be 1/true/yes/on or 0/false/no/off, got "maybe"',
    ]);
  });

  it('keeps the inbox 7 days by default, and never less than an hour', () => {
    expect(loadConfig({}, cwd).inboxRetentionMs).toBe(7 * 24 * 3600_000);
    expect(loadConfig({ FLAMINGO_INBOX_RETENTION_MS: '3600000' }, cwd).inboxRetentionMs).toBe(3600_000);
    expect(problemsOf({ FLAMINGO_INBOX_RETENTION_MS: '60000' })).toEqual([
      'FLAMINGO_INBOX_RETENTION_MS: must be a whole number of milliseconds, at least 3600000 (1 h: longer than any redelivery window), got "60000"',
    ]);
  });

  it('reads the NATS cluster settings and names each bad one', () => {
    const config = loadConfig({ FLAMINGO_NATS_REPLICAS: '3', FLAMINGO_NATS_PARTITIONS: '64', FLAMINGO_NATS_DUPLICATE_WINDOW_MS: '600000' }, cwd);
    expect([config.natsReplicas, config.natsPartitions, config.natsDuplicateWindowMs]).toEqual([3, 64, 600_000]);
    expect(loadConfig({}, cwd).natsPartitions).toBeUndefined();
    expect(problemsOf({ FLAMINGO_NATS_REPLICAS: '2', FLAMINGO_NATS_PARTITIONS: '0', FLAMINGO_NATS_DUPLICATE_WINDOW_MS: '10s' })).toEqual([
      'FLAMINGO_NATS_REPLICAS: must be 1, 3 or 5, got "2"',
      'FLAMINGO_NATS_PARTITIONS: must be a whole number from 1 to 1024, got "0"',
      'FLAMINGO_NATS_DUPLICATE_WINDOW_MS: must be a whole number of milliseconds, at least 1000, got "10s"',
    ]);
  });

  it('reads the NATS fail-over settings within their bounds (issue 13)', () => {
    expect([loadConfig({}, cwd).natsLeaseMs, loadConfig({}, cwd).natsAckWaitMs]).toEqual([3_000, 2_500]);
    const config = loadConfig({ FLAMINGO_NATS_LEASE_MS: '10000', FLAMINGO_NATS_ACK_WAIT_MS: '30000' }, cwd);
    expect([config.natsLeaseMs, config.natsAckWaitMs]).toEqual([10_000, 30_000]);
    expect(problemsOf({ FLAMINGO_NATS_LEASE_MS: '999', FLAMINGO_NATS_ACK_WAIT_MS: '300001' })).toEqual([
      'FLAMINGO_NATS_LEASE_MS: must be a whole number of milliseconds from 1000 to 60000, got "999"',
      'FLAMINGO_NATS_ACK_WAIT_MS: must be a whole number of milliseconds from 1000 to 300000, got "300001"',
    ]);
  });

  it('reads the PostgreSQL pool size of each service within its bounds', () => {
    expect(loadConfig({}, cwd).databasePoolSize).toBe(4);
    expect(loadConfig({ FLAMINGO_DATABASE_POOL_SIZE: '2' }, cwd).databasePoolSize).toBe(2);
    expect(problemsOf({ FLAMINGO_DATABASE_POOL_SIZE: '0' })).toEqual(['FLAMINGO_DATABASE_POOL_SIZE: must be a whole number of connections from 1 to 100, got "0"']);
  });

  it('reads the Redis engine and its settings, naming each bad one (issue 13)', () => {
    const config = loadConfig({ FLAMINGO_ENGINE: 'redis://:secret@cache:6380/2', FLAMINGO_REDIS_PARTITIONS: '4', FLAMINGO_REDIS_RETENTION_MS: '86400000' }, cwd);
    expect(config.engine).toEqual({ kind: 'redis', url: 'redis://:secret@cache:6380/2' });
    expect(config.redis).toEqual({ prefix: 'flamingo', partitions: 4, duplicateWindowMs: 120_000, retentionMs: 86_400_000, leaseMs: 3_000 });
    expect(problemsOf({ FLAMINGO_ENGINE: 'redis://:secret@cache:99999' })).toEqual([
      'FLAMINGO_ENGINE: a Redis engine must be redis://[user:password@]host:port[/db] (or rediss:// for TLS), got "redis://:…@cache:99999"',
    ]);
    expect(problemsOf({ FLAMINGO_REDIS_PREFIX: 'a b', FLAMINGO_REDIS_PARTITIONS: '2000', FLAMINGO_REDIS_DUPLICATE_WINDOW_MS: '5', FLAMINGO_REDIS_RETENTION_MS: '-1', FLAMINGO_REDIS_LEASE_MS: '100' })).toEqual([
      'FLAMINGO_REDIS_PREFIX: must be 1–64 letters, digits, _, . or -, got "a b"',
      'FLAMINGO_REDIS_PARTITIONS: must be a whole number from 1 to 1024, got "2000"',
      'FLAMINGO_REDIS_DUPLICATE_WINDOW_MS: must be a whole number of milliseconds, at least 1000, got "5"',
      'FLAMINGO_REDIS_RETENTION_MS: must be a whole number of milliseconds (0 keeps every event), got "-1"',
      'FLAMINGO_REDIS_LEASE_MS: must be a whole number of milliseconds from 1000 to 60000, got "100"',
    ]);
  });

  it('has documented HTTP limits, reads each one and names each bad one (issue 7, items 4 and 6)', () => {
    expect(loadConfig({}, cwd).http).toEqual(DEFAULT_HTTP_SETTINGS);
    expect(DEFAULT_HTTP_SETTINGS).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 72_000,
      maxConnections: 10_000,
      maxDepth: 32,
      rateLimitWindowMs: 60_000,
      keylessRateLimit: 1_200,
      loginRateLimit: 30,
    });
    const config = loadConfig(
      {
        FLAMINGO_HTTP_HEADERS_TIMEOUT_MS: '2000',
        FLAMINGO_HTTP_REQUEST_TIMEOUT_MS: '4000',
        FLAMINGO_HTTP_IDLE_TIMEOUT_MS: '9000',
        FLAMINGO_HTTP_KEEP_ALIVE_TIMEOUT_MS: '5000',
        FLAMINGO_HTTP_MAX_CONNECTIONS: '50',
        FLAMINGO_HTTP_MAX_DEPTH: '8',
        FLAMINGO_RATE_LIMIT_WINDOW_MS: '1000',
        FLAMINGO_RATE_LIMIT_KEYLESS: '0',
        FLAMINGO_RATE_LIMIT_LOGIN: '5',
      },
      cwd,
    );
    expect(config.http).toEqual({
      headersTimeoutMs: 2_000,
      requestTimeoutMs: 4_000,
      idleTimeoutMs: 9_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 50,
      maxDepth: 8,
      rateLimitWindowMs: 1_000,
      keylessRateLimit: 0,
      loginRateLimit: 5,
    });
    expect(
      problemsOf({
        FLAMINGO_HTTP_REQUEST_TIMEOUT_MS: '0',
        FLAMINGO_HTTP_IDLE_TIMEOUT_MS: '1m',
        FLAMINGO_HTTP_MAX_CONNECTIONS: '0',
        FLAMINGO_HTTP_MAX_DEPTH: '1000',
        FLAMINGO_RATE_LIMIT_LOGIN: '-1',
      }),
    ).toEqual([
      'FLAMINGO_HTTP_REQUEST_TIMEOUT_MS: must be a whole number of milliseconds, at least 1, got "0"',
      'FLAMINGO_HTTP_IDLE_TIMEOUT_MS: must be a whole number of milliseconds, at least 1, got "1m"',
      'FLAMINGO_HTTP_MAX_CONNECTIONS: must be a whole number, at least 1, got "0"',
      'FLAMINGO_HTTP_MAX_DEPTH: must be a whole number from 1 to 256, got "1000"',
      'FLAMINGO_RATE_LIMIT_LOGIN: must be a whole number of requests (0 turns the limit off), got "-1"',
    ]);
    expect(problemsOf({ FLAMINGO_HTTP_HEADERS_TIMEOUT_MS: '40000' })).toEqual([
      'FLAMINGO_HTTP_HEADERS_TIMEOUT_MS: must be at most FLAMINGO_HTTP_REQUEST_TIMEOUT_MS (30000), got "40000"',
    ]);
  });

  it.each(['kafka://', 'nats://', 'nats://host:99999', 'sqlite3', 'http://nats:4222'])('refuses FLAMINGO_ENGINE=%s', (value) => {
    expect(problemsOf({ FLAMINGO_ENGINE: value })).toEqual([expect.stringMatching(/^FLAMINGO_ENGINE: must be "sqlite" or nats:\/\/host:port/)]);
  });
});

describe('FLAMINGO_SEED_TYPES (issue 7: keyless publishing only of harmless types)', () => {
  it('accepts the types anyone may publish, an alias read as its type', () => {
    expect(loadConfig({ FLAMINGO_SEED_TYPES: 'item_added_to_cart, cart.item_removed' }, cwd).seedTypes).toEqual(['cart.item_added', 'cart.item_removed']);
  });

  it.each(['cart.*', 'cart.checked_out', '*', 'order.placed', 'cart.item_added,payment.*'])('refuses %s, naming the setting and the owned types it matches', (value) => {
    const problems = problemsOf({ FLAMINGO_SEED_TYPES: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^FLAMINGO_SEED_TYPES: ".+" matches .+ which only a key scoped to the producer may publish/);
  });

  it('names cart.checked_out and its producer for cart.*', () => {
    expect(problemsOf({ FLAMINGO_SEED_TYPES: 'cart.*' })[0]).toContain('cart.checked_out (webshop)');
  });
});
