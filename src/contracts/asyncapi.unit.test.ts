import { describe, expect, it } from 'vitest';
import { Parser } from '@asyncapi/parser';
import { asyncApiDocument, catalog } from './index.ts';

const ERROR = 0;

describe('asyncApiDocument', () => {
  it('parses as a valid AsyncAPI 3.0.0 document without error diagnostics', async () => {
    const { document, diagnostics } = await new Parser().parse(asyncApiDocument({ serverUrl: 'http://localhost:3000/v1' }) as never);
    const errors = diagnostics.filter((d) => d.severity === ERROR).map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
    expect(document!.channels().length).toBe(catalog.length);
    expect(document!.operations().length).toBe(catalog.length * 2);
    expect(document!.servers().get('flamingo')?.host()).toBe('localhost:3000');
  });

  it('has one channel per type whose message is a CloudEvent carrying that type', async () => {
    const { document } = await new Parser().parse(asyncApiDocument() as never);
    const channel = document!.channels().all().find((c) => c.address() === 'order.placed')!;
    const message = channel.messages().all()[0]!;
    expect(message.contentType()).toBe('application/cloudevents+json');
    const payload = message.payload()!.json() as { properties: Record<string, { const?: unknown; required?: string[] }> };
    expect(payload.properties.type.const).toBe('order.placed');
    expect(payload.properties.dataschema.const).toBe('flamingo:order.placed/v1');
    expect(payload.properties.data.required).toContain('orderId');
    const actions = document!.operations().all().filter((o) => o.channels().all()[0]?.address() === 'order.placed').map((o) => o.action());
    expect(actions.sort()).toEqual(['receive', 'send']);
    expect(document!.servers().length).toBe(0);
  });

  it('is reported invalid when broken, so the validity test can fail', async () => {
    const broken = { ...asyncApiDocument(), operations: { bad: { action: 'publish', channel: { $ref: '#/channels/nope' } } } };
    const { diagnostics } = await new Parser().parse(broken as never);
    expect(diagnostics.some((d) => d.severity === ERROR)).toBe(true);
  });
});
