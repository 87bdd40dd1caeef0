/**
 * The load generator of the HTTP section, run as a child process so autocannon does not share
 * the server's (or the orchestrator's) event loop. Receives one `LoadRequest` over IPC, answers
 * with one `LoadResult`, and exits.
 */
import autocannon from 'autocannon';
import { batchBodies, singleBodies } from './http-bodies.ts';

export interface LoadRequest {
  readonly url: string;
  readonly mode: 'single' | 'batch';
  /** Events per batch body. */
  readonly batchSize: number;
  readonly connections: number;
  readonly durationS: number;
  readonly headers: Record<string, string>;
}

export interface LoadResult {
  readonly ok2xx: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly durationS: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Status codes seen, with counts. */
  readonly statuses: Record<string, number>;
}

async function run(request: LoadRequest): Promise<LoadResult> {
  const make = request.mode === 'single' ? singleBodies() : batchBodies(request.batchSize);
  const contentType = request.mode === 'single' ? 'application/cloudevents+json' : 'application/cloudevents-batch+json';
  const result = await autocannon({
    url: request.url,
    method: 'POST',
    connections: request.connections,
    duration: request.durationS,
    headers: { ...request.headers, 'content-type': contentType },
    requests: [{ setupRequest: (req) => ({ ...req, body: make() }) }],
  });
  const statuses: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = Number((stats as { count: number | string }).count);
  return {
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    statuses,
  };
}

process.once('message', (request: LoadRequest) => {
  run(request).then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (error: unknown) => process.send!({ error: (error as Error).message }, () => process.exit(1)),
  );
});
