/**
 * A batch being assembled in memory: encoded data records, then (when
 * sealed) the commit record that makes them one atomic, checksummed unit on
 * disk (docs/FORMAT.md). The writer fills one while the previous one is
 * being written, and swaps them.
 *
 * @module
 */

import { assert } from "../assert.ts";
import {
  type Checksummer,
  COMMIT_RECORD_BYTES,
  checksumRecordHeaders,
  decodeCommitRecord,
  encodeCommitHeader,
  encodeCommitPayload,
  encodeRecordFields,
  RECORD_HEADER_BYTES,
  RecordKind,
} from "./frame.ts";
import { UTF8_BYTES_PER_CODE_UNIT_MAX, type Utf8Into, utf8IntoPortable } from "./utf8.ts";

/** Capacity of a new buffer; it grows (doubling) to the largest batch it holds. */
const INITIAL_BYTES = 64 * 1024;
/** A buffer grown past this (by an outsized record or batch) is let go when emptied. */
const KEPT_BYTES_MAX = 8 * 1024 * 1024;

/** Where a batch stood, to go back to: see {@link BatchBuffer.mark}; its fields are the buffer's own. */
export interface BatchMark {
  readonly length: number;
  readonly records: number;
  readonly lastSequence: number;
  readonly lastTimeMs: number;
}

/** Encoded records of one batch, with room for its commit. */
export class BatchBuffer {
  readonly #utf8Into: Utf8Into;
  #bytes = new Uint8Array(INITIAL_BYTES);
  #view = new DataView(this.#bytes.buffer);
  /** Bytes of encoded records (and, once sealed, the commit). */
  #length = 0;
  #records = 0;
  #lastSequence = -1;
  #lastTimeMs = -1;
  #sealed = false;

  /** A buffer that encodes text with `utf8Into` (default: `TextEncoder.encodeInto`). */
  constructor(utf8Into: Utf8Into = utf8IntoPortable) {
    this.#utf8Into = utf8Into;
  }

  /** Data records in the batch. */
  get records(): number {
    return this.#records;
  }

  /** Encoded bytes so far (records, and the commit once sealed). */
  get length(): number {
    return this.#length;
  }

  /** Sequence of the last record, or -1 when empty. */
  get lastSequence(): number {
    return this.#lastSequence;
  }

  /** Time of the last record, or -1 when empty. */
  get lastTimeMs(): number {
    return this.#lastTimeMs;
  }

  /** Encodes a data record at the end of the batch; its sequence must exceed the last one's. */
  add(sequence: number, timeMs: number, payload: Uint8Array): void {
    assert(!this.#sealed && sequence > this.#lastSequence, "records go into an open batch in sequence order");
    this.#reserve(RECORD_HEADER_BYTES + payload.length);
    this.#bytes.set(payload, this.#length + RECORD_HEADER_BYTES);
    this.#addDataRecord(sequence, timeMs, payload.length);
  }

  /**
   * Encodes a data record whose payload is `text` in UTF-8, straight into
   * the batch (no array per record). Returns the payload's size, or -1 with
   * nothing added when it would exceed `payloadBytesMax`.
   */
  addText(sequence: number, timeMs: number, text: string, payloadBytesMax: number): number {
    assert(!this.#sealed && sequence > this.#lastSequence, "records go into an open batch in sequence order");
    if (text.length > payloadBytesMax) return -1; // UTF-8 takes at least a byte per code unit: no need to encode
    this.#reserve(RECORD_HEADER_BYTES + UTF8_BYTES_PER_CODE_UNIT_MAX * text.length);
    const written = this.#utf8Into(text, this.#bytes, this.#length + RECORD_HEADER_BYTES);
    assert(written <= UTF8_BYTES_PER_CODE_UNIT_MAX * text.length, "UTF-8 stays within the room reserved for it");
    if (written > payloadBytesMax) return -1;
    this.#addDataRecord(sequence, timeMs, written);
    return written;
  }

  /** Encodes the header of the data record whose payload is already in place after the batch's end; its CRC comes at {@link seal}. */
  #addDataRecord(sequence: number, timeMs: number, payloadBytes: number): void {
    this.#length += encodeRecordFields(this.#bytes, this.#view, this.#length, RecordKind.data, sequence, timeMs, payloadBytes);
    this.#records++;
    this.#lastSequence = sequence;
    this.#lastTimeMs = timeMs;
  }

  /**
   * Checksums the data records' headers, appends the commit record for a
   * batch that will sit at file offset `start`, and returns the batch's
   * bytes: what one write puts there. The commit is decoded back to check
   * that it covers exactly this batch.
   */
  seal(start: number, timeMs: number, checksummer: Checksummer): Uint8Array {
    assert(!this.#sealed && this.#records > 0, "a batch is sealed once, with records");
    const commitAt = this.#length;
    checksumRecordHeaders(this.#bytes, this.#view, commitAt, this.#records, checksummer);
    const commitOffset = start + commitAt;
    const batchCrc = checksummer.extend(checksummer.seed, this.#bytes.subarray(0, commitAt));
    const payload = encodeCommitPayload({ batchStart: start, commitOffset, records: this.#records, batchCrc });
    this.#reserve(COMMIT_RECORD_BYTES);
    this.#bytes.set(payload, commitAt + RECORD_HEADER_BYTES);
    this.#length += encodeCommitHeader(this.#bytes, this.#view, commitAt, this.#lastSequence, timeMs, checksummer);
    this.#sealed = true;
    const sealed = decodeCommitRecord(this.#bytes.subarray(commitAt, this.#length), checksummer);
    assert(
      sealed !== null &&
        sealed.sequence === this.#lastSequence &&
        sealed.commit.batchStart === start &&
        sealed.commit.commitOffset === commitOffset &&
        sealed.commit.records === this.#records &&
        sealed.commit.batchCrc === batchCrc &&
        this.#length === commitAt + COMMIT_RECORD_BYTES,
      "a commit decodes to the batch it seals: its start, its offset, its record count, its checksum, its last sequence",
    );
    return this.#bytes.subarray(0, this.#length);
  }

  /** The batch as it stands, for {@link restore}. */
  mark(): BatchMark {
    return { length: this.#length, records: this.#records, lastSequence: this.#lastSequence, lastTimeMs: this.#lastTimeMs };
  }

  /** Drops every record added since `mark` was taken (of this batch, not sealed since). */
  restore(mark: BatchMark): void {
    assert(!this.#sealed && mark.length <= this.#length && mark.records <= this.#records, "a batch goes back only to a mark of its own");
    this.#length = mark.length;
    this.#records = mark.records;
    this.#lastSequence = mark.lastSequence;
    this.#lastTimeMs = mark.lastTimeMs;
  }

  /** Empties the batch for reuse, keeping its memory unless an outsized batch grew it. */
  reset(): void {
    if (this.#bytes.length > KEPT_BYTES_MAX) {
      this.#bytes = new Uint8Array(INITIAL_BYTES);
      this.#view = new DataView(this.#bytes.buffer);
    }
    this.#length = 0;
    this.#records = 0;
    this.#lastSequence = -1;
    this.#lastTimeMs = -1;
    this.#sealed = false;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#bytes.length) return;
    let capacity = this.#bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}
