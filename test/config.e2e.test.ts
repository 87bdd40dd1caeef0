import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-config-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** stderr lines, without blanks. */
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('flamingo start refuses a bad configuration', () => {
  it('names every bad setting and its rule, one line each, and exits 2', async () => {
    const cwd = tempDir();
    const file = path.join(cwd, 'a-file');
    writeFileSync(file, '');
    const result = await runCli(['start'], {
      cwd,
      env: {
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        FLAMINGO_ENGINE: 'kafka://broker:9092',
        FLAMINGO_DATA_DIR: path.join(file, 'data'),
        DATABASE_URL: 'mysql://db',
        FLAMINGO_ADMIN_KEY: 'short',
        FLAMINGO_SEED_TYPES: 'Cart Events',
      },
    });
    expect(result.code).toBe(2);
    const problems = lines(result.stderr);
    expect(problems).toHaveLength(7);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/PORT: must be a whole number from 1 to 65535, got "abc"/),
        expect.stringMatching(/LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/),
        expect.stringMatching(/FLAMINGO_ENGINE: must be "sqlite" or nats:\/\/host:port.*got "kafka:\/\/broker:9092"/),
        expect.stringMatching(/FLAMINGO_DATA_DIR: .* must be a writable directory \(ENOTDIR\)/),
        expect.stringMatching(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/),
        expect.stringMatching(/FLAMINGO_ADMIN_KEY: must be at least 16 characters/),
        expect.stringMatching(/FLAMINGO_SEED_TYPES: must be event type patterns/),
      ]),
    );
    expect(result.stdout).not.toMatch(/listening/);
  });

  it.each([
    ['PORT', '70000', /PORT: must be a whole number from 1 to 65535, got "70000"/],
    ['PORT', '0', /PORT: must be a whole number from 1 to 65535, got "0"/],
    ['FLAMINGO_DATA_DIR', '/proc/self/fd', /FLAMINGO_DATA_DIR: \/proc\/self\/fd must be a writable directory \(\/proc is a kernel pseudo-filesystem, not storage\)/],
    ['FLAMINGO_ENGINE', 'kafka://', /FLAMINGO_ENGINE: must be "sqlite" or nats:\/\/host:port.*got "kafka:\/\/"/],
    ['FLAMINGO_ENGINE', 'redis://127.0.0.1:1', /FLAMINGO_ENGINE: cannot use Redis at redis:\/\/127.0.0.1:1/],
    ['FLAMINGO_NATS_LEASE_MS', '500', /FLAMINGO_NATS_LEASE_MS: must be a whole number of milliseconds from 1000 to 60000, got "500"/],
    ['FLAMINGO_REDIS_LEASE_MS', '120000', /FLAMINGO_REDIS_LEASE_MS: must be a whole number of milliseconds from 1000 to 60000, got "120000"/],
  ])('%s=%s', async (name, value, message) => {
    const result = await runCli(['start'], { cwd: tempDir(), env: { [name]: value } });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(message)]);
  });

  it('refuses at once a FLAMINGO_DATA_DIR that leads into /proc through a symbolic link', async () => {
    const cwd = tempDir();
    symlinkSync('/proc', path.join(cwd, 'kernel'));
    const started = Date.now();
    const result = await runCli(['start'], { cwd, env: { FLAMINGO_DATA_DIR: path.join(cwd, 'kernel', 'flamingo') }, timeoutMs: 15_000 });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      `invalid configuration: FLAMINGO_DATA_DIR: ${path.join(cwd, 'kernel', 'flamingo')} must be a writable directory (/proc is a kernel pseudo-filesystem, not storage (the path leads to /proc/flamingo))`,
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it.each([
    ['unreachable', 'postgres://flamingo:secret@127.0.0.1:1/test', /^invalid configuration: DATABASE_URL: cannot connect to postgres:\/\/flamingo:…@127\.0\.0\.1:1\/test \(ECONNREFUSED/],
    ['missing database', 'postgres://postgres@127.0.0.1:5432/flamingo_no_such_database', /^invalid configuration: DATABASE_URL: cannot connect to .*flamingo_no_such_database \(3D000: .*does not exist/],
  ])('a PostgreSQL database that is %s stops start-up naming DATABASE_URL', async (_what, url, message) => {
    const result = await runCli(['start'], { cwd: tempDir(), env: { DATABASE_URL: url } });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(message)]);
    expect(result.stderr).not.toContain('secret');
  });

  it('a PostgreSQL server that accepts and never answers stops start-up naming DATABASE_URL after connect_timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const result = await runCli(['start'], { cwd: tempDir(), env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test?connect_timeout=2` }, timeoutMs: 30_000 });
      expect(result.code).toBe(2);
      expect(lines(result.stderr)).toEqual([`invalid configuration: DATABASE_URL: cannot connect to postgres://postgres@127.0.0.1:${port}/test?connect_timeout=2 (no answer within 2000 ms)`]);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      silent.close();
    }
  });

  it('reports an unknown service named by --services', async () => {
    const cwd = tempDir();
    const result = await runCli(['start', '--services', 'nosuchservice'], { cwd, env: { PORT: '1' } });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(/FLAMINGO_SERVICES: unknown service "nosuchservice"/)]);
  });

  it('reads flamingo.config.json, and names its bad settings too', async () => {
    const cwd = tempDir();
    writeFileSync(path.join(cwd, 'flamingo.config.json'), JSON.stringify({ PORT: 99999, COLOUR: 'pink' }));
    const result = await runCli(['start'], { cwd });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual(
      expect.arrayContaining([expect.stringMatching(/unknown setting "COLOUR"/), expect.stringMatching(/PORT: .* got "99999"/)]),
    );
  });
});
