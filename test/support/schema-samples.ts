/**
 * A valid value for a JSON Schema, made from the schema alone (every property, optional ones too),
 * so a test can publish one event of every catalog type — a type added tomorrow included.
 */

/** A JSON Schema node as published (`GET /v1/catalog`). */
export type SchemaNode = { readonly [keyword: string]: unknown };

const byFormat: Record<string, string> = {
  'date-time': '2024-05-01T12:00:00.250Z',
  date: '2024-05-01',
  email: 'ada@example.com',
  uuid: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  uri: 'https://example.com/track/1',
};
const byPattern: Record<string, string> = { '^[A-Z]{3}$': 'EUR', '^[A-Z]{2}$': 'DE' };

/** A value `schema` accepts; throws for a keyword it does not know how to satisfy. */
export function sampleOf(schema: SchemaNode): unknown {
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.anyOf)) return sampleOf(schema.anyOf[0] as SchemaNode);
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, SchemaNode>;
      return Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, sampleOf(property)]));
    }
    case 'array': {
      const count = Math.max(1, Number(schema.minItems ?? 1));
      return Array.from({ length: count }, () => sampleOf(schema.items as SchemaNode));
    }
    case 'string': {
      if (typeof schema.format === 'string') {
        const value = byFormat[schema.format];
        if (value === undefined) throw new Error(`no sample for format ${schema.format}`);
        return value;
      }
      if (typeof schema.pattern === 'string') {
        const value = byPattern[schema.pattern];
        if (value === undefined) throw new Error(`no sample for pattern ${schema.pattern}`);
        return value;
      }
      return 'sample'.padEnd(Number(schema.minLength ?? 0), 'x').slice(0, Number(schema.maxLength ?? 100));
    }
    case 'integer':
    case 'number': {
      const minimum = typeof schema.minimum === 'number' ? schema.minimum : 1;
      return typeof schema.maximum === 'number' ? Math.min(Math.max(minimum, 1), schema.maximum) : Math.max(minimum, 1);
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
  }
  throw new Error(`no sample for ${JSON.stringify(schema).slice(0, 200)}`);
}
