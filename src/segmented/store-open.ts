/**
 * Opening the directory of a segmented log for a `SegmentStore`. First the
 * segment set is verified as a whole, read-only (a set no crash can leave
 * fails with `WalCorruptionError` and nothing is changed); then what
 * interrupted operations left is removed, a creation or rotation a crash
 * cut short is finished (the bounds file written), dead segments are
 * deleted, every sealed segment is validated read-only and the newest is
 * opened for appending under the repair policy. An empty directory gets a
 * new log. What is left (a pending back cut, the front) the store finishes
 * with its own operations.
 *
 * @module
 */

import { assert } from "../assert.ts";
import { WalCorruptionError } from "../errors.ts";
import { LOG_ID_BYTES, SALT_BYTES } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { io, unlinkIfPresent } from "../io.ts";
import { LogFile, type LogFileOptions } from "../log/log-file.ts";
import type { RepairPolicy } from "../options.ts";
import { join } from "../path.ts";
import { BOUNDS_FILE, BOUNDS_TEMPORARY, type StoredBounds, writeBounds } from "./bounds.ts";
import { RecordClock } from "./record-clock.ts";
import type { RetentionLimits } from "./retention.ts";
import { readSegmentSet, verifySegmentSet } from "./segment-set.ts";
import {
  addRecord,
  emptySummary,
  isSegmentTemporary,
  liveFirstSequences,
  nameMismatch,
  removeSegments,
  sealedTailDamage,
  type SegmentSummary,
  segmentOrderProblem,
  segmentPath,
  summarizeSegment,
} from "./segments.ts";

/** How to open a `SegmentStore`; every value already checked. */
export interface SegmentStoreOptions extends Omit<LogFileOptions, "salt" | "onRecord"> {
  /** Rotate before a record would take the active segment past this size. */
  readonly segmentBytes: number;
  /** Retention limits. */
  readonly retention: RetentionLimits;
  /** Apply retention after every rotation. */
  readonly cleanupOnRotate: boolean;
}

/** The live segments of an opened directory, the newest open for appending. */
export interface OpenedSegments {
  /** Summaries of the live segments, oldest first; the last is the active one's. */
  readonly segments: SegmentSummary[];
  /** The newest segment, open. */
  readonly active: LogFile;
  /** The bounds in force (a pending back cut is not finished yet). */
  readonly bounds: StoredBounds;
  /** The record clock, raised to the newest record time found. */
  readonly clock: RecordClock;
}

/** The log id and link a segment gets if opening it creates it. */
export interface SegmentIdentity {
  /** The log's id (every segment carries it). */
  readonly logId: Uint8Array;
  /** The salt of the segment before it, or zeros when none. */
  readonly link: Uint8Array;
}

/**
 * Opens the segmented log in `dir` (which exists; the caller holds its
 * lock), or creates one when the directory holds none: see the module
 * comment. The caller closes `active` when it fails later.
 */
export async function openSegments(fs: FileSystem, dir: string, options: SegmentStoreOptions): Promise<OpenedSegments> {
  const { names, stored, heads } = await readSegmentSet(fs, dir, options.crc);
  const verdict = verifySegmentSet(dir, stored, heads);
  // The set is sound: from here on, opening may finish what a crash interrupted.
  for (const name of names) {
    if (isSegmentTemporary(name) || name === BOUNDS_TEMPORARY) await io("unlink", join(dir, name), () => unlinkIfPresent(fs, join(dir, name)));
  }
  if (verdict.kind === "new") return createSegments(fs, dir, options);
  const bounds = verdict.bounds;
  if (verdict.rewrite) await io("write", join(dir, BOUNDS_FILE), () => writeBounds(fs, dir, bounds, options.crc));
  const firstSequences = heads.map((head) => head.first);
  const live = liveFirstSequences(firstSequences, bounds);
  await removeSegments(fs, dir, firstSequences.filter((first) => !live.includes(first)));
  return openLiveSegments(fs, dir, live, bounds, options);
}

/** Validates the sealed segments among `live` (first sequences, ascending) and opens the newest. */
async function openLiveSegments(
  fs: FileSystem,
  dir: string,
  live: readonly number[],
  bounds: StoredBounds,
  options: SegmentStoreOptions,
): Promise<OpenedSegments> {
  const segments: SegmentSummary[] = [];
  for (const first of live.slice(0, -1)) segments.push(await openSealedSegment(fs, segmentPath(dir, first), first, bounds.front, options));
  // No live segment: a pending back cut removes every one; it continues from the cut.
  const newestFirst = live.at(-1) ?? bounds.back! + 1;
  const clock = new RecordClock(options.now);
  const identity = { logId: bounds.logId, link: new Uint8Array(SALT_BYTES) };
  const { log: active, summary: newest } = await openSegmentLog(fs, dir, newestFirst, bounds.front, options, options.repair, clock.now, identity);
  segments.push(newest);
  for (const segment of segments) clock.observe(segment.lastTimeMs);
  return { segments, active, bounds, clock };
}

/**
 * Creates a new log: its first segment (base `options.baseSequence`, a new
 * log id, linked to nothing), then the bounds file naming it. A crash in
 * between leaves that segment alone, empty, without bounds: opening
 * recognizes it and writes the bounds file.
 */
async function createSegments(fs: FileSystem, dir: string, options: SegmentStoreOptions): Promise<OpenedSegments> {
  const first = options.baseSequence + 1;
  const clock = new RecordClock(options.now);
  const identity = { logId: crypto.getRandomValues(new Uint8Array(LOG_ID_BYTES)), link: new Uint8Array(SALT_BYTES) };
  const { log, summary } = await openSegmentLog(fs, dir, first, first, options, "strict", clock.now, identity);
  const bounds: StoredBounds = { front: first, back: null, logId: log.header.logId, newest: first };
  try {
    await io("write", join(dir, BOUNDS_FILE), () => writeBounds(fs, dir, bounds, options.crc));
  } catch (error) {
    await log.close().catch(() => undefined);
    throw error;
  }
  return { segments: [summary], active: log, bounds, clock };
}

/**
 * Opens the segment of `dir` whose first possible sequence is `first` as a
 * {@link LogFile} under `repair`, creating it if absent (with `identity`'s
 * log id and link), checking its name, and summarizing it under `front`.
 */
export async function openSegmentLog(
  fs: FileSystem,
  dir: string,
  first: number,
  front: number,
  options: SegmentStoreOptions,
  repair: RepairPolicy,
  now: () => number,
  identity: SegmentIdentity,
): Promise<{ log: LogFile; summary: SegmentSummary }> {
  const summary = emptySummary(first, segmentPath(dir, first), front);
  const log = await LogFile.open(fs, summary.path, {
    ...identity,
    repair,
    recordBytesMax: options.recordBytesMax,
    batchBytesMax: options.batchBytesMax,
    crc: options.crc,
    now,
    baseSequence: first - 1,
    preallocateToBytes: options.segmentBytes,
    onRecord: (sequence, timeMs) => addRecord(summary, sequence, timeMs),
    ...(options.fence === undefined ? {} : { fence: options.fence }),
    ...(options.onSync === undefined ? {} : { onSync: options.onSync }),
  });
  if (log.baseSequence !== first - 1) {
    await log.close().catch(() => undefined);
    throw new WalCorruptionError(nameMismatch(summary.path, log.baseSequence, first));
  }
  summary.bytes = log.bytes;
  return { log, summary };
}

/**
 * Validates a sealed segment read-only and summarizes it. A sealed segment
 * was committed before the next one was created, so a torn tail or
 * uncommitted records in it are damage to durable data.
 */
async function openSealedSegment(fs: FileSystem, path: string, first: number, front: number, options: SegmentStoreOptions): Promise<SegmentSummary> {
  const { summary, end } = await summarizeSegment(fs, path, first, front, options);
  if (end.header.baseSequence !== first - 1) throw new WalCorruptionError(nameMismatch(path, end.header.baseSequence, first));
  if (end.tail !== null) throw new WalCorruptionError(sealedTailDamage(end.tail));
  return summary;
}

/** Throws {@link WalCorruptionError} unless each segment's base sequence is at or above the last sequence of the one before. */
export function checkSegmentOrder(segments: readonly SegmentSummary[]): void {
  for (let index = 1; index < segments.length; index++) {
    const segment = segments[index]!;
    assert(segment.first > segments[index - 1]!.first, "segments are in ascending order of first sequence");
    const problem = segmentOrderProblem(segments[index - 1]!, { path: segment.path, baseSequence: segment.first - 1 });
    if (problem !== null) throw new WalCorruptionError(problem);
  }
}
