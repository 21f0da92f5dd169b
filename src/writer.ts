/**
 * The public single-file writer: one {@link LogFile} owned through a
 * {@link LogOwner} (the exclusive writer lock `<path>.lock` and a serial
 * queue), so concurrent callers never interleave bytes. Concurrent `flush` calls share one commit (group
 * commit): whatever was appended before a flush runs is covered by it, and a
 * flush that finds nothing pending returns at once.
 *
 * @module
 */

import type { Codec } from "./codec.ts";
import { WalArgumentError } from "./errors.ts";
import { SALT_BYTES } from "./format.ts";
import type { FileSystem } from "./fs.ts";
import type { WriterLock } from "./lock.ts";
import { LogFile, type RepairPolicy } from "./log-file.ts";
import {
  checkRecordBytesMax,
  checkRepairPolicy,
  checkSafeInteger,
  codecOrDefault,
  crcOf,
  fileSystemOrDefault,
} from "./options.ts";
import { LogOwner, noArguments, openLocked } from "./owner.ts";
import type { Repair } from "./repair.ts";

export type { RepairPolicy } from "./log-file.ts";
export type { Repair } from "./repair.ts";

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
  /**
   * The 8-byte salt of a newly created file; default random. Fix it only to
   * make files reproducible byte for byte (tests); ignored for an existing file.
   */
  readonly salt?: Uint8Array;
}

/** Options of {@link WalWriter.append}. */
export interface AppendOptions {
  /** Explicit sequence; must exceed `currentSequence` (gaps allowed). Default: current + 1. */
  readonly sequence?: number;
}

/** Appends records to one log file. Obtain with {@link WalWriter.open}. */
export class WalWriter<T = unknown> implements AsyncDisposable {
  /** The log file. */
  readonly path: string;
  readonly #log: LogFile;
  readonly #owner: LogOwner;
  readonly #codec: Codec<T>;
  readonly #recordBytesMax: number;

  private constructor(log: LogFile, lock: WriterLock, codec: Codec<T>, recordBytesMax: number) {
    this.path = log.path;
    this.#log = log;
    this.#owner = new LogOwner(lock, log.path, () => log.checkNotPoisoned());
    this.#codec = codec;
    this.#recordBytesMax = recordBytesMax;
  }

  /**
   * Opens the log at `path` for appending, creating it if absent. Takes the
   * exclusive writer lock, then validates every record, applying
   * `options.repair` to a torn tail. A failed open writes nothing to the log.
   *
   * @throws {WalLockedError} another writer holds the log
   * @throws {WalCorruptionError} the log is damaged (beyond what the policy repairs)
   * @throws {WalIoError} the filesystem failed
   * @throws {WalArgumentError} an option is invalid
   */
  static async open<T = unknown>(path: string, options: WalWriterOptions<T> = {}): Promise<WalWriter<T>> {
    const repair = checkRepairPolicy(options.repair);
    const recordBytesMax = checkRecordBytesMax(options.maxRecordBytes);
    const baseSequence = checkSafeInteger("baseSequence", options.baseSequence ?? 0, 0);
    if (options.salt !== undefined && !(options.salt instanceof Uint8Array && options.salt.length === SALT_BYTES)) {
      throw new WalArgumentError(`salt must be a Uint8Array of ${SALT_BYTES} bytes`);
    }
    const codec = codecOrDefault(options.codec);
    const fs = await fileSystemOrDefault(options.fs);
    return openLocked(fs, `${path}.lock`, async (lock) => {
      const log = await LogFile.open(fs, path, {
        repair,
        codec: codec as Codec<unknown>,
        recordBytesMax,
        crc: crcOf(fs),
        now: options.now ?? Date.now,
        baseSequence,
        ...(options.salt === undefined ? {} : { salt: options.salt }),
      });
      return new WalWriter<T>(log, lock, codec, recordBytesMax);
    });
  }

  /** Highest sequence in the log (durable or not yet flushed); the base sequence (0) when empty. */
  get currentSequence(): number {
    return this.#log.currentSequence;
  }

  /** True once a failed rollback or fsync has made the writer refuse all writes. */
  get poisoned(): boolean {
    return this.#log.poisoned;
  }

  /** What opening cut off as a torn tail, or null. */
  get repaired(): Repair | null {
    return this.#log.repaired;
  }

  /**
   * Appends `value` as one record and resolves with its sequence once the
   * bytes are written (not yet durable: call {@link flush}).
   *
   * @throws {SequenceError} `options.sequence` does not exceed `currentSequence`
   * @throws {WalArgumentError} the value cannot be encoded or is too large
   * @throws {WalIoError} the write failed and was rolled back; the writer is still usable
   * @throws {WalPoisonedError} the writer is poisoned (possibly by this call)
   * @throws {WalClosedError} the writer is closed
   */
  append(value: T, options?: AppendOptions): Promise<number> {
    return this.#owner.run(
      () => prepareAppend(this.#codec, value, options, this.#recordBytesMax),
      (payload) => this.#log.append(payload, options?.sequence),
    );
  }

  /**
   * Makes every record appended before this call durable (fsync, commit
   * record, fsync). Resolves at once if nothing is pending.
   *
   * @throws {WalPoisonedError} an fsync or rollback failed (now or earlier)
   * @throws {WalIoError} the commit write failed and was rolled back
   * @throws {WalClosedError} the writer is closed
   */
  flush(): Promise<void> {
    return this.#owner.run(noArguments, () => this.#log.commit());
  }

  /**
   * Flushes, then releases the file and the lock. Later calls of `append`
   * and `flush` reject with `WalClosedError`; a second `close` returns the
   * first one's result. A poisoned writer is released without writing.
   */
  close(): Promise<void> {
    return this.#owner.close([async () => (this.#log.poisoned ? undefined : this.#log.commit()), () => this.#log.close()]);
  }

  /** Same as {@link close}; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Checks an append's explicit sequence, if any, and encodes its value: everything an append can refuse before I/O. */
export function prepareAppend<T>(codec: Codec<T>, value: T, options: AppendOptions | undefined, recordBytesMax: number): Uint8Array {
  if (options?.sequence !== undefined) checkSafeInteger("sequence", options.sequence, 1);
  return encodeValue(codec, value, recordBytesMax);
}

/** Encodes a value, rejecting what the codec refuses and what exceeds the limit. */
export function encodeValue<T>(codec: Codec<T>, value: T, recordBytesMax: number): Uint8Array {
  let payload: Uint8Array;
  try {
    payload = codec.encode(value);
  } catch (error) {
    throw new WalArgumentError(`the ${codec.name} codec cannot encode this value`, { cause: error });
  }
  if (payload.length > recordBytesMax) {
    throw new WalArgumentError(`record of ${payload.length} bytes exceeds maxRecordBytes ${recordBytesMax}`);
  }
  return payload;
}
