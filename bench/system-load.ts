/**
 * The paced client of the system section, run as a child process so that it shares no event loop
 * with the server. Receives one `PacedRequest` over IPC, sends one structured `order.placed` per
 * request at a fixed rate for `durationS` (open loop: a request is sent when its time comes,
 * whether or not earlier ones are answered), answers with one `PacedResult`, and exits.
 *
 * Latency is measured from the moment a request was due, not from when it left, so that a server
 * (or a client) that falls behind cannot hide it (no coordinated omission).
 */
import http from 'node:http';
import { singleBodies } from './http-bodies.ts';
import { nowMs, percentiles } from './stats.ts';

export interface PacedRequest {
  readonly url: string;
  /** Requests (one event each) per second. */
  readonly rate: number;
  readonly durationS: number;
  readonly headers: Record<string, string>;
}

export interface PacedResult {
  readonly sent: number;
  readonly ok2xx: number;
  /** Answers other than 2xx, by status. */
  readonly statuses: Record<string, number>;
  /** Requests that failed without an answer (connection errors, timeouts). */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Most requests waiting for their answer at one time. */
  readonly maxOutstanding: number;
  /** Wall-clock ms (`Date.now()`) of the first due time, and of the last answer. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** The log sequences answered, ascending, and when each answer came (`Date.now()` ms). */
  readonly sequences: number[];
  readonly answeredAtMs: number[];
}

/** An answer not back within this long counts as an error (ms). */
const TIMEOUT_MS = 30_000;

async function run(request: PacedRequest): Promise<PacedResult> {
  const url = new URL(request.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const body = singleBodies();
  const headers = { ...request.headers, 'content-type': 'application/cloudevents+json' };
  const total = Math.round(request.rate * request.durationS);
  const intervalMs = 1000 / request.rate;
  const latencies: number[] = [];
  const answered: [number, number][] = [];
  const statuses: Record<string, number> = {};
  let ok2xx = 0;
  let errors = 0;
  let outstanding = 0;
  let maxOutstanding = 0;
  let sent = 0;
  let done = 0;
  const wallStart = Date.now();
  const start = nowMs();
  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy();
      answered.sort((a, b) => a[0] - b[0]);
      const p = percentiles(latencies);
      resolve({
        sent,
        ok2xx,
        statuses,
        errors,
        p50Ms: p.p50,
        p99Ms: p.p99,
        maxMs: p.max,
        maxOutstanding,
        startedAtMs: wallStart,
        endedAtMs: Date.now(),
        sequences: answered.map((a) => a[0]),
        answeredAtMs: answered.map((a) => a[1]),
      });
    };
    const settle = (dueMs: number) => {
      latencies.push(nowMs() - dueMs);
      outstanding--;
      if (++done === total) finish();
    };
    const send = (dueMs: number) => {
      sent++;
      outstanding++;
      if (outstanding > maxOutstanding) maxOutstanding = outstanding;
      const payload = body();
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(payload) }, timeout: TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              ok2xx++;
              try {
                const { sequence } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sequence?: number };
                if (typeof sequence === 'number') answered.push([sequence, Date.now()]);
              } catch {
                // The status is what counts; a body without a sequence only leaves a gap in the lag's clock.
              }
            } else statuses[status] = (statuses[status] ?? 0) + 1;
            settle(dueMs);
          });
          res.on('error', () => {
            errors++;
            settle(dueMs);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        settle(dueMs);
      });
      req.end(payload);
    };
    // Every millisecond (or as soon as the loop gets to it), everything that is due goes out.
    const tick = () => {
      const elapsed = nowMs() - start;
      while (sent < total && sent * intervalMs <= elapsed) send(start + sent * intervalMs);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

process.once('message', (request: PacedRequest) => {
  run(request).then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (error: unknown) => process.send!({ error: (error as Error).message }, () => process.exit(1)),
  );
});
