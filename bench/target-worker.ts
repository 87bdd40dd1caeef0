/**
 * The Shopify-like target in a worker thread of its own, so arrival instants are taken on an
 * event loop that the delivering code does not block (as a real target's would be). Arrival
 * instants are absolute (`performance.timeOrigin + performance.now()`), comparable across threads.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startShopifyTarget, type ShopifyTargetOptions, type ShopifyTargetStats } from '../src/services/delivery/testing/shopify-target.ts';

export interface Arrival {
  /** Absolute ms (`performance.timeOrigin + performance.now()` of the target's thread). */
  readonly at: number;
  readonly answer: number | 'dropped' | 'throttled';
  readonly id: string | undefined;
}

export interface WorkerTarget {
  readonly url: string;
  /** How many distinct events it answered with success. */
  delivered(): Promise<number>;
  report(): Promise<{ stats: ShopifyTargetStats; arrivals: Arrival[] }>;
  close(): Promise<void>;
}

type Request = { kind: 'delivered' | 'report' | 'close'; seq: number };

export async function startWorkerTarget(options: ShopifyTargetOptions): Promise<WorkerTarget> {
  // The worker runs this TypeScript file too, through tsx's loader registered in that thread first.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: options });
  const pending = new Map<number, (value: unknown) => void>();
  let seq = 0;
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { url: string }) => resolve(message.url));
  });
  worker.on('message', (message: { seq: number; value: unknown }) => pending.get(message.seq)?.(message.value));
  const ask = <T>(kind: Request['kind']): Promise<T> =>
    new Promise((resolve) => {
      seq += 1;
      pending.set(seq, resolve as (value: unknown) => void);
      worker.postMessage({ kind, seq } satisfies Request);
    });
  return {
    url,
    delivered: () => ask<number>('delivered'),
    report: () => ask('report'),
    async close() {
      await ask('close');
      await worker.terminate();
    },
  };
}

if (!isMainThread) {
  const shop = await startShopifyTarget(workerData as ShopifyTargetOptions);
  const origin = performance.timeOrigin;
  parentPort!.postMessage({ url: shop.url });
  parentPort!.on('message', async (request: Request) => {
    let value: unknown;
    if (request.kind === 'delivered') value = shop.delivered.size;
    else if (request.kind === 'report')
      value = { stats: shop.stats(), arrivals: shop.requests.map((r) => ({ at: origin + r.atMs, answer: r.answer, id: typeof r.headers['webhook-id'] === 'string' ? r.headers['webhook-id'] : undefined })) };
    else await shop.close();
    parentPort!.postMessage({ seq: request.seq, value });
  });
}
