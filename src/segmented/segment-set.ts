/**
 * Verification of a segmented log's segment set as a whole, before opening
 * changes anything (docs/SEGMENTS.md, "The segment set"). Every segment's
 * header carries the log's id and a link (the salt of the segment before
 * it); the bounds file carries the log's id and names the newest segment.
 * From the bounds file, the segment names and their headers alone this
 * tells a state some crash can leave (to be finished) from a segment set
 * someone changed by hand (a typed {@link WalCorruptionError}): a segment
 * deleted (`missing-segment`), a segment copied in from another log
 * (`foreign-segment`), the bounds file deleted (`missing-bounds`).
 *
 * {@link readSegmentSet} reads what that takes (the bounds file and each
 * segment's header); {@link verifySegmentSet} decides from it, with no I/O.
 *
 * @module
 */

import { type CorruptionKind, WalCorruptionError } from "../errors.ts";
import type { Crc32 } from "../format/crc32.ts";
import { FILE_HEADER_BYTES, sameBytes } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { io } from "../io.ts";
import { join } from "../path.ts";
import { BOUNDS_FILE, readBounds, type StoredBounds } from "./bounds.ts";
import { type FileHead, liveFirstSequences, nameMismatch, readFileHead, segmentFirstSequences, segmentPath } from "./segments.ts";

/** A segment file found in the directory: its first sequence (name), path and header. */
export interface SegmentHead extends FileHead {
  /** First possible sequence: the name. */
  readonly first: number;
  /** The file. */
  readonly path: string;
}

/** What the directory of a segmented log holds, as {@link verifySegmentSet} takes it. */
export interface SegmentSet {
  /** Every directory entry. */
  readonly names: readonly string[];
  /** The bounds file, or null when there is none. */
  readonly stored: StoredBounds | null;
  /** Every segment file, ascending. */
  readonly heads: readonly SegmentHead[];
}

/**
 * Reads the directory listing of `dir`, its bounds file and the header of
 * every segment in it (refusing a non-regular file before opening it),
 * read-only. A damaged bounds file or header throws {@link WalCorruptionError}.
 */
export async function readSegmentSet(fs: FileSystem, dir: string, crc: Crc32): Promise<SegmentSet> {
  const names = await io("list", dir, () => fs.readdir(dir));
  const stored = await io("read", join(dir, BOUNDS_FILE), () => readBounds(fs, dir, crc));
  const heads: SegmentHead[] = [];
  for (const first of segmentFirstSequences(names)) {
    const path = segmentPath(dir, first);
    heads.push({ first, path, ...(await readFileHead(fs, path, crc)) });
  }
  return { names, stored, heads };
}

/** What opening does, the set being sound. */
export type SetVerdict =
  /** No bounds file and no segment: a new log, to be created. */
  | { readonly kind: "new" }
  /**
   * Open under `bounds`; with `rewrite`, write them first: they finish a
   * creation (the first segment exists, its bounds file does not) or a
   * rotation (a new segment exists, the bounds file does not name it yet)
   * that a crash cut short.
   */
  | { readonly kind: "open"; readonly bounds: StoredBounds; readonly rewrite: boolean };

/**
 * Verifies the segment set of `dir`: `stored` is its bounds file (null when
 * absent), `heads` every segment file, ascending. Returns what opening
 * does, or throws {@link WalCorruptionError} (`missing-segment`,
 * `foreign-segment`, `missing-bounds`) for a set no crash can leave.
 */
export function verifySegmentSet(dir: string, stored: StoredBounds | null, heads: readonly SegmentHead[]): SetVerdict {
  for (const head of heads) {
    if (head.header.baseSequence !== head.first - 1) throw new WalCorruptionError(nameMismatch(head.path, head.header.baseSequence, head.first));
  }
  if (stored === null) return withoutBounds(dir, heads);
  const foreign = heads.find((head) => !sameBytes(head.header.logId, stored.logId));
  if (foreign !== undefined) throw setError("foreign-segment", foreign.path, "its log id is not the one the bounds file names: it belongs to another log");
  // Segments above a pending back cut are being removed: only their log id matters.
  const candidates = stored.back === null ? heads : heads.filter((head) => head.first <= stored.back!);
  const named = candidates.filter((head) => head.first <= stored.newest);
  const newest = named.at(-1);
  if (stored.newest !== 0 && newest?.first !== stored.newest) {
    throw setError("missing-segment", segmentPath(dir, stored.newest), "the bounds file names it as the newest segment, and it is gone");
  }
  const adopt = rotationLeftover(candidates.filter((head) => head.first > stored.newest), newest, stored);
  const chain = adopt === null ? named : [...named, adopt];
  const live = liveFirstSequences(chain.map((head) => head.first), stored);
  checkLinks(chain.filter((head) => live.includes(head.first)));
  const oldest = chain.find((head) => head.first === live[0]);
  if (oldest !== undefined && oldest.first > stored.front) {
    throw setError("missing-segment", dir, `the oldest segment, ${oldest.path}, starts at ${oldest.first}, above the front ${stored.front}: the segment holding the front is gone`);
  }
  return adopt === null ? { kind: "open", bounds: stored, rewrite: false } : { kind: "open", bounds: { ...stored, newest: adopt.first }, rewrite: true };
}

/**
 * With no bounds file: a new log (no segment), or one whose creation a crash
 * cut short (its first segment alone, empty, linked to nothing: the bounds
 * file is written right after it, before anything is appended). Anything
 * else had a bounds file, which alone knows the front and the newest
 * segment: `missing-bounds`.
 */
function withoutBounds(dir: string, heads: readonly SegmentHead[]): SetVerdict {
  if (heads.length === 0) return { kind: "new" };
  const only = heads[0]!;
  if (heads.length === 1 && only.bytes === FILE_HEADER_BYTES && only.header.link.every((byte) => byte === 0)) {
    return { kind: "open", bounds: { front: only.first, back: null, logId: only.header.logId, newest: only.first }, rewrite: true };
  }
  throw setError("missing-bounds", join(dir, BOUNDS_FILE), `${heads.length} segment(s) but no bounds file, which alone says where the log starts and which segment is the newest`);
}

/**
 * The segments above the newest the bounds file names (and below a pending
 * back cut) must be none, or one a rotation created and a crash kept the
 * bounds file from naming: empty, linked to the named newest. Returns that
 * one, or null.
 */
function rotationLeftover(above: readonly SegmentHead[], newest: SegmentHead | undefined, stored: StoredBounds): SegmentHead | null {
  if (above.length === 0) return null;
  const leftover = above[0]!;
  if (above.length > 1 || stored.back !== null || newest === undefined) {
    throw setError("foreign-segment", above.at(-1)!.path, `not in this log's chain of segments: the bounds file names ${stored.newest} as the newest`);
  }
  if (leftover.bytes !== FILE_HEADER_BYTES || !sameBytes(leftover.header.link, newest.header.salt)) {
    throw setError("foreign-segment", leftover.path, `not in this log's chain of segments: newer than ${newest.path}, which the bounds file names as the newest, but ${leftover.bytes > FILE_HEADER_BYTES ? "it holds records" : "it does not link to it"}`);
  }
  return leftover;
}

/** Each live segment's link must be the salt of the one before it: else a segment between them is gone. */
function checkLinks(live: readonly SegmentHead[]): void {
  for (let index = 1; index < live.length; index++) {
    const before = live[index - 1]!;
    const segment = live[index]!;
    if (!sameBytes(segment.header.link, before.header.salt)) {
      throw setError("missing-segment", segment.path, `it does not link to ${before.path}, the segment before it: a segment between them is gone`);
    }
  }
}

function setError(kind: CorruptionKind, path: string, detail: string): WalCorruptionError {
  return new WalCorruptionError({ kind, offset: 0, path, detail });
}
