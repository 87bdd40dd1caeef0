import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { catalogSnapshot, compareCatalog, InvalidSnapshotError, parseCatalogSnapshot, type CatalogSnapshot } from './index.ts';

type Node = { type?: string; properties: Record<string, Node & Record<string, unknown>>; required: string[]; items?: Node } & Record<string, unknown>;

/** A deep copy of the current snapshot, with `edit` applied to one type's schema. */
function edited(type: string, edit: (schema: Node, entry: CatalogSnapshot['types'][string]) => void): CatalogSnapshot {
  const copy = structuredClone(catalogSnapshot());
  const entry = copy.types[type]!;
  edit(entry.schema as Node, entry);
  return copy;
}

const breaking = (previous: CatalogSnapshot, current: CatalogSnapshot) =>
  compareCatalog(previous, current).filter((c) => c.breaking).map((c) => ({ type: c.type, path: c.path, rule: c.rule }));

describe('compareCatalog', () => {
  const released = catalogSnapshot();

  it('finds nothing between a catalog and itself', () => {
    expect(compareCatalog(released, catalogSnapshot())).toEqual([]);
  });

  it('finds no breaking change against the committed released snapshot', () => {
    const committed = parseCatalogSnapshot(JSON.parse(readFileSync(new URL('./catalog.snapshot.json', import.meta.url), 'utf8')));
    expect(breaking(committed, released)).toEqual([]);
  });

  it('accepts an optional field added, and reports it as info', () => {
    const current = edited('order.placed', (s) => {
      s.properties.giftMessage = { type: 'string', properties: {}, required: [] };
    });
    expect(compareCatalog(released, current)).toEqual([
      { type: 'order.placed', path: '/giftMessage', rule: 'optional-field-added', message: expect.any(String), breaking: false },
    ]);
  });

  it('accepts a new type', () => {
    const current = structuredClone(released);
    current.types['order.returned'] = { version: 1, key: ['orderId'], aliases: [], schema: { type: 'object', properties: {} } };
    expect(breaking(released, current)).toEqual([]);
    expect(compareCatalog(released, current).map((c) => c.rule)).toEqual(['type-added']);
  });

  it('catches a type removed', () => {
    const current = structuredClone(released);
    delete current.types['stock.low'];
    expect(breaking(released, current)).toEqual([{ type: 'stock.low', path: '/', rule: 'type-removed' }]);
  });

  it('catches a field removed, also inside array items', () => {
    const current = edited('order.placed', (s) => {
      delete s.properties.currency;
      s.required = s.required.filter((f) => f !== 'currency');
      delete s.properties.items!.items!.properties.unitPriceCents;
    });
    expect(breaking(released, current)).toEqual([
      { type: 'order.placed', path: '/items/*/unitPriceCents', rule: 'field-removed' },
      { type: 'order.placed', path: '/currency', rule: 'field-removed' },
    ]);
  });

  it('catches a field retyped: type, format, nullability', () => {
    const current = edited('payment.succeeded', (s) => {
      s.properties.amountCents!.type = 'number';
    });
    expect(breaking(released, current)).toEqual([{ type: 'payment.succeeded', path: '/amountCents', rule: 'field-retyped' }]);

    const formatted = edited('user.registered', (s) => {
      s.properties.userId!.format = 'uuid';
    });
    expect(breaking(released, formatted)).toEqual([{ type: 'user.registered', path: '/userId', rule: 'field-retyped' }]);

    const notNullable = edited('cart.item_added', (s) => {
      s.properties.customer_id = { type: 'string', format: 'uuid', properties: {}, required: [] };
    });
    expect(breaking(released, notNullable)).toEqual([{ type: 'cart.item_added', path: '/customer_id', rule: 'field-retyped' }]);
  });

  it('catches a required field added and an optional field made required', () => {
    const current = edited('payment.failed', (s) => {
      s.properties.attempt = { type: 'integer', properties: {}, required: [] };
      s.required.push('attempt', 'paymentId');
    });
    expect(breaking(released, current)).toEqual([
      { type: 'payment.failed', path: '/paymentId', rule: 'field-made-required' },
      { type: 'payment.failed', path: '/attempt', rule: 'required-field-added' },
    ]);
  });

  it('catches enum values added or removed and constraints tightened, accepts constraints loosened', () => {
    const current = edited('order.cancelled', (s) => {
      const reason = s.properties.reason as unknown as { anyOf: { const: string; type: string }[] };
      reason.anyOf = reason.anyOf.filter((m) => m.const !== 'admin');
      reason.anyOf.push({ const: 'lost_in_transit', type: 'string' });
      s.properties.detail!.maxLength = 100;
    });
    expect(breaking(released, current)).toEqual([
      { type: 'order.cancelled', path: '/reason', rule: 'enum-value-removed' },
      { type: 'order.cancelled', path: '/reason', rule: 'enum-value-added' },
      { type: 'order.cancelled', path: '/detail', rule: 'constraint-tightened' },
    ]);
    const loosened = edited('order.cancelled', (s) => {
      s.properties.detail!.maxLength = 5000;
    });
    expect(breaking(released, loosened)).toEqual([]);
    expect(compareCatalog(released, loosened).map((c) => c.rule)).toEqual(['constraint-loosened']);
  });

  it('catches an alias removed and an ordering key changed', () => {
    const current = edited('order.placed', (_s, entry) => {
      entry.aliases = [];
      entry.key = ['userId'];
    });
    expect(breaking(released, current).map((c) => c.rule)).toEqual(['alias-removed', 'key-changed']);
  });

  it('turns every schema change into info when the version is bumped', () => {
    const current = edited('order.placed', (s, entry) => {
      entry.version = 2;
      delete s.properties.currency;
      s.properties.channel = { type: 'string', properties: {}, required: [] };
      s.required.push('channel');
    });
    const changes = compareCatalog(released, current);
    expect(changes.filter((c) => c.breaking)).toEqual([]);
    expect(changes.map((c) => c.rule)).toEqual(['version-bumped', 'field-removed', 'required-field-added']);
    expect(changes[1]!.message).toMatch(/allowed by the new version v2/);
  });

  it('catches a version going down', () => {
    const previous = edited('order.placed', (_s, entry) => {
      entry.version = 3;
    });
    expect(breaking(previous, released)).toEqual([{ type: 'order.placed', path: '/', rule: 'version-lowered' }]);
  });
});

describe('parseCatalogSnapshot', () => {
  it('accepts a snapshot and names what is wrong with anything else', () => {
    expect(parseCatalogSnapshot(JSON.parse(JSON.stringify(catalogSnapshot())))).toEqual(catalogSnapshot());
    expect(() => parseCatalogSnapshot({ format: 'x', types: {} })).toThrow(InvalidSnapshotError);
    try {
      parseCatalogSnapshot({ format: 'flamingo-catalog-snapshot/1', types: { 'a.b': { version: 0, key: [], aliases: [], schema: {} } } });
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidSnapshotError).issues.map((i) => i.path)).toContain('/types/a.b/version');
    }
  });
});
