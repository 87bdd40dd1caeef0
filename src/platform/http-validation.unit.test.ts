/**
 * A 4xx of schema validation lists every bad field, not only the first (ajv `allErrors`), and a
 * union no branch matches is one problem naming its alternatives, not one per branch.
 */
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from './http.ts';

let app: Awaited<ReturnType<typeof createHttpServer>>;
beforeAll(async () => {
  app = await createHttpServer({ logger: pino({ level: 'silent' }) });
  const body = Type.Object({
    email: Type.String({ format: 'email' }),
    name: Type.String({ minLength: 1 }),
    role: Type.Optional(Type.Union([Type.Literal('producer'), Type.Literal('analyst')])),
    quantity: Type.Integer({ minimum: 1 }),
  });
  app.post('/people', { schema: { body, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })), after: Type.Optional(Type.Integer()) }) } }, async () => ({ ok: true }));
  // The shape of the rewind body: a union of objects, one holding a union of literals.
  const rewind = Type.Union([
    Type.Object({ sequence: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    Type.Object({ time: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
    Type.Object({ position: Type.Union([Type.Literal('beginning'), Type.Literal('now')]) }, { additionalProperties: false }),
  ]);
  app.post('/rewind', { schema: { body: rewind } }, async () => ({ ok: true }));
  await app.ready();
});
afterAll(() => app?.close());

describe('validation details', () => {
  it('names every bad field of a body and of a query string', async () => {
    const response = await app.inject({ method: 'POST', url: '/people?limit=0&after=x', payload: { email: 'a@example.com', name: 'Ada', quantity: 1 } });
    expect(response.statusCode).toBe(400);
    const detail = response.json().detail as { path: string; message: string }[];
    expect(detail.map((d) => d.path)).toEqual(['/query/limit', '/query/after']);
    const bodyErrors = await app.inject({ method: 'POST', url: '/people', payload: { email: 'nope', name: '', role: 'boss' } });
    expect(bodyErrors.json().detail).toEqual([
      { path: '/body/quantity', message: "must have required property 'quantity'" },
      { path: '/body/email', message: 'must match format "email"' },
      { path: '/body/name', message: 'must NOT have fewer than 1 characters' },
      { path: '/body/role', message: 'must be one of: "producer", "analyst"' },
    ]);
  });

  it('answers a union no branch matches with one problem naming the alternatives', async () => {
    for (const payload of [{ position: 'later' }, { sequence: 'first' }, {}, { sequence: 1, time: '2024-05-01T12:00:00Z' }]) {
      const response = await app.inject({ method: 'POST', url: '/rewind', payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().detail).toEqual([
        { path: '/body', message: 'must be one of: {"sequence": integer}, {"time": string (date-time)}, {"position": "beginning" | "now"}' },
      ]);
    }
    expect((await app.inject({ method: 'POST', url: '/rewind', payload: { position: 'now' } })).statusCode).toBe(200);
  });
});
