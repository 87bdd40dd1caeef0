import { Value } from '@sinclair/typebox/value';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { catalogSnapshot, compareCatalog, type CatalogSnapshot } from './compat.ts';
import { checkCatalog, contractProblems, kindProblems } from './contract-check.ts';
import { UndeclarableReadError, declareReads, type ReadEvent, type ReadsOf } from './reads.ts';

const current = catalogSnapshot();
const edited = (edit: (types: CatalogSnapshot['types']) => void): CatalogSnapshot => {
  const copy = structuredClone(current);
  edit(copy.types);
  return copy;
};

describe('declared reads', () => {
  const reads = declareReads('test.reader', { 'order.placed': ['orderId', 'totalCents'], 'user.banned': ['userId'] });

  it('is a TypeBox pick of the catalog schema, current version', () => {
    expect(reads.reads).toEqual([
      { type: 'order.placed', version: 1, fields: ['orderId', 'totalCents'] },
      { type: 'user.banned', version: 1, fields: ['userId'] },
    ]);
    expect(reads.types).toEqual(['order.placed', 'user.banned']);
    expect(Object.keys(reads.schemas['order.placed'].properties)).toEqual(['orderId', 'totalCents']);
    expect(Value.Check(reads.schemas['order.placed'], { orderId: 'o1', totalCents: 100 })).toBe(true);
    expect(Value.Check(reads.schemas['order.placed'], { orderId: 'o1' })).toBe(false);
  });

  it("types a handler's data as exactly the declared fields", () => {
    type Event = ReadEvent<ReadsOf<typeof reads>>;
    const read = (event: Event) => {
      if (event.type === 'order.placed') {
        expectTypeOf(event.data).toEqualTypeOf<{ orderId: string; totalCents: number }>();
        // @ts-expect-error -- `currency` is not declared, so the handler cannot read it
        return event.data.currency;
      }
      expectTypeOf(event.data).toEqualTypeOf<{ userId: string }>();
      return event.data.userId;
    };
    expect(read).toBeTypeOf('function');
  });

  it('refuses a type or a field the catalog does not have', () => {
    expect(() => declareReads('x', { 'order.teleported': [] } as never)).toThrow(UndeclarableReadError);
    expect(() => declareReads('x', { 'order.placed': ['coupon'] } as never)).toThrow(/order\.placed v1 has no field coupon/);
  });
});

describe('contract problems', () => {
  it('names the read, the version and the field that do not exist', () => {
    const problems = contractProblems(
      {
        consumer: 'team',
        reads: [
          { type: 'order.placed', version: 1, fields: ['orderId', 'coupon'] },
          { type: 'order.teleported', version: 1, fields: [] },
          { type: 'order.cancelled', version: 3, fields: [] },
          { type: 'order.confirmed', fields: ['orderId'] },
          { type: 'order.*', fields: ['orderId'] },
          { type: 'Order Placed', version: 1, fields: [] },
          { type: 'parcel.*', fields: [] },
        ],
      },
      current,
    );
    expect(problems).toEqual([
      { path: '/reads/0/fields/1', message: 'order.placed v1 has no field coupon' },
      { path: '/reads/1/type', message: 'order.teleported is not an event type of the catalog' },
      { path: '/reads/2/version', message: 'order.cancelled has no version 3 (accepted: 1)' },
      { path: '/reads/3/version', message: 'is required for a type (current: 1)' },
      { path: '/reads/4/fields', message: 'must be empty for a pattern: name the type whose fields are read' },
      { path: '/reads/5/type', message: 'must be an event type (`order.placed`) or a pattern (`order.*`, `*`)' },
      { path: '/reads/6/type', message: 'parcel.* matches no event type of the catalog' },
    ]);
  });

  it('accepts a deprecated version with its own fields', () => {
    const catalog = edited((types) => {
      types['order.placed'].deprecated = { 1: { schema: { type: 'object', properties: { orderId: { type: 'string' }, legacy: { type: 'string' } } }, until: '2027-01-01T00:00:00Z' } };
      types['order.placed'].version = 2;
    });
    expect(contractProblems({ consumer: 'team', reads: [{ type: 'order.placed', version: 1, fields: ['legacy'] }] }, catalog)).toEqual([]);
  });
});

describe('event kinds', () => {
  it('finds every type of the catalog true to its kind', () => {
    expect(kindProblems(current)).toEqual([]);
  });

  it('refuses a notification carrying more than identifiers and a link, or no link', () => {
    const catalog = edited((types) => {
      types['stock.low'].kind = 'notification';
    });
    expect(kindProblems(catalog).map((p) => p.field)).toEqual(['sku', 'name', 'onHand', 'threshold', 'link']);
    expect(checkCatalog({ current: catalog, contracts: [] }).failures).toBe(5);
  });

  it('accepts a notification of ids and a required link (or dataref)', () => {
    const catalog = edited((types) => {
      types['stock.low'] = {
        ...types['stock.low'],
        kind: 'notification',
        schema: { type: 'object', required: ['productId', 'link'], properties: { productId: { type: 'string' }, warehouseId: { type: 'string' }, link: { type: 'string' } } },
      };
      types['review.flagged'] = { ...types['review.flagged'], kind: 'notification', schema: { type: 'object', required: ['reviewId', 'dataref'], properties: { reviewId: { type: 'string' }, dataref: { type: 'string' } } } };
    });
    expect(kindProblems(catalog)).toEqual([]);
  });
});

describe('reader-aware catalog changes', () => {
  const contracts = [{ consumer: 'team', reads: [{ type: 'order.cancelled', version: 1, fields: ['reason'] }] }];

  it('a new enum value breaks the consumer reading the field only', () => {
    const catalog = edited((types) => {
      const reason = (types['order.cancelled'].schema.properties as Record<string, { anyOf: unknown[] }>).reason;
      reason.anyOf.push({ const: 'lost_in_space', type: 'string' });
      const banned = (types['user.banned'].schema.properties as Record<string, unknown>).reason as Record<string, unknown>;
      banned.maxLength = 1000;
    });
    const result = checkCatalog({ previous: current, current: catalog, contracts });
    expect(result.findings).toEqual([expect.objectContaining({ consumer: 'team', type: 'order.cancelled', field: 'reason', rule: 'field-retyped', breaking: true })]);
    expect(result.changes.find((c) => c.rule === 'enum-value-added')).toMatchObject({ breaking: true, message: expect.stringMatching(/read by team/) });
    expect(result.failures).toBe(2);
  });

  it('keeps the producer-side rules: a retyped field breaks stored events whoever reads it', () => {
    const catalog = edited((types) => {
      (types['stock.adjusted'].schema.properties as Record<string, unknown>).note = { type: 'integer' };
    });
    expect(compareCatalog(current, catalog)).toEqual([expect.objectContaining({ rule: 'field-retyped', breaking: true })]);
    expect(checkCatalog({ previous: current, current: catalog, contracts: [] }).failures).toBe(1);
  });
});
