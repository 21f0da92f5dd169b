/**
 * One log file's state machine, without a lock or a queue: open (create,
 * validate, repair), accept records into the batch being filled, commit
 * batches, close. The public {@link WalWriter} wraps one of these; the
 * segmented `Wal` wraps one per active segment. Callers must not overlap
 * `open`, `append` and `close` (they queue them); `commit` may be called at
 * any time and shares work.
 *
 * The write path (docs/FORMAT.md): `append` encodes a record into the batch
 * being filled, in memory, and returns at once. A commit seals that batch
 * (appends its commit record), writes it with one write at the end of the
 * file and makes it durable with one fsync. While that write and fsync are
 * in flight, new records fill the other batch buffer; every commit asked for
 * meanwhile is served by the next single write (group commit). A batch is
 * never written before the fsync of the one before it returned, which is
 * what lets a valid commit prove every byte before its batch durable.
 *
 * Failure outcomes, all defined:
 * - a batch's write fails (even after a prefix landed): the file is
 *   truncated back to where the batch started and synced; that batch and
 *   every record accepted after it are discarded (the sequence returns to
 *   the last written record); every commit waiting for them rejects with
 *   `WalIoError`, and so does the next `commit` if no one was waiting; the
 *   file stays usable;
 * - that rollback fails, or any fsync fails: the file is poisoned; this and
 *   every later append or commit throws `WalPoisonedError` and no further
 *   byte is written (after a failed fsync the kernel may have dropped the
 *   dirty pages, so a retried fsync could falsely succeed: there is no
 *   retry).
 *
 * @module
 */

import { assert } from "../assert.ts";
import { SequenceError, WalArgumentError, WalError, WalIoError, WalPoisonedError } from "../errors.ts";
import { BatchBuffer } from "../format/batch-buffer.ts";
import type { Crc32 } from "../format/crc32.ts";
import { type Checksummer, COMMIT_RECORD_BYTES, type FileHeader, RECORD_HEADER_BYTES } from "../format/frame.ts";
import { UTF8_BYTES_PER_CODE_UNIT_MAX, type Utf8Into, utf8IntoPortable } from "../format/utf8.ts";
import type { FileHandle, FileSystem } from "../fs.ts";
import { io } from "../io.ts";
import { clockTimeMs, type RepairPolicy } from "../options.ts";
import { openValidated, type ValidatedFile } from "./log-file-open.ts";
import { preallocationBytes } from "./preallocation.ts";
import type { Repair } from "./repair.ts";
import type { RecordVisitor } from "./scan.ts";

/** How to open a {@link LogFile}. */
export interface LogFileOptions {
  /** What opening does with a torn tail (`strict` refuses it, `truncate-partial` saves and cuts it). */
  readonly repair: RepairPolicy;
  /** Largest payload in bytes: what appending refuses above, and what opening refuses to read past. */
  readonly recordBytesMax: number;
  /** A batch takes no more records once it holds this many bytes (it always takes one). */
  readonly batchBytesMax: number;
  /** CRC-32 implementation (the adapter's native one, or the portable one). */
  readonly crc: Crc32;
  /** Record clock, milliseconds since the epoch; each value is checked (`clockTimeMs`) before a record takes it. */
  readonly now: () => number;
  /** Base sequence of the file if it has to be created. */
  readonly baseSequence: number;
  /** Salt of the file if it has to be created (8 bytes); default random. */
  readonly salt?: Uint8Array;
  /** Log id of the file if it has to be created (16 bytes); default zeros (a single-file log). */
  readonly logId?: Uint8Array;
  /** Link (previous segment's salt) of the file if it has to be created (8 bytes); default zeros. */
  readonly link?: Uint8Array;
  /** Preallocate no further than this file size (a segment's `segmentBytes`); default: no limit. */
  readonly preallocateToBytes?: number;
  /** Called with every record of every intact batch while opening validates the file. */
  readonly onRecord?: RecordVisitor;
  /**
   * Called before each batch is written (the writer lock's fence): `undefined`
   * to go on, or a promise that must resolve first. A failure poisons the
   * file with it and writes nothing.
   */
  readonly fence?: () => Promise<void> | undefined;
  /** Told about each batch once it is written and synced; absent, nothing is timed (see `WalWriterOptions.onSync`). */
  readonly onSync?: (event: SyncEvent) => void;
}

/** What {@link LogFileOptions.onSync} is told about a batch made durable. */
export interface SyncEvent {
  /** Bytes of the batch: its records and its commit record (not preallocated zeros). */
  readonly bytes: number;
  /** Data records in the batch. */
  readonly records: number;
  /** Milliseconds from the start of its write to the end of its fsync. */
  readonly durationMs: number;
  /** Milliseconds of the fsync alone. */
  readonly syncMs: number;
}

/** What the written (not buffered) part of the file holds. */
interface Written {
  readonly sequence: number;
  readonly records: number;
  readonly lastTimeMs: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * An open log file, positioned at its end.
 *
 * Invariants (asserted where the state changes):
 * - `#durableEnd <= #end`; with no batch in flight they are equal, and the
 *   spare buffer is empty;
 * - with no batch in flight, the records accepted are those written plus
 *   those in the batch being filled, which ends with the last one accepted;
 * - a batch starts at the durable end, so a failed one is rolled back to
 *   exactly the end before it;
 * - a poisoned file starts no further batch.
 */
export class LogFile {
  /** The file's path, for errors (as given to {@link open}). */
  readonly path: string;
  /** What opening cut off as a torn tail, or null. */
  readonly repaired: Repair | null;
  /** The file header's base sequence: every record's sequence is above it. */
  readonly baseSequence: number;
  /** The file header, as validated on open. */
  readonly header: FileHeader;
  readonly #file: FileHandle;
  readonly #checksummer: Checksummer;
  readonly #now: () => number;
  readonly #batchBytesMax: number;
  readonly #recordBytesMax: number;
  readonly #preallocateToBytes: number;
  readonly #fence: (() => Promise<void> | undefined) | undefined;
  readonly #onSync: ((event: SyncEvent) => void) | undefined;
  /** Offset where the next batch goes: the end of every batch sealed so far. */
  #end: number;
  /** End of what the last successful fsync covered: nothing before it can be lost. */
  #durableEnd: number;
  /** The file's size: `#end` plus the zeros preallocated after it. */
  #fileBytes: number;
  /** Whether this writer wrote a batch: only then does closing cut the zeros after the last one (an open that wrote nothing leaves the file as it was). */
  #wrote = false;
  /** What the batches written so far hold; the accepted state returns to it when buffered records are discarded. */
  #written: Written;
  /** Highest sequence accepted (written or buffered). */
  #sequence: number;
  /** Records accepted (written or buffered). */
  #records: number;
  /** Time of the last record accepted (written or buffered), or -1 if none. */
  #lastTimeMs: number;
  /** The batch accepting records. */
  #filling: BatchBuffer;
  /** The batch being written, or the empty spare. */
  #spare: BatchBuffer;
  /** The write and fsync of the sealed batch, while under way. */
  #inFlight: Promise<void> | null = null;
  /** The commit that runs once {@link #inFlight} settles, shared by every caller that asked meanwhile. */
  #commitQueued: Promise<void> | null = null;
  /** Why records were discarded with no commit waiting for them; the next commit reports it. */
  #discardUnreported: WalError | null = null;
  /** What poisoned the file (a failed fsync, rollback or fence, or {@link poison}'s cause), or null. */
  #poison: unknown = null;

  private constructor(path: string, opened: ValidatedFile, options: LogFileOptions, utf8Into: Utf8Into) {
    const scan = opened.scan;
    this.#filling = new BatchBuffer(utf8Into);
    this.#spare = new BatchBuffer(utf8Into);
    this.path = path;
    this.#file = opened.file;
    this.#now = options.now;
    this.#batchBytesMax = options.batchBytesMax;
    this.#recordBytesMax = options.recordBytesMax;
    this.#preallocateToBytes = options.preallocateToBytes ?? Number.MAX_SAFE_INTEGER;
    this.#fence = options.fence;
    this.#onSync = options.onSync;
    this.#checksummer = scan.checksummer;
    this.#end = scan.endOffset;
    this.#durableEnd = scan.endOffset; // opening synced the file (see syncOnOpen)
    this.#fileBytes = opened.fileBytes;
    this.#written = { sequence: scan.lastSequence, records: scan.records, lastTimeMs: scan.lastTimeMs };
    this.#sequence = scan.lastSequence;
    this.#records = scan.records;
    this.#lastTimeMs = scan.lastTimeMs;
    this.baseSequence = scan.header.baseSequence;
    this.header = scan.header;
    this.repaired = opened.repaired;
    assert(this.#end <= this.#fileBytes, "an opened log ends within its file");
  }

  /**
   * Opens `path`, creating it (atomically, with `options.baseSequence`) if
   * absent, validating every batch, and applying the repair policy
   * (`log-file-open.ts`). Text payloads are encoded with the adapter's
   * `utf8Into` when it has one.
   */
  static async open(fs: FileSystem, path: string, options: LogFileOptions): Promise<LogFile> {
    return new LogFile(path, await openValidated(fs, path, options), options, fs.utf8Into ?? utf8IntoPortable);
  }

  /** Highest sequence accepted (durable or not); the base sequence when empty. */
  get currentSequence(): number {
    return this.#sequence;
  }

  /** True once a failed rollback, fsync or fence (or {@link poison}) has made this file refuse writes. */
  get poisoned(): boolean {
    return this.#poison !== null;
  }

  /** Data records accepted (written or buffered). */
  get records(): number {
    return this.#records;
  }

  /** Time of the last record accepted, or -1 if none. */
  get lastTimeMs(): number {
    return this.#lastTimeMs;
  }

  /** End of every batch sealed so far (written, or being written): the log's end in the file, whatever space is preallocated after it. */
  get endOffset(): number {
    return this.#end;
  }

  /** End of what the last successful fsync covered: every batch before it survives any crash (a durable follower reads no further). */
  get durableEndOffset(): number {
    return this.#durableEnd;
  }

  /** Size the log will have once everything accepted is committed (preallocated zeros not counted). */
  get bytes(): number {
    return this.#end + (this.#filling.records === 0 ? 0 : this.#filling.length + COMMIT_RECORD_BYTES);
  }

  /** Throws `WalPoisonedError` if poisoned. */
  checkNotPoisoned(): void {
    if (this.#poison !== null) throw new WalPoisonedError(this.path, this.#poison);
  }

  /**
   * Whether the batch being filled takes `recordBytes` more bytes of records
   * (frames, headers included) without passing `batchBytesMax`. An empty
   * batch takes anything; otherwise call {@link whenRoom} first.
   */
  hasRoom(recordBytes: number): boolean {
    return this.#filling.records === 0 || this.#filling.length + recordBytes + COMMIT_RECORD_BYTES <= this.#batchBytesMax;
  }

  /**
   * Resolves once the batch being filled has room for `recordBytes` (by
   * sealing it and starting its write, after the write in flight).
   */
  async whenRoom(recordBytes: number): Promise<void> {
    while (!this.hasRoom(recordBytes)) {
      this.checkNotPoisoned();
      if (this.#inFlight === null) this.#startBatch().catch(() => undefined);
      else await this.#inFlight.catch(() => undefined);
    }
  }

  /**
   * Accepts one record with `sequence` (default current + 1) into the batch
   * being filled and returns the sequence. Synchronous: nothing is written
   * until a commit. The payload must already respect the size limit.
   * `timeMs` (default: the clock's) is for copying records between files.
   */
  append(payload: Uint8Array, sequence: number = this.#sequence + 1, timeMs: number = this.#recordTime()): number {
    this.#checkSequence(sequence);
    this.#encodeAccepted(payload, sequence, timeMs);
    return sequence;
  }

  /**
   * Accepts one record now if the batch being filled has room for it:
   * `payload` as bytes ({@link append}) or as text (encoded in UTF-8
   * straight into the batch, sized at its largest UTF-8). Returns its
   * sequence, or null (nothing accepted) when the caller must wait for room.
   * Throws `WalArgumentError`, accepting nothing, when a text payload
   * exceeds `recordBytesMax`.
   */
  appendNow(payload: Uint8Array | string, sequence: number = this.#sequence + 1): number | null {
    if (!this.hasRoom(recordBytesAtMost(payload))) return null;
    return typeof payload === "string" ? this.#appendText(payload, sequence) : this.append(payload, sequence);
  }

  /**
   * {@link appendAll} of records whose payloads are `texts` in UTF-8,
   * encoded straight into the batch being filled, when it has room for
   * their largest UTF-8. Returns the last sequence, or null (nothing
   * accepted) when the caller must wait for room. Throws `WalArgumentError`,
   * accepting nothing, when a payload exceeds `recordBytesMax` or the records
   * (more than one) exceed `batchBytesMax`.
   */
  appendAllTextNow(texts: readonly string[], first: number = this.#sequence + 1): number | null {
    let bytesAtMost = 0;
    for (const text of texts) bytesAtMost += recordBytesAtMost(text);
    if (!this.hasRoom(bytesAtMost)) return null;
    if (texts.length === 0) return this.#sequence;
    this.#checkSequence(first);
    this.#checkSequence(first + texts.length - 1);
    const timeMs = this.#recordTime();
    const mark = this.#filling.mark();
    try {
      for (let index = 0; index < texts.length; index++) {
        if (this.#filling.addText(first + index, timeMs, texts[index]!, this.#recordBytesMax) < 0) {
          throw new WalArgumentError(`record ${index} of the batch exceeds maxRecordBytes ${this.#recordBytesMax}`);
        }
      }
      checkBatchBytes(texts.length, this.#filling.length - mark.length, this.#batchBytesMax);
    } catch (error) {
      this.#filling.restore(mark);
      throw error;
    }
    for (let index = 0; index < texts.length; index++) this.#countAccepted(first + index, timeMs);
    return this.#sequence;
  }

  /**
   * Accepts `payloads` as records with consecutive sequences from `first`
   * (default current + 1), all in the batch being filled, so that they reach
   * the disk in one write under one commit: all or none. Returns the last
   * sequence.
   */
  appendAll(payloads: readonly Uint8Array[], first: number = this.#sequence + 1): number {
    this.#checkSequence(first);
    this.#checkSequence(first + payloads.length - 1);
    const timeMs = this.#recordTime();
    for (let index = 0; index < payloads.length; index++) this.#encodeAccepted(payloads[index]!, first + index, timeMs);
    return this.#sequence;
  }

  /**
   * Makes every record accepted before this call durable: seals the batch
   * being filled and writes it with its commit, then one fsync; joins the
   * write in flight, or the one queued behind it. Resolves at once if
   * nothing is pending. Rejects with the failure that discarded records
   * when no commit was waiting for them (once).
   */
  commit(): Promise<void> {
    if (this.#poison !== null) return Promise.reject(new WalPoisonedError(this.path, this.#poison));
    const discarded = this.#discardUnreported;
    if (discarded !== null) {
      this.#discardUnreported = null;
      return Promise.reject(discarded);
    }
    return this.#whenAllDurable().catch((error: unknown) => {
      if (error === this.#discardUnreported) this.#discardUnreported = null;
      throw error;
    });
  }

  /** Poisons the file with `cause` (unless already poisoned): nothing more is written, and every later call reports `cause`. */
  poison(cause: unknown): void {
    this.#poison ??= cause;
  }

  /**
   * Releases the handle (after the write in flight, if any), first cutting
   * off the zeros after the last batch and syncing, if this writer wrote
   * anything and is not poisoned: a log file closed after writing ends with
   * its last batch. Records accepted and not committed are dropped.
   */
  async close(): Promise<void> {
    await this.#inFlight?.catch(() => undefined);
    try {
      if (this.#poison === null && this.#wrote && this.#fileBytes > this.#end) {
        await this.#passFence(this.#end); // cutting is a write: not once the writer lock is lost
        await io("truncate", this.path, () => this.#file.truncate(this.#end));
        this.#fileBytes = this.#end;
        await this.#sync();
      }
    } finally {
      await io("close", this.path, () => this.#file.close());
    }
  }

  #encodeAccepted(payload: Uint8Array, sequence: number, timeMs: number): void {
    this.#filling.add(sequence, timeMs, payload);
    this.#countAccepted(sequence, timeMs);
  }

  /** {@link append} of a record whose payload is `text` in UTF-8, encoded straight into the batch being filled (the caller checked {@link hasRoom} for its largest UTF-8). */
  #appendText(text: string, sequence: number): number {
    this.#checkSequence(sequence);
    const timeMs = this.#recordTime();
    const payloadBytes = this.#filling.addText(sequence, timeMs, text, this.#recordBytesMax);
    if (payloadBytes < 0) throw new WalArgumentError(`the record exceeds maxRecordBytes ${this.#recordBytesMax}`);
    this.#countAccepted(sequence, timeMs);
    return sequence;
  }

  /** Moves the accepted state past a record just encoded into the batch being filled. */
  #countAccepted(sequence: number, timeMs: number): void {
    this.#sequence = sequence;
    this.#records++;
    this.#lastTimeMs = timeMs;
  }

  /** Throws `WalPoisonedError`, `SequenceError` or `WalArgumentError` unless a record may take `sequence` now. */
  #checkSequence(sequence: number): void {
    this.checkNotPoisoned();
    if (sequence <= this.#sequence) throw new SequenceError(this.#sequence + 1, sequence);
    if (!Number.isSafeInteger(sequence)) {
      throw new WalArgumentError(`sequence ${sequence} is past 2^53 - 1, the largest this log can store`);
    }
  }

  /** The clock's time for a record, checked: a time the format cannot store is refused before anything is accepted. */
  #recordTime(): number {
    return clockTimeMs(this.#now);
  }

  /** Settles once everything accepted so far is durable (or was discarded by a failure). */
  #whenAllDurable(): Promise<void> {
    if (this.#poison !== null) return Promise.reject(new WalPoisonedError(this.path, this.#poison));
    if (this.#filling.records === 0) return this.#inFlight ?? RESOLVED;
    if (this.#inFlight === null) return this.#startBatch();
    this.#commitQueued ??= this.#inFlight.then(
      () => {
        this.#commitQueued = null;
        return this.#whenAllDurable();
      },
      (error: unknown) => {
        this.#commitQueued = null;
        throw error;
      },
    );
    return this.#commitQueued;
  }

  /** Seals the batch being filled and starts its write and fsync; the next batch fills the spare buffer meanwhile. */
  #startBatch(): Promise<void> {
    assert(this.#poison === null, "a poisoned file starts no batch");
    assert(this.#inFlight === null && this.#filling.records > 0, "one batch in flight at a time, never an empty one");
    assert(this.#durableEnd === this.#end, "a batch is written only after the fsync of every earlier one");
    assert(this.#spare.records === 0, "with no batch in flight the spare buffer is empty");
    assert(this.#filling.lastSequence === this.#sequence, "the batch being filled ends with the last record accepted");
    assert(this.#records === this.#written.records + this.#filling.records, "every record accepted is written or in the batch being filled");
    const batch = this.#filling;
    this.#filling = this.#spare;
    this.#spare = batch;
    const start = this.#end;
    const bytes = batch.seal(start, this.#recordTime(), this.#checksummer);
    this.#end = start + bytes.length;
    const written: Written = { sequence: batch.lastSequence, records: this.#written.records + batch.records, lastTimeMs: batch.lastTimeMs };
    const inFlight = this.#writeBatch(bytes, start, written).finally(() => {
      batch.reset();
      this.#inFlight = null;
    });
    this.#inFlight = inFlight;
    return inFlight;
  }

  /** Writes a sealed batch at `start` and syncs it; on failure rolls back (or poisons) and discards what is buffered. */
  async #writeBatch(bytes: Uint8Array, start: number, written: Written): Promise<void> {
    const onSync = this.#onSync;
    try {
      await this.#passFence(start);
      const writeStartMs = onSync === undefined ? 0 : performance.now();
      await this.#writeOrRollBack(this.#withPreallocation(bytes, start), start);
      const syncStartMs = onSync === undefined ? 0 : performance.now();
      await this.#sync();
      if (onSync !== undefined) observeSync(onSync, bytes.length, written.records - this.#written.records, writeStartMs, syncStartMs);
    } catch (error) {
      this.#discardBuffered(error instanceof WalError ? error : new WalIoError("write", this.path, error));
      throw error;
    }
    assert(this.#durableEnd === start + bytes.length && this.#fileBytes >= this.#durableEnd, "a synced batch ends where it was sealed to end, within the file");
    this.#written = written;
  }

  /** Runs the `fence` option before a write at `start` (the durable end); its failure poisons the file before any byte is written. */
  async #passFence(start: number): Promise<void> {
    const pending = this.#fence?.();
    if (pending === undefined) return;
    try {
      await pending;
    } catch (error) {
      assert(start === this.#durableEnd, "a write starts at the durable end");
      this.#end = start;
      this.#poison ??= error;
      throw error;
    }
  }

  /**
   * The batch at `start`, followed by zeros when it would grow the file, to
   * preallocate space for the batches after it (one write either way).
   */
  #withPreallocation(batch: Uint8Array, start: number): Uint8Array {
    const aheadBytes = preallocationBytes(start, batch.length, this.#fileBytes, this.#preallocateToBytes);
    if (aheadBytes === 0) return batch;
    const bytes = new Uint8Array(batch.length + aheadBytes);
    bytes.set(batch);
    return bytes;
  }

  /**
   * Writes at `start`; on failure puts the file back as it was (cut back to
   * `start`, and the preallocated zeros after it restored) and syncs, or
   * poisons if that fails.
   */
  async #writeOrRollBack(bytes: Uint8Array, start: number): Promise<void> {
    try {
      await this.#file.write(bytes, start);
      this.#fileBytes = Math.max(this.#fileBytes, start + bytes.length);
      this.#wrote = true;
    } catch (writeError) {
      assert(start === this.#durableEnd, "a batch starts at the durable end, so rolling back to its start loses nothing acknowledged");
      this.#end = start;
      try {
        await this.#file.truncate(start);
        if (this.#fileBytes > start) await this.#file.truncate(this.#fileBytes);
      } catch (rollbackError) {
        this.#poison = rollbackError;
        throw new WalPoisonedError(this.path, new AggregateError([writeError, rollbackError], "write and rollback failed"));
      }
      await this.#sync();
      throw new WalIoError("write", this.path, writeError);
    }
  }

  /** After a failed batch: forgets every record not yet written, back to what the file holds. */
  #discardBuffered(error: WalError): void {
    this.#filling.reset();
    this.#sequence = this.#written.sequence;
    this.#records = this.#written.records;
    this.#lastTimeMs = this.#written.lastTimeMs;
    this.#discardUnreported = error;
    assert(this.#end === this.#durableEnd, "a failed batch leaves the file at its last durable end");
  }

  /**
   * fsync, or poison. After a failed fsync the kernel may have dropped the
   * dirty pages while still serving them from its cache: bytes that read back
   * fine but will never reach the disk, which a later commit (of this or any
   * later writer) would vouch for. So the file is first cut back (best effort)
   * to the end of the last successful fsync; nothing cut was acknowledged.
   */
  async #sync(): Promise<void> {
    assert(this.#durableEnd <= this.#end, "the durable end never passes the end");
    try {
      await this.#file.sync();
    } catch (error) {
      await this.#file.truncate(this.#durableEnd).catch(() => undefined);
      this.#end = this.#durableEnd;
      this.#fileBytes = this.#durableEnd;
      this.#poison = error;
      throw new WalPoisonedError(this.path, error);
    }
    this.#durableEnd = this.#end;
  }
}

/** Tells `onSync` about a batch made durable; an observer's exception is its own and is ignored (it cannot fail a flush). */
function observeSync(onSync: (event: SyncEvent) => void, bytes: number, records: number, writeStartMs: number, syncStartMs: number): void {
  const endMs = performance.now();
  try {
    onSync({ bytes, records, durationMs: endMs - writeStartMs, syncMs: endMs - syncStartMs });
  } catch {
    // ignored: see above
  }
}

/** Throws `WalArgumentError` when a batch of `records` records (more than one) takes more than `batchBytesMax` bytes of frames. */
export function checkBatchBytes(records: number, bytes: number, batchBytesMax: number): void {
  if (records > 1 && bytes > batchBytesMax) {
    throw new WalArgumentError(`a batch of ${records} records (${bytes} bytes) exceeds maxBatchBytes ${batchBytesMax}`);
  }
}

/** The most bytes a record with `payload` (bytes, or text to be encoded in UTF-8) takes, header included. */
export function recordBytesAtMost(payload: Uint8Array | string): number {
  return RECORD_HEADER_BYTES + (typeof payload === "string" ? UTF8_BYTES_PER_CODE_UNIT_MAX * payload.length : payload.length);
}
