/**
 * Reading a segmented log across its segments, once (`read`) or following
 * the writer (`follow`), without its lock and without ever blocking it.
 *
 * A reader works from views of the log (the live segments and the bounds)
 * taken from a {@link LogSource}: the writer's memory in its own process
 * (woken by the writer on every change, with a polling fallback), or the
 * directory itself from anywhere else (polling). Each segment is read with
 * {@link WalReader}, which stops quietly at a torn tail (a record being
 * written), so a reader never sees a partial record.
 *
 * What happens underneath a reader:
 * - rotation: a segment is complete once a newer one exists (the writer
 *   commits it before creating the next), so a reader moves on only after
 *   reading a segment that the view showed a successor for;
 * - retention and front truncation: records below the front are skipped;
 *   a segment deleted before the reader opened it is looked up again (an
 *   open segment keeps reading: unlinking does not affect open handles);
 * - back truncation: records above a pending cut are never returned. A
 *   reader that already returned records above the cut is not rewound:
 *   sequences it returns only ever increase.
 *
 * @module
 */

import { BOUNDS_FILE, type Bounds, INITIAL_BOUNDS, readBounds } from "./bounds.ts";
import type { Codec } from "./codec.ts";
import type { Crc32 } from "./crc32.ts";
import { WalCorruptionError, WalIoError } from "./errors.ts";
import type { FileSystem } from "./fs.ts";
import { errorCode } from "./io.ts";
import { io } from "./log-file.ts";
import { join } from "./path.ts";
import { WalReader, type WalRecord } from "./reader.ts";
import { liveFirsts, segmentFirsts, segmentPath } from "./segments.ts";

/** The log as a reader sees it at one moment. */
export interface LogView {
  /** First sequences of the live segments, ascending. */
  readonly firsts: readonly number[];
  /** The bounds in force. */
  readonly bounds: Bounds;
  /** Differs from an earlier view's whenever the newest segment may have changed since. */
  readonly stamp: number;
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

/** What to read. */
export interface ReadRecordsOptions<T> {
  /** Lowest sequence to return. */
  readonly from: number;
  /** Highest sequence to return. */
  readonly to: number;
  /** Wait for more records at the end instead of returning. */
  readonly follow: boolean;
  /** Ends following (quietly) when aborted. */
  readonly signal: AbortSignal | undefined;
  /** Value decoding. */
  readonly codec: Codec<T>;
  /** Filesystem adapter. */
  readonly fs: FileSystem;
  /** Largest payload accepted. */
  readonly recordBytesMax: number;
}

/**
 * Yields the log's records with sequences in `[from, to]`, in order, each
 * once. Without `follow`, returns at the end of the log; with it, waits for
 * more until `signal` aborts or the source ends.
 *
 * @throws {WalCorruptionError} a segment is damaged (seen twice in a row, so not a rewrite in progress)
 * @throws {WalIoError} the filesystem failed (a listed segment missing twice in a row, too)
 */
export async function* readRecords<T>(source: LogSource, options: ReadRecordsOptions<T>): AsyncGenerator<WalRecord<T>, void, undefined> {
  const { signal, follow } = options;
  let next = options.from;
  /** The newest segment, and the stamp of the view it was last read to its end under. */
  let caughtUp: { first: number; stamp: number } | null = null;
  /**
   * A segment that failed to read once: deleted after the view listed it, or
   * looking damaged mid-rewrite by a back truncation. Looked up again; a
   * second failure in a row is real.
   */
  let suspect: string | null = null;
  while (!isAborted(signal)) {
    const view = await source.view();
    next = Math.max(next, view.bounds.front);
    const to = view.bounds.back === null ? options.to : Math.min(options.to, view.bounds.back);
    if (!follow && next > to) return;
    const index = segmentIndexFor(view.firsts, next);
    const newest = index === view.firsts.length - 1;
    if (index < 0 || (newest && caughtUp !== null && caughtUp.first === view.firsts[index] && caughtUp.stamp === view.stamp)) {
      if (!follow || !(await source.waitForChange(signal))) return;
      continue;
    }
    const first = view.firsts[index]!;
    const path = segmentPath(source.dir, first);
    let reachedTo = false;
    try {
      for await (const record of WalReader.open<T>(path, { from: next, codec: options.codec, fs: options.fs, maxRecordBytes: options.recordBytesMax })) {
        reachedTo = record.sequence > to;
        if (reachedTo) break;
        yield record;
        next = record.sequence + 1;
        if (isAborted(signal)) return;
      }
    } catch (error) {
      if (!(isNotFound(error) || error instanceof WalCorruptionError) || suspect === path) throw error;
      suspect = path;
      continue;
    }
    suspect = null;
    if (reachedTo) {
      // Only a pending back cut limits a follower: wait for it to finish.
      if (!follow || !(await source.waitForChange(signal))) return;
    } else if (!newest) {
      next = Math.max(next, view.firsts[index + 1]!);
    } else if (follow) {
      caughtUp = { first, stamp: view.stamp };
    } else {
      return;
    }
  }
}

/** Index of the segment that holds `sequence` (the last one starting at or below it), 0 if all start above, -1 if none. */
function segmentIndexFor(firsts: readonly number[], sequence: number): number {
  let index = firsts.length > 0 ? 0 : -1;
  while (index + 1 < firsts.length && firsts[index + 1]! <= sequence) index++;
  return index;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** True for the error of opening a segment that was deleted meanwhile. */
function isNotFound(error: unknown): boolean {
  return error instanceof WalIoError && errorCode(error.cause) === "ENOENT";
}

/**
 * A source reading the directory itself: for a reader in another process,
 * which polls every `pollMs` milliseconds. A directory that does not exist
 * yet reads as an empty log.
 */
export function directorySource(fs: FileSystem, dir: string, crc: Crc32, pollMs: number): LogSource {
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
      const firsts = liveFirsts(segmentFirsts(names), bounds);
      const newestFirst = firsts.at(-1);
      const newest = newestFirst === undefined ? null : segmentPath(dir, newestFirst);
      const stat = newest === null ? null : await io("stat", newest, () => fs.stat(newest));
      return { firsts, bounds, stamp: stat?.size ?? -1 };
    },
    async waitForChange(signal: AbortSignal | undefined): Promise<boolean> {
      await sleep(pollMs, signal);
      return !isAborted(signal);
    },
  };
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
function sleep(
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
