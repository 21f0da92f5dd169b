/**
 * The scan's slow path, for a batch whose first pass failed: checks it frame
 * by frame to find the first damaged byte, then decides, as docs/FORMAT.md
 * says, whether a crash explains it.
 *
 * A batch is written whole (its records and its commit in one write) and
 * only after the fsync of every batch before it returned. So a valid commit
 * record of a *later* batch anywhere after the damage proves the damaged
 * bytes were durable: that is bit rot or an outside write, fatal under every
 * policy. Damage with no valid commit after it, or followed only by the
 * damaged batch's own commit, is what a crash leaves in the final batch: a
 * torn tail, cut from the batch's start.
 *
 * @module
 */

import { assert } from "../assert.ts";
import { type Corruption, WalCorruptionError } from "../errors.ts";
import {
  type Checksummer,
  COMMIT_RECORD_BYTES,
  commitPayloadIntact,
  decodeCommitPayload,
  decodeCommitRecord,
  decodeRecordHeader,
  type FrameDamage,
  isDamage,
  type RecordHeader,
  isTearable,
  RECORD_HEADER_BYTES,
  RECORD_KIND_AT,
  RECORD_MAGIC_0,
  RECORD_MAGIC_1,
  RecordKind,
} from "../format/frame.ts";
import type { ChunkReader } from "./chunk-reader.ts";

/** Bytes searched per window when looking for a later commit or for non-zero bytes. */
const SEARCH_WINDOW_BYTES = 1024 * 1024;

/** The first damage in a batch, and where it is. */
interface Damage extends FrameDamage {
  readonly offset: number;
}

/**
 * Where and how the batch at `start` is damaged, as the torn tail
 * `[start, end of file)` a crash can leave; null when every byte from
 * `start` on is zero (space the writer preallocated: the log ends at
 * `start`). Throws {@link WalCorruptionError} when no crash explains the
 * damage. `lastSequence` is the sequence before the batch.
 */
export async function classifyDamage(
  reader: ChunkReader,
  start: number,
  checksummer: Checksummer,
  lastSequence: number,
  path: string,
  recordBytesMax: number,
): Promise<Corruption | null> {
  if (await isZeroFrom(reader, start)) return null;
  const damage = await firstDamage(reader, start, checksummer, lastSequence, recordBytesMax);
  const fatal = (detail: string): never => {
    throw new WalCorruptionError({ kind: damage.kind, offset: damage.offset, path, detail });
  };
  if (!isTearable(damage.kind)) fatal(damage.detail);
  let later = await findCommitAfter(reader, damage.offset + 1, checksummer);
  if (later !== null && later.batchStart === start && later.offset === later.commitOffset) {
    // The damaged batch's own commit: only a commit after it proves the batch was durable.
    later = await findCommitAfter(reader, later.offset + 1, checksummer);
  }
  if (later !== null) {
    const shift = later.offset - later.commitOffset;
    const shifted = shift === 0 ? "" : ` (it names offset ${later.commitOffset}: durable data is shifted by ${shift} bytes)`;
    fatal(`${damage.detail}; a valid commit of a later batch at ${later.offset} follows${shifted}, so this is damage to durable data`);
  }
  const tailBytes = reader.fileBytes - start;
  const where = damage.offset === start ? "" : ` at ${damage.offset}`;
  return {
    kind: damage.offset === start ? damage.kind : "torn-batch",
    offset: start,
    path,
    detail: `${damage.detail}${where}; nothing durable follows, so the last batch (${tailBytes} bytes) is a torn tail`,
  };
}

/**
 * Walks the batch at `start` checking every frame (header checksums, the
 * fields, sequences, the commit against its batch, then the batch checksum)
 * and returns the first problem; damage only the batch checksum sees is
 * reported at the batch's start. A batch with no problem is a bug in the first pass.
 */
async function firstDamage(reader: ChunkReader, start: number, checksummer: Checksummer, lastSequence: number, recordBytesMax: number): Promise<Damage> {
  let sequence = lastSequence;
  let records = 0;
  let batchCrc = checksummer.seed;
  for (let at = start; ; ) {
    if (at >= reader.fileBytes) {
      return { offset: at, kind: "torn-batch", detail: `${records} whole records with no commit record after them` };
    }
    const read = await readFrame(reader, at, checksummer, recordBytesMax);
    if (isDamage(read)) return { offset: at, ...read };
    const { kind, payloadBytes } = read.header;
    if (kind === RecordKind.data) {
      if (read.header.sequence <= sequence) {
        return { offset: at, kind: "sequence-violation", detail: `sequence ${read.header.sequence} after ${sequence}` };
      }
      sequence = read.header.sequence;
      records++;
      batchCrc = checksummer.extend(batchCrc, read.frame);
      at += RECORD_HEADER_BYTES + payloadBytes;
      continue;
    }
    const commit = decodeCommitPayload(read.frame.subarray(RECORD_HEADER_BYTES));
    const namesThisBatch =
      commit !== null &&
      records > 0 &&
      commit.batchStart === start &&
      commit.commitOffset === at &&
      commit.records === records &&
      read.header.sequence === sequence;
    if (!namesThisBatch) {
      const found =
        commit === null
          ? "a malformed payload"
          : `batch start ${commit.batchStart}, offset ${commit.commitOffset}, ${commit.records} records, sequence ${read.header.sequence}`;
      const expected = `batch start ${start}, offset ${at}, ${records} records, sequence ${sequence}`;
      return { offset: at, kind: "sequence-violation", detail: `commit does not match its batch: expected ${expected}; found ${found}` };
    }
    assert(commit.batchCrc !== batchCrc, `the batch at ${start} of ${reader.fileBytes} bytes failed its first pass but checks out frame by frame`);
    // Data payloads have no checksum of their own: the damage is somewhere in the batch's records.
    return { offset: start, kind: "checksum-mismatch", detail: `the batch CRC in the commit at ${at} does not match its ${records} records` };
  }
}

/** A frame whose checksums and fields passed: its header, and its bytes (valid until the reader moves). */
interface FrameRead {
  readonly header: RecordHeader;
  readonly frame: Uint8Array;
}

/** Reads and checks the frame at `at`: the header, then the payload (and a commit's payload checksum). */
async function readFrame(reader: ChunkReader, at: number, checksummer: Checksummer, recordBytesMax: number): Promise<FrameRead | FrameDamage> {
  const header = decodeRecordHeader(await reader.view(at, RECORD_HEADER_BYTES), checksummer, recordBytesMax);
  if (isDamage(header)) return header;
  const frame = await reader.view(at, RECORD_HEADER_BYTES + header.payloadBytes);
  if (frame.length < RECORD_HEADER_BYTES + header.payloadBytes) {
    return { kind: "partial-payload", detail: `${frame.length - RECORD_HEADER_BYTES} of ${header.payloadBytes} payload bytes` };
  }
  if (header.kind === RecordKind.commit && !commitPayloadIntact(header, frame.subarray(RECORD_HEADER_BYTES), checksummer)) {
    return { kind: "checksum-mismatch", detail: "commit payload CRC does not match" };
  }
  return { header, frame };
}

/** A valid commit record found by searching: where it is, and what it says about itself. */
interface CommitFound {
  readonly offset: number;
  readonly commitOffset: number;
  readonly batchStart: number;
}

/**
 * The first valid commit record at or after `from`, or null. Valid means
 * both salted checksums match: only this file's writer produces that. A
 * commit found away from the offset it names means durable data was shifted
 * (bytes inserted or removed).
 */
async function findCommitAfter(reader: ChunkReader, from: number, checksummer: Checksummer): Promise<CommitFound | null> {
  const end = reader.fileBytes;
  let windowStart = from;
  while (windowStart + COMMIT_RECORD_BYTES <= end) {
    const window = await reader.view(windowStart, SEARCH_WINDOW_BYTES);
    if (window.length < COMMIT_RECORD_BYTES) return null; // the file shrank under a reader: a writer cut its preallocated space
    const lastCommitIndex = window.length - COMMIT_RECORD_BYTES;
    for (let i = window.indexOf(RECORD_MAGIC_0); i >= 0 && i <= lastCommitIndex; i = window.indexOf(RECORD_MAGIC_0, i + 1)) {
      if (window[i + 1] !== RECORD_MAGIC_1 || window[i + RECORD_KIND_AT] !== RecordKind.commit) continue;
      const found = decodeCommitRecord(window.subarray(i, i + COMMIT_RECORD_BYTES), checksummer);
      if (found !== null) return { offset: windowStart + i, commitOffset: found.commit.commitOffset, batchStart: found.commit.batchStart };
    }
    windowStart += lastCommitIndex + 1;
  }
  return null;
}

/** Whether every byte from `from` to the end of the file is zero. */
async function isZeroFrom(reader: ChunkReader, from: number): Promise<boolean> {
  for (let windowStart = from; windowStart < reader.fileBytes; ) {
    const window = await reader.view(windowStart, SEARCH_WINDOW_BYTES);
    if (window.length === 0) return true; // the file shrank under a reader: a writer cut its preallocated space
    for (let i = 0; i < window.length; i++) if (window[i] !== 0) return false;
    windowStart += window.length;
  }
  return true;
}
