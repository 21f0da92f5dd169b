/**
 * Encoding and decoding of the frames described in docs/FORMAT.md: the file
 * header and the record (data or commit) header. Pure functions over bytes;
 * no I/O. Validation that needs context (sequence order, commits matching
 * their batch, torn-tail classification) lives in `scan.ts`.
 *
 * @module
 */

import { assert } from "../assert.ts";
import type { CorruptionKind } from "../errors.ts";
import { type Crc32, crc32 as crc32Portable } from "./crc32.ts";

/** The file header: magic, version, size, flags, salt, base sequence, log id, link, CRC; records start after it. */
export const FILE_HEADER_BYTES = 64;
/** A record header: magic, version, kind, payload length, sequence, time, payload CRC (commits only), header CRC. */
export const RECORD_HEADER_BYTES = 32;
/** Where a record header's version byte is (the two magic bytes come first). */
export const RECORD_VERSION_AT = 2;
/** Where a record header's kind byte is. */
export const RECORD_KIND_AT = 3;
/** Where a record header's payload length (u32) is. */
export const RECORD_PAYLOAD_BYTES_AT = 4;
/** Where a record header's sequence (u64) is. */
export const RECORD_SEQUENCE_AT = 8;
/** Where a record header's time in milliseconds (u64) is. */
export const RECORD_TIME_AT = 16;
/** Where a commit record's payload CRC (u32) is; zero in a data record, whose payload its batch's CRC covers. */
export const RECORD_PAYLOAD_CRC_AT = 24;
/** Where a record header's own CRC (u32) is: it covers every header byte before it. */
export const RECORD_HEADER_CRC_AT = 28;
/** A commit payload: batch start, commit offset, record count, batch CRC. */
export const COMMIT_PAYLOAD_BYTES = 24;
/** A commit record, header and payload: what every batch ends with. */
export const COMMIT_RECORD_BYTES = RECORD_HEADER_BYTES + COMMIT_PAYLOAD_BYTES;
/** The only format version this build reads and writes (file and record). */
export const FORMAT_VERSION = 3;
/** `maxRecordBytes` when the options leave it out. */
export const RECORD_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** The largest `maxRecordBytes` accepted: what the u32 payload length field holds. */
export const RECORD_BYTES_MAX_LIMIT = 0xffff_ffff;
/** Size of the file's salt, and of the link to the previous segment's salt. */
export const SALT_BYTES = 8;
/** Size of the log id, random and the same in every segment of one segmented log. */
export const LOG_ID_BYTES = 16;

/** A log file's first bytes: `\x89WAL\r\n\x1a\n`. */
const FILE_MAGIC: readonly number[] = [0x89, 0x57, 0x41, 0x4c, 0x0d, 0x0a, 0x1a, 0x0a];
/** First byte of every record header (`W` of `WR`). */
export const RECORD_MAGIC_0 = 0x57;
/** Second byte of every record header (`R` of `WR`). */
export const RECORD_MAGIC_1 = 0x52;

/** The record header's kind byte: a data record holds a payload, a commit record ends a batch. */
export const RecordKind = { data: 1, commit: 2 } as const;
/** A record kind value. */
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

const TWO_32 = 0x1_0000_0000;

/**
 * Writes a non-negative safe integer as u64 little-endian. `>>> 0` is the
 * value modulo 2^32 for any integer, and cheaper than a floating-point `%`
 * (about 10 ns a record, two fields each).
 */
export function setU64(view: DataView, at: number, value: number): void {
  const low = value >>> 0;
  view.setUint32(at, low, true);
  view.setUint32(at + 4, (value - low) / TWO_32, true);
}

/*
 * Fields are read byte by byte from the array rather than through a
 * DataView. On Bun (JavaScriptCore), in a process that had not written a log
 * first, a scan's DataView reads left optimized code on every call (hundreds
 * of thousands of "uncountable" speculation failures per open, which never
 * trigger a recompile). Opening in a fresh Bun process, medians: batches of
 * 1,000 692–831 MB/s with a DataView, 2,002–2,248 with these readers;
 * one-record batches 270–292, 743–784. On Node and Deno (V8) they cost
 * 9–13% of an open's speed (Node 1,503 → 1,363 MB/s batched, 621 → 547 one-
 * record; Deno 2,629 → 2,279 and 914 → 825, paired runs). Writes keep
 * using a DataView.
 */

/** Reads a u16 little-endian at `bytes[at]`. */
export function getU16(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8);
}

/** Reads a u32 little-endian at `bytes[at]`. */
export function getU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/**
 * Reads a u64 little-endian at `bytes[at]`; returns -1 if it exceeds
 * 2^53 − 1. A value under 2^32 is returned as the low word itself, not as
 * `0 * 2^32 + low`: V8 keeps the latter a double, and a file offset stored
 * as a double changes the shape of the objects holding offsets (a scan's
 * chunk reader), which threw the scan's optimized code away at the first
 * refill (`--trace-deopt`: "wrong map").
 */
export function getU64(bytes: Uint8Array, at: number): number {
  const high = getU32(bytes, at + 4);
  if (high >= 0x20_0000) return -1;
  const low = getU32(bytes, at);
  return high === 0 ? low : high * TWO_32 + low;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Offset of the file header's CRC: it covers every byte before it. */
const FILE_HEADER_CRC_AT = FILE_HEADER_BYTES - 4;
const FILE_VERSION_AT = 8;
const FILE_HEADER_BYTES_AT = 10;
const FILE_FLAGS_AT = 12;
const FILE_RESERVED_AT = 56;
const FILE_SALT_AT = 16;
const FILE_BASE_SEQUENCE_AT = 24;
const FILE_LOG_ID_AT = 32;
const FILE_LINK_AT = 48;

/** The file header's variable fields. */
export interface FileHeader {
  /** Random bytes mixed into every record checksum. */
  readonly salt: Uint8Array;
  /** Every record's sequence is greater than this. */
  readonly baseSequence: number;
  /** Random, shared by every segment of one segmented log (16 bytes); zeros in a single-file log. */
  readonly logId: Uint8Array;
  /** The salt of the segment before this one in its log (8 bytes); zeros for a log's first file. */
  readonly link: Uint8Array;
}

/**
 * The 64 bytes of a file header, checked by decoding them back. The caller
 * validated the fields: a salt, link or log id of the wrong size, or a base
 * sequence that is not a safe integer, is a bug.
 */
export function encodeFileHeader(header: FileHeader, crc: Crc32): Uint8Array {
  assert(header.salt.length === SALT_BYTES && header.link.length === SALT_BYTES, "salt and link are 8 bytes");
  assert(header.logId.length === LOG_ID_BYTES, "a log id is 16 bytes");
  const bytes = new Uint8Array(FILE_HEADER_BYTES);
  const view = viewOf(bytes);
  bytes.set(FILE_MAGIC, 0);
  view.setUint16(FILE_VERSION_AT, FORMAT_VERSION, true);
  view.setUint16(FILE_HEADER_BYTES_AT, FILE_HEADER_BYTES, true);
  bytes.set(header.salt, FILE_SALT_AT);
  setU64(view, FILE_BASE_SEQUENCE_AT, header.baseSequence);
  bytes.set(header.logId, FILE_LOG_ID_AT);
  bytes.set(header.link, FILE_LINK_AT);
  view.setUint32(FILE_HEADER_CRC_AT, crc(bytes.subarray(0, FILE_HEADER_CRC_AT), 0), true);
  const decoded = decodeFileHeader(bytes, crc);
  assert(
    !isDamage(decoded) &&
      decoded.baseSequence === header.baseSequence &&
      sameBytes(decoded.salt, header.salt) &&
      sameBytes(decoded.logId, header.logId) &&
      sameBytes(decoded.link, header.link),
    "a file header decodes to the fields it was encoded from",
  );
  return bytes;
}

/** True when `a` and `b` hold the same bytes (salts, links, log ids). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** A frame-level problem, before the scan knows its offset. */
export interface FrameDamage {
  /** What the scan reports it as. */
  readonly kind: CorruptionKind;
  /** What was found where something else was expected, for the diagnostic. */
  readonly detail: string;
}

/**
 * Decodes a file header from the first bytes of a file (`bytes` may be shorter
 * than the header when the file is). Returns the header or what is wrong.
 */
export function decodeFileHeader(bytes: Uint8Array, crc: Crc32): FileHeader | FrameDamage {
  for (let i = 0; i < FILE_MAGIC.length && i < bytes.length; i++) {
    if (bytes[i] !== FILE_MAGIC[i]) return { kind: "bad-magic", detail: "not a log file (file magic differs)" };
  }
  if (bytes.length < FILE_HEADER_BYTES) {
    return { kind: "partial-header", detail: `file has ${bytes.length} of ${FILE_HEADER_BYTES} header bytes` };
  }
  const stored = getU32(bytes, FILE_HEADER_CRC_AT);
  const computed = crc(bytes.subarray(0, FILE_HEADER_CRC_AT), 0);
  if (stored !== computed) {
    return { kind: "checksum-mismatch", detail: `file header CRC ${hex(stored)} != computed ${hex(computed)}` };
  }
  const version = getU16(bytes, FILE_VERSION_AT);
  if (version !== FORMAT_VERSION) {
    return { kind: "unsupported-version", detail: `file format version ${version}; this build reads ${FORMAT_VERSION}` };
  }
  const headerBytes = getU16(bytes, FILE_HEADER_BYTES_AT);
  const flags = getU32(bytes, FILE_FLAGS_AT);
  const reserved = getU32(bytes, FILE_RESERVED_AT);
  const baseSequence = getU64(bytes, FILE_BASE_SEQUENCE_AT);
  if (headerBytes !== FILE_HEADER_BYTES || flags !== 0 || reserved !== 0 || baseSequence < 0) {
    return {
      kind: "bad-header",
      detail: `file header fields out of range (size ${headerBytes}, flags ${flags}, reserved ${reserved})`,
    };
  }
  return {
    salt: bytes.slice(FILE_SALT_AT, FILE_SALT_AT + SALT_BYTES),
    baseSequence,
    logId: bytes.slice(FILE_LOG_ID_AT, FILE_LOG_ID_AT + LOG_ID_BYTES),
    link: bytes.slice(FILE_LINK_AT, FILE_LINK_AT + SALT_BYTES),
  };
}

/**
 * Salted checksums for one file: CRC-32 of the salt followed by the bytes.
 * The salt's CRC state is computed once. Inputs below
 * {@link NATIVE_CRC_MIN_BYTES} go to the portable table, which is faster
 * there than a native call (measured on Node and Deno); both give the same
 * value.
 */
export class Checksummer {
  readonly #crc: Crc32;
  readonly #seed: number;
  /** `crc` computes longer inputs (a runtime's native CRC-32 or the portable one); `salt` is the file's. */
  constructor(crc: Crc32, salt: Uint8Array) {
    this.#crc = crc;
    this.#seed = crc32Portable(salt, 0);
  }

  /** Salted CRC-32 of `bytes`. */
  of(bytes: Uint8Array): number {
    return this.extend(this.#seed, bytes);
  }

  /** The salted CRC-32 of nothing: the state {@link extend} starts a running checksum from. */
  get seed(): number {
    return this.#seed;
  }

  /** Salted CRC-32 of `bytes[start, end)`, without a view object when short. */
  ofRange(bytes: Uint8Array, start: number, end: number): number {
    return end - start < NATIVE_CRC_MIN_BYTES ? crc32Portable(bytes, this.#seed, start, end) : this.#crc(bytes.subarray(start, end), this.#seed);
  }

  /** Continues the running salted checksum `state` over `bytes` (`extend(extend(seed, a), b)` = CRC of a ++ b). */
  extend(state: number, bytes: Uint8Array): number {
    return bytes.length < NATIVE_CRC_MIN_BYTES ? crc32Portable(bytes, state) : this.#crc(bytes, state);
  }
}

/** Inputs shorter than this are checksummed in TypeScript even when a native CRC is available. */
const NATIVE_CRC_MIN_BYTES = 256;

/** The fields of a record header whose own checksum matched. */
export interface RecordHeader {
  /** Data or commit. */
  readonly kind: RecordKind;
  /** Bytes of payload after the header (24 for a commit). */
  readonly payloadBytes: number;
  /** A data record's sequence; a commit's is its batch's last record's. */
  readonly sequence: number;
  /** When the record was appended (a commit: committed), milliseconds since the epoch. */
  readonly timeMs: number;
  /** A commit's payload CRC as stored, not yet compared with the payload (zero for a data record). */
  readonly payloadCrc: number;
}

/**
 * Encodes the header of the commit record at `target[at]` whose payload is
 * already in place after it (`view` is a DataView over all of `target`),
 * with the payload's checksum and its own, and returns the frame's size.
 * The caller reserved room for the frame.
 */
export function encodeCommitHeader(target: Uint8Array, view: DataView, at: number, sequence: number, timeMs: number, checksummer: Checksummer): number {
  const frameBytes = encodeRecordFields(target, view, at, RecordKind.commit, sequence, timeMs, COMMIT_PAYLOAD_BYTES);
  view.setUint32(at + RECORD_PAYLOAD_CRC_AT, checksummer.ofRange(target, at + RECORD_HEADER_BYTES, at + frameBytes), true);
  checksumRecordHeader(target, view, at, checksummer);
  return frameBytes;
}

/**
 * Encodes the header of the record at `target[at]` whose payload of
 * `payloadBytes` is already in place after it, all but its two CRCs, which
 * are left zero; returns the frame's size. A data record's payload CRC stays
 * zero: its batch's CRC covers its payload (docs/FORMAT.md); a commit's is
 * set by {@link encodeCommitHeader}.
 * A batch checksums its data records' headers together when it is sealed
 * ({@link checksumRecordHeaders}), in one loop that keeps the CRC tables in
 * cache, rather than one at a time between encoding values (awaited bulk
 * appends: +5.3% on Deno, +3.4% on Bun, +1.2% on Node, medians of 20
 * paired runs). The caller reserved room for the frame.
 */
export function encodeRecordFields(
  target: Uint8Array,
  view: DataView,
  at: number,
  kind: RecordKind,
  sequence: number,
  timeMs: number,
  payloadBytes: number,
): number {
  assert(at + RECORD_HEADER_BYTES + payloadBytes <= target.length, "a record is encoded only where its frame fits");
  target[at] = RECORD_MAGIC_0;
  target[at + 1] = RECORD_MAGIC_1;
  target[at + RECORD_VERSION_AT] = FORMAT_VERSION;
  target[at + RECORD_KIND_AT] = kind;
  view.setUint32(at + RECORD_PAYLOAD_BYTES_AT, payloadBytes, true);
  setU64(view, at + RECORD_SEQUENCE_AT, sequence);
  setU64(view, at + RECORD_TIME_AT, timeMs);
  view.setUint32(at + RECORD_PAYLOAD_CRC_AT, 0, true);
  view.setUint32(at + RECORD_HEADER_CRC_AT, 0, true);
  return RECORD_HEADER_BYTES + payloadBytes;
}

/** Stores the CRC of the record header at `target[at]` over the bytes before it. */
function checksumRecordHeader(target: Uint8Array, view: DataView, at: number, checksummer: Checksummer): void {
  view.setUint32(at + RECORD_HEADER_CRC_AT, checksummer.ofRange(target, at, at + RECORD_HEADER_CRC_AT), true);
}

/**
 * Fills in the header CRCs of the `records` frames that {@link encodeRecordFields}
 * laid end to end in `target[0, end)`, following their payload lengths, and
 * asserts that they end exactly at `end`.
 */
export function checksumRecordHeaders(target: Uint8Array, view: DataView, end: number, records: number, checksummer: Checksummer): void {
  let at = 0;
  for (let record = 0; record < records; record++) {
    assert(at + RECORD_HEADER_BYTES <= end, "the records of a batch lie within it");
    checksumRecordHeader(target, view, at, checksummer);
    at += RECORD_HEADER_BYTES + getU32(target, at + RECORD_PAYLOAD_BYTES_AT);
  }
  assert(at === end, "the records of a batch end where the batch does");
}

/**
 * Decodes and checks a record header. `bytes` holds what the file has from
 * the record's start, possibly fewer than 32 bytes at end of file. The CRC is
 * checked before any field is believed; only then the length is compared to
 * `recordBytesMax`.
 */
export function decodeRecordHeader(bytes: Uint8Array, checksummer: Checksummer, recordBytesMax: number): RecordHeader | FrameDamage {
  if ((bytes.length > 0 && bytes[0] !== RECORD_MAGIC_0) || (bytes.length > 1 && bytes[1] !== RECORD_MAGIC_1)) {
    return { kind: "bad-magic", detail: `record magic ${hex(bytes[0] ?? 0, 2)}${hex(bytes[1] ?? 0, 2)} != 5752` };
  }
  if (bytes.length < RECORD_HEADER_BYTES) {
    return { kind: "partial-header", detail: `${bytes.length} of ${RECORD_HEADER_BYTES} record header bytes` };
  }
  const stored = getU32(bytes, RECORD_HEADER_CRC_AT);
  const computed = checksummer.of(bytes.subarray(0, RECORD_HEADER_CRC_AT));
  if (stored !== computed) {
    return { kind: "checksum-mismatch", detail: `record header CRC ${hex(stored)} != computed ${hex(computed)}` };
  }
  const version = bytes[RECORD_VERSION_AT]!;
  if (version !== FORMAT_VERSION) {
    return { kind: "unsupported-version", detail: `record version ${version}; this build reads ${FORMAT_VERSION}` };
  }
  const kind = bytes[RECORD_KIND_AT]!;
  if (kind !== RecordKind.data && kind !== RecordKind.commit) {
    return { kind: "bad-header", detail: `unknown record kind ${kind}` };
  }
  const payloadBytes = getU32(bytes, RECORD_PAYLOAD_BYTES_AT);
  const sequence = getU64(bytes, RECORD_SEQUENCE_AT);
  const timeMs = getU64(bytes, RECORD_TIME_AT);
  if (sequence < 0 || timeMs < 0) return { kind: "bad-header", detail: "sequence or time exceeds 2^53 - 1" };
  if (kind === RecordKind.commit && payloadBytes !== COMMIT_PAYLOAD_BYTES) {
    return { kind: "bad-header", detail: `commit payload is ${payloadBytes} bytes, not ${COMMIT_PAYLOAD_BYTES}` };
  }
  const payloadCrc = getU32(bytes, RECORD_PAYLOAD_CRC_AT);
  if (kind === RecordKind.data && payloadCrc !== 0) return { kind: "bad-header", detail: DATA_PAYLOAD_CRC_NONZERO };
  if (kind === RecordKind.data && payloadBytes > recordBytesMax) {
    return { kind: "oversized-length", detail: `payload of ${payloadBytes} bytes exceeds maxRecordBytes ${recordBytesMax}` };
  }
  return { kind, payloadBytes, sequence, timeMs, payloadCrc };
}

/** Why a data record whose payload CRC field is not zero is `bad-header`. */
export const DATA_PAYLOAD_CRC_NONZERO = "a data record's payload CRC field is not zero (its batch's CRC covers its payload)";

/** What a commit record says about the batch it ends. */
export interface CommitPayload {
  /** Offset of the batch's first data record. */
  readonly batchStart: number;
  /** Offset of the commit record itself. */
  readonly commitOffset: number;
  /** Data records in the batch. */
  readonly records: number;
  /** Salted CRC-32 of every byte from `batchStart` to `commitOffset`. */
  readonly batchCrc: number;
}

const COMMIT_BATCH_START_AT = 0;
const COMMIT_OFFSET_AT = 8;
const COMMIT_RECORD_COUNT_AT = 16;
const COMMIT_BATCH_CRC_AT = 20;

/** Encodes a commit payload into a fresh 24-byte array. */
export function encodeCommitPayload(commit: CommitPayload): Uint8Array {
  const bytes = new Uint8Array(COMMIT_PAYLOAD_BYTES);
  const view = viewOf(bytes);
  setU64(view, COMMIT_BATCH_START_AT, commit.batchStart);
  setU64(view, COMMIT_OFFSET_AT, commit.commitOffset);
  view.setUint32(COMMIT_RECORD_COUNT_AT, commit.records, true);
  view.setUint32(COMMIT_BATCH_CRC_AT, commit.batchCrc, true);
  return bytes;
}

/** Decodes a 24-byte commit payload; `null` if a field is out of range. */
export function decodeCommitPayload(bytes: Uint8Array): CommitPayload | null {
  const fields = emptyCommitFields();
  if (!readCommitPayloadAt(bytes, 0, fields)) return null;
  const { batchStart, commitOffset, records, batchCrc } = fields;
  return { batchStart, commitOffset, records, batchCrc };
}

/**
 * Reads the commit payload at `bytes[at, at + 24)` into `into` when its
 * offsets fit 2^53 − 1 and returns true; else returns false, `into`
 * unchanged. One reader of the payload's fields for {@link decodeCommitPayload}
 * and {@link readCommitAt}.
 */
function readCommitPayloadAt(bytes: Uint8Array, at: number, into: CommitPayloadFields): boolean {
  const batchStart = getU64(bytes, at + COMMIT_BATCH_START_AT);
  const commitOffset = getU64(bytes, at + COMMIT_OFFSET_AT);
  if (batchStart < 0 || commitOffset < 0) return false;
  into.batchStart = batchStart;
  into.commitOffset = commitOffset;
  into.records = getU32(bytes, at + COMMIT_RECORD_COUNT_AT);
  into.batchCrc = getU32(bytes, at + COMMIT_BATCH_CRC_AT);
  return true;
}

/** A commit payload's fields, writable: what {@link readCommitPayloadAt} fills. */
type CommitPayloadFields = { -readonly [Field in keyof CommitPayload]: CommitPayload[Field] };

/** A commit record's sequence and payload fields, as {@link readCommitAt} fills them in place. */
export interface CommitFields {
  /** The commit's sequence: its batch's last record's. */
  sequence: number;
  /** Offset of the batch's first data record. */
  batchStart: number;
  /** Offset of the commit record itself. */
  commitOffset: number;
  /** Data records in the batch. */
  records: number;
  /** Salted CRC-32 of every byte from `batchStart` to `commitOffset`. */
  batchCrc: number;
}

/** Fresh {@link CommitFields}, for {@link readCommitAt} to fill (a scan keeps one: no object per batch). */
export function emptyCommitFields(): CommitFields {
  return { sequence: 0, batchStart: 0, commitOffset: 0, records: 0, batchCrc: 0 };
}

/**
 * Checks the commit record at `bytes[at, at + 56)` where it lies: its magic,
 * its header checksum, version, kind and payload size, its payload checksum,
 * and that its sequence, time and offsets fit 2^53 − 1 (what
 * {@link decodeRecordHeader} and {@link decodeCommitPayload} check of a
 * commit). When every check passes it fills `into` and returns true; else it
 * returns false, `into` unchanged.
 * It reads in place: no view, no array, no object per call, so a scan of
 * one-record batches allocates nothing per batch for its commits.
 */
export function readCommitAt(bytes: Uint8Array, at: number, checksummer: Checksummer, into: CommitFields): boolean {
  assert(at >= 0 && at + COMMIT_RECORD_BYTES <= bytes.length, "a commit is read only where all of it lies");
  // The header CRC covers the magic and every field: checked first, it leaves only the fields' values to check.
  if (getU32(bytes, at + RECORD_HEADER_CRC_AT) !== checksummer.ofRange(bytes, at, at + RECORD_HEADER_CRC_AT)) return false;
  if (bytes[at] !== RECORD_MAGIC_0 || bytes[at + 1] !== RECORD_MAGIC_1) return false;
  if (bytes[at + RECORD_VERSION_AT] !== FORMAT_VERSION || bytes[at + RECORD_KIND_AT] !== RecordKind.commit) return false;
  if (getU32(bytes, at + RECORD_PAYLOAD_BYTES_AT) !== COMMIT_PAYLOAD_BYTES) return false;
  const payloadAt = at + RECORD_HEADER_BYTES;
  const payloadCrc = checksummer.ofRange(bytes, payloadAt, payloadAt + COMMIT_PAYLOAD_BYTES);
  if (getU32(bytes, at + RECORD_PAYLOAD_CRC_AT) !== payloadCrc) return false;
  const sequence = getU64(bytes, at + RECORD_SEQUENCE_AT);
  if (sequence < 0 || getU64(bytes, at + RECORD_TIME_AT) < 0 || !readCommitPayloadAt(bytes, payloadAt, into)) return false;
  into.sequence = sequence;
  return true;
}

/**
 * The commit record in `bytes` (its first 56 bytes), when both its salted
 * checksums match: its sequence and payload; null for anything else.
 */
export function decodeCommitRecord(bytes: Uint8Array, checksummer: Checksummer): { readonly sequence: number; readonly commit: CommitPayload } | null {
  const fields = emptyCommitFields();
  if (bytes.length < COMMIT_RECORD_BYTES || !readCommitAt(bytes, 0, checksummer, fields)) return null;
  const { sequence, batchStart, commitOffset, records, batchCrc } = fields;
  return { sequence, commit: { batchStart, commitOffset, records, batchCrc } };
}

/**
 * Whether a commit's payload matches the checksum its (checked) header
 * carries. A data record's payload has none: its batch's checksum covers it.
 */
export function commitPayloadIntact(header: RecordHeader, payload: Uint8Array, checksummer: Checksummer): boolean {
  assert(header.kind === RecordKind.commit, "only a commit record carries its payload's checksum");
  return checksummer.of(payload) === header.payloadCrc;
}

/** True when `value` is a frame problem rather than a decoded header. */
export function isDamage(value: object): value is FrameDamage {
  return "detail" in value;
}

/** Kinds a crash can leave behind; every other kind is fatal wherever it is. */
export function isTearable(kind: CorruptionKind): boolean {
  return (
    kind === "torn-batch" ||
    kind === "partial-header" ||
    kind === "partial-payload" ||
    kind === "bad-magic" ||
    kind === "checksum-mismatch"
  );
}

function hex(value: number, digits = 8): string {
  return value.toString(16).padStart(digits, "0");
}
