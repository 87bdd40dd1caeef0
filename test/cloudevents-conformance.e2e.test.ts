/**
 * The CloudEvents conformance cases (JSON format and HTTP binding) run against the collector:
 * every event the spec calls valid is accepted and stored, every one it calls invalid is refused
 * and nothing is stored — sent structured, binary and in a batch.
 *
 * The cases are those of the CloudEvents project's conformance suite (format/json: valid and invalid
 * single events and batches), adapted to a bus with a catalog in one way only: the spec's test type
 * `io.cloudevents.test` becomes a catalog type with data its schema accepts (`text/plain` data and a
 * producer's own `dataschema` would fail the catalog's rules, not the format's, so valid cases carry
 * the catalog's). Ids are made unique per case and mode so each stored event can be found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let key: string;
beforeAll(async () => {
  server = await startTestServer();
  key = await server.producerKey('webshop');
});
afterAll(() => server?.stop());

const TYPE = 'cart.item_added';
const DATASCHEMA = 'flamingo:cart.item_added/v1';
const DATA = { cartId: '0190a000-0000-7000-8000-0000000c0f0e', items: [1], item: 1 };
type Event = Record<string, unknown>;
const base = { specversion: '1.0', type: TYPE, source: 'https://cloudevents.io' };

/** Valid single events (valid-events.json), each given catalog data. */
const VALID: Record<string, Event> = {
  validMinimal: { ...base, id: 'minimal' },
  validMinimalWithNullForOptional: { ...base, id: 'minimal', datacontenttype: null, dataschema: null, subject: null, time: null },
  validAllCoreAttributes: { ...base, id: 'allCore', datacontenttype: 'application/json', dataschema: DATASCHEMA, subject: 'tests', time: '2018-04-05T17:31:00Z' },
  validMinimalWithTimeUtc: { ...base, id: 'minimalWithTime', time: '2018-04-05T17:31:00Z' },
  validMinimalWithTimeToNanosecondsUtc: { ...base, id: 'minimalWithTime', time: '2018-04-05T17:31:00.000000000Z' },
  validMinimalWithTimeUsingPositiveOffset: { ...base, id: 'minimalWithTime', time: '2018-04-05T18:31:00+01:00' },
  validMinimalWithTimeUsingNegativeOffset: { ...base, id: 'minimalWithTime', time: '2018-04-05T16:31:00-01:00' },
  validRelativeSource: { ...base, id: 'minimalWithRelativeSource', source: '#fragment' },
  validUrnSource: { ...base, id: 'urn', source: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66' },
  validMailtoSource: { ...base, id: 'mailto', source: 'mailto:cncf-wg-serverless@lists.cncf.io' },
  validJsonMediaTypeWithCharset: { ...base, id: 'charset', datacontenttype: 'application/json; charset=utf-8' },
  validAllExtensionTypes: {
    ...base,
    id: 'allExtensionTypes',
    extinteger: 10,
    extboolean: true,
    extstring: 'text',
    exturi: 'https://cloudevents.io',
    exturiref: '//authority/path',
    exttimestamp: '2023-03-31T15:12:00Z',
    extbinary: 'TWE=',
  },
};

/** Invalid single events (invalid-events.json), plus sources that are not URI references. */
const INVALID: Record<string, { event: Event; path: string }> = {
  invalidNoSpecVersion: { event: { id: 'invalid', type: TYPE, source: 'https://cloudevents.io' }, path: '/specversion' },
  invalidNoId: { event: { specversion: '1.0', type: TYPE, source: 'https://cloudevents.io' }, path: '/id' },
  invalidNoType: { event: { specversion: '1.0', id: 'invalid', source: 'https://cloudevents.io' }, path: '/type' },
  invalidNoSource: { event: { specversion: '1.0', id: 'invalid', type: TYPE }, path: '/source' },
  invalidTimeGarbage: { event: { ...base, id: 'invalid', time: 'lunchtime' }, path: '/time' },
  invalidTimeToMinute: { event: { ...base, id: 'invalid', time: '2018-04-05T18:31Z' }, path: '/time' },
  invalidTimeOffsetX: { event: { ...base, id: 'invalid', time: '2018-04-05T18:31:00X' }, path: '/time' },
  invalidTimeOffsetOutOfRange: { event: { ...base, id: 'invalid', time: '2018-04-05T18:31:00+25:00' }, path: '/time' },
  invalidTimeOffsetNonInteger: { event: { ...base, id: 'invalid', time: '2018-04-05T18:31:00+xx:00' }, path: '/time' },
  invalidTimeOffsetHourOnly: { event: { ...base, id: 'invalid', time: '2018-04-05T18:31:00+05' }, path: '/time' },
  invalidEmptyId: { event: { ...base, id: '' }, path: '/id' },
  invalidEmptyType: { event: { ...base, id: 'invalid', type: '' }, path: '/type' },
  invalidEmptySource: { event: { ...base, id: 'invalid', source: '' }, path: '/source' },
  invalidEmptySpecVersion: { event: { ...base, id: 'invalid', specversion: '' }, path: '/specversion' },
  invalidUnknownSpecVersion: { event: { ...base, id: 'invalid', specversion: '0.9' }, path: '/specversion' },
  invalidNonRfc2046DataContentType: { event: { ...base, id: 'invalid', datacontenttype: 'xyz' }, path: '/datacontenttype' },
  invalidEmptyDataContentType: { event: { ...base, id: 'invalid', datacontenttype: '' }, path: '/datacontenttype' },
  invalidEmptyDataSchema: { event: { ...base, id: 'invalid', dataschema: '' }, path: '/dataschema' },
  invalidEmptySubject: { event: { ...base, id: 'invalid', subject: '' }, path: '/subject' },
  invalidNumericId: { event: { ...base, id: 25 }, path: '/id' },
  invalidObjectId: { event: { ...base, id: { xyz: 'abc' } }, path: '/id' },
  invalidCapitalizedExtension: { event: { ...base, id: 'invalid', MyExtension: 'bad' }, path: '/MyExtension' },
  invalidPunctuatedExtension: { event: { ...base, id: 'invalid', 'my.extension': 'bad' }, path: '/my.extension' },
  invalidNonIntegerExtensionValue: { event: { ...base, id: 'invalid', myextension: 1.5 }, path: '/myextension' },
  invalidBothDataAndDataBase64: { event: { ...base, id: 'invalid', data_base64: 'eyAieHl6IjogMTIzIH0=' }, path: '/data_base64' },
  invalidSourceWithSpace: { event: { ...base, id: 'invalid', source: 'not a uri' }, path: '/source' },
  invalidSourceBadScheme: { event: { ...base, id: 'invalid', source: '1http://x' }, path: '/source' },
};

const withData = (event: Event): Event => ('data' in event ? event : { ...event, data: DATA });
const unique = (event: Event, suffix: string): Event => (typeof event.id === 'string' && event.id !== '' ? { ...event, id: `${event.id}-${suffix}` } : event);

const structured = (body: unknown) => server.request('POST', '/v1/events', { key, contentType: 'application/cloudevents+json', body });
const batch = (body: unknown) => server.request('POST', '/v1/events', { key, contentType: 'application/cloudevents-batch+json', body });
/** Binary mode: every attribute but data as a `ce-*` header (percent-encoded), data as the body; null attributes left out. */
const binary = (event: Event) => {
  const headers: Record<string, string> = {};
  let contentType = 'application/json';
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || value === null || value === undefined) continue;
    if (name === 'datacontenttype') contentType = String(value);
    else headers[`ce-${name}`] = encodeURIComponent(String(value));
  }
  return server.request('POST', '/v1/events', { key, contentType, headers, body: JSON.stringify(event.data) });
};

const storedIds = async () => {
  const { body } = await server.request('GET', '/v1/events?limit=1000');
  return (body.events as { id: string; source: string }[]).map((e) => `${e.source} ${e.id}`);
};

describe('valid CloudEvents are accepted and stored', () => {
  for (const [name, event] of Object.entries(VALID)) {
    it(`${name}: structured, binary and in a batch`, async () => {
      const sent = withData(event);
      const s = await structured(unique(sent, `${name}-s`));
      expect(s.status, `structured: ${s.text}`).toBe(202);
      const b = await binary(unique(sent, `${name}-b`));
      expect(b.status, `binary: ${b.text}`).toBe(202);
      const inBatch = await batch([unique(sent, `${name}-x`)]);
      expect(inBatch.status, `batch: ${inBatch.text}`).toBe(202);
      const ids = await storedIds();
      for (const suffix of ['s', 'b', 'x']) expect(ids).toContain(`${String(event.source)} ${String(event.id)}-${name}-${suffix}`);
    });
  }

  it('validBatchEmpty, validBatchMinimal, validBatchMinimal2 (two copies of one event), validBatchMinimalAndAllCore, validBatchMinimalAndAllExtensionTypes', async () => {
    expect((await batch([])).status).toBe(202);
    const minimal = withData({ ...base, id: 'minimal-batch' });
    const one = await batch([minimal]);
    expect(one.status, one.text).toBe(202);
    const two = await batch([{ ...minimal, id: 'minimal2-batch' }, { ...minimal, id: 'minimal2-batch' }]);
    expect(two.status, two.text).toBe(202);
    expect(two.body.events[1]).toEqual({ id: 'minimal2-batch', sequence: two.body.events[0].sequence, duplicate: true });
    const core = await batch([{ ...minimal, id: 'minimal-core' }, withData(unique(VALID.validAllCoreAttributes, 'batch'))]);
    expect(core.status, core.text).toBe(202);
    const extensions = await batch([{ ...minimal, id: 'minimal-ext' }, withData(unique(VALID.validAllExtensionTypes, 'batch'))]);
    expect(extensions.status, extensions.text).toBe(202);
    const ids = await storedIds();
    for (const id of ['minimal-batch', 'minimal2-batch', 'minimal-core', 'allCore-batch', 'minimal-ext', 'allExtensionTypes-batch']) expect(ids).toContain(`https://cloudevents.io ${id}`);
    expect(ids.filter((id) => id === 'https://cloudevents.io minimal2-batch')).toHaveLength(1);
  });
});

describe('invalid CloudEvents are refused, naming the attribute, and nothing is stored', () => {
  for (const [name, { event, path }] of Object.entries(INVALID)) {
    it(`${name}: structured and in a batch`, async () => {
      const before = await server.eventCount();
      const sent = withData(unique(event, 'i'));
      const s = await structured(sent);
      expect(s.status, s.text).toBe(422);
      expect(s.body.detail, s.text).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      const b = await batch([withData({ ...base, id: `${name}-neighbour` }), sent]);
      expect(b.status, b.text).toBe(422);
      expect(b.body.detail, b.text).toEqual(expect.arrayContaining([expect.objectContaining({ path: `/1${path}` })]));
      expect(await server.eventCount()).toBe(before);
    });
  }

  it('invalidBatchMixedSpecVersions, invalidBatchContainingInvalidCloudEvent (no id), invalidBatchContainingNonObject', async () => {
    const before = await server.eventCount();
    const minimal = withData({ ...base, id: 'batch-invalid-1' });
    const mixed = await batch([minimal, { ...minimal, id: 'batch-invalid-2', specversion: '0.9' }]);
    expect(mixed.status).toBe(422);
    expect(mixed.body.detail).toEqual([expect.objectContaining({ path: '/1/specversion' })]);
    const noId = await batch([withData({ specversion: '1.0', type: TYPE, source: 'https://cloudevents.io' })]);
    expect(noId.status).toBe(422);
    expect(noId.body.detail).toEqual([expect.objectContaining({ path: '/0/id' })]);
    const nonObject = await batch(['not an object', minimal]);
    expect(nonObject.status).toBe(422);
    expect(nonObject.body.detail).toEqual([expect.objectContaining({ path: '/0' })]);
    expect(await server.eventCount()).toBe(before);
  });

  it('binary mode (HTTP binding): a missing or empty required attribute, a bad time, version, media type, subject or extension name', async () => {
    const before = await server.eventCount();
    const event = withData({ ...base, id: 'binary-invalid' });
    const without = (name: string) => Object.fromEntries(Object.entries(event).filter(([n]) => n !== name));
    const cases: [string, Event, string][] = [
      ['no id', without('id'), '/id'],
      ['no source', without('source'), '/source'],
      ['no type', without('type'), '/type'],
      ['empty id', { ...event, id: '' }, '/id'],
      ['empty source', { ...event, source: '' }, '/source'],
      ['source not a URI reference', { ...event, source: 'not a uri' }, '/source'],
      ['unknown specversion', { ...event, specversion: '0.9' }, '/specversion'],
      ['time to the minute', { ...event, time: '2018-04-05T18:31Z' }, '/time'],
      ['time offset out of range', { ...event, time: '2018-04-05T18:31:00+25:00' }, '/time'],
      ['empty subject', { ...event, subject: '' }, '/subject'],
      ['empty dataschema', { ...event, dataschema: '' }, '/dataschema'],
      ['punctuated extension', { ...event, 'my.extension': 'bad' }, '/my.extension'],
    ];
    for (const [what, sent, path] of cases) {
      const response = await binary(sent);
      expect(response.status, `${what}: ${response.text}`).toBe(422);
      expect(response.body.detail, what).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    }
    const notJson = await binary({ ...event, datacontenttype: 'xyz' });
    expect(notJson.status, notJson.text).toBeGreaterThanOrEqual(400);
    expect(notJson.status).toBeLessThan(500);
    expect(await server.eventCount()).toBe(before);
  });
});
