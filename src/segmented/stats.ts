/**
 * What a segmented log holds, summed over its segment summaries: the
 * sequences a read returns and the figures of `Wal.stats()`.
 *
 * @module
 */

import { type SegmentSummary, visibleRecords } from "./segments.ts";

/** Size and content of a segmented log. */
export interface WalStats {
  /** Segment files. */
  readonly segments: number;
  /** Their total size in bytes. */
  readonly bytes: number;
  /** Records a read from the start returns. */
  readonly records: number;
  /** When the oldest of those was appended (ms since the epoch), or null when there are none. */
  readonly oldestTimeMs: number | null;
}

/** The figures of the live segments `segments`, oldest first. */
export function logStats(segments: readonly SegmentSummary[]): WalStats {
  const oldest = segments.find((segment) => visibleRecords(segment) > 0);
  return {
    segments: segments.length,
    bytes: segments.reduce((sum, segment) => sum + segment.bytes, 0),
    records: segments.reduce((sum, segment) => sum + visibleRecords(segment), 0),
    oldestTimeMs: oldest === undefined ? null : oldest.firstVisibleTimeMs,
  };
}

/** The first record's sequence in `segments` (oldest first), or `currentSequence + 1` when they hold none a read returns. */
export function firstVisibleSequence(segments: readonly SegmentSummary[], currentSequence: number): number {
  const oldest = segments.find((segment) => visibleRecords(segment) > 0);
  return oldest === undefined ? currentSequence + 1 : oldest.firstVisibleSequence;
}

/** The last record's sequence in `segments` (oldest first), or `currentSequence` when they hold none a read returns. */
export function lastVisibleSequence(segments: readonly SegmentSummary[], currentSequence: number): number {
  for (let index = segments.length - 1; index >= 0; index--) {
    const segment = segments[index]!;
    if (visibleRecords(segment) > 0) return segment.lastSequence;
  }
  return currentSequence;
}
