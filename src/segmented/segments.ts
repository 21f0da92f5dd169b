/**
 * Segment files of a segmented log (docs/SEGMENTS.md): their names, which of
 * them are live under the log's bounds, what the log knows about each one
 * without reading it again, reading and deleting them, and the damage a
 * segment can show (which opening throws and `verify` reports).
 *
 * A segment is a valid single-file log (docs/FORMAT.md) named after the
 * first sequence it can hold, its base sequence + 1, as 20 zero-padded
 * digits: `00000000000000000001.wal`. Lexical order is sequence order, and
 * every record of a segment lies below the next segment's first sequence.
 *
 * @module
 */

import { assert } from "../assert.ts";
import { type Corruption, WalCorruptionError } from "../errors.ts";
import type { Crc32 } from "../format/crc32.ts";
import { decodeFileHeader, FILE_HEADER_BYTES, type FileHeader, isDamage } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { checkRegularFile, io, unlinkIfPresent } from "../io.ts";
import { type ValidateOptions, validate } from "../log/log-file-open.ts";
import type { ScanEnd } from "../log/scan.ts";
import { join } from "../path.ts";
import type { Bounds } from "./bounds.ts";

/** Digits of a segment name: enough for any u64. */
const NAME_DIGITS = 20;
const SEGMENT_NAME = /^(\d{20})\.wal$/;
const SEGMENT_TEMPORARY_NAME = /^\d{20}\.wal\.creating$/;

/** File name of the segment whose first possible sequence is `first`. */
export function segmentName(first: number): string {
  assert(Number.isSafeInteger(first) && first >= 1, `segment first sequence ${first}`);
  return `${String(first).padStart(NAME_DIGITS, "0")}.wal`;
}

/** Path of the segment of `dir` whose first possible sequence is `first`. */
export function segmentPath(dir: string, first: number): string {
  return join(dir, segmentName(first));
}

/** First sequences of the segments among directory entry `names` (read from their names), ascending. */
export function segmentFirstSequences(names: readonly string[]): number[] {
  const firstSequences: number[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match === null) continue;
    const first = Number(match[1]);
    if (Number.isSafeInteger(first) && first >= 1) firstSequences.push(first);
  }
  return firstSequences.sort((a, b) => a - b);
}


/** True for what an interrupted segment creation leaves behind (`<segment>.creating`). */
export function isSegmentTemporary(name: string): boolean {
  return SEGMENT_TEMPORARY_NAME.test(name);
}

/**
 * Of the segments with first sequences `firstSequences` (ascending), those
 * that hold records the log may still return under `bounds`, by first
 * sequence. Dropped: a segment followed by one whose first sequence is at
 * or below the front (each of its records lies below the next segment's
 * first, so below the front), and, while a back cut is pending, every
 * segment whose first sequence is above it. The writer deletes the dropped
 * ones; readers skip them.
 */
export function liveFirstSequences(firstSequences: readonly number[], bounds: Bounds): number[] {
  return firstSequences.filter((first, index) => {
    const next = firstSequences[index + 1];
    if (next !== undefined && next <= bounds.front) return false;
    return bounds.back === null || first <= bounds.back;
  });
}

/**
 * Why the segment at `after.path` (base sequence `after.baseSequence`)
 * cannot follow the segment at `before.path`, whose last record is
 * `before.lastSequence`: each segment's records must lie above the ones
 * before it. Null when it can follow. Opening throws this, verify reports it.
 */
export function segmentOrderProblem(
  before: { readonly path: string; readonly lastSequence: number },
  after: { readonly path: string; readonly baseSequence: number },
): Corruption | null {
  if (after.baseSequence >= before.lastSequence) return null;
  const detail = `base sequence ${after.baseSequence} is below ${before.lastSequence}, the last sequence of ${before.path}`;
  return { kind: "sequence-violation", offset: 0, path: after.path, detail };
}

/** The damage of a segment at `path` whose header's base sequence `baseSequence` is not the one its name (`first`) says. */
export function nameMismatch(path: string, baseSequence: number, first: number): Corruption {
  return { kind: "sequence-violation", offset: 0, path, detail: `base sequence ${baseSequence}, but the name says ${first - 1}` };
}

/**
 * A torn tail found in a sealed segment (one with a successor), as damage:
 * the segment was committed before the next one was created, so what looks
 * like a crash's torn tail is damage to durable data.
 */
export function sealedTailDamage(tail: Corruption): Corruption {
  return { ...tail, detail: `${tail.detail}; the segment is sealed (a newer one exists), so this is damage to durable data` };
}

/**
 * Deletes the segments of `dir` with first sequences `firstSequences`
 * (already gone is fine), then syncs the directory: a segment above a back
 * cut must be gone for good before the cut is cleared (below the front, a
 * segment that came back would be dead by its name anyway).
 */
export async function removeSegments(fs: FileSystem, dir: string, firstSequences: readonly number[]): Promise<void> {
  if (firstSequences.length === 0) return;
  for (const first of firstSequences) await io("unlink", segmentPath(dir, first), () => unlinkIfPresent(fs, segmentPath(dir, first)));
  await io("sync", dir, () => fs.syncDir(dir));
}

/**
 * What the log knows about one segment. Records below the front are
 * counted apart ("hidden"): only the oldest segment can hold any.
 */
export interface SegmentSummary {
  /** First possible sequence: the name; the base sequence + 1. */
  readonly first: number;
  /** The file. */
  readonly path: string;
  /** The front `hiddenRecords` was counted for. */
  readonly front: number;
  /** Sequence of the last record, or the base sequence when there is none. */
  lastSequence: number;
  /** Data records in the file, hidden ones included. */
  records: number;
  /** Records below the front. */
  hiddenRecords: number;
  /** Sequence of the first record at or above the front, or -1. */
  firstVisibleSequence: number;
  /** Time of the first record at or above the front, or -1. */
  firstVisibleTimeMs: number;
  /** Time of the last record, or -1. */
  lastTimeMs: number;
  /** Size of the file. */
  bytes: number;
}

/** An empty summary of the segment at `path` whose first possible sequence is `first`, for the log's `front`. */
export function emptySummary(first: number, path: string, front: number): SegmentSummary {
  return {
    first,
    path,
    front,
    lastSequence: first - 1,
    records: 0,
    hiddenRecords: 0,
    firstVisibleSequence: -1,
    firstVisibleTimeMs: -1,
    lastTimeMs: -1,
    bytes: 0,
  };
}

/** Adds one record to `summary`: the next in file order (the scan checked that sequences increase). */
export function addRecord(summary: SegmentSummary, sequence: number, timeMs: number): void {
  summary.lastSequence = sequence;
  summary.records++;
  summary.lastTimeMs = timeMs;
  if (sequence < summary.front) {
    summary.hiddenRecords++;
  } else if (summary.firstVisibleSequence < 0) {
    summary.firstVisibleSequence = sequence;
    summary.firstVisibleTimeMs = timeMs;
  }
}

/**
 * Takes back the records above `sequence` (accepted, then discarded by a
 * failed write) from the active segment's summary, given what the segment
 * now holds. Accepted records are always at or above the front.
 */
export function discardAbove(summary: SegmentSummary, sequence: number, records: number, lastTimeMs: number): void {
  summary.lastSequence = sequence;
  summary.records = records;
  summary.lastTimeMs = lastTimeMs;
  if (summary.firstVisibleSequence > sequence) {
    summary.firstVisibleSequence = -1;
    summary.firstVisibleTimeMs = -1;
  }
}

/** Records of the segment at or above the front. */
export function visibleRecords(summary: SegmentSummary): number {
  return summary.records - summary.hiddenRecords;
}

/**
 * Validates the segment file at `path` read-only, as opening a log would
 * (every batch and its checksum), passing each intact record to
 * `options.onRecord`. Returns the scan's end, whose `tail` the caller judges.
 */
export async function scanSegment(fs: FileSystem, path: string, options: ValidateOptions): Promise<ScanEnd> {
  const file = await io("open", path, () => fs.open(path, "read"));
  try {
    const fileBytes = await io("size", path, () => file.size());
    return await validate(file, fileBytes, path, options);
  } finally {
    await io("close", path, () => file.close());
  }
}

/** Validates the segment at `path` read-only and summarizes it under `front`; also returns the scan's end. */
export async function summarizeSegment(
  fs: FileSystem,
  path: string,
  first: number,
  front: number,
  options: ValidateOptions,
): Promise<{ summary: SegmentSummary; end: ScanEnd }> {
  const summary = emptySummary(first, path, front);
  const end = await scanSegment(fs, path, {
    ...options,
    onRecord: (sequence, timeMs) => addRecord(summary, sequence, timeMs),
  });
  summary.bytes = end.endOffset;
  return { summary, end };
}

/** A file's header and size, read without scanning the file. */
export interface FileHead {
  /** The decoded file header. */
  readonly header: FileHeader;
  /** Size of the file. */
  readonly bytes: number;
}

/**
 * Reads the header of the log file at `path` (refusing a non-regular file
 * before opening it). A damaged header throws {@link WalCorruptionError}: a
 * file is created with its header complete, so no crash leaves one.
 */
export async function readFileHead(fs: FileSystem, path: string, crc: Crc32): Promise<FileHead> {
  await checkRegularFile(fs, path);
  const file = await io("open", path, () => fs.open(path, "read"));
  try {
    const buffer = new Uint8Array(FILE_HEADER_BYTES);
    const read = await io("read", path, () => file.read(buffer, 0));
    const header = decodeFileHeader(buffer.subarray(0, read), crc);
    if (isDamage(header)) throw new WalCorruptionError({ kind: header.kind, offset: 0, path, detail: header.detail });
    return { header, bytes: await io("size", path, () => file.size()) };
  } finally {
    await io("close", path, () => file.close());
  }
}

