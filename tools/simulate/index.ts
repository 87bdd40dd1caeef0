/**
 * The shop traffic simulator: `flamingo simulate` (`registerSimulateCommand`), the same run as a
 * function (`simulate`), and the benchmark's orders-per-second measurement (`measureOrderThroughput`).
 */
export { registerSimulateCommand, runSimulate } from './command.ts';
export { simulate, type SimulateOptions, type SimulationReport } from './simulate.ts';
export { measureOrderThroughput, type ThroughputOptions, type ThroughputResult } from './throughput.ts';
export { parseDuration } from './options.ts';
export { DEFAULT_MIX, type ShopperMix } from './shopper.ts';
