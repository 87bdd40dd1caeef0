export { redisEngine } from './redis-engine.ts';
export type { RedisEngine, RedisEngineOptions } from './redis-engine.ts';
export type { Durability } from './durability.ts';
