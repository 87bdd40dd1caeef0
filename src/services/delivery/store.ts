import type { BusTables } from '../../bus/index.ts';

/** The delivery service's own database. */
export interface DeliveryDatabase extends BusTables {
  delivery_targets: {
    id: string;
    name: string;
    url: string;
    types: string;
    rate_limit: number;
    rate_interval_ms: number;
    burst: number;
    timeout_ms: number;
    max_in_flight: number;
    ordering: string;
    content_mode: string;
    headers: string;
    retry: string;
    start_at: string;
    secrets: string;
    status: string;
    status_reason: string | null;
    circuit: string;
    circuit_changed_at: string | null;
    revision: number;
    created_at: string;
    updated_at: string;
  };
  delivery_limiters: {
    target_id: string;
    tat: number;
    paused_until: number;
    pause_reason: string | null;
    learned_size: number | null;
    learned_interval_ms: number | null;
  };
  delivery_attempts: {
    id: string;
    target_id: string;
    event_id: string;
    event_type: string;
    attempt: number;
    started_at: string;
    duration_ms: number;
    status: number | null;
    response_headers: string | null;
    response_body: string | null;
    error: string | null;
    outcome: string;
  };
}
