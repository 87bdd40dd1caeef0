/**
 * Issue 14, "Done when": the catalog changed three ways, checked against every consumer the
 * repository declares plus a delivery target's contract — a field the warehouse reads removed
 * (fails naming the warehouse), a field nobody reads removed (passes), a version dropped that the
 * target still subscribes to (fails naming the target). The catalog is changed in memory only.
 */
import { describe, expect, it } from 'vitest';
import { catalogSnapshot, checkCatalog, type CatalogSnapshot, type ConsumerContract } from '../contracts/index.ts';
import { targetContract } from '../services/index.ts';
import { codeContracts } from './contracts.ts';

const released = catalogSnapshot();
/** A catalog as a change would leave it: the released one, copied, then edited. */
const changed = (edit: (types: CatalogSnapshot['types']) => void): CatalogSnapshot => {
  const copy = structuredClone(released);
  edit(copy.types);
  return copy;
};
const propertiesOf = (types: CatalogSnapshot['types'], type: string) => types[type].schema.properties as Record<string, unknown>;
const removeField = (type: string, field: string) =>
  changed((types) => {
    delete propertiesOf(types, type)[field];
    types[type].schema.required = (types[type].schema.required as string[]).filter((f) => f !== field);
  });

const target = targetContract({ id: '0190f000-0000-7000-8000-00000000cafe', types: ['cart.*'] });
const contracts: ConsumerContract[] = [...codeContracts(), target];
const check = (current: CatalogSnapshot) => checkCatalog({ previous: released, current, contracts });
const breakingConsumers = (result: ReturnType<typeof check>) => [...new Set(result.findings.filter((f) => f.breaking).map((f) => f.consumer))];

describe('flamingo catalog check against the declared consumers', () => {
  it('passes the catalog as released', () => {
    const result = check(released);
    expect(result.failures).toBe(0);
    expect(result.findings).toEqual([]);
  });

  it('fails naming the warehouse, the type, the version and the field when a field the warehouse reads is removed', () => {
    const result = check(removeField('stock.low', 'threshold'));
    expect(result.failures).toBeGreaterThan(0);
    expect(breakingConsumers(result)).toEqual(['warehouse']);
    expect(result.findings).toContainEqual(
      expect.objectContaining({ consumer: 'warehouse', type: 'stock.low', version: 1, field: 'threshold', rule: 'field-removed', breaking: true }),
    );
    expect(result.changes).toContainEqual(expect.objectContaining({ type: 'stock.low', path: '/threshold', rule: 'field-removed', breaking: true, message: expect.stringMatching(/read by warehouse/) }));
  });

  it('passes when the removed field is read by nobody, saying so', () => {
    const result = check(removeField('stock.adjusted', 'note'));
    expect(result.failures).toBe(0);
    expect(result.changes).toEqual([
      expect.objectContaining({ type: 'stock.adjusted', path: '/note', rule: 'field-removed', breaking: false, message: expect.stringMatching(/read by no declared consumer/) }),
    ]);
  });

  it('fails naming the target when a version it subscribes to is dropped; lists it while the version is deprecated', () => {
    const bumped = changed((types) => {
      types['cart.item_added'].version = 2;
    });
    const dropped = check(bumped);
    expect(dropped.failures).toBe(1);
    expect(dropped.findings).toEqual([
      expect.objectContaining({ consumer: target.consumer, type: 'cart.item_added', version: 1, rule: 'version-dropped', breaking: true, message: expect.stringContaining(target.consumer) }),
    ]);

    const deprecated = changed((types) => {
      types['cart.item_added'].deprecated = { 1: { schema: types['cart.item_added'].schema, until: '2027-06-30T00:00:00Z' } };
      types['cart.item_added'].version = 2;
    });
    const listed = check(deprecated);
    expect(listed.failures).toBe(0);
    expect(listed.findings).toEqual([
      expect.objectContaining({ consumer: target.consumer, type: 'cart.item_added', version: 1, rule: 'deprecated-version', breaking: false, message: expect.stringMatching(/deprecated until 2027-06-30/) }),
    ]);
  });

  it('fails naming every reader when a field is retyped or renamed', () => {
    const retyped = check(
      changed((types) => {
        propertiesOf(types, 'payment.succeeded').amountCents = { type: 'string' };
      }),
    );
    expect(retyped.findings.filter((f) => f.rule === 'field-retyped').map((f) => f.consumer).sort()).toEqual(['hub.orders', 'orders.saga', 'warehouse']);
    const renamed = check(
      changed((types) => {
        const properties = propertiesOf(types, 'shipment.dispatched');
        properties.trackingCode = properties.trackingNumber;
        delete properties.trackingNumber;
      }),
    );
    expect(renamed.findings.filter((f) => f.breaking).map((f) => `${f.consumer} ${f.field}`).sort()).toEqual(['hub.orders trackingNumber', 'notifications.background trackingNumber']);
  });
});
