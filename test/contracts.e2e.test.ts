/**
 * Issue 14 on the running product: every subscription of every service has a declaration; outside
 * consumers register theirs over `POST /v1/contracts` (admin key, validated, nothing stored on a
 * refusal); a delivery target's contract follows the target; `GET /v1/catalog` shows who produces
 * and who reads which fields, and the AsyncAPI document lists the readers as receive operations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeContracts } from '../src/app/contracts.ts';
import { catalog, matchesTypePattern, matchesTypes } from '../src/contracts/index.ts';
import { auditProjection, services } from '../src/services/index.ts';
import { runCli } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ FLAMINGO_AUDIT_PROJECTION: '1' }, { registry: [...services, auditProjection] });
}, 60_000);
afterAll(() => server?.stop());

const contract = {
  consumer: 'data-team.finance',
  reads: [
    { type: 'payment.succeeded', version: 1, fields: ['orderId', 'amountCents', 'currency'] },
    { type: 'order.*', fields: [] },
  ],
};

describe('declared reads of every subscription', () => {
  it('holds every running subscription to a declaration naming its types', async () => {
    const target = await server.request('POST', '/v1/targets', { body: { url: 'http://127.0.0.1:9/hook', types: ['cart.*', 'order.placed'] } });
    expect(target.status).toBe(201);
    const subscriptions = await server.flamingo.bus.subscriptions();
    const { contracts } = (await server.request('GET', '/v1/contracts')).body as { contracts: { consumer: string; reads: { type: string }[] }[] };
    // A subscription of every service (and the app's own) is running; the walk is over all of them.
    expect(subscriptions.length).toBeGreaterThanOrEqual(codeContracts().length);
    for (const subscription of subscriptions) {
      const declared = contracts.find((c) => c.consumer === subscription.name);
      expect(declared, `subscription ${subscription.name} has no declaration`).toBeDefined();
      const declaredTypes = declared!.reads.map((r) => r.type);
      for (const pattern of subscription.types) {
        // A pattern is declared as such (`*`), or as every catalog type it matches (a target's).
        const covered = declaredTypes.includes(pattern) || catalog.filter((e) => matchesTypePattern(pattern, e.type)).every((e) => matchesTypes(declaredTypes, e.type));
        expect(covered, `${subscription.name}: ${pattern}`).toBe(true);
      }
    }
    expect(subscriptions.map((s) => s.name)).toContain(`delivery.${target.body.id}`);
    // Every declaration in code belongs to a running subscription: none is left behind by a renamed one.
    const running = new Set(subscriptions.map((s) => s.name));
    for (const declared of codeContracts()) expect(running.has(declared.consumer), `${declared.consumer} declares but does not subscribe`).toBe(true);
  });

  it("keeps a target's contract in step with the target: every field of the types it takes, at the current version", async () => {
    const added = await server.request('POST', '/v1/targets', { body: { url: 'http://127.0.0.1:9/other', types: ['user.banned'] } });
    const consumer = `delivery.${added.body.id}`;
    const own = await server.request('GET', `/v1/contracts/${consumer}`);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ consumer, origin: 'target', reads: [{ type: 'user.banned', version: 1, fields: ['userId', 'reason', 'bannedBy', 'until'] }] });
    expect((await server.request('PATCH', `/v1/targets/${added.body.id}`, { body: { types: ['user.banned', 'user.unbanned'] } })).status).toBe(200);
    expect((await server.request('GET', `/v1/contracts/${consumer}`)).body.reads.map((r: { type: string }) => r.type)).toEqual(['user.banned', 'user.unbanned']);
    expect((await server.request('DELETE', `/v1/contracts/${consumer}`)).status).toBe(409);
    expect((await server.request('DELETE', `/v1/targets/${added.body.id}`)).status).toBe(204);
    expect((await server.request('GET', `/v1/contracts/${consumer}`)).status).toBe(404);
  });
});

describe('POST /v1/contracts', () => {
  it('authenticates before it validates, and stores nothing it refuses', async () => {
    expect((await server.request('POST', '/v1/contracts', { key: null, body: { nonsense: true } })).status).toBe(401);
    const refused = await server.request('POST', '/v1/contracts', {
      body: { consumer: 'data-team.finance', reads: [{ type: 'payment.succeeded', version: 1, fields: ['orderId', 'amountCent'] }, { type: 'order.teleported', version: 1, fields: [] }] },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_contract',
      detail: [
        { path: '/body/reads/0/fields/1', message: 'payment.succeeded v1 has no field amountCent' },
        { path: '/body/reads/1/type', message: 'order.teleported is not an event type of the catalog' },
      ],
    });
    const badVersion = await server.request('POST', '/v1/contracts', { body: { consumer: 'data-team.finance', reads: [{ type: 'payment.succeeded', version: 2, fields: [] }] } });
    expect(badVersion.body.detail).toEqual([{ path: '/body/reads/0/version', message: 'payment.succeeded has no version 2 (accepted: 1)' }]);
    const shape = await server.request('POST', '/v1/contracts', { body: { consumer: '', reads: [] } });
    expect(shape.status).toBe(400);
    expect(shape.body.detail.map((d: { path: string }) => d.path)).toContain('/body/consumer');
    const taken = await server.request('POST', '/v1/contracts', { body: { ...contract, consumer: 'orders.saga' } });
    expect(taken.body.detail).toEqual([{ path: '/body/consumer', message: "orders.saga is declared in Flamingo's code; choose another name" }]);
    expect((await server.request('GET', '/v1/contracts/data-team.finance')).status).toBe(404);
  });

  it('registers a contract that GET /v1/contracts, the catalog, the AsyncAPI document and the check take; DELETE removes it', async () => {
    const created = await server.request('POST', '/v1/contracts', { body: contract });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...contract, origin: 'api' });
    const all = (await server.request('GET', '/v1/contracts')).body.contracts as { consumer: string; origin: string }[];
    expect(all).toContainEqual(expect.objectContaining({ consumer: 'orders.saga', origin: 'code' }));
    expect(all).toContainEqual(expect.objectContaining({ consumer: 'data-team.finance', origin: 'api' }));

    const catalog = await server.request('GET', '/v1/catalog', { key: null });
    const succeeded = catalog.body.types.find((t: { type: string }) => t.type === 'payment.succeeded');
    expect(succeeded.producers).toEqual(['payments']);
    expect(succeeded.readers).toEqual(
      expect.arrayContaining([
        { consumer: 'data-team.finance', version: 1, fields: ['orderId', 'amountCents', 'currency'] },
        { consumer: 'orders.saga', version: 1, fields: ['orderId', 'paymentId', 'amountCents', 'currency'] },
        { consumer: 'warehouse', fields: [], pattern: '*' },
      ]),
    );
    const placed = catalog.body.types.find((t: { type: string }) => t.type === 'order.placed');
    expect(placed.readers).toContainEqual({ consumer: 'data-team.finance', fields: [], pattern: 'order.*' });

    const asyncapi = (await server.request('GET', '/v1/asyncapi.json', { key: null })).body;
    expect(asyncapi.operations['data-team.finance.payment.succeeded.receive']).toMatchObject({
      action: 'receive',
      channel: { $ref: '#/channels/payment.succeeded' },
      summary: 'data-team.finance reads orderId, amountCents, currency of v1.',
    });
    expect(asyncapi.operations['warehouse.stock.low.receive']).toMatchObject({ action: 'receive', 'x-flamingo-reader': { consumer: 'warehouse', fields: ['productId', 'sku', 'name', 'onHand', 'threshold'] } });

    // The check takes the contracts registered on a running Flamingo too.
    const registered = ((await server.request('GET', '/v1/contracts')).body.contracts as { origin: string }[]).filter((c) => c.origin !== 'code').length;
    const checked = await runCli(['catalog', 'check', '--server', server.url, '--key', server.adminKey, '--contracts', server.dataDir, '--json']);
    expect(checked.code, checked.stderr).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ failures: 0, consumers: codeContracts().length + registered });

    expect((await server.request('DELETE', '/v1/contracts/data-team.finance')).status).toBe(204);
    expect((await server.request('DELETE', '/v1/contracts/data-team.finance')).status).toBe(404);
    expect((await server.request('DELETE', '/v1/contracts/orders.saga')).status).toBe(409);
  });
});
