/**
 * `flamingo start` as a user runs it: the admin key generated on first start (mode 0600), printed,
 * the same on the next start; graceful shutdown on SIGTERM and SIGINT.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort, startServerProcess, type ServerProcess } from './support/process.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-start-'));
let running: ServerProcess | undefined;
afterAll(async () => {
  running?.child.kill('SIGKILL');
  await running?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

it('generates the admin key once, prints it, and shuts down gracefully', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const env = { FLAMINGO_DATA_DIR: dataDir, FLAMINGO_SERVICES: 'none', LOG_LEVEL: 'info' };
  running = await startServerProcess(env, port);
  const keyFile = path.join(dataDir, 'admin.key');
  const key = readFileSync(keyFile, 'utf8').trim();
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(running.output()).toContain(`flamingo listening on http://127.0.0.1:${port}`);
  expect(running.output()).toContain(`admin key: ${key} (generated, stored in ${keyFile}, mode 0600)`);
  expect((await fetch(`${running.url}/v1/keys`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);

  running.child.kill('SIGTERM');
  expect(await running.exited).toBe(0);
  expect(running.output()).toMatch(/SIGTERM, shutting down/);
  // The banner goes to stderr: stdout holds log records only, one JSON object a line.
  expect(running.stdout()).not.toContain('flamingo listening on');
  const records = running.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  // A request log record: method, route, status, duration.
  expect(records).toContainEqual(expect.objectContaining({ msg: 'request', method: 'GET', route: '/v1/keys', status: 200, ms: expect.any(Number) }));

  running = await startServerProcess(env, port);
  expect(running.output()).toContain(`admin key: ${key} (stored in ${keyFile}, mode 0600)`);
  running.child.kill('SIGINT');
  expect(await running.exited).toBe(0);
  running = undefined;
});
