/**
 * Test support of the bus, for tests only (`*.test.ts`; a dependency-cruiser rule keeps it out of
 * the shipped module graph): the engine conformance suite every engine runs in its integration
 * test, real databases for the inbox and outbox tests, and envelopes built without a bus for
 * appending straight to an engine.
 */
export type { ConformanceContext, ConformanceFeatures, EngineUnderTest } from './engine-conformance.ts';
export { engineConformance } from './engine-conformance.ts';
export type { TestDatabase } from './test-databases.ts';
export { TEST_DATABASE_URL, openTestDatabase } from './test-databases.ts';
export { buildEvent, buildEvents } from '../envelope.ts';
