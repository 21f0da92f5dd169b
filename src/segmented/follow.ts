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
 *   reader that already returned records above the cut learns it from its
 *   cursor (the end of the last batch it read, which the cut segment no
 *   longer holds) and throws `WalRewoundError` with a sequence to restart
 *   from; so does one that returned written-but-unsynced batches a crash
 *   then lost. Sequences it returns otherwise only ever increase.
 *
 * @module
 */

import { WalCorruptionError, WalIoError, WalRewoundError } from "../errors.ts";
import type { Codec } from "../format/codec.ts";
import type { Crc32 } from "../format/crc32.ts";
import { FILE_HEADER_BYTES, RECORD_HEADER_BYTES } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { errorCode } from "../fs.ts";
import { io } from "../io.ts";
import { decodingFrom, readFileRecords, type RecordMapper, saltCrcOf, type WalRecord } from "../log/reader.ts";
import { PositionLostError, type ScanPosition } from "../log/scan.ts";
import { join } from "../path.ts";
import { BOUNDS_FILE, type Bounds, INITIAL_BOUNDS, readBounds } from "./bounds.ts";
import { liveFirsts, segmentFirsts, segmentPath } from "./segments.ts";

/** The log as a reader sees it at one moment. */
export interface LogView {
  /** First sequences of the live segments, ascending. */
  readonly firsts: readonly number[];
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
 * Where a reader stands: the segment holding the last record it returned
 * (or, before it returned any, the last segment it read), and the end of the
 * last batch it read there. Reading that segment again resumes there; the
 * position also proves, while the file still holds it, that no record the
 * reader returned was cut.
 */
interface Cursor {
  /** The segment's first sequence (its name). */
  readonly first: number;
  /** The end of the last batch read in it. */
  readonly position: ScanPosition;
}

/** One reader's progress through the log. */
interface ReadState {
  /** The lowest sequence still to return. */
  next: number;
  /** The highest sequence returned, or -1. */
  returned: number;
  cursor: Cursor | null;
  /** Salt checksums of the live segments read, by first sequence: where to restart after a back cut. */
  readonly salts: Map<number, number>;
}

/**
 * Yields the log's records with sequences in `[from, to]`, in order, each
 * once. Without `follow`, returns at the end of the log; with it, waits for
 * more until `signal` aborts or the source ends. Reads each segment once:
 * reading a segment again resumes after the last batch read in it.
 *
 * @throws {WalRewoundError} a back truncation (or a crash) replaced records this reader returned
 * @throws {WalCorruptionError} a segment is damaged (seen twice in a row, so not a rewrite in progress)
 * @throws {WalIoError} the filesystem failed (a listed segment missing twice in a row, too)
 */
export async function* readRecords<T>(source: LogSource, options: ReadRecordsOptions<T>): AsyncGenerator<WalRecord<T>, void, undefined> {
  const { signal, follow } = options;
  const state: ReadState = { next: options.from, returned: -1, cursor: null, salts: new Map() };
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
    forgetDeadSegments(state, view);
    state.next = Math.max(state.next, view.bounds.front);
    const to = view.bounds.back === null ? options.to : Math.min(options.to, view.bounds.back);
    if (!follow && state.next > to) return;
    const index = segmentIndexFor(view.firsts, state.next);
    const newest = index === view.firsts.length - 1;
    if (index < 0 || (newest && caughtUp !== null && caughtUp.first === view.firsts[index] && caughtUp.stamp === view.stamp)) {
      if (!follow || !(await source.waitForChange(signal))) return;
      continue;
    }
    const first = view.firsts[index]!;
    const path = segmentPath(source.dir, first);
    let read: SegmentRead;
    try {
      if ((await checkCursorHolds(source.dir, options, state, first, view)) === "missing") {
        if (suspect !== CURSOR_SEGMENT) {
          suspect = CURSOR_SEGMENT;
          continue;
        }
        throw new PositionLostError(segmentPath(source.dir, state.cursor!.first), state.cursor!.position);
      }
      read = yield* readSegment(path, first, to, options, state, newest ? view.newestEndOffset : undefined);
    } catch (error) {
      if (error instanceof PositionLostError) {
        if (state.returned >= 0) throw await rewound(source.dir, options.fs, state, view);
        state.cursor = null; // nothing returned yet: nothing to take back
        continue;
      }
      if (!(isNotFound(error) || error instanceof WalCorruptionError) || suspect === path) throw error;
      suspect = path;
      continue;
    }
    suspect = null;
    if (read === "aborted") return;
    if (read === "reached-to") {
      // Only a pending back cut limits a follower: wait for it to finish.
      if (!follow || !(await source.waitForChange(signal))) return;
    } else if (!newest) {
      state.next = Math.max(state.next, view.firsts[index + 1]!);
    } else if (follow) {
      caughtUp = { first, stamp: view.stamp };
    } else {
      return;
    }
  }
}

/** Drops the salts of segments no longer in the log: what a reader keeps stays bounded by the live segments. */
function forgetDeadSegments(state: ReadState, view: LogView): void {
  const oldest = view.firsts[0] ?? Number.MAX_SAFE_INTEGER;
  for (const first of state.salts.keys()) if (first < oldest) state.salts.delete(first);
}

/** How reading a segment ended: at its end, at a record above `to`, or because the signal aborted. */
type SegmentRead = "end" | "reached-to" | "aborted";

/** Yields the records of segment `first` from `state.next` up to `to`, resuming where the cursor says, and moves the cursor. */
async function* readSegment<T>(
  path: string,
  first: number,
  to: number,
  options: ReadRecordsOptions<T>,
  state: ReadState,
  endOffsetMax: number | undefined,
): AsyncGenerator<WalRecord<T>, SegmentRead, undefined> {
  const cursor = state.cursor;
  const resume = cursor !== null && cursor.first === first ? cursor.position : null;
  const decoding = decodingFrom(options.codec, state.next, path);
  const reading = readFileRecords(options.fs, path, resume, options.recordBytesMax, decoding, endOffsetMax);
  let returnedHere = false;
  try {
    for (;;) {
      const step = await reading.next();
      if (step.done === true) {
        // Keep the cursor where the last returned record is, until this segment returns one.
        if (cursor === null || cursor.first === first || returnedHere || state.returned < 0) {
          state.cursor = { first, position: step.value.position };
        }
        state.salts.set(first, step.value.saltCrc);
        return "end";
      }
      for (const record of step.value) {
        if (record.sequence > to) return "reached-to";
        yield record;
        state.next = record.sequence + 1;
        state.returned = record.sequence;
        returnedHere = true;
        if (isAborted(options.signal)) return "aborted";
      }
    }
  } finally {
    await reading.return(undefined as never);
  }
}

/** Stands for the cursor's segment in `suspect`, which otherwise holds segment paths. */
const CURSOR_SEGMENT = "";

/**
 * When the reader has moved past the segment holding the last record it
 * returned, checks on each pass that the segment still holds it, throwing
 * `PositionLostError` when a back cut or a crash replaced it. A segment
 * deleted because the front passed it is fine; one missing otherwise is
 * reported, to be looked up again and then believed.
 */
async function checkCursorHolds(
  dir: string,
  options: ReadRecordsOptions<unknown>,
  state: ReadState,
  first: number,
  view: LogView,
): Promise<"holds" | "missing"> {
  const cursor = state.cursor;
  if (cursor === null || cursor.first === first || state.returned < 0) return "holds";
  if (view.bounds.front > cursor.position.sequence) {
    state.cursor = null; // everything it covers is below the front: never returned again
    return "holds";
  }
  try {
    const records = readFileRecords(options.fs, segmentPath(dir, cursor.first), cursor.position, options.recordBytesMax, () => undefined);
    for await (const _ of records); // nothing is mapped: this only checks that the file still holds the position
    return "holds";
  } catch (error) {
    if (isNotFound(error)) return "missing";
    throw error;
  }
}

/** The error for a reader whose returned records were replaced, restarting at the newest segment it read that is known unchanged up to the cut. */
async function rewound(dir: string, fs: FileSystem, state: ReadState, view: LogView): Promise<WalRewoundError> {
  const limit = state.cursor?.first ?? Number.MAX_SAFE_INTEGER;
  const known = [...state.salts.keys()].filter((first) => first <= limit && view.firsts.includes(first)).sort((a, b) => b - a);
  for (const first of known) {
    // A back cut copies a segment it shortens header and salt included; one recreated under the same name has a new salt.
    if ((await saltCrcOf(fs, segmentPath(dir, first))) === state.salts.get(first)) {
      return new WalRewoundError(dir, state.returned, Math.max(first, view.bounds.front));
    }
  }
  return new WalRewoundError(dir, state.returned, Math.max(view.firsts[0] ?? 0, view.bounds.front));
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
      const firsts = liveFirsts(segmentFirsts(names), bounds);
      const newest = firsts[firsts.length - 1];
      if (finder === null || newest === undefined) return { firsts, bounds, stamp: polls };
      return { firsts, bounds, stamp: polls, newestEndOffset: await finder.durableEnd(newest) };
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
