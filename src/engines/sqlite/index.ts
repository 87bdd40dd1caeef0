export type { SqliteEngine, SqliteEngineOptions } from './sqlite-engine.ts';
export { sqliteEngine } from './sqlite-engine.ts';
export { LogInUseError } from './schema.ts';
