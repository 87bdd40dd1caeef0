import { describe, expect, it } from 'vitest';
import { catalog, catalogDocument } from './index.ts';

describe('catalogDocument', () => {
  const document = catalogDocument();

  it('lists every type once, sorted, with its metadata', () => {
    expect(document.envelope).toBe('cloudevents/1.0');
    expect(document.types.map((t) => t.type)).toEqual(catalog.map((e) => e.type).sort((a, b) => a.localeCompare(b)));
    const placed = document.types.find((t) => t.type === 'order.placed')!;
    expect(placed).toMatchObject({
      version: 1,
      dataschema: 'flamingo:order.placed/v1',
      producer: 'orders',
      kind: 'domain',
      key: ['orderId'],
      subject: 'order',
      urgency: 'background',
      aliases: ['OrderCreated'],
      secrets: ['/paymentToken'],
    });
    expect(document.types.find((t) => t.type === 'user.banned')!.urgency).toBe('immediate');
  });

  it('is plain JSON: no TypeBox symbols, survives a round trip unchanged', () => {
    const text = JSON.stringify(document);
    expect(JSON.parse(text)).toEqual(document);
    const placed = document.types.find((t) => t.type === 'order.placed')!.schema;
    expect(Object.getOwnPropertySymbols(placed)).toEqual([]);
    expect(placed).toMatchObject({ type: 'object', required: expect.arrayContaining(['orderId', 'items', 'totalCents', 'currency']) });
  });

  it('keeps every JSON Schema keyword consumers validate with', () => {
    const placed = document.types.find((t) => t.type === 'order.placed')!.schema as {
      properties: { currency: { pattern: string }; items: { minItems: number; items: { properties: { quantity: { minimum: number } } } } };
    };
    expect(placed.properties.currency.pattern).toBe('^[A-Z]{3}$');
    expect(placed.properties.items.minItems).toBe(1);
    expect(placed.properties.items.items.properties.quantity.minimum).toBe(1);
  });
});
