import type { Redis } from 'ioredis';

/**
 * Acknowledgements of one subscription in this process, written in one pipeline per turn of the
 * event loop (`XACK` per stream with every id, `HDEL` of the retry state of events that had
 * failed before) without holding up the handler's slot. Like the SQLite engine's state flush, a
 * crash before they reach Redis redelivers those events (at least once); a lane given back, a
 * pause and a stop wait for `written()`, so a clean hand-over or close redelivers nothing.
 */
export interface Acker {
  /** The entry `id` of `stream` is done; `retryField` names its retry state, if it has one. */
  ack(stream: string, id: string, retryField?: string): void;
  /** Resolves once every ack given so far is written (or failed, reported to `onError`). */
  written(): Promise<void>;
}

export function createAcker(redis: Redis, group: string, retryKey: string, onError: (error: Error) => void): Acker {
  const ids = new Map<string, string[]>();
  let retryDone: string[] = [];
  let queued = false;
  const flushing = new Set<Promise<void>>();

  const flush = (): void => {
    queued = false;
    if (ids.size === 0 && retryDone.length === 0) return;
    const pipeline = redis.pipeline();
    for (const [stream, list] of ids) pipeline.xack(stream, group, ...list);
    if (retryDone.length > 0) pipeline.hdel(retryKey, ...retryDone);
    ids.clear();
    retryDone = [];
    const written: Promise<void> = pipeline.exec().then(
      () => undefined,
      (error: Error) => onError(error),
    );
    flushing.add(written);
    void written.finally(() => flushing.delete(written));
  };

  return {
    ack(stream, id, retryField) {
      const list = ids.get(stream);
      if (list) list.push(id);
      else ids.set(stream, [id]);
      if (retryField !== undefined) retryDone.push(retryField);
      if (!queued) {
        queued = true;
        setImmediate(flush);
      }
    },
    async written() {
      flush();
      await Promise.all([...flushing]);
    },
  };
}
