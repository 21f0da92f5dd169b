/**
 * The segmented {@link Wal} under the harness: {@link TrackedWal} records
 * appends, batches, flushes and what rotation, retention and both
 * truncations may release, in the workload's {@link History}, so the
 * harness checks the same invariants as for the single-file writer.
 *
 * @module
 */

import { WalPoisonedError } from "../src/errors.ts";
import type { WalRecord } from "../src/log/reader.ts";
import type { AppendOptions } from "../src/log/writer.ts";
import type { Wal, WalStats } from "../src/segmented/wal.ts";
import { causedByCrash, isCleanRefusal } from "./context.ts";
import type { History } from "./history.ts";

/** Whether a log with these options lets retention release records when it rotates. */
export function retainsOnRotate(options: { readonly maxSegments?: number; readonly maxTotalBytes?: number; readonly maxAgeMs?: number; readonly cleanupOnRotate?: boolean }): boolean {
  const limited = options.maxSegments !== undefined || options.maxTotalBytes !== undefined || options.maxAgeMs !== undefined;
  return limited && options.cleanupOnRotate !== false;
}

/** A {@link Wal} whose calls are recorded in a {@link History}. Same methods, same errors. */
export class TrackedWal {
  readonly #wal: Wal;
  readonly #history: History;
  readonly #retains: boolean;
  #poisonSeen = false;

  /** Wraps `wal`, recording into `history`; `retains`: retention runs on rotation (so an append may release records). */
  constructor(wal: Wal, history: History, retains: boolean) {
    this.#wal = wal;
    this.#history = history;
    this.#retains = retains;
  }

  /** See {@link Wal.currentSequence}. */
  get currentSequence(): number {
    return this.#wal.currentSequence;
  }

  /** See {@link Wal.firstSequence}. */
  get firstSequence(): number {
    return this.#wal.firstSequence;
  }

  /** See {@link Wal.lastSequence}. */
  get lastSequence(): number {
    return this.#wal.lastSequence;
  }

  /** See {@link Wal.poisoned}. */
  get poisoned(): boolean {
    return this.#wal.poisoned;
  }

  /** See {@link Wal.stats}. */
  stats(): WalStats {
    return this.#wal.stats();
  }

  /** See {@link Wal.append}; it may rotate, and with retention on rotation release records. */
  append(value: unknown, options?: AppendOptions): Promise<number> {
    return this.appendBatch([value], options);
  }

  /** See {@link Wal.appendBatch}. */
  async appendBatch(values: readonly unknown[], options?: AppendOptions): Promise<number> {
    const first = options?.sequence ?? null;
    const entries = values.map((value, index) => this.#history.begin(value, first === null ? null : first + index));
    const call = values.length === 1 ? () => this.#wal.append(values[0], options) : () => this.#wal.appendBatch(values, options);
    try {
      const last = await this.#releasing("append", this.#retains ? this.#wal.currentSequence + 1 : 0, call);
      entries.forEach((entry, index) => this.#history.resolve(entry, last - entries.length + 1 + index));
      return last;
    } catch (error) {
      if (isCleanRefusal(error)) {
        for (const entry of entries) this.#history.refuse(entry);
        // a rotation's flush that failed cleanly discarded the records buffered before this call too
        this.#history.discardAbove(this.#wal.currentSequence);
      }
      throw error;
    }
  }

  /** See {@link Wal.flush}. */
  async flush(): Promise<void> {
    await this.#flushing("flush", 0, () => this.#wal.flush());
  }

  /** See {@link Wal.rotate}; flushes, and with retention on rotation may release every record before the new segment. */
  async rotate(): Promise<void> {
    await this.#flushing("rotate", this.#retains ? this.#wal.currentSequence + 1 : 0, () => this.#wal.rotate());
  }

  /** See {@link Wal.cleanup}; flushes, then may release any record. */
  async cleanup(): Promise<void> {
    await this.#flushing("cleanup", this.#wal.currentSequence + 1, () => this.#wal.cleanup());
  }

  /** See {@link Wal.truncateFront}; flushes, then releases the records below `sequence`. */
  async truncateFront(sequence: number): Promise<void> {
    await this.#flushing("truncateFront", sequence, () => this.#wal.truncateFront(sequence));
  }

  /** See {@link Wal.truncateBack}; flushes, then removes the records above `sequence`. */
  async truncateBack(sequence: number): Promise<void> {
    const mark = this.#history.flushMark();
    this.#history.beginCut(sequence);
    await this.#guarded("truncateBack", () => this.#wal.truncateBack(sequence));
    this.#history.acknowledge(mark);
    this.#history.endCut(sequence);
  }

  /** See {@link Wal.read}. */
  read(options?: { from?: number; to?: number }): AsyncGenerator<WalRecord<unknown>, void, undefined> {
    return this.#wal.read(options);
  }

  /** See {@link Wal.follow}. */
  follow(options?: { from?: number; signal?: AbortSignal; durable?: boolean }): AsyncGenerator<WalRecord<unknown>, void, undefined> {
    return this.#wal.follow(options);
  }

  /** See {@link Wal.close}; a clean close acknowledges like a flush. */
  async close(): Promise<void> {
    const mark = this.#history.flushMark();
    const poisoned = this.#wal.poisoned;
    await this.#wal.close();
    if (!poisoned) this.#history.acknowledge(mark);
  }

  /** A call that flushes first: acknowledges what was appended before it once it returns. */
  async #flushing(name: string, releaseBelow: number, call: () => Promise<void>): Promise<void> {
    const mark = this.#history.flushMark();
    try {
      await this.#releasing(name, releaseBelow, call);
    } catch (error) {
      if (isCleanRefusal(error)) this.#history.discardAbove(this.#wal.currentSequence);
      throw error;
    }
    this.#history.acknowledge(mark);
  }

  /** A call that may release the records below `releaseBelow` (0: none); once it returns, those below `firstSequence` are gone for good. */
  async #releasing<R>(name: string, releaseBelow: number, call: () => Promise<R>): Promise<R> {
    if (releaseBelow > 0) this.#history.beginRelease(releaseBelow);
    const result = await this.#guarded(name, call);
    if (releaseBelow > 0) this.#history.endRelease(this.#wal.firstSequence);
    return result;
  }

  /** Runs a call; a poisoned log must refuse every call with `WalPoisonedError`. */
  async #guarded<R>(name: string, call: () => Promise<R>): Promise<R> {
    const wasPoisoned = this.#poisonSeen;
    try {
      const result = await call();
      if (wasPoisoned) this.#history.violations.push(`a poisoned Wal accepted a ${name}`);
      return result;
    } catch (error) {
      const crashed = causedByCrash(error);
      if (wasPoisoned && !crashed && !(error instanceof WalPoisonedError)) this.#history.violations.push(`a poisoned Wal rejected a ${name} with ${String(error)}`);
      if (error instanceof WalPoisonedError && !crashed) this.#poisonSeen = true;
      throw error;
    }
  }
}
