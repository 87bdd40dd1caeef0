/**
 * Time slices for the handlers of every subscription in this process. A store that answers
 * synchronously (better-sqlite3 behind Kysely) resolves each query on the microtask queue, so a
 * subscription catching up would run unit after unit without the event loop ever turning: timers,
 * sockets and HTTP would wait until the whole backlog is done. Each unit asks `sliceYield()` before
 * its handler runs; once the work since the current macrotask began has taken longer than the
 * slice, every unit waits for one `setImmediate`, after the event loop's I/O has been served.
 * Bounded by time rather than by event count, so a subscription that keeps up pays nothing.
 */

/** Longest run of handler work before the event loop gets a turn (ms). */
export const SLICE_MS = 3;

let sliceStart = 0;
/** A `setImmediate` is due that ends the current slice (the event loop has turned). */
let sliceOpen = false;
let pending: Promise<void> | undefined;

const endSlice = () => {
  sliceOpen = false;
};

/**
 * Undefined while the current slice has time left (the caller goes on synchronously, no promise),
 * else a promise that resolves on the next `setImmediate` — one shared by every caller of this slice.
 */
export function sliceYield(): Promise<void> | undefined {
  // Date.now: whole milliseconds are enough for a slice of a few, and it is the cheapest clock.
  const now = Date.now();
  if (!sliceOpen) {
    sliceOpen = true;
    sliceStart = now;
    setImmediate(endSlice);
    return undefined;
  }
  if (now - sliceStart < SLICE_MS) return undefined;
  pending ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      pending = undefined;
      resolve();
    }),
  );
  return pending;
}
