/**
 * Retention: which prefix of a segmented log its limits let go. Pure policy
 * over segment summaries; the log applies the answer as a front truncation
 * (see `SegmentStore.truncateFront`), which deletes whole segments and
 * hides the rest of the prefix behind the front.
 *
 * @module
 */

import { assert } from "../assert.ts";
import { WalArgumentError } from "../errors.ts";
import { checkSafeInteger } from "../options.ts";
import { type SegmentSummary, visibleRecords } from "./segments.ts";

/** Retention limits of a segmented log; each one is off when absent. */
export interface RetentionLimits {
  /**
   * Records appended more than this many milliseconds ago are removed
   * (0 … 2^53 − 1). Record times never decrease along the log, so this
   * removes a prefix, to the record.
   */
  readonly maxAgeMs?: number;
  /**
   * Oldest segments are removed while all segments together exceed this
   * many bytes (0 … 2^53 − 1). The active segment is never removed.
   */
  readonly maxTotalBytes?: number;
  /** Oldest segments are removed while there are more than this many (1 … 2^53 − 1). */
  readonly maxSegments?: number;
}

/** Checks the limits in `options`; returns only those that are set. */
export function checkRetentionLimits(options: RetentionLimits): RetentionLimits {
  const limits: { maxAgeMs?: number; maxTotalBytes?: number; maxSegments?: number } = {};
  if (options.maxAgeMs !== undefined) limits.maxAgeMs = checkNumber("maxAgeMs", options.maxAgeMs, 0);
  if (options.maxTotalBytes !== undefined) limits.maxTotalBytes = checkNumber("maxTotalBytes", options.maxTotalBytes, 0);
  if (options.maxSegments !== undefined) limits.maxSegments = checkNumber("maxSegments", options.maxSegments, 1);
  return limits;
}

function checkNumber(name: string, value: unknown, min: number): number {
  if (typeof value !== "number") throw new WalArgumentError(`${name} must be a number, not ${typeof value}`);
  return checkSafeInteger(name, value, min);
}

/** True when at least one limit is set. */
export function hasRetention(limits: RetentionLimits): boolean {
  return limits.maxAgeMs !== undefined || limits.maxTotalBytes !== undefined || limits.maxSegments !== undefined;
}

/**
 * The front the limits ask for: at least `front`, higher when they let a
 * prefix go. `segments` are the live segments, oldest first, the active one
 * last. `firstSequenceSince` scans one segment for the sequence of its first record
 * at or above the front appended at or after `cutoffMs`; it is called at
 * most once, for a segment that has one.
 */
export async function retentionFront(
  segments: readonly SegmentSummary[],
  front: number,
  limits: RetentionLimits,
  nowMs: number,
  firstSequenceSince: (segment: SegmentSummary, cutoffMs: number) => Promise<number>,
): Promise<number> {
  assert(segments.length > 0, "a log always has an active segment");
  let target = front;
  /** Asks for the segments before `index` to go, whole. */
  const dropBefore = (index: number): void => {
    if (index > 0) target = Math.max(target, segments[index]!.first);
  };
  if (limits.maxSegments !== undefined) dropBefore(Math.max(0, segments.length - limits.maxSegments));
  if (limits.maxTotalBytes !== undefined) {
    let totalBytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
    let index = 0;
    while (totalBytes > limits.maxTotalBytes && index < segments.length - 1) totalBytes -= segments[index++]!.bytes;
    dropBefore(index);
  }
  assert(target <= segments.at(-1)!.first, "the count and size limits never remove the active segment");
  if (limits.maxAgeMs !== undefined) {
    target = Math.max(target, await ageFront(segments, nowMs - limits.maxAgeMs, firstSequenceSince));
  }
  return target;
}

/** The front that drops every record appended before `cutoffMs` (a prefix: times never decrease). */
async function ageFront(
  segments: readonly SegmentSummary[],
  cutoffMs: number,
  firstSequenceSince: (segment: SegmentSummary, cutoffMs: number) => Promise<number>,
): Promise<number> {
  let front = 0;
  for (const [index, segment] of segments.entries()) {
    if (visibleRecords(segment) === 0) continue;
    if (segment.firstVisibleTimeMs >= cutoffMs) break;
    if (segment.lastTimeMs >= cutoffMs) return firstSequenceSince(segment, cutoffMs);
    // Every record expired: the front moves past them, to the next segment's start if there is one.
    front = segments[index + 1]?.first ?? segment.lastSequence + 1;
  }
  return front;
}
