/**
 * Where a reader of a segmented log gets its views of the log from: the
 * writer's memory in its own process (woken by the writer on every change,
 * with a polling fallback), or the directory itself from anywhere else
 * (polling); and, for a reader that returns only durable records, where
 * the newest segment's durable batches end.
 *
 * @module
 */

import { WalIoError } from "../errors.ts";
import type { Crc32 } from "../format/crc32.ts";
import { FILE_HEADER_BYTES, RECORD_HEADER_BYTES } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { errorCode } from "../fs.ts";
import { io } from "../io.ts";
import { readFileRecords, type RecordMapper } from "../log/reader.ts";
import { PositionLostError, type ScanPosition } from "../log/scan.ts";
import { join } from "../path.ts";
import { BOUNDS_FILE, type Bounds, INITIAL_BOUNDS, readBounds } from "./bounds.ts";
import { liveFirstSequences, segmentFirstSequences, segmentPath } from "./segments.ts";

/** The log as a reader sees it at one moment. */
export interface LogView {
  /** First sequences of the live segments, ascending. */
  readonly segmentFirstSequences: readonly number[];
  /** The bounds in force. */
  readonly bounds: Bounds;
  /** Differs from an earlier view's whenever the newest segment may have changed since. */
  readonly stamp: number;
  /** Where the newest segment's batches end, when the writer says (nothing to read past it), else undefined. */
  readonly newestEndOffset?: number;
}

/** Where a reader gets its views of the log from, and how it waits for a change. */
export interface LogSource {
  /** The log directory. */
  readonly dir: string;
  /** The log as it is now. */
  view(): Promise<LogView>;
  /**
   * Resolves once the log may have changed, or a poll interval passed, or
   * `signal` aborted: `true` to look again, `false` when following must end.
   */
  waitForChange(signal: AbortSignal | undefined): Promise<boolean>;
}

/** What the writer's memory tells an in-process reader (a `SegmentStore`). */
export interface WriterState {
  /** First sequences of the live segments, oldest first. */
  readonly segmentFirstSequences: number[];
  /** The bounds in force. */
  readonly bounds: Bounds;
  /** End of the active segment's batches sealed so far. */
  readonly activeEndOffset: number;
  /** End of the active segment's batches made durable so far. */
  readonly activeDurableEndOffset: number;
}

/**
 * A source for a reader in the writer's process: views from the writer's
 * memory, stamped with the count of `changes`, waiting for the writer's next
 * change (or `pollMs`); following ends once `closed()` says the writer closed.
 */
export function writerSource(dir: string, writer: WriterState, changes: ChangeNotifier, pollMs: number, closed: () => boolean): LogSource {
  return {
    dir,
    view: async () => ({
      segmentFirstSequences: writer.segmentFirstSequences,
      bounds: writer.bounds,
      stamp: changes.version,
      newestEndOffset: writer.activeEndOffset,
    }),
    waitForChange: async (signal) => {
      if (closed()) return false;
      await changes.wait(pollMs, signal);
      return !isAborted(signal);
    },
  };
}

/**
 * `source` (a {@link writerSource} of `writer`) cut at the writer's last
 * fsync. Its stamp changes whenever the writer notified or the durable end
 * moved (a batch that filled up is synced without a notification).
 */
export function durableWriterSource(source: LogSource, writer: WriterState): LogSource {
  let stamp = 0;
  let last = "";
  return {
    ...source,
    view: async () => {
      const view = await source.view();
      const newestEndOffset = writer.activeDurableEndOffset;
      const key = `${view.stamp}:${view.segmentFirstSequences[view.segmentFirstSequences.length - 1] ?? -1}:${newestEndOffset}`;
      if (key !== last) stamp++;
      last = key;
      return { ...view, stamp, newestEndOffset };
    },
  };
}

/**
 * A source reading the directory itself: for a reader in another process,
 * which polls every `pollMs` milliseconds. A directory that does not exist
 * yet reads as an empty log. With `durable` (the largest payload the log
 * takes), the view ends the newest
 * segment before its final batch (see {@link DurableEndFinder}).
 */
export function directorySource(fs: FileSystem, dir: string, crc: Crc32, pollMs: number, durable: { recordBytesMax: number } | null = null): LogSource {
  let polls = 0;
  const finder = durable === null ? null : new DurableEndFinder(fs, dir, durable.recordBytesMax);
  return {
    dir,
    async view(): Promise<LogView> {
      const bounds = (await io("read", join(dir, BOUNDS_FILE), () => readBounds(fs, dir, crc))) ?? INITIAL_BOUNDS;
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch (error) {
        if (errorCode(error) !== "ENOENT") throw new WalIoError("list", dir, error);
        names = [];
      }
      // The newest segment's size says nothing (the writer preallocates): after each poll interval it is worth a look, which resumes where the last one stopped.
      const live = liveFirstSequences(segmentFirstSequences(names), bounds);
      const newest = live[live.length - 1];
      if (finder === null || newest === undefined) return { segmentFirstSequences: live, bounds, stamp: polls };
      return { segmentFirstSequences: live, bounds, stamp: polls, newestEndOffset: await finder.durableEnd(newest) };
    },
    async waitForChange(signal: AbortSignal | undefined): Promise<boolean> {
      await sleep(pollMs, signal);
      polls++;
      return !isAborted(signal);
    },
  };
}

/**
 * Where a reader in another process may stop in the newest segment when it
 * must return only durable records. It cannot see the writer's fsyncs, so it
 * uses the format's own proof: the writer writes a batch only after the
 * fsync of every batch before it returned, so every batch but the final one
 * in a segment is durable, and a segment with a successor is durable whole
 * (rotation syncs it before creating the next). The final batch is held back
 * until a later one (or a rotation) follows it.
 *
 * Finds the final batch's start with a scan that decodes nothing, resumed
 * from where its last look at the same segment ended: each look costs what
 * was appended since.
 */
class DurableEndFinder {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #recordBytesMax: number;
  /** The segment last looked at, where that look ended, and the start of the final batch seen (its durable end). */
  #seen: { first: number; position: ScanPosition | null; durableEnd: number } | null = null;

  constructor(fs: FileSystem, dir: string, recordBytesMax: number) {
    this.#fs = fs;
    this.#dir = dir;
    this.#recordBytesMax = recordBytesMax;
  }

  /** The offset up to which segment `first` (the newest) holds only durable batches. */
  async durableEnd(first: number): Promise<number> {
    if (this.#seen?.first !== first) this.#seen = { first, position: null, durableEnd: FILE_HEADER_BYTES };
    const seen = this.#seen;
    try {
      await this.#look(first, seen);
    } catch (error) {
      if (!(error instanceof PositionLostError)) throw error;
      this.#seen = null; // rewritten by a back cut (or a crash): look again from the start next time
      return FILE_HEADER_BYTES;
    }
    return seen.durableEnd;
  }

  /** Scans segment `first` from where the last look ended, moving `seen` to the start of the final batch. */
  async #look(first: number, seen: { position: ScanPosition | null; durableEnd: number }): Promise<void> {
    let expected = -1;
    let finalStart = -1;
    const findBatchStarts: RecordMapper<undefined> = (_sequence, _timeMs, _bytes, payloadStart, payloadEnd, offset) => {
      // Records of a batch are contiguous; a commit record lies between two batches.
      if (offset !== expected) finalStart = offset;
      expected = offset + RECORD_HEADER_BYTES + (payloadEnd - payloadStart);
      return undefined;
    };
    const reading = readFileRecords(this.#fs, segmentPath(this.#dir, first), seen.position, this.#recordBytesMax, findBatchStarts);
    let step = await reading.next();
    while (step.done !== true) step = await reading.next();
    seen.position = step.value.position;
    if (finalStart >= 0) seen.durableEnd = finalStart;
  }
}

/** Wakes waiting readers when the log changes; counts the changes. */
export class ChangeNotifier {
  #version = 0;
  readonly #waiters = new Set<() => void>();

  /** How many changes there have been. */
  get version(): number {
    return this.#version;
  }

  /** Records a change and wakes every waiter. */
  notify(): void {
    this.#version++;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Resolves at the next change, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  wait(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return sleep(timeoutMs, signal, (wake) => {
      this.#waiters.add(wake);
      return () => this.#waiters.delete(wake);
    });
  }
}

/**
 * Resolves after `timeoutMs`, when `signal` aborts, or when the wake
 * function handed to `subscribe` is called, whichever comes first, leaving
 * no timer or listener behind.
 */
export function sleep(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  subscribe?: (wake: () => void) => () => void,
): Promise<void> {
  return new Promise((resolve) => {
    if (isAborted(signal)) return resolve();
    let unsubscribe = (): void => undefined;
    const wake = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", wake);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(wake, timeoutMs);
    signal?.addEventListener("abort", wake, { once: true });
    if (subscribe !== undefined) unsubscribe = subscribe(wake);
  });
}

/** True once `signal` (if any) has aborted. */
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
