/**
 * The public single-file writer: one {@link LogFile} owned through a
 * {@link LogOwner} (the exclusive writer lock `<path>.lock` and a serial
 * queue for what must not overlap: opening, waiting for room, closing).
 * An append that finds the queue idle and room in the batch being filled is
 * accepted at once, without a queue turn; otherwise it waits its turn, so
 * records always keep call order. Flushes share writes and fsyncs (group
 * commit, see `log-file.ts`), and `sync` decides when appends are durable
 * (`durability.ts`).
 *
 * @module
 */

import { assert } from "../assert.ts";
import { WalArgumentError } from "../errors.ts";
import type { Codec } from "../format/codec.ts";
import { RECORD_HEADER_BYTES, SALT_BYTES } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { io, makeDirectory, requireLogFile } from "../io.ts";
import type { WriterLock } from "../lock.ts";
import {
  checkOptions,
  checkPath,
  checkSafeInteger,
  crcOf,
  fileSystemOrDefault,
  observe,
  type OptionNames,
  type RepairPolicy,
} from "../options.ts";
import { LogOwner, openLocked, prepareNothing } from "../owner.ts";
import { dirname } from "../path.ts";
import { Durability, type SyncMode } from "./durability.ts";
import { checkBatchBytes, LogFile } from "./log-file.ts";
import { checkLogOptions } from "./log-options.ts";
import type { Repair } from "./repair.ts";

export type { SyncMode } from "./durability.ts";
export type { RepairPolicy } from "../options.ts";
export type { Repair } from "./repair.ts";

/** Options of {@link WalWriter.open}. */
export interface WalWriterOptions<T> {
  /** Torn-tail policy; default `strict`. */
  readonly repair?: RepairPolicy;
  /** When appends become durable: `"manual"` (default: on `flush`), `"always"`, or `{ intervalMs }`. */
  readonly sync?: SyncMode;
  /** Value encoding; default JSON. */
  readonly codec?: Codec<T>;
  /** Filesystem adapter; default: the running runtime's. */
  readonly fs?: FileSystem;
  /** Largest payload in bytes, 1 … 2^32 − 1; default 16 MiB. Also bounds what opening reads. */
  readonly maxRecordBytes?: number;
  /**
   * Bytes of records buffered before they are written and synced without a
   * flush (and the largest `appendBatch`), 1 KiB … 2^32 − 1; default 4 MiB.
   * A single record larger than this still goes, alone.
   */
  readonly maxBatchBytes?: number;
  /** Clock for record times, milliseconds since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Records of a newly created file must have sequences above this; default 0. Ignored for an existing file. */
  readonly baseSequence?: number;
  /**
   * How old, in ms, the lock holder's heartbeat must be before another
   * process may break its lock when it cannot prove the holder dead (another
   * host or pid namespace, or no permission to look); 100 … 86 400 000,
   * default 30 000. The holder refreshes it every `staleMs / 3`; a writer
   * whose lock was broken meanwhile refuses every write with
   * `WalLockLostError` (see `src/lock.ts`).
   */
  readonly staleMs?: number;
  /**
   * The 8-byte salt of a newly created file; default random. Fix it only to
   * make files reproducible byte for byte (tests); ignored for an existing file.
   */
  readonly salt?: Uint8Array;
  /**
   * Whether a missing log may be created; default true, which also creates
   * missing parent directories (durably), as `Wal.open` does. With `false`
   * a missing log file is refused with `WalIoError` (operation `open`, its
   * `cause.code` `ENOENT`) before anything is created or locked, so a typo
   * in a path never yields a new empty log.
   */
  readonly create?: boolean;
  /**
   * Observer told about each batch once it is written and synced: its
   * `bytes` (records and commit record), `records`, `durationMs` (write and
   * fsync) and `syncMs` (the fsync alone), say to feed a latency histogram.
   * It runs on the flush's path, so keep it short; an exception from it is
   * ignored. Absent (the default), nothing is timed.
   */
  readonly onSync?: (event: { readonly bytes: number; readonly records: number; readonly durationMs: number; readonly syncMs: number }) => void;
  /**
   * Observer told once, while opening, what a `truncate-partial` repair cut
   * (the same as `repaired`), say to log or count it; an exception from it
   * is ignored.
   */
  readonly onRepair?: (repair: Repair) => void;
}

/** The options {@link WalWriter.open} takes, for refusing any other. */
const WRITER_OPTION_NAMES: OptionNames<WalWriterOptions<unknown>> = {
  repair: true,
  sync: true,
  codec: true,
  fs: true,
  maxRecordBytes: true,
  maxBatchBytes: true,
  now: true,
  baseSequence: true,
  staleMs: true,
  salt: true,
  create: true,
  onSync: true,
  onRepair: true,
};

/** The options of `append` and `appendBatch`, for refusing any other. */
const APPEND_OPTION_NAMES: OptionNames<AppendOptions> = { sequence: true };

/** Options of {@link WalWriter.append} and {@link WalWriter.appendBatch}. */
export interface AppendOptions {
  /** Explicit sequence (of the first record, for a batch); must exceed `currentSequence` (gaps allowed). Default: current + 1. */
  readonly sequence?: number;
}

/** Appends records to one log file. Obtain with {@link WalWriter.open}. */
export class WalWriter<T = unknown> implements AsyncDisposable {
  /** The log file's path, as given to {@link WalWriter.open} (the lock is `<path>.lock`). */
  readonly path: string;
  readonly #log: LogFile;
  readonly #owner: LogOwner;
  readonly #codec: Codec<T>;
  readonly #recordBytesMax: number;
  readonly #batchBytesMax: number;
  readonly #durability: Durability;

  private constructor(log: LogFile, lock: WriterLock, codec: Codec<T>, limits: Limits, sync: SyncMode) {
    this.path = log.path;
    this.#log = log;
    this.#owner = new LogOwner(lock, log.path, () => log.checkNotPoisoned());
    this.#codec = codec;
    this.#recordBytesMax = limits.recordBytesMax;
    this.#batchBytesMax = limits.batchBytesMax;
    this.#durability = new Durability(sync, () => log.commit(), (cause) => log.poison(cause));
  }

  /**
   * Opens the log at `path` for appending, creating it (and missing parent
   * directories) if absent, unless `options.create` is false. Takes the
   * exclusive writer lock, then validates every batch, applying
   * `options.repair` to a torn tail. A failed open writes nothing to the log.
   *
   * @throws {WalLockedError} another writer holds the log (and is not provably dead, or its heartbeat is younger than `staleMs`)
   * @throws {WalCorruptionError} the log is damaged (beyond what the policy repairs)
   * @throws {WalIoError} the filesystem failed, or (`create: false`) there is no log at `path` (`cause.code` `ENOENT`)
   * @throws {WalArgumentError} an option is unknown or invalid
   */
  static async open<T = unknown>(path: string, optionsGiven?: WalWriterOptions<T>): Promise<WalWriter<T>> {
    checkPath("path", path);
    const options = checkOptions(optionsGiven, "WalWriter.open", WRITER_OPTION_NAMES);
    const { repair, sync, recordBytesMax, batchBytesMax, now, baseSequence, create, onSync, onRepair, staleMs, codec } = checkLogOptions(options);
    if (options.salt !== undefined && !(options.salt instanceof Uint8Array && options.salt.length === SALT_BYTES)) {
      throw new WalArgumentError(`salt must be a Uint8Array of ${SALT_BYTES} bytes`);
    }
    const fs = await fileSystemOrDefault(options.fs);
    if (create) await io("mkdir", dirname(path), () => makeDirectory(fs, dirname(path)));
    else await requireLogFile(fs, path);
    return openLocked(fs, `${path}.lock`, staleMs, async (lock) => {
      if (!create) await requireLogFile(fs, path); // again under the lock: it may have gone meanwhile
      const log = await LogFile.open(fs, path, {
        fence: () => lock.fence(),
        repair,
        recordBytesMax,
        batchBytesMax,
        crc: crcOf(fs),
        now,
        baseSequence,
        ...(options.salt === undefined ? {} : { salt: options.salt }),
        ...(onSync === undefined ? {} : { onSync }),
      });
      if (log.repaired !== null) observe(onRepair, log.repaired);
      return new WalWriter<T>(log, lock, codec, { recordBytesMax, batchBytesMax }, sync);
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
   * Appends `value` as one record and resolves with its sequence: once the
   * record is accepted (buffered, in call order), or with `sync: "always"`
   * once it is durable. Nothing is durable before a flush resolves.
   *
   * @throws {SequenceError} `options.sequence` does not exceed `currentSequence`
   * @throws {WalArgumentError} the value cannot be encoded or is too large
   * @throws {WalIoError} (`sync: "always"`) the write failed and was rolled back; the writer is still usable
   * @throws {WalPoisonedError} the writer is poisoned (possibly by this call)
   * @throws {WalClosedError} the writer is closed
   */
  append(value: T, options?: AppendOptions): Promise<number> {
    let sequence: number | null;
    try {
      this.#owner.checkWritable();
      // A text codec's text is encoded straight into the batch buffer when it is accepted at once.
      const payload = preparePayload(this.#codec, value, options, this.#recordBytesMax);
      sequence = this.#owner.idle ? this.#log.appendNow(payload, options?.sequence) : null;
      if (sequence === null) {
        const bytes = payloadBytes(payload, this.#recordBytesMax);
        return this.#acceptNowOrInTurn(
          () => bytes,
          (prepared) => RECORD_HEADER_BYTES + prepared.length,
          (prepared) => this.#log.append(prepared, options?.sequence),
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#durability.accepted(sequence);
  }

  /**
   * Appends `values` as records with consecutive sequences that survive a
   * crash all together or not at all (they go to disk in one write under one
   * commit), and resolves with the last one's sequence, as {@link append}
   * does. An empty batch resolves with `currentSequence`.
   *
   * @throws {WalArgumentError} a value cannot be encoded or is too large, or the batch exceeds `maxBatchBytes`
   * @throws {SequenceError} `options.sequence` does not exceed `currentSequence`
   * @throws {WalIoError} (`sync: "always"`) the write failed and was rolled back
   * @throws {WalPoisonedError} the writer is poisoned
   * @throws {WalClosedError} the writer is closed
   */
  appendBatch(values: readonly T[], options?: AppendOptions): Promise<number> {
    if (this.#codec.toText !== undefined) return this.#appendTexts(values, options);
    return this.#acceptNowOrInTurn(
      () => prepareBatch(this.#codec, values, options, this.#recordBytesMax, this.#batchBytesMax),
      batchBytes,
      (payloads) => (payloads.length === 0 ? this.#log.currentSequence : this.#log.appendAll(payloads, options?.sequence)),
    );
  }

  /**
   * Makes every record appended before this call durable: one write of the
   * buffered batch with its commit record, then one fsync, shared with every
   * concurrent flush. Resolves at once if nothing is pending.
   *
   * @throws {WalPoisonedError} an fsync or rollback failed (now or earlier)
   * @throws {WalIoError} a write failed and was rolled back: the records after `currentSequence` were discarded; the writer is still usable
   * @throws {WalClosedError} the writer is closed
   */
  flush(): Promise<void> {
    return this.#owner.startInTurn(() => this.#log.commit());
  }

  /**
   * Flushes, then releases the file and the lock. Later calls of `append`
   * and `flush` reject with `WalClosedError`; a second `close` returns the
   * first one's result. A poisoned writer is released without writing.
   */
  close(): Promise<void> {
    this.#durability.stop();
    return this.#owner.close([async () => (this.#log.poisoned ? undefined : this.#log.commit()), () => this.#log.close()]);
  }

  /** Same as {@link close}; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** {@link appendBatch} with a text codec: encoded in place when accepted at once, else as bytes in turn. */
  #appendTexts(values: readonly T[], options: AppendOptions | undefined): Promise<number> {
    let sequence: number | null;
    try {
      this.#owner.checkWritable();
      const texts = prepareTexts(this.#codec, values, options);
      sequence = this.#owner.idle ? this.#log.appendAllTextNow(texts, options?.sequence) : null;
      if (sequence === null) {
        const payloads = textPayloads(texts, this.#recordBytesMax, this.#batchBytesMax);
        return this.#acceptNowOrInTurn(
          () => payloads,
          batchBytes,
          (prepared) => (prepared.length === 0 ? this.#log.currentSequence : this.#log.appendAll(prepared, options?.sequence)),
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#durability.accepted(sequence);
  }

  /**
   * Prepares (checks, encodes: a failure rejects before anything changes),
   * then accepts into the batch being filled with `accept` (which returns the
   * last sequence it accepted): at once when nothing is queued and there is
   * room for `bytesOf(prepared)`, else in turn after waiting for room.
   */
  #acceptNowOrInTurn<P>(prepare: () => P, bytesOf: (prepared: P) => number, accept: (prepared: P) => number): Promise<number> {
    let prepared: P;
    let sequence: number;
    try {
      this.#owner.checkWritable();
      prepared = prepare();
      const bytes = bytesOf(prepared);
      if (!this.#owner.idle || !this.#log.hasRoom(bytes)) {
        return this.#owner.run(prepareNothing, async () => {
          await this.#log.whenRoom(bytes);
          assert(this.#log.hasRoom(bytes), "waiting for room leaves room");
          return accept(prepared);
        }).then((accepted) => this.#durability.accepted(accepted));
      }
      sequence = accept(prepared);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#durability.accepted(sequence);
  }
}

/** The record size limits of an open log. */
interface Limits {
  readonly recordBytesMax: number;
  readonly batchBytesMax: number;
}

/** Checks an append's explicit sequence, if any, and encodes its value: everything an append can refuse before I/O. */
export function prepareAppend<T>(codec: Codec<T>, value: T, options: AppendOptions | undefined, recordBytesMax: number): Uint8Array {
  checkAppendOptions(options, "append");
  return encodeValue(codec, value, recordBytesMax);
}

/** Checks an append's options: an object, its explicit sequence (if any) a safe integer of at least 1. */
function checkAppendOptions(options: AppendOptions | undefined, entry: string): void {
  checkOptions(options, entry, APPEND_OPTION_NAMES);
  if (options?.sequence !== undefined) checkSafeInteger("sequence", options.sequence, 1);
}

/**
 * An append's payload, checked: for a codec with `toText` the value's text,
 * to be encoded in place when accepted at once (its size is checked then),
 * else {@link prepareAppend}'s bytes.
 */
export function preparePayload<T>(codec: Codec<T>, value: T, options: AppendOptions | undefined, recordBytesMax: number): Uint8Array | string {
  if (codec.toText === undefined) return prepareAppend(codec, value, options, recordBytesMax);
  checkAppendOptions(options, "append");
  return textOf(codec, value);
}

/** A prepared payload as bytes, checked against `recordBytesMax`, for when it cannot be encoded in place. */
export function payloadBytes(payload: Uint8Array | string, recordBytesMax: number): Uint8Array {
  return typeof payload === "string" ? textPayload(payload, recordBytesMax) : payload;
}

/** The text codec's text for `value`, or `WalArgumentError` when it cannot encode it. */
function textOf<T>(codec: Codec<T>, value: T): string {
  try {
    return codec.toText!(value);
  } catch (error) {
    throw new WalArgumentError(`the ${codec.name} codec cannot encode this value`, { cause: error });
  }
}

/** The UTF-8 bytes of a text payload, checked against `recordBytesMax`, for when it cannot be encoded in place. */
function textPayload(text: string, recordBytesMax: number): Uint8Array {
  return checkPayloadBytes(utf8.encode(text), recordBytesMax);
}

/** {@link prepareAppend} for a batch, which must also fit `batchBytesMax` (a batch of one always does). */
export function prepareBatch<T>(
  codec: Codec<T>,
  values: readonly T[],
  options: AppendOptions | undefined,
  recordBytesMax: number,
  batchBytesMax: number,
): Uint8Array[] {
  if (!Array.isArray(values)) throw new WalArgumentError("appendBatch takes an array of values");
  checkAppendOptions(options, "appendBatch");
  const payloads = values.map((value) => encodeValue(codec, value, recordBytesMax));
  checkBatchBytes(payloads.length, batchBytes(payloads), batchBytesMax);
  return payloads;
}

/** {@link prepareBatch} for a codec with `toText`: checks the arguments and returns the values' texts, to be encoded in place. */
export function prepareTexts<T>(codec: Codec<T>, values: readonly T[], options: AppendOptions | undefined): string[] {
  if (!Array.isArray(values)) throw new WalArgumentError("appendBatch takes an array of values");
  checkAppendOptions(options, "appendBatch");
  return values.map((value) => textOf(codec, value));
}

/** {@link prepareBatch} of texts that cannot be encoded in place: their UTF-8 bytes, checked. */
export function textPayloads(texts: readonly string[], recordBytesMax: number, batchBytesMax: number): Uint8Array[] {
  const payloads = texts.map((text) => textPayload(text, recordBytesMax));
  checkBatchBytes(payloads.length, batchBytes(payloads), batchBytesMax);
  return payloads;
}

/** Bytes the frames of `payloads` take. */
export function batchBytes(payloads: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const payload of payloads) bytes += RECORD_HEADER_BYTES + payload.length;
  return bytes;
}

/** Encodes a value, rejecting what the codec refuses (`WalArgumentError`, the codec's error as `cause`) and what exceeds `recordBytesMax`. */
function encodeValue<T>(codec: Codec<T>, value: T, recordBytesMax: number): Uint8Array {
  let payload: Uint8Array;
  try {
    payload = codec.encode(value);
  } catch (error) {
    throw new WalArgumentError(`the ${codec.name} codec cannot encode this value`, { cause: error });
  }
  return checkPayloadBytes(payload, recordBytesMax);
}

/** `payload`, or `WalArgumentError` when it exceeds `recordBytesMax`. */
function checkPayloadBytes(payload: Uint8Array, recordBytesMax: number): Uint8Array {
  if (payload.length > recordBytesMax) {
    throw new WalArgumentError(`record of ${payload.length} bytes exceeds maxRecordBytes ${recordBytesMax}`);
  }
  return payload;
}

const utf8 = new TextEncoder();
