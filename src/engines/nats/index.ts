export { natsEngine } from './nats-engine.ts';
export type { NatsEngineOptions } from './nats-engine.ts';
export { PartialAppendError } from './append.ts';
