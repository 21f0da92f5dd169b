/**
 * The serial queue each open log runs its non-overlapping operations on
 * (opening, waiting for room in the batch being filled, rotation, closing;
 * see `owner.ts`), with a fixed bound on its length.
 *
 * The bound is there for callers that start operations without awaiting
 * them: each queued operation holds its prepared records in memory until its
 * turn. A caller that awaits its calls never holds more than one operation in
 * the queue, so reaching the bound means an unbounded producer, which no
 * amount of waiting would bound (a waiting caller would itself be the queue).
 * So at the bound `run` refuses: it rejects with {@link WalQueueFullError}
 * and queues nothing. The one operation accepted past the bound is the
 * final one ({@link SerialQueue.runFinal}, closing), so that a full queue
 * can always be closed; nothing is queued after it.
 *
 * @module
 */

import { assert } from "./assert.ts";
import { WalQueueFullError } from "./errors.ts";

/**
 * Most operations one log's queue holds, queued or running, before `run`
 * refuses more. Far above what awaiting callers reach (one each); each
 * operation holds its prepared records, so this bounds memory at about this
 * many records' payloads.
 */
export const SERIAL_QUEUE_OPERATIONS_MAX = 1024 * 1024;

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Runs async operations one at a time in call order, at most
 * `operationsMax` of them queued or running at once. A failed operation
 * rejects its own promise only; the queue goes on.
 */
export class SerialQueue {
  /** The log's path or directory, for {@link WalQueueFullError}. */
  readonly #name: string;
  readonly #operationsMax: number;
  /** Settles once the last operation queued has settled. */
  #tail: Promise<unknown> = RESOLVED;
  /** Operations queued or running, not yet settled. */
  #operations = 0;
  /** Whether {@link runFinal} was called: nothing more may be queued. */
  #finalQueued = false;
  /** Counts one operation settled; one function for every operation (no closure per call). */
  readonly #settled = (): void => {
    this.#operations--;
    assert(this.#operations >= 0, "a queue settles no more operations than it queued");
  };

  /**
   * @param name the log's path or directory, for the error at the bound
   * @param operationsMax the bound, in operations (tests lower it)
   */
  constructor(name: string, operationsMax: number = SERIAL_QUEUE_OPERATIONS_MAX) {
    assert(Number.isSafeInteger(operationsMax) && operationsMax >= 1, "a queue bound is a positive integer");
    this.#name = name;
    this.#operationsMax = operationsMax;
  }

  /** True when no operation is queued or running: a caller may act at once and keep its place in line. */
  get idle(): boolean {
    return this.#operations === 0;
  }

  /**
   * Runs `operation` after every previously queued one has settled, and
   * settles as it does; rejects at once with {@link WalQueueFullError},
   * queuing nothing, when `operationsMax` operations are already queued.
   */
  run<R>(operation: () => Promise<R>): Promise<R> {
    if (this.#operations >= this.#operationsMax) return Promise.reject(new WalQueueFullError(this.#name, this.#operationsMax));
    return this.#enqueue(operation);
  }

  /**
   * {@link run} for the last operation this queue ever takes (closing): it
   * is queued even at the bound, so a full queue still closes. The caller
   * must queue nothing after it.
   */
  runFinal<R>(operation: () => Promise<R>): Promise<R> {
    const result = this.#enqueue(operation);
    this.#finalQueued = true;
    return result;
  }

  #enqueue<R>(operation: () => Promise<R>): Promise<R> {
    assert(!this.#finalQueued, "nothing is queued after the final operation");
    this.#operations++;
    const result = this.#tail.then(operation);
    this.#tail = result.then(this.#settled, this.#settled);
    return result;
  }
}
