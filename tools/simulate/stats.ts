/** What the simulator has seen so far, and the one-line progress display of it. */
import type { RequestCounts } from './shop-client.ts';

export interface SimulationStats {
  journeys: number;
  /** Journeys not started because too many were still running (the server is slower than the rate). */
  skipped: number;
  signups: number;
  carts: number;
  /** Orders this run placed (accepted by the API). */
  placed: number;
  confirmed: number;
  cancelled: number;
  completed: number;
  /** Cancellations by reason (`out_of_stock`, `payment_failed`, …). */
  cancelledBy: Record<string, number>;
  shipmentsDispatched: number;
  shipmentsDelivered: number;
  reviews: number;
  reviewsFlagged: number;
  restocks: number;
  /** Unexpected failures: 5xx, network errors, 4xx a journey did not expect. */
  errors: number;
  /** The last few unexpected failures, for the summary. */
  lastErrors: string[];
  /** placed → confirmed, from the log's recorded times, in ms. */
  confirmLatencies: number[];
}

export function emptyStats(): SimulationStats {
  return {
    journeys: 0,
    skipped: 0,
    signups: 0,
    carts: 0,
    placed: 0,
    confirmed: 0,
    cancelled: 0,
    completed: 0,
    cancelledBy: {},
    shipmentsDispatched: 0,
    shipmentsDelivered: 0,
    reviews: 0,
    reviewsFlagged: 0,
    restocks: 0,
    errors: 0,
    lastErrors: [],
    confirmLatencies: [],
  };
}

export function recordError(stats: SimulationStats, error: unknown): void {
  stats.errors++;
  stats.lastErrors.push(error instanceof Error ? error.message : String(error));
  if (stats.lastErrors.length > 5) stats.lastErrors.shift();
}

/** The `p`-th percentile (0–100) of `values`, nearest rank; undefined when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** One line: requests/s over the last interval, orders by outcome, fulfillment, reviews, errors. */
export function progressLine(stats: SimulationStats, requests: RequestCounts, requestsPerSecond: number, elapsedS: number): string {
  const p50 = percentile(stats.confirmLatencies, 50);
  return [
    `${elapsedS.toFixed(0).padStart(4)}s`,
    `${requestsPerSecond.toFixed(1).padStart(6)} req/s`,
    `orders placed ${stats.placed} confirmed ${stats.confirmed} cancelled ${stats.cancelled} completed ${stats.completed}`,
    p50 === undefined ? 'p50 –' : `p50 ${Math.round(p50)}ms`,
    `shipped ${stats.shipmentsDispatched} delivered ${stats.shipmentsDelivered}`,
    `reviews ${stats.reviews} (${stats.reviewsFlagged} flagged)`,
    `errors ${stats.errors}${requests.failed > 0 ? ` (${requests.failed} 5xx/network)` : ''}`,
  ].join(' | ');
}
