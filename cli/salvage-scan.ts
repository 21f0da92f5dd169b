/**
 * The walk behind `tswal salvage`: every intact batch of a damaged log
 * file, skipping damage. Unlike the scan opening uses (src/log/scan.ts), which
 * stops at the first damage, this one searches past it for the next batch
 * that checks out whole (its records' header checksums and its commit's
 * batch checksum, salted with this file's salt), the way RocksDB's
 * skip-corrupted-records recovery does. Only records of intact batches are
 * returned: every one of them was once written whole with its commit.
 *
 * Works on the file's bytes in memory (a segment is at most `segmentBytes`);
 * files above {@link SALVAGE_FILE_BYTES_MAX} are refused.
 *
 * @module
 */

import type { Crc32 } from "../src/format/crc32.ts";
import {
  Checksummer,
  COMMIT_RECORD_BYTES,
  decodeCommitRecord,
  decodeFileHeader,
  FILE_HEADER_BYTES,
  type FileHeader,
  decodeRecordHeader,
  isDamage,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC_0,
  RECORD_MAGIC_1,
  RecordKind,
} from "../src/format/frame.ts";

/** Largest file salvaged (read whole). */
export const SALVAGE_FILE_BYTES_MAX = 1024 * 1024 * 1024;

/** One record of an intact batch. */
export interface SalvagedRecord {
  /** Its sequence. */
  readonly sequence: number;
  /** Its append time, ms since the epoch. */
  readonly timeMs: number;
  /** Its payload (a view into the file's bytes). */
  readonly payload: Uint8Array;
}

/** A run of bytes skipped as damaged. */
export interface SkippedRange {
  /** First byte skipped. */
  readonly offset: number;
  /** Bytes skipped. */
  readonly bytes: number;
  /** Sequence of the last intact record before it (the base sequence when none). */
  readonly after: number;
  /** Sequence of the first intact record after it, or null when it runs to the end of the file. */
  readonly before: number | null;
}

/** What the walk found in one file. */
export interface SalvagedFile {
  /** The file header. */
  readonly header: FileHeader;
  /** The intact batches, in file order, each a list of records. */
  readonly batches: SalvagedRecord[][];
  /** Damage skipped (zeros at the very end are free space, not listed). */
  readonly skipped: SkippedRange[];
}

/**
 * Every intact batch of the log file `bytes`, and what was skipped. A
 * damaged file header is thrown (without the salt no checksum can be told
 * from garbage).
 */
export function salvageFile(bytes: Uint8Array, crc: Crc32, recordBytesMax: number): SalvagedFile {
  const header = decodeFileHeader(bytes.subarray(0, FILE_HEADER_BYTES), crc);
  if (isDamage(header)) throw new Error(`the file header is damaged (${header.kind}: ${header.detail}); without its salt nothing can be told intact`);
  const sum = new Checksummer(crc, header.salt);
  const batches: SalvagedRecord[][] = [];
  const skipped: SkippedRange[] = [];
  let last = header.baseSequence;
  for (let at = FILE_HEADER_BYTES; at < bytes.length; ) {
    const batch = batchAt(bytes, at, sum, last, recordBytesMax);
    if (batch !== null) {
      batches.push(batch.records);
      last = batch.records.at(-1)!.sequence;
      at = batch.end;
      continue;
    }
    if (isZeroFrom(bytes, at)) break;
    const next = nextBatch(bytes, at + 1, sum, last, recordBytesMax);
    skipped.push({ offset: at, bytes: (next ?? bytes.length) - at, after: last, before: next === null ? null : sequenceAt(bytes, next) });
    if (next === null) break;
    at = next;
  }
  return { header, batches, skipped };
}

/** The first offset at or after `from` where an intact batch starts, or null. */
function nextBatch(bytes: Uint8Array, from: number, sum: Checksummer, last: number, recordBytesMax: number): number | null {
  for (let at = bytes.indexOf(RECORD_MAGIC_0, from); at >= 0; at = bytes.indexOf(RECORD_MAGIC_0, at + 1)) {
    if (bytes[at + 1] !== RECORD_MAGIC_1 || bytes[at + 3] !== RecordKind.data) continue;
    if (batchAt(bytes, at, sum, last, recordBytesMax) !== null) return at;
  }
  return null;
}

/** The sequence field of the record header at `at`. */
function sequenceAt(bytes: Uint8Array, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_HEADER_BYTES);
  return view.getUint32(12, true) * 0x1_0000_0000 + view.getUint32(8, true);
}

/**
 * The batch starting at `at` if it is intact: data records whose header checksums
 * match and whose sequences rise above `last`, closed by a commit that
 * describes them and whose batch checksum matches. Else null.
 */
function batchAt(bytes: Uint8Array, at: number, sum: Checksummer, last: number, recordBytesMax: number): { records: SalvagedRecord[]; end: number } | null {
  const records: SalvagedRecord[] = [];
  let sequence = last;
  for (let frame = at; ; ) {
    const head = decodeRecordHeader(bytes.subarray(frame, frame + RECORD_HEADER_BYTES), sum, recordBytesMax);
    if (isDamage(head)) return null;
    if (head.kind === RecordKind.commit) {
      const found = decodeCommitRecord(bytes.subarray(frame, frame + COMMIT_RECORD_BYTES), sum);
      if (found === null || records.length === 0 || found.sequence !== sequence) return null;
      const { commit } = found;
      if (commit.batchStart !== at || commit.commitOffset !== frame || commit.records !== records.length) return null;
      if (commit.batchCrc !== sum.of(bytes.subarray(at, frame))) return null;
      return { records, end: frame + COMMIT_RECORD_BYTES };
    }
    const end = frame + RECORD_HEADER_BYTES + head.payloadBytes;
    if (head.kind !== RecordKind.data || end > bytes.length || head.sequence <= sequence) return null;
    records.push({ sequence: head.sequence, timeMs: head.timeMs, payload: bytes.subarray(frame + RECORD_HEADER_BYTES, end) });
    sequence = head.sequence;
    frame = end;
  }
}

/** Whether every byte from `from` on is zero. */
function isZeroFrom(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
