/**
 * One log file's state machine, without a lock or a queue: open (create,
 * validate, repair), append an encoded record, commit a batch, close. The
 * public {@link WalWriter} wraps one of these; the segmented `Wal` wraps one
 * per active segment. Callers must not overlap calls (they queue them).
 *
 * Failure outcomes, all defined:
 * - a write fails (even after a prefix landed): the file is truncated back to
 *   where the write started and synced; the call throws `WalIoError` and the
 *   file stays usable;
 * - that rollback fails, or any fsync fails: the file is poisoned; this and
 *   every later append or commit throws `WalPoisonedError` and no further
 *   byte is written (after a failed fsync the kernel may have dropped the
 *   dirty pages, so a retried fsync could falsely succeed: there is no retry).
 *
 * @module
 */

import type { Codec } from "./codec.ts";
import type { Crc32 } from "./crc32.ts";
import {
  type CorruptionKind,
  SequenceError,
  WalArgumentError,
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
  RECORD_HEADER_BYTES,
  RecordKind,
  SALT_BYTES,
} from "./format.ts";
import type { FileHandle, FileSystem } from "./fs.ts";
import { unlinkIfPresent, writeNewFile } from "./io.ts";
import { dirname } from "./path.ts";
import { cutTornTail, type Repair } from "./repair.ts";
import { type ScanEnd, type ScannedRecord, scanLog } from "./scan.ts";

/**
 * What opening does with a torn tail (damage after the last durable commit).
 * Damage anywhere before a durable commit fails under every policy.
 * - `strict`: fail with `WalCorruptionError`; write nothing.
 * - `truncate-partial`: save the tail's bytes to `<path>.<offset>.torn`, cut
 *   the log back to its last intact record, and open.
 */
export type RepairPolicy = "strict" | "truncate-partial";

/** How to open a {@link LogFile}. */
export interface LogFileOptions {
  /** Torn-tail policy. */
  readonly repair: RepairPolicy;
  /** Decodes every payload during validation, so undecodable ones fail as `decode-failure`. */
  readonly codec: Codec<unknown>;
  /** Largest payload. */
  readonly recordBytesMax: number;
  /** CRC-32 implementation. */
  readonly crc: Crc32;
  /** Record clock, milliseconds since the epoch. */
  readonly now: () => number;
  /** Base sequence of the file if it has to be created. */
  readonly baseSequence: number;
  /** Salt of the file if it has to be created (8 bytes); default random. */
  readonly salt?: Uint8Array;
  /**
   * Called with every intact data record, in file order, while opening
   * validates the file (the payload is a view valid only during the call).
   */
  readonly onRecord?: (record: ScannedRecord) => void;
}

/** What {@link validate} needs to know. */
export type ValidateOptions = Pick<LogFileOptions, "codec" | "recordBytesMax" | "crc" | "onRecord">;

/** An open log file, positioned at its end. */
export class LogFile {
  /** The file. */
  readonly path: string;
  /** What opening cut off as a torn tail, or null. */
  readonly repaired: Repair | null;
  /** The file header's base sequence. */
  readonly baseSequence: number;
  /** Time of the first record, or -1 if none yet. */
  firstTimeMs: number;
  /** Time of the last record, or -1 if none yet. */
  lastTimeMs: number;
  readonly #file: FileHandle;
  readonly #sum: Checksummer;
  readonly #now: () => number;
  /** Offset where the next record goes. */
  #end: number;
  /** End of the last durable commit. */
  #committedEnd: number;
  /** End of what the last successful fsync covered: nothing before it can be lost. */
  #durableEnd: number;
  /** Data records written since the last commit. */
  #pendingRecords: number;
  #records: number;
  #sequence: number;
  #poison: unknown = null;
  /** Reused encoding buffer; grows to the largest record. */
  #scratch = new Uint8Array(4096);

  private constructor(path: string, file: FileHandle, scan: ScanEnd, repaired: Repair | null, now: () => number) {
    this.path = path;
    this.#file = file;
    this.#now = now;
    this.#sum = scan.checksummer;
    this.#end = scan.endOffset;
    this.#committedEnd = scan.committedEnd;
    this.#durableEnd = scan.endOffset; // opening synced the file (see syncOnOpen)
    this.#pendingRecords = scan.pendingRecords;
    this.#records = scan.records;
    this.#sequence = scan.lastSequence;
    this.baseSequence = scan.header.baseSequence;
    this.firstTimeMs = scan.firstTimeMs;
    this.lastTimeMs = scan.lastTimeMs;
    this.repaired = repaired;
  }

  /**
   * Opens `path`, creating it (atomically, with `options.baseSequence`) if
   * absent, validating every record, and applying the repair policy.
   */
  static async open(fs: FileSystem, path: string, options: LogFileOptions): Promise<LogFile> {
    const stat = await io("stat", path, () => fs.stat(path));
    if (stat !== null && !stat.isFile) throw new WalIoError("open", path, new Error("not a regular file"));
    if (stat === null) await io("create", path, () => createLogFile(fs, path, options.baseSequence, options.crc, options.salt));
    const file = await io("open", path, () => fs.open(path, "write"));
    try {
      const fileBytes = await io("size", path, () => file.size());
      const scan = await validate(file, fileBytes, path, options);
      let repaired: Repair | null = null;
      if (scan.tail !== null) {
        if (options.repair === "strict") throw new WalCorruptionError(scan.tail);
        const tail = scan.tail;
        repaired = await io("repair", path, () => cutTornTail(fs, file, path, tail, fileBytes));
      }
      await io("sync", path, () => syncOnOpen(fs, file, path));
      return new LogFile(path, file, scan, repaired, options.now);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
  }

  /** Highest sequence written (durable or not); the base sequence when empty. */
  get currentSequence(): number {
    return this.#sequence;
  }

  /** True once a failed rollback or fsync has made this file refuse writes. */
  get poisoned(): boolean {
    return this.#poison !== null;
  }

  /** Data records in the file. */
  get records(): number {
    return this.#records;
  }

  /** Size of the file in bytes (where the next record goes). */
  get bytes(): number {
    return this.#end;
  }

  /** Records written since the last commit. */
  get pendingRecords(): number {
    return this.#pendingRecords;
  }

  /** Throws `WalPoisonedError` if poisoned. */
  checkNotPoisoned(): void {
    if (this.#poison !== null) throw new WalPoisonedError(this.path, this.#poison);
  }

  /**
   * Writes one data record with `sequence` (default current + 1) and returns
   * the sequence. The payload must already respect the size limit.
   */
  async append(payload: Uint8Array, sequence: number = this.#sequence + 1): Promise<number> {
    this.checkNotPoisoned();
    if (sequence <= this.#sequence) throw new SequenceError(this.#sequence + 1, sequence);
    if (!Number.isSafeInteger(sequence)) {
      throw new WalArgumentError(`sequence ${sequence} is past 2^53 - 1, the largest this log can store`);
    }
    const recordBytes = RECORD_HEADER_BYTES + payload.length;
    if (this.#scratch.length < recordBytes) this.#scratch = new Uint8Array(Math.max(recordBytes, this.#scratch.length * 2));
    const timeMs = this.#now();
    encodeRecord(this.#scratch, 0, RecordKind.data, sequence, timeMs, payload, this.#sum);
    await this.#write(this.#scratch.subarray(0, recordBytes), "append");
    this.#sequence = sequence;
    this.#pendingRecords++;
    this.#records++;
    if (this.firstTimeMs < 0) this.firstTimeMs = timeMs;
    this.lastTimeMs = timeMs;
    return sequence;
  }

  /**
   * Makes every written record durable: fsync, write a commit record, fsync.
   * Does nothing if nothing is pending.
   */
  async commit(): Promise<void> {
    this.checkNotPoisoned();
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

  /** Releases the handle without writing. */
  async close(): Promise<void> {
    await io("close", this.path, () => this.#file.close());
  }

  /** Writes at the end; on failure truncates back, or poisons if that fails. */
  async #write(bytes: Uint8Array, operation: string): Promise<void> {
    const start = this.#end;
    try {
      await this.#file.write(bytes, start);
    } catch (writeError) {
      try {
        await this.#file.truncate(start);
      } catch (rollbackError) {
        this.#poison = rollbackError;
        throw new WalPoisonedError(this.path, new AggregateError([writeError, rollbackError], "write and rollback failed"));
      }
      await this.#sync();
      throw new WalIoError(operation, this.path, writeError);
    }
    this.#end = start + bytes.length;
  }

  /**
   * fsync, or poison. After a failed fsync the kernel may have dropped the
   * dirty pages while still serving them from its cache: bytes that read back
   * fine but will never reach the disk, which a later commit (of this or any
   * later writer) would vouch for. So the file is first cut back (best effort)
   * to the end of the last successful fsync; nothing cut was acknowledged.
   */
  async #sync(): Promise<void> {
    try {
      await this.#file.sync();
    } catch (error) {
      await this.#file.truncate(this.#durableEnd).catch(() => undefined);
      this.#end = this.#durableEnd;
      this.#poison = error;
      throw new WalPoisonedError(this.path, error);
    }
    this.#durableEnd = this.#end;
  }
}

/**
 * Scans the whole file, decoding every payload so that undecodable ones are
 * `decode-failure`, and passing each intact record to `options.onRecord`.
 */
export async function validate(file: FileHandle, fileBytes: number, path: string, options: ValidateOptions): Promise<ScanEnd> {
  const scan = scanLog(file, fileBytes, { path, recordBytesMax: options.recordBytesMax, crc: options.crc });
  return io("read", path, async () => {
    for (;;) {
      const next = await scan.next();
      if (next.done === true) return next.value;
      for (const record of next.value) {
        try {
          options.codec.decode(record.payload);
        } catch (error) {
          const kind: CorruptionKind = "decode-failure";
          throw new WalCorruptionError({ kind, offset: record.offset, path, detail: String(error) }, { cause: error });
        }
        options.onRecord?.(record);
      }
    }
  });
}

/**
 * Makes what the scan saw durable before anything is appended after it. A
 * writer that was killed leaves dirty pages in the cache (readable, maybe
 * not on disk) that the next commit would vouch for; one fsync settles them,
 * and a directory fsync settles the log's name (an earlier directory fsync
 * may have failed). Pages that a failed fsync dropped are not a concern: the
 * writer it poisoned cut them off first. Acknowledged bytes are never
 * rewritten: a torn rewrite could destroy them.
 */
async function syncOnOpen(fs: FileSystem, file: FileHandle, path: string): Promise<void> {
  await file.sync();
  await fs.syncDir(dirname(path));
}

/** Creates a log file atomically: header to `<path>.creating`, sync, rename, sync the directory. */
async function createLogFile(
  fs: FileSystem,
  path: string,
  baseSequence: number,
  crc: Crc32,
  salt: Uint8Array = crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
): Promise<void> {
  const temporary = `${path}.creating`;
  await unlinkIfPresent(fs, temporary);
  await writeNewFile(fs, temporary, encodeFileHeader({ salt, baseSequence }, crc));
  await fs.rename(temporary, path);
  await fs.syncDir(dirname(path));
}

/** Runs an I/O step, wrapping errors that are not the library's own in `WalIoError`. */
export async function io<R>(operation: string, path: string, step: () => Promise<R>): Promise<R> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof WalError) throw error;
    throw new WalIoError(operation, path, error);
  }
}
