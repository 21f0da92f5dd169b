/**
 * Owning a log for writing, the same way for the single-file `WalWriter` and
 * the segmented `Wal`: the exclusive lock, one serial queue for every
 * operation, and the closed state. Keeping it in one place keeps the two
 * writers' promises identical: an operation is refused at once when the log
 * is poisoned or closing, and checked for poisoning again when its turn
 * comes: an operation called before `close` completes normally. Close runs
 * once, after every operation called before it, runs every closing step even
 * when one fails, releases the lock last, and reports the first failure.
 * The queue is bounded (`serial-queue.ts`): past the bound an operation is
 * refused with `WalQueueFullError`; close is always accepted.
 *
 * @module
 */

import { assert } from "./assert.ts";
import { WalClosedError, WalIoError } from "./errors.ts";
import type { FileSystem } from "./fs.ts";
import { io } from "./io.ts";
import { acquireLock, type WriterLock } from "./lock.ts";
import { SerialQueue } from "./serial-queue.ts";

/** The lock, queue and closed state of one open log. */
export class LogOwner {
  readonly #lock: WriterLock;
  /** The log's path or directory, for `WalClosedError`. */
  readonly #name: string;
  /** Throws `WalPoisonedError` when the log refuses writes. */
  readonly #checkNotPoisoned: () => void;
  readonly #queue: SerialQueue;
  #closeRequested = false;
  #closing: Promise<void> | null = null;
  /** Whether closing released (or tried to release) the lock: no operation runs after that. */
  #lockReleased = false;

  /**
   * @param lock the held writer lock, released by {@link close}
   * @param name the log's path or directory, for error messages
   * @param checkNotPoisoned throws `WalPoisonedError` when the log refuses writes
   */
  constructor(lock: WriterLock, name: string, checkNotPoisoned: () => void) {
    this.#lock = lock;
    this.#name = name;
    this.#checkNotPoisoned = checkNotPoisoned;
    this.#queue = new SerialQueue(name);
  }

  /** True when no queued operation is waiting or running: a call may then act at once and keep its place in line. */
  get idle(): boolean {
    return this.#queue.idle;
  }

  /** True once `close` was called. */
  get closeRequested(): boolean {
    return this.#closeRequested;
  }

  /** Throws `WalLockLostError`, `WalPoisonedError` or `WalClosedError` if the log takes no more writes. */
  checkWritable(): void {
    this.#lock.checkNotLost();
    this.#checkNotPoisoned();
    if (this.#closeRequested) throw new WalClosedError(this.#name);
    assert(!this.#lockReleased, "the lock is released only after close was requested");
  }

  /**
   * Checks the log is writable and runs `prepare` now (argument checks,
   * encoding: a failure rejects before anything is queued), then runs
   * `operation` with its result on the queue, after checking again and
   * passing the lock's fence (`WalLockLostError` if another writer took it).
   * Rejects with `WalQueueFullError`, running nothing, when the queue is at
   * its bound.
   */
  run<V, R>(prepare: () => V, operation: (prepared: V) => Promise<R>): Promise<R> {
    let prepared: V;
    try {
      this.checkWritable();
      prepared = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#queue.run(() => {
      // Not closed-checked again: a call made before `close` completes, and close's own steps run after it.
      assert(!this.#lockReleased, "an operation queued before close runs while the lock is held");
      this.#lock.checkNotLost();
      this.#checkNotPoisoned();
      const fenced = this.#lock.fence();
      return fenced === undefined ? operation(prepared) : fenced.then(() => operation(prepared));
    });
  }

  /**
   * Starts `start` (a commit, say) now when nothing is queued, else in its
   * turn, and settles with what it returns, without holding the queue while
   * that is pending: operations queued after it (appends filling the next
   * batch) go on meanwhile. Refused at once like {@link run}.
   */
  startInTurn<R>(start: () => Promise<R>): Promise<R> {
    // Wrapped in a tuple so that the queue's turn ends once `start` has started, not once it settles.
    if (!this.idle) return this.run(prepareNothing, async () => [start()] as const).then(([started]) => started);
    try {
      this.checkWritable();
    } catch (error) {
      return Promise.reject(error);
    }
    return start();
  }

  /**
   * Closes once: after every queued operation, runs `steps` in order (all of
   * them, even after a failure), then releases the lock. Later calls return
   * the first call's promise, which rejects with the first failure.
   */
  close(steps: readonly (() => Promise<void>)[]): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closeRequested = true;
    const closing = this.#queue.runFinal(async () => {
      let failure: unknown = null;
      for (const step of steps) await step().catch((error: unknown) => (failure ??= error));
      this.#lockReleased = true;
      await this.#lock.release().catch((error: unknown) => (failure ??= new WalIoError("unlock", this.#lock.path, error)));
      if (failure !== null) throw failure;
    });
    this.#closing = closing;
    return closing;
  }
}

/** The `prepare` step of {@link LogOwner.run} for an operation that takes no arguments: prepares nothing, refuses nothing. */
export function prepareNothing(): void {}

/** Takes the writer lock at `lockPath` (see `src/lock.ts` for `staleMs`), then `open`s with it; releases the lock if opening fails. */
export async function openLocked<R>(fs: FileSystem, lockPath: string, staleMs: number, open: (lock: WriterLock) => Promise<R>): Promise<R> {
  const lock = await io("lock", lockPath, () => acquireLock(fs, lockPath, { staleMs }));
  try {
    return await open(lock);
  } catch (error) {
    await lock.release().catch(() => undefined);
    throw error;
  }
}
