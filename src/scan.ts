/**
 * The decoder: walks a log file from its header to its end, checking every
 * frame, every checksum, the sequence order and every commit against its
 * batch, with memory bounded by the largest record. Damage is classified as
 * in docs/FORMAT.md: a torn tail (what a crash can leave after the last
 * durable commit) is returned to the caller; anything else throws
 * {@link WalCorruptionError}.
 *
 * @module
 */

import { ChunkReader } from "./chunk-reader.ts";
import type { Crc32 } from "./crc32.ts";
import { type Corruption, type CorruptionKind, WalCorruptionError } from "./errors.ts";
import {
  Checksummer,
  COMMIT_PAYLOAD_BYTES,
  COMMIT_RECORD_BYTES,
  decodeCommitPayload,
  decodeFileHeader,
  decodeRecordHeader,
  FILE_HEADER_BYTES,
  type FileHeader,
  type FrameDamage,
  isDamage,
  isTearable,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC_0,
  RECORD_MAGIC_1,
  type RecordHeader,
  RecordKind,
} from "./format.ts";
import type { FileHandle } from "./fs.ts";

/** A data record as the scan meets it. */
export interface ScannedRecord {
  /** Offset of the record's header. */
  readonly offset: number;
  /** The record's sequence. */
  readonly sequence: number;
  /** When it was appended, milliseconds since the epoch. */
  readonly timeMs: number;
  /** The payload; a view valid only until the scan continues. */
  readonly payload: Uint8Array;
}

/** What the scan learned about the file as a whole. */
export interface ScanEnd {
  /** The file header. */
  readonly header: FileHeader;
  /** Checksums salted for this file. */
  readonly checksummer: Checksummer;
  /** Size of the file when the scan started. */
  readonly fileBytes: number;
  /** End of the last intact record: where the next record goes. */
  readonly endOffset: number;
  /** End of the last commit (or of the file header). */
  readonly committedEnd: number;
  /** Sequence of the last intact data record, or the base sequence. */
  readonly lastSequence: number;
  /** Intact data records after the last commit. */
  readonly pendingRecords: number;
  /** Time of the first intact data record, or -1 when none. */
  readonly firstTimeMs: number;
  /** Time of the last intact data record, or -1 when none. */
  readonly lastTimeMs: number;
  /** Count of intact data records. */
  readonly records: number;
  /** Damage after the last durable commit (from `endOffset` to the end), or null. */
  readonly tail: Corruption | null;
}

/** Scan parameters. */
export interface ScanOptions {
  /** File name for diagnostics. */
  readonly path: string;
  /** Largest payload accepted. */
  readonly recordBytesMax: number;
  /** CRC-32 implementation. */
  readonly crc: Crc32;
}

/**
 * Scans `file` (of `fileBytes` bytes), yielding its intact data records in
 * order, in batches, and returning what it found. A batch holds the records
 * read from the buffer between two refills, so the event loop is paid once
 * per refill, not once per record; its payload views are valid until the
 * scan is resumed. Every record before any damage is yielded before the scan
 * throws {@link WalCorruptionError} (damage that is not a torn tail, or a
 * damaged file header) or returns the torn tail.
 */
export async function* scanLog(
  file: FileHandle,
  fileBytes: number,
  options: ScanOptions,
): AsyncGenerator<readonly ScannedRecord[], ScanEnd, void> {
  const { path, recordBytesMax } = options;
  const reader = new ChunkReader(file, fileBytes, RECORD_HEADER_BYTES + recordBytesMax);
  const fail = (kind: CorruptionKind, offset: number, detail: string): never => {
    throw new WalCorruptionError({ kind, offset, path, detail });
  };

  const decoded = decodeFileHeader(await reader.view(0, FILE_HEADER_BYTES), options.crc);
  if (isDamage(decoded)) return fail(decoded.kind, 0, decoded.detail);
  const header = decoded;
  const sum = new Checksummer(options.crc, header.salt);

  let offset = FILE_HEADER_BYTES;
  let committedEnd = FILE_HEADER_BYTES;
  let lastSequence = header.baseSequence;
  let pendingRecords = 0;
  let records = 0;
  let firstTimeMs = -1;
  let lastTimeMs = -1;
  let tail: Corruption | null = null;
  let batch: ScannedRecord[] = [];

  while (offset < fileBytes) {
    // A refill invalidates the batch's payload views: hand the batch over first.
    if (batch.length > 0 && !reader.isBuffered(offset, frameBytesHint(reader, offset, recordBytesMax))) {
      yield batch;
      batch = [];
    }
    const pending = readFrame(reader, offset, sum, recordBytesMax);
    const read = pending instanceof Promise ? await pending : pending;
    if (isDamage(read)) {
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
      if (!isTearable(read.kind)) return fail(read.kind, offset, read.detail);
      const later = await findCommitAfter(reader, offset + 1, sum);
      if (later !== null) {
        const shifted = later.offset === later.commitOffset ? "" : ` (it names offset ${later.commitOffset}: durable data is shifted by ${later.offset - later.commitOffset} bytes)`;
        return fail(read.kind, offset, `${read.detail}; a valid commit at ${later.offset} follows${shifted}, so this is damage to durable data`);
      }
      tail = (await isZeroFrom(reader, offset))
        ? { kind: "zeroed-tail", offset, path, detail: `${fileBytes - offset} zero bytes to end of file` }
        : { kind: read.kind, offset, path, detail: `${read.detail}; nothing durable follows (torn tail)` };
      break;
    }

    const { frame, payload } = read;
    if (frame.kind === RecordKind.data) {
      if (frame.sequence <= lastSequence) {
        if (batch.length > 0) yield batch;
        return fail("sequence-violation", offset, `sequence ${frame.sequence} after ${lastSequence}`);
      }
      lastSequence = frame.sequence;
      pendingRecords++;
      records++;
      if (firstTimeMs < 0) firstTimeMs = frame.timeMs;
      lastTimeMs = frame.timeMs;
      batch.push({ offset, sequence: frame.sequence, timeMs: frame.timeMs, payload });
    } else {
      const commit = decodeCommitPayload(payload);
      const expected = `batch start ${committedEnd}, offset ${offset}, ${pendingRecords} records, sequence ${lastSequence}`;
      if (
        commit === null ||
        commit.batchStart !== committedEnd ||
        commit.commitOffset !== offset ||
        commit.recordCount !== pendingRecords ||
        pendingRecords === 0 ||
        frame.sequence !== lastSequence
      ) {
        const got = commit === null ? "malformed payload" : `batch start ${commit.batchStart}, offset ${commit.commitOffset}, ${commit.recordCount} records, sequence ${frame.sequence}`;
        if (batch.length > 0) yield batch;
        return fail("sequence-violation", offset, `commit does not match its batch: expected ${expected}; found ${got}`);
      }
      committedEnd = offset + COMMIT_RECORD_BYTES;
      pendingRecords = 0;
    }
    offset += RECORD_HEADER_BYTES + frame.payloadBytes;
  }
  if (batch.length > 0) yield batch;

  return {
    header,
    checksummer: sum,
    fileBytes,
    endOffset: offset,
    committedEnd,
    lastSequence,
    pendingRecords,
    records,
    firstTimeMs,
    lastTimeMs,
    tail,
  };
}

/**
 * How many bytes the frame at `offset` probably spans, from its (unchecked)
 * length field when the header is buffered: only used to decide whether
 * reading it will refill the buffer.
 */
function frameBytesHint(reader: ChunkReader, offset: number, recordBytesMax: number): number {
  if (!reader.isBuffered(offset, RECORD_HEADER_BYTES)) return RECORD_HEADER_BYTES;
  const head = reader.view(offset, RECORD_HEADER_BYTES) as Uint8Array;
  if (head.length < RECORD_HEADER_BYTES) return RECORD_HEADER_BYTES;
  const length = (head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24)) >>> 0;
  return RECORD_HEADER_BYTES + Math.min(length, recordBytesMax);
}

/** A frame that passed every frame-level check. */
interface FrameRead {
  readonly frame: RecordHeader;
  readonly payload: Uint8Array;
}

/**
 * Reads and checks the frame at `offset`: header, then payload and its CRC.
 * Synchronous when the bytes are buffered (the common case), so a scan pays
 * for the event loop only once per refill, not once per record.
 */
function readFrame(
  reader: ChunkReader,
  offset: number,
  sum: Checksummer,
  recordBytesMax: number,
): FrameRead | FrameDamage | Promise<FrameRead | FrameDamage> {
  const afterHeader = (head: Uint8Array): FrameRead | FrameDamage | Promise<FrameRead | FrameDamage> => {
    const frame = decodeRecordHeader(head, sum, recordBytesMax);
    if (isDamage(frame)) return frame;
    const whole = reader.view(offset, RECORD_HEADER_BYTES + frame.payloadBytes);
    return whole instanceof Uint8Array ? checkPayload(frame, whole, sum) : whole.then((w) => checkPayload(frame, w, sum));
  };
  const head = reader.view(offset, RECORD_HEADER_BYTES);
  return head instanceof Uint8Array ? afterHeader(head) : head.then(afterHeader);
}

function checkPayload(frame: RecordHeader, whole: Uint8Array, sum: Checksummer): FrameRead | FrameDamage {
  const payload = whole.subarray(RECORD_HEADER_BYTES);
  if (payload.length < frame.payloadBytes) {
    return { kind: "partial-payload", detail: `${payload.length} of ${frame.payloadBytes} payload bytes` };
  }
  if (sum.of(payload) !== frame.payloadCrc) return { kind: "checksum-mismatch", detail: "payload CRC does not match" };
  return { frame, payload };
}

/**
 * The first valid commit record at or after `from` (where it is, and the
 * offset it names for itself), or null. Valid means both salted CRCs match:
 * only this file's writer produces that, and only after the bytes before it
 * were durable. A commit found away from the offset it names means durable
 * data was shifted (bytes inserted or removed): still durable data, still
 * fatal, never a torn tail.
 */
async function findCommitAfter(
  reader: ChunkReader,
  from: number,
  sum: Checksummer,
): Promise<{ offset: number; commitOffset: number } | null> {
  const end = reader.fileBytes;
  let base = from;
  while (base + COMMIT_RECORD_BYTES <= end) {
    const window = await reader.view(base, 1024 * 1024);
    const last = window.length - COMMIT_RECORD_BYTES;
    for (let i = window.indexOf(RECORD_MAGIC_0); i >= 0 && i <= last; i = window.indexOf(RECORD_MAGIC_0, i + 1)) {
      if (window[i + 1] !== RECORD_MAGIC_1) continue;
      const commitOffset = commitAt(window.subarray(i, i + COMMIT_RECORD_BYTES), sum);
      if (commitOffset !== null) return { offset: base + i, commitOffset };
    }
    base += last + 1;
  }
  return null;
}

/** The offset a valid commit record in `bytes` names for itself, or null if `bytes` is not one. */
function commitAt(bytes: Uint8Array, sum: Checksummer): number | null {
  const frame = decodeRecordHeader(bytes.subarray(0, RECORD_HEADER_BYTES), sum, COMMIT_PAYLOAD_BYTES);
  if (isDamage(frame) || frame.kind !== RecordKind.commit) return null;
  const payload = bytes.subarray(RECORD_HEADER_BYTES, COMMIT_RECORD_BYTES);
  if (sum.of(payload) !== frame.payloadCrc) return null;
  return decodeCommitPayload(payload)?.commitOffset ?? null;
}

async function isZeroFrom(reader: ChunkReader, from: number): Promise<boolean> {
  for (let base = from; base < reader.fileBytes; ) {
    const window = await reader.view(base, 1024 * 1024);
    for (let i = 0; i < window.length; i++) if (window[i] !== 0) return false;
    base += window.length;
  }
  return true;
}
