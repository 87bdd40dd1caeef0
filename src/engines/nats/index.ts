export { natsEngine } from './nats-engine.ts';
export type { NatsEngineOptions } from './nats-engine.ts';
export { PartialAppendError } from './append.ts';
export { StreamSettingsError, type StreamSetting } from './streams.ts';
