/**
 * Reading a segmented log across its segments, once (`read`) or following
 * the writer (`follow`), without its lock and without ever blocking it.
 *
 * A reader works from views of the log (the live segments and the bounds)
 * taken from a {@link LogSource} (`log-source.ts`): the writer's memory in
 * its own process (woken by the writer on every change, with a polling
 * fallback), or the directory itself from anywhere else (polling). Each
 * segment is read as `WalReader` reads a file, stopping quietly at a torn
 * tail (a record being written), so a reader never sees a partial record.
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

import { assert } from "../assert.ts";
import { WalCorruptionError, WalIoError, WalRewoundError } from "../errors.ts";
import type { Codec } from "../format/codec.ts";
import type { FileSystem } from "../fs.ts";
import { errorCode } from "../fs.ts";
import { decodingFrom, readFileRecords, saltCrcOf, type WalRecord } from "../log/reader.ts";
import { PositionLostError, type ScanPosition } from "../log/scan.ts";
import { isAborted, type LogSource, type LogView } from "./log-source.ts";
import { segmentPath } from "./segments.ts";

export { ChangeNotifier, directorySource, type LogSource, type LogView } from "./log-source.ts";

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
    const index = segmentIndexFor(view.segmentFirstSequences, state.next);
    const newest = index === view.segmentFirstSequences.length - 1;
    if (index < 0 || (newest && caughtUp !== null && caughtUp.first === view.segmentFirstSequences[index] && caughtUp.stamp === view.stamp)) {
      if (!follow || !(await source.waitForChange(signal))) return;
      continue;
    }
    const first = view.segmentFirstSequences[index]!;
    const path = segmentPath(source.dir, first);
    let read: SegmentRead = "end";
    try {
      if ((await checkCursorHolds(source.dir, options, state, first, view)) === "missing") {
        if (suspect !== CURSOR_SEGMENT) {
          suspect = CURSOR_SEGMENT;
          continue;
        }
        throw new PositionLostError(segmentPath(source.dir, state.cursor!.first), state.cursor!.position);
      }
      // Each record is yielded from here rather than through a generator per segment: one async
      // generator fewer for every record to pass through.
      const windows = segmentWindows(path, first, options, state, newest ? view.newestEndOffset : undefined);
      try {
        reading: for (;;) {
          const step = await windows.next();
          if (step.done === true) break;
          for (const record of step.value) {
            if (record.sequence > to) {
              read = "reached-to";
              break reading;
            }
            yield record;
            state.next = record.sequence + 1;
            state.returned = record.sequence;
            if (isAborted(signal)) {
              read = "aborted";
              break reading;
            }
          }
        }
      } finally {
        await windows.return(undefined);
      }
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
      state.next = Math.max(state.next, view.segmentFirstSequences[index + 1]!);
    } else if (follow) {
      caughtUp = { first, stamp: view.stamp };
    } else {
      return;
    }
  }
}

/** Drops the salts of segments no longer in the log: what a reader keeps stays bounded by the live segments. */
function forgetDeadSegments(state: ReadState, view: LogView): void {
  const oldest = view.segmentFirstSequences[0] ?? Number.MAX_SAFE_INTEGER;
  for (const first of state.salts.keys()) if (first < oldest) state.salts.delete(first);
}

/** How reading a segment ended: at its end, at a record above `to`, or because the signal aborted. */
type SegmentRead = "end" | "reached-to" | "aborted";

/**
 * The records of segment `first` from `state.next` on, as `readFileRecords`
 * reads them (a window per read), resuming where the cursor says. Once the
 * segment is read to its end it moves the cursor there, unless the cursor
 * holds a record returned from an earlier segment and none of this one's was
 * returned ({@link readRecords} moves `state.returned` as it returns them).
 */
async function* segmentWindows<T>(
  path: string,
  first: number,
  options: ReadRecordsOptions<T>,
  state: ReadState,
  endOffsetMax: number | undefined,
): AsyncGenerator<readonly WalRecord<T>[], void, undefined> {
  const cursor = state.cursor;
  const resume = cursor !== null && cursor.first === first ? cursor.position : null;
  const returnedBefore = state.returned;
  const decoding = decodingFrom(options.codec, state.next, path);
  const reading = readFileRecords(options.fs, path, resume, options.recordBytesMax, decoding, endOffsetMax);
  try {
    for (;;) {
      const step = await reading.next();
      if (step.done === true) {
        // Keep the cursor where the last returned record is, until this segment returns one.
        if (cursor === null || cursor.first === first || state.returned !== returnedBefore || state.returned < 0) {
          assert(resume === null || step.value.position.offset >= resume.offset, "a cursor only moves forward within its segment");
          state.cursor = { first, position: step.value.position };
        }
        state.salts.set(first, step.value.saltCrc);
        return;
      }
      yield step.value;
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
  const known = [...state.salts.keys()].filter((first) => first <= limit && view.segmentFirstSequences.includes(first)).sort((a, b) => b - a);
  for (const first of known) {
    // A back cut copies a segment it shortens header and salt included; one recreated under the same name has a new salt.
    if ((await saltCrcOf(fs, segmentPath(dir, first))) === state.salts.get(first)) {
      return new WalRewoundError(dir, state.returned, Math.max(first, view.bounds.front));
    }
  }
  return new WalRewoundError(dir, state.returned, Math.max(view.segmentFirstSequences[0] ?? 0, view.bounds.front));
}

/** Index of the segment that holds `sequence` (the last one starting at or below it), 0 if all start above, -1 if none. */
function segmentIndexFor(segmentFirstSequences: readonly number[], sequence: number): number {
  let index = segmentFirstSequences.length > 0 ? 0 : -1;
  while (index + 1 < segmentFirstSequences.length && segmentFirstSequences[index + 1]! <= sequence) index++;
  return index;
}

/** True for the error of opening a segment that was deleted meanwhile. */
function isNotFound(error: unknown): boolean {
  return error instanceof WalIoError && errorCode(error.cause) === "ENOENT";
}
