/**
 * One format configuration for both validators (issue 7, item 8): a route's ajv schema and the
 * catalog's TypeBox validator accept and refuse exactly the same strings for every format the
 * catalog and the routes use.
 */
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateAgainst } from '../contracts/index.ts';
import { createHttpServer } from './http.ts';

const CORPUS: Record<string, string[]> = {
  'date-time': ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00', '2024-02-30T12:00:00Z', '2024-05-01t12:00:00z', '2024-05-01 12:00:00Z', '2016-12-31T23:59:60Z', '2024-05-01T12:00:00+25:00', '2024-05-01'],
  email: ['ada@example.com', 'zoë@example.com', '.ada@example.com', 'ada..b@example.com', 'ada@example', 'a+b@x.example.co.uk', 'ada @example.com'],
  uuid: ['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B', 'urn:uuid:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b', 'nope'],
  uri: ['https://example.com/a?b=c', 'not a url', '/relative', 'mailto:ada@example.com', 'https://exa mple.com'],
};

let app: Awaited<ReturnType<typeof createHttpServer>>;
beforeAll(async () => {
  app = await createHttpServer({ logger: pino({ level: 'silent' }) });
  for (const format of Object.keys(CORPUS)) {
    app.post(`/check/${format}`, { schema: { body: Type.Object({ value: Type.String({ format }) }) } }, async () => ({ ok: true }));
  }
  await app.ready();
});
afterAll(() => app?.close());

describe('string formats', () => {
  it.each(Object.entries(CORPUS))('%s: HTTP routes (ajv) and the catalog (TypeBox) agree on every value', async (format, values) => {
    for (const value of values) {
      const route = await app.inject({ method: 'POST', url: `/check/${format}`, payload: { value } });
      const catalog = validateAgainst(Type.String({ format }), value).length === 0;
      expect({ value, route: route.statusCode === 200, catalog }).toEqual({ value, route: catalog, catalog });
    }
  });
});
