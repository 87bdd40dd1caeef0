import { JetStreamApiError, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { contentDigest, identityKey, IdentityConflictError, type IdentityConflict, type PublishResult } from '../../bus/kit/index.ts';
import { assertSubjectType, eventSubject, partitionOf, type Naming } from './naming.ts';

/**
 * Appending to JetStream, pipelined: every publish of a batch is on the wire before the first
 * acknowledgement is awaited, each carrying its identity (`identityKey`: `source` + `id`) as
 * `Nats-Msg-Id` and its content digest as `Flamingo-Digest`. A publish the server answers as a
 * duplicate is compared with the stored message's digest: the same (or none, a message stored
 * before digests were kept) is `duplicate: true`; another is an `IdentityConflictError` naming the
 * stored sequence — the conflicting event is not stored, but, JetStream batches not being atomic,
 * the call's other events are.
 *
 * JetStream on 2.9 has no atomic multi-message publish, so a batch is not all-or-nothing at the
 * instant of failure. What it is instead: idempotent and convergent. Publishes that fail without
 * an answer (timeout, no responders while a leader is elected, connection loss) are sent again
 * with the same id until acknowledged or until `retryForMs` runs out (a refusal by the stream,
 * such as a full stream with `discard: new`, is final at once); the server's duplicate window turns a resend of an
 * event that did land into `duplicate: true` with its original sequence. If some events are still
 * unacknowledged at the end, `append` rejects with `PartialAppendError` naming what was stored and
 * what was not, and calling `append` again with the same events (within the duplicate window)
 * completes the batch without storing anything twice — which is what the outbox relay does.
 */
export class PartialAppendError extends Error {
  constructor(
    /** One entry per input event: its result when stored, undefined when not known to be stored. */
    readonly results: readonly (PublishResult | undefined)[],
    cause: unknown,
  ) {
    const missing = results.filter((r) => r === undefined).length;
    super(`append stored ${results.length - missing} of ${results.length} events; ${missing} unacknowledged: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'PartialAppendError';
  }
}

export interface AppendSettings {
  readonly naming: Naming;
  readonly partitions: number;
  /** Wait for one acknowledgement. */
  readonly publishTimeoutMs: number;
  /** Keep resending unacknowledged events this long. */
  readonly retryForMs: number;
}

/** The header carrying an event's `contentDigest`. */
export const DIGEST_HEADER = 'Flamingo-Digest';

/** Publishes in flight at once, so a huge batch does not flood the connection. */
const WINDOW = 1_024;

export async function appendEvents(js: JetStreamClient, jsm: JetStreamManager, events: readonly UnstoredEvent[], settings: AppendSettings): Promise<PublishResult[]> {
  const prepared = events.map((event) => {
    assertSubjectType(event.type);
    const partition = partitionOf(event.partitionkey ?? event.id, settings.partitions);
    const digest = contentDigest(event);
    const header = headers();
    header.set(DIGEST_HEADER, digest);
    return { id: event.id, source: event.source, msgID: identityKey(event), digest, header, subject: eventSubject(settings.naming, partition, event.type), payload: JSON.stringify(event) };
  });
  const results: (PublishResult | undefined)[] = new Array(prepared.length).fill(undefined);
  // A refusal by the stream (limits, wrong expectations) is an answer; resending cannot change it.
  const refused = new Set<number>();
  const acked: (PubAck | undefined)[] = new Array(prepared.length).fill(undefined);
  const deadline = Date.now() + settings.retryForMs;
  let pause = 50;
  let lastError: unknown;
  for (;;) {
    const todo = prepared.flatMap((_, index) => (results[index] === undefined && !refused.has(index) ? [index] : []));
    if (todo.length === 0) {
      if (refused.size > 0) throw new PartialAppendError(results, lastError);
      await checkDuplicates(jsm, prepared, acked);
      return results as PublishResult[];
    }
    let transient: unknown;
    for (let start = 0; start < todo.length; start += WINDOW) {
      const slice = todo.slice(start, start + WINDOW);
      const acks = await Promise.allSettled(
        slice.map((index) =>
          js.publish(prepared[index].subject, prepared[index].payload, { msgID: prepared[index].msgID, headers: prepared[index].header, timeout: settings.publishTimeoutMs }),
        ),
      );
      acks.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') {
          results[slice[i]] = toResult(prepared[slice[i]].id, outcome.value);
          acked[slice[i]] = outcome.value;
        }
        else if (outcome.reason instanceof JetStreamApiError) {
          refused.add(slice[i]);
          lastError = outcome.reason;
        } else transient = lastError = outcome.reason;
      });
    }
    if (transient === undefined) continue;
    if (Date.now() + pause > deadline) throw new PartialAppendError(results, lastError);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 1_000);
  }
}

function toResult(id: string, ack: PubAck): PublishResult {
  return { id, sequence: ack.seq, duplicate: ack.duplicate };
}

/**
 * Every publish the server answered as a duplicate is compared with the stored message: a
 * different digest is a conflict (see `appendEvents`). Reads only for duplicates, which are rare.
 */
async function checkDuplicates(
  jsm: JetStreamManager,
  prepared: readonly { readonly id: string; readonly source: string; readonly digest: string }[],
  acks: readonly (PubAck | undefined)[],
): Promise<void> {
  const conflicts: IdentityConflict[] = [];
  await Promise.all(
    acks.map(async (ack, index) => {
      if (!ack?.duplicate) return;
      const stored = await jsm.streams.getMessage(ack.stream, { seq: ack.seq });
      const digest = stored?.header?.get(DIGEST_HEADER);
      if (digest && digest !== prepared[index].digest) conflicts.push({ index, id: prepared[index].id, source: prepared[index].source, sequence: ack.seq });
    }),
  );
  if (conflicts.length > 0) throw new IdentityConflictError(conflicts.sort((a, b) => a.index - b.index));
}
