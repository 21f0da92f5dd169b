/**
 * The writer: one file, one owner, appends that are all-or-nothing, and
 * flushes that make batches durable with a commit record (docs/FORMAT.md).
 *
 * Every operation runs in call order on one internal queue, so concurrent
 * callers never interleave bytes; concurrent `flush` calls share one commit
 * (group commit): whatever was appended before a flush started is covered by
 * it, and a flush that finds nothing pending returns at once.
 *
 * Failure outcomes, all defined:
 * - a write fails (even after a prefix landed): the file is truncated back to
 *   where the write started and synced; the call rejects with `WalIoError`
 *   and the writer stays usable;
 * - that rollback fails, or any fsync fails: the writer is poisoned; this
 *   and every later `append`/`flush` rejects with `WalPoisonedError` and no
 *   further byte is written (a retried fsync can falsely succeed after the
 *   kernel dropped dirty pages, so there is no retry);
 * - a value the codec cannot encode, a record over `maxRecordBytes`, or a
 *   non-increasing sequence: rejected before any I/O.
 *
 * @module
 */

import { type Codec, jsonCodec } from "./codec.ts";
import { crc32 as crc32Portable } from "./crc32.ts";
import {
  type CorruptionKind,
  SequenceError,
  WalArgumentError,
  WalClosedError,
  WalCorruptionError,
  WalError,
  WalIoError,
  WalPoisonedError,
} from "./errors.ts";
import {
  type Checksummer,
  COMMIT_RECORD_BYTES,
  encodeCommitPayload,
  encodeFileHeader,
  encodeRecord,
  RECORD_BYTES_MAX_DEFAULT,
  RECORD_BYTES_MAX_LIMIT,
  RECORD_HEADER_BYTES,
  RecordKind,
  SALT_BYTES,
} from "./format.ts";
import type { FileHandle, FileSystem } from "./fs.ts";
import { unlinkIfPresent, writeNewFile } from "./io.ts";
import { acquireLock, type WriterLock } from "./lock.ts";
import { dirname } from "./path.ts";
import { cutTornTail, type Repair } from "./repair.ts";
import { scanLog, type ScanEnd } from "./scan.ts";

/**
 * What opening does with a torn tail (damage after the last durable commit).
 * Damage anywhere before a durable commit fails under every policy.
 * - `strict`: fail with `WalCorruptionError`; write nothing.
 * - `truncate-partial`: save the tail's bytes to `<path>.<offset>.torn`, cut
 *   the log back to its last intact record, and open.
 */
export type RepairPolicy = "strict" | "truncate-partial";

/** Options of {@link WalWriter.open}. */
export interface WalWriterOptions<T> {
  /** Torn-tail policy; default `strict`. */
  readonly repair?: RepairPolicy;
  /** Value encoding; default JSON. */
  readonly codec?: Codec<T>;
  /** Filesystem adapter; default: the running runtime's. */
  readonly fs?: FileSystem;
  /** Largest payload in bytes, 1 … 2^32 − 1; default 16 MiB. Also bounds what opening reads. */
  readonly maxRecordBytes?: number;
  /** Clock for record times, milliseconds since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Records of a newly created file must have sequences above this; default 0. Ignored for an existing file. */
  readonly baseSequence?: number;
}

/** Options of {@link WalWriter.append}. */
export interface AppendOptions {
  /** Explicit sequence; must exceed `currentSequence` (gaps allowed). Default: current + 1. */
  readonly sequence?: number;
}

export type { Repair } from "./repair.ts";

/** Appends records to one log file. Obtain with {@link WalWriter.open}. */
export class WalWriter<T = unknown> implements AsyncDisposable {
  /** The log file. */
  readonly path: string;
  /** What opening cut off as a torn tail, or null. */
  readonly repaired: Repair | null;
  readonly #file: FileHandle;
  readonly #lock: WriterLock;
  readonly #codec: Codec<T>;
  readonly #sum: Checksummer;
  readonly #recordBytesMax: number;
  readonly #now: () => number;
  /** Offset where the next record goes. */
  #end: number;
  /** End of the last durable commit. */
  #committedEnd: number;
  /** Data records written since the last commit. */
  #pendingRecords: number;
  #sequence: number;
  #poison: unknown = null;
  #closeRequested = false;
  #closing: Promise<void> | null = null;
  /** Tail of the operation queue. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Reused encoding buffer; grows to the largest record. */
  #scratch = new Uint8Array(4096);

  private constructor(state: {
    path: string;
    file: FileHandle;
    lock: WriterLock;
    codec: Codec<T>;
    recordBytesMax: number;
    now: () => number;
    scan: ScanEnd;
    repaired: Repair | null;
  }) {
    this.path = state.path;
    this.#file = state.file;
    this.#lock = state.lock;
    this.#codec = state.codec;
    this.#recordBytesMax = state.recordBytesMax;
    this.#now = state.now;
    this.#sum = state.scan.checksummer;
    this.#end = state.scan.endOffset;
    this.#committedEnd = state.scan.committedEnd;
    this.#pendingRecords = state.scan.pendingRecords;
    this.#sequence = state.scan.lastSequence;
    this.repaired = state.repaired;
  }

  /**
   * Opens the log at `path` for appending, creating it if absent. Takes the
   * exclusive writer lock (`<path>.lock`), then validates every record,
   * applying `options.repair` to a torn tail.
   *
   * @throws {WalLockedError} another writer holds the log
   * @throws {WalCorruptionError} the log is damaged (beyond what the policy repairs)
   * @throws {WalIoError} the filesystem failed
   */
  static async open<T = unknown>(path: string, options: WalWriterOptions<T> = {}): Promise<WalWriter<T>> {
    const repair = options.repair ?? "strict";
    if (repair !== "strict" && repair !== "truncate-partial") {
      throw new WalArgumentError(`repair must be "strict" or "truncate-partial", not ${String(repair)}`);
    }
    const recordBytesMax = checkRecordBytesMax(options.maxRecordBytes);
    const baseSequence = options.baseSequence ?? 0;
    if (!Number.isSafeInteger(baseSequence) || baseSequence < 0) {
      throw new WalArgumentError(`baseSequence must be a non-negative safe integer, not ${baseSequence}`);
    }
    const codec = options.codec ?? (jsonCodec as Codec<T>);
    const fs = options.fs ?? (await (await import("../adapters/auto.ts")).defaultFileSystem());
    const crc = fs.crc32 ?? crc32Portable;

    const lock = await io("lock", `${path}.lock`, () => acquireLock(fs, `${path}.lock`));
    let file: FileHandle | null = null;
    try {
      const stat = await io("stat", path, () => fs.stat(path));
      if (stat !== null && !stat.isFile) throw new WalArgumentError(`${path} exists and is not a file`);
      if (stat === null) await io("create", path, () => createLogFile(fs, path, baseSequence, crc));
      file = await io("open", path, () => fs.open(path, "write"));
      const opened = file;
      const fileBytes = await io("size", path, () => opened.size());
      const scan = await validate(opened, fileBytes, path, recordBytesMax, crc, codec);
      let repaired: Repair | null = null;
      if (scan.tail !== null) {
        if (repair === "strict") throw new WalCorruptionError(scan.tail);
        const tail = scan.tail;
        repaired = await io("repair", path, () => cutTornTail(fs, opened, path, tail, fileBytes));
      }
      return new WalWriter<T>({ path, file, lock, codec, recordBytesMax, now: options.now ?? Date.now, scan, repaired });
    } catch (error) {
      await file?.close().catch(() => undefined);
      await lock.release().catch(() => undefined);
      throw error;
    }
  }

  /** Highest sequence in the log (durable or not yet flushed); the base sequence (0) when empty. */
  get currentSequence(): number {
    return this.#sequence;
  }

  /** True once a failed rollback or fsync has made the writer refuse all writes. */
  get poisoned(): boolean {
    return this.#poison !== null;
  }

  /**
   * Appends `value` as one record and resolves with its sequence once the
   * bytes are written (not yet durable: call {@link flush}).
   *
   * @throws {SequenceError} `options.sequence` does not exceed `currentSequence`
   * @throws {WalArgumentError} the value cannot be encoded or is too large
   * @throws {WalIoError} the write failed and was rolled back
   * @throws {WalPoisonedError} the writer is poisoned (possibly by this call)
   * @throws {WalClosedError} the writer is closed
   */
  append(value: T, options?: AppendOptions): Promise<number> {
    let payload: Uint8Array;
    try {
      this.#checkWritable();
      const explicit = options?.sequence;
      if (explicit !== undefined && (!Number.isSafeInteger(explicit) || explicit < 1)) {
        throw new WalArgumentError(`sequence must be a positive safe integer, not ${explicit}`);
      }
      payload = this.#encode(value);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue(async () => {
      this.#checkWritable();
      const sequence = options?.sequence ?? this.#sequence + 1;
      if (sequence <= this.#sequence) throw new SequenceError(this.#sequence + 1, sequence);
      if (!Number.isSafeInteger(sequence)) throw new WalArgumentError(`sequence ${sequence} exceeds 2^53 - 1`);
      const recordBytes = RECORD_HEADER_BYTES + payload.length;
      if (this.#scratch.length < recordBytes) this.#scratch = new Uint8Array(Math.max(recordBytes, this.#scratch.length * 2));
      encodeRecord(this.#scratch, 0, RecordKind.data, sequence, this.#now(), payload, this.#sum);
      await this.#write(this.#scratch.subarray(0, recordBytes), "append");
      this.#sequence = sequence;
      this.#pendingRecords++;
      return sequence;
    });
  }

  /**
   * Makes every record appended before this call durable: fsync, write a
   * commit record, fsync. Resolves at once if nothing is pending.
   *
   * @throws {WalPoisonedError} an fsync failed (now or earlier)
   * @throws {WalIoError} the commit write failed and was rolled back
   * @throws {WalClosedError} the writer is closed
   */
  flush(): Promise<void> {
    try {
      this.#checkWritable();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue(async () => {
      this.#checkWritable();
      await this.#commit();
    });
  }

  /**
   * Flushes, then releases the file and the lock. Later calls of `append`
   * and `flush` reject with `WalClosedError`; a second `close` returns the
   * first one's result. A poisoned writer is released without writing.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closeRequested = true;
    this.#closing = this.#enqueue(async () => {
      let failure: unknown = null;
      if (this.#poison === null) await this.#commit().catch((error: unknown) => (failure = error));
      await this.#file.close().catch((error: unknown) => (failure ??= new WalIoError("close", this.path, error)));
      await this.#lock.release().catch((error: unknown) => (failure ??= new WalIoError("unlock", this.#lock.path, error)));
      if (failure !== null) throw failure;
    });
    return this.#closing;
  }

  /** Same as {@link close}; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #enqueue<R>(operation: () => Promise<R>): Promise<R> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #checkWritable(): void {
    if (this.#poison !== null) throw new WalPoisonedError(this.path, this.#poison);
    if (this.#closeRequested) throw new WalClosedError(this.path);
  }

  #encode(value: T): Uint8Array {
    let payload: Uint8Array;
    try {
      payload = this.#codec.encode(value);
    } catch (error) {
      throw new WalArgumentError(`the ${this.#codec.name} codec cannot encode this value`, { cause: error });
    }
    if (payload.length > this.#recordBytesMax) {
      throw new WalArgumentError(`record of ${payload.length} bytes exceeds maxRecordBytes ${this.#recordBytesMax}`);
    }
    return payload;
  }

  async #commit(): Promise<void> {
    if (this.#pendingRecords === 0) return;
    await this.#sync();
    const commitOffset = this.#end;
    const payload = encodeCommitPayload({ batchStart: this.#committedEnd, commitOffset, recordCount: this.#pendingRecords });
    const record = new Uint8Array(COMMIT_RECORD_BYTES);
    encodeRecord(record, 0, RecordKind.commit, this.#sequence, this.#now(), payload, this.#sum);
    await this.#write(record, "commit");
    await this.#sync();
    this.#committedEnd = this.#end;
    this.#pendingRecords = 0;
  }

  /** Writes at the end; on failure truncates back, or poisons if that fails. */
  async #write(bytes: Uint8Array, operation: string): Promise<void> {
    const start = this.#end;
    try {
      await this.#file.write(bytes, start);
    } catch (writeError) {
      try {
        await this.#file.truncate(start);
        await this.#file.sync();
      } catch (rollbackError) {
        this.#poison = rollbackError;
        throw new WalPoisonedError(this.path, new AggregateError([writeError, rollbackError], "write and rollback failed"));
      }
      throw new WalIoError(operation, this.path, writeError);
    }
    this.#end = start + bytes.length;
  }

  async #sync(): Promise<void> {
    try {
      await this.#file.sync();
    } catch (error) {
      this.#poison = error;
      throw new WalPoisonedError(this.path, error);
    }
  }
}

/** Checks `maxRecordBytes` and returns it or the default. */
export function checkRecordBytesMax(value: number | undefined): number {
  const max = value ?? RECORD_BYTES_MAX_DEFAULT;
  if (!Number.isSafeInteger(max) || max < 1 || max > RECORD_BYTES_MAX_LIMIT) {
    throw new WalArgumentError(`maxRecordBytes must be an integer from 1 to ${RECORD_BYTES_MAX_LIMIT}, not ${max}`);
  }
  return max;
}

/**
 * Scans the whole file, decoding every payload with the codec so that a
 * record the codec rejects is reported as `decode-failure`.
 */
async function validate<T>(
  file: FileHandle,
  fileBytes: number,
  path: string,
  recordBytesMax: number,
  crc: (data: Uint8Array, seed: number) => number,
  codec: Codec<T>,
): Promise<ScanEnd> {
  const scan = scanLog(file, fileBytes, { path, recordBytesMax, crc });
  for (;;) {
    const next = await io("read", path, () => scan.next());
    if (next.done === true) return next.value;
    try {
      codec.decode(next.value.payload);
    } catch (error) {
      const kind: CorruptionKind = "decode-failure";
      throw new WalCorruptionError({ kind, offset: next.value.offset, path, detail: String(error) }, { cause: error });
    }
  }
}

/** Creates a log file atomically: header to `<path>.creating`, sync, rename, sync the directory. */
async function createLogFile(
  fs: FileSystem,
  path: string,
  baseSequence: number,
  crc: (data: Uint8Array, seed: number) => number,
): Promise<void> {
  const temporary = `${path}.creating`;
  await unlinkIfPresent(fs, temporary);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  await writeNewFile(fs, temporary, encodeFileHeader({ salt, baseSequence }, crc));
  await fs.rename(temporary, path);
  await fs.syncDir(dirname(path));
}

/** Runs an I/O step, wrapping non-library errors in `WalIoError`. */
export async function io<R>(operation: string, path: string, step: () => Promise<R>): Promise<R> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof WalError) throw error;
    throw new WalIoError(operation, path, error);
  }
}
