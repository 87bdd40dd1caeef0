/**
 * Given/when/then for the order saga, after Emmett's `DeciderSpecification`:
 *
 *   given(placedOrder, stockReserved).when(paymentSucceeded).then({ status: 'confirmed', publish: [...] })
 *
 * `given` folds earlier messages through `decide` (each must change the order), `when` decides the
 * message under test, `then…` asserts on the decision. Throws an `AssertionError` on mismatch.
 */
import { AssertionError, deepStrictEqual } from 'node:assert';
import { decide, type Decision, type OrderState, type OrderStatus, type SagaEvent, type SagaMessage } from './saga.ts';

export interface Expected {
  /** The order status after the message. */
  readonly status: OrderStatus;
  /** The events published, exactly (compared deeply). (Default: none) */
  readonly publish?: readonly SagaEvent[];
  /** The statuses passed through, in order. (Default: not checked) */
  readonly transitions?: readonly OrderStatus[];
}

export interface When {
  then(expected: Expected): Decision;
  /** Nothing changes; `reason` (a substring) says why. */
  thenIgnored(reason?: string): void;
}

function fold(initial: OrderState, history: readonly SagaMessage[]): OrderState {
  let state = initial;
  for (const message of history) {
    const decision = decide(state, message);
    if (decision.kind === 'ignored') {
      throw new AssertionError({ message: `given: ${message.type} was ignored (${decision.reason}); a given message must change the order` });
    }
    state = decision.state;
  }
  return state;
}

export function given(initial: OrderState, ...history: SagaMessage[]): { when(message: SagaMessage): When; state: OrderState } {
  const state = fold(initial, history);
  return {
    state,
    when(message) {
      const decision = decide(state, message);
      return {
        then(expected) {
          if (decision.kind === 'ignored') {
            throw new AssertionError({ message: `${message.type} was ignored (${decision.reason}); expected status ${expected.status}` });
          }
          deepStrictEqual(decision.state.status, expected.status, `status after ${message.type}`);
          deepStrictEqual(decision.publish, expected.publish ?? [], `events published after ${message.type}`);
          if (expected.transitions) {
            deepStrictEqual(
              decision.transitions.map((t) => t.status),
              expected.transitions,
              `transitions after ${message.type}`,
            );
          }
          return decision;
        },
        thenIgnored(reason) {
          if (decision.kind !== 'ignored') {
            throw new AssertionError({ message: `${message.type} changed the order to ${decision.state.status}; expected it to be ignored` });
          }
          if (reason !== undefined && !decision.reason.includes(reason)) {
            throw new AssertionError({ message: `ignored for "${decision.reason}", expected a reason containing "${reason}"` });
          }
        },
      };
    },
  };
}
