/**
 * The public segmented log: a {@link SegmentStore} (a directory of segment
 * files) behind the directory's exclusive writer lock (`wal.lock`) and a
 * serial queue, exactly as `WalWriter` wraps one log file. Appends,
 * flushes, rotation, retention and both truncations all run on that one
 * queue in the one process that holds the lock, so no append can race a
 * rotation, a retention run or a truncation. Readers (`read`, `follow`,
 * `Wal.follow` from another process) take no lock and never wait for the
 * writer. docs/SEGMENTS.md describes the layout and the crash-safety
 * argument.
 *
 * @module
 */

import { WalClosedError } from "../errors.ts";
import type { Codec } from "../format/codec.ts";
import type { FileSystem } from "../fs.ts";
import { io, makeDirectory } from "../io.ts";
import type { WriterLock } from "../lock.ts";
import { Durability } from "../log/durability.ts";
import type { WalRecord } from "../log/reader.ts";
import type { Repair } from "../log/repair.ts";
import {
  type AppendOptions,
  batchBytes,
  payloadBytes,
  prepareAppend,
  prepareBatch,
  preparePayload,
  prepareTexts,
  textPayloads,
} from "../log/writer.ts";
import {
  checkBoolean,
  checkFileSystem,
  checkOptions,
  checkPath,
  checkRecordBytesMax,
  checkSafeInteger,
  checkSignal,
  codecOrDefault,
  crcOf,
  fileSystemOrDefault,
  observe,
} from "../options.ts";
import { LogOwner, openLocked, prepareNothing } from "../owner.ts";
import { join } from "../path.ts";
import { requireLogDirectory } from "./directory.ts";
import { readRecords } from "./follow.ts";
import { ChangeNotifier, directorySource, durableWriterSource, type LogSource, writerSource } from "./log-source.ts";
import { SegmentStore, type WalStats } from "./segment-store.ts";
import {
  checkOpenOptions,
  checkPollMs,
  DIRECTORY_FOLLOW_OPTION_NAMES,
  FOLLOW_OPTION_NAMES,
  READ_OPTION_NAMES,
  type Settings,
  type WalDirectoryFollowOptions,
  type WalFollowOptions,
  type WalOptions,
  type WalReadOptions,
} from "./wal-options.ts";

export type { RetentionLimits } from "./retention.ts";
export type { WalStats } from "./stats.ts";
export type { WalDirectoryFollowOptions, WalFollowOptions, WalOptions, WalReadOptions } from "./wal-options.ts";

/** Name of the writer lock inside the log directory. */
const LOCK_FILE = "wal.lock";

/** A segmented write-ahead log. Obtain with {@link Wal.open}. */
export class Wal<T = unknown> implements AsyncDisposable {
  /** The log directory. */
  readonly dir: string;
  readonly #store: SegmentStore;
  readonly #owner: LogOwner;
  readonly #fs: FileSystem;
  readonly #codec: Codec<T>;
  readonly #recordBytesMax: number;
  readonly #batchBytesMax: number;
  readonly #pollMs: number;
  readonly #durability: Durability;
  readonly #changes = new ChangeNotifier();
  /** Set once closing released everything; in-process followers then read what is left and end. */
  #closed = false;

  private constructor(store: SegmentStore, lock: WriterLock, fs: FileSystem, codec: Codec<T>, settings: Settings) {
    this.dir = store.dir;
    this.#store = store;
    this.#owner = new LogOwner(lock, store.dir, () => store.checkNotPoisoned());
    this.#fs = fs;
    this.#codec = codec;
    this.#recordBytesMax = settings.recordBytesMax;
    this.#batchBytesMax = settings.batchBytesMax;
    this.#pollMs = settings.pollMs;
    this.#durability = new Durability(settings.sync, () => this.flush(), (cause) => store.poison(cause));
  }

  /**
   * Opens the log in directory `dir` for appending, creating it if absent
   * (with its parents, durably) unless `options.create` is false. Takes the exclusive writer lock, finishes
   * any rotation, retention or truncation a crash interrupted, and validates
   * every segment: damage in the newest one's tail gets `options.repair`,
   * damage anywhere else fails under every policy. Apart from finishing
   * interrupted operations, a failed open writes nothing to the log.
   *
   * @throws {WalLockedError} another writer holds the log
   * @throws {WalCorruptionError} the log is damaged (beyond what the policy repairs)
   * @throws {WalIoError} the filesystem failed, or (`create: false`) there is no log in `dir` (`cause.code` `ENOENT`)
   * @throws {WalArgumentError} an option is unknown or invalid
   */
  static async open<T = unknown>(dir: string, optionsGiven?: WalOptions<T>): Promise<Wal<T>> {
    checkPath("dir", dir);
    const options = checkOpenOptions(optionsGiven);
    const { create, onSync } = options;
    const fs = await fileSystemOrDefault(options.given.fs);
    if (create) await io("mkdir", dir, () => makeDirectory(fs, dir));
    else await requireLogDirectory(fs, dir);
    const lockPath = join(dir, LOCK_FILE);
    return openLocked(fs, lockPath, options.staleMs, async (lock) => {
      if (!create) await requireLogDirectory(fs, dir); // again under the lock: it may have gone meanwhile
      const store = await SegmentStore.open(fs, dir, {
        fence: () => lock.fence(),
        repair: options.repair,
        recordBytesMax: options.recordBytesMax,
        batchBytesMax: options.batchBytesMax,
        crc: crcOf(fs),
        now: options.now,
        baseSequence: options.baseSequence,
        segmentBytes: options.segmentBytes,
        retention: options.retention,
        cleanupOnRotate: options.cleanupOnRotate,
        ...(onSync === undefined ? {} : { onSync }),
      });
      if (store.repaired !== null) observe(options.onRepair, store.repaired);
      return new Wal<T>(store, lock, fs, options.codec, options);
    });
  }

  /**
   * Follows the log in `dir` from anywhere, another process or runtime
   * included: yields its records in order from `options.from`, then each new
   * one as the writer appends it (polling every `pollMs`), until
   * `options.signal` aborts. Takes no lock. Survives rotation, retention and
   * truncation underneath it: records removed before it reached them are
   * skipped, and it never returns a sequence lower than one it returned.
   * Waits quietly at a torn tail (a record being written) and while the
   * directory does not exist yet.
   *
   * @throws {WalArgumentError} an option is invalid (at the call)
   * @throws {WalRewoundError} a back truncation (or a crash) replaced records it returned
   * @throws {WalCorruptionError} a segment or the bounds file is damaged
   * @throws {WalIoError} the filesystem failed
   */
  static follow<T = unknown>(dir: string, optionsGiven?: WalDirectoryFollowOptions<T>): AsyncGenerator<WalRecord<T>, void, undefined> {
    checkPath("dir", dir);
    const options = checkOptions(optionsGiven, "Wal.follow", DIRECTORY_FOLLOW_OPTION_NAMES);
    const from = checkSafeInteger("from", options.from ?? 0, 0);
    const recordBytesMax = checkRecordBytesMax(options.maxRecordBytes);
    const pollMs = checkPollMs(options.pollMs);
    const signal = checkSignal(options.signal);
    const durable = checkBoolean("durable", options.durable, false);
    const codec = codecOrDefault(options.codec);
    checkFileSystem(options.fs);
    return (async function* (): AsyncGenerator<WalRecord<T>, void, undefined> {
      const fs = await fileSystemOrDefault(options.fs);
      const source = directorySource(fs, dir, crcOf(fs), pollMs, durable ? { recordBytesMax } : null);
      yield* readRecords(source, { from, to: Number.MAX_SAFE_INTEGER, follow: true, signal, codec, fs, recordBytesMax });
    })();
  }

  /** Highest sequence in the log (durable or not yet flushed), or the one it continues from when empty. */
  get currentSequence(): number {
    return this.#store.currentSequence;
  }

  /** Lowest sequence a read returns: the first record's, or `currentSequence + 1` when the log is empty. */
  get firstSequence(): number {
    return this.#store.firstSequence;
  }

  /** The last record's sequence, or `currentSequence` when the log is empty. */
  get lastSequence(): number {
    return this.#store.lastSequence;
  }

  /** True once a failed fsync, rollback or directory operation has made the log refuse all writes. */
  get poisoned(): boolean {
    return this.#store.poisoned;
  }

  /** What opening cut off the newest segment as a torn tail, or null. */
  get repaired(): Repair | null {
    return this.#store.repaired;
  }

  /** Segments, bytes, records, and when the oldest record was appended. */
  stats(): WalStats {
    return this.#store.stats();
  }

  /**
   * Appends `value` as one record and resolves with its sequence: once the
   * record is accepted (buffered, in call order), or with `sync: "always"`
   * once it is durable. Rotates first when the active segment is full
   * (which flushes it).
   *
   * @throws {WalSequenceError} `options.sequence` does not exceed `currentSequence`
   * @throws {WalArgumentError} the value cannot be encoded or is too large
   * @throws {WalIoError} a write failed and was rolled back; the log is still usable
   * @throws {WalPoisonedError} the log is poisoned (possibly by this call)
   * @throws {WalClosedError} the log is closed
   */
  append(value: T, options?: AppendOptions): Promise<number> {
    if (!this.#owner.idle) return this.#appendInTurn(() => [prepareAppend(this.#codec, value, options, this.#recordBytesMax)], options);
    let sequence: number | null;
    try {
      this.#owner.checkWritable();
      // Nothing queued: accepted at once when the active segment takes it without rotating (text encoded in place).
      const payload = preparePayload(this.#codec, value, options, this.#recordBytesMax);
      sequence = this.#store.appendNow(payload, options?.sequence);
      if (sequence === null) return this.#appendInTurn(() => [payloadBytes(payload, this.#recordBytesMax)], options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#changes.notify();
    return this.#durability.accepted(sequence);
  }

  /**
   * Appends `values` as records with consecutive sequences that survive a
   * crash all together or not at all, in one segment, and resolves with the
   * last one's sequence as {@link append} does. An empty batch resolves with
   * `currentSequence`.
   *
   * @throws {WalArgumentError} a value cannot be encoded or is too large, or the batch exceeds `maxBatchBytes`
   * @throws {WalSequenceError} `options.sequence` does not exceed `currentSequence`
   * @throws {WalIoError} a write failed and was rolled back
   * @throws {WalPoisonedError} the log is poisoned
   * @throws {WalClosedError} the log is closed
   */
  appendBatch(values: readonly T[], options?: AppendOptions): Promise<number> {
    if (this.#codec.toText === undefined || !this.#owner.idle) {
      return this.#appendInTurn(() => prepareBatch(this.#codec, values, options, this.#recordBytesMax, this.#batchBytesMax), options);
    }
    let sequence: number | null;
    try {
      this.#owner.checkWritable();
      const texts = prepareTexts(this.#codec, values, options);
      sequence = this.#store.appendAllTextNow(texts, options?.sequence);
      if (sequence === null) return this.#appendInTurn(() => textPayloads(texts, this.#recordBytesMax, this.#batchBytesMax), options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#changes.notify();
    return this.#durability.accepted(sequence);
  }

  /** Appends the records `prepare` encodes (at the call), in one batch, in their turn on the queue (rotating first if the active segment is full). */
  #appendInTurn(prepare: () => Uint8Array[], options: AppendOptions | undefined): Promise<number> {
    return this.#run(prepare, async (payloads) =>
      payloads.length === 0 ? this.#store.currentSequence : this.#store.append(payloads, batchBytes(payloads), options?.sequence),
    ).then((sequence) => this.#durability.accepted(sequence));
  }

  /**
   * Makes every record appended before this call durable: one write of the
   * buffered batch with its commit record, then one fsync. Resolves at once
   * if nothing is pending.
   *
   * @throws {WalPoisonedError} an fsync or rollback failed (now or earlier)
   * @throws {WalIoError} a write failed and was rolled back: the records after `currentSequence` were discarded; the log is still usable
   * @throws {WalClosedError} the log is closed
   */
  flush(): Promise<void> {
    // Not held in the queue while its write and fsync are in flight: appends meanwhile fill the next batch.
    return this.#owner.startInTurn(() => this.#store.commit()).finally(() => this.#changes.notify());
  }

  /**
   * Flushes, seals the active segment and starts a new one. Does nothing
   * more than flush when the active segment holds no record.
   *
   * @throws {WalPoisonedError} the rotation failed part-way (reopen to recover), or the log was poisoned
   * @throws {WalIoError} the flush failed and was rolled back
   * @throws {WalClosedError} the log is closed
   */
  rotate(): Promise<void> {
    return this.#run(prepareNothing, () => this.#store.rotate());
  }

  /**
   * Flushes, then applies the retention limits (`maxAgeMs`,
   * `maxTotalBytes`, `maxSegments`) now: whole segments go where they can,
   * and records an age limit lets go inside a segment are never returned
   * again. When every record has expired the log is left empty, continuing
   * from its current sequence.
   *
   * @throws {WalPoisonedError} the cleanup failed part-way (reopen to recover), or the log was poisoned
   * @throws {WalIoError} the flush failed, or reading a segment failed before anything changed
   * @throws {WalClosedError} the log is closed
   */
  cleanup(): Promise<void> {
    return this.#run(prepareNothing, () => this.#store.cleanup());
  }

  /**
   * Flushes, then makes every record below `sequence` unreachable (say,
   * after a checkpoint), deleting the segments that hold only such records.
   * `sequence` above `currentSequence + 1` empties the log and restarts it
   * there: the next append gets `sequence`. A `sequence` at or below the
   * current front does nothing.
   *
   * @throws {WalArgumentError} `sequence` is not a safe integer of at least 0
   * @throws {WalPoisonedError} the truncation failed part-way (reopen to recover), or the log was poisoned
   * @throws {WalIoError} the flush failed
   * @throws {WalClosedError} the log is closed
   */
  truncateFront(sequence: number): Promise<void> {
    return this.#run(
      () => checkSafeInteger("sequence", sequence, 0),
      () => this.#store.truncateFront(sequence),
    );
  }

  /**
   * Flushes, then removes every record above `sequence` (say, a Raft log
   * conflict), deleting whole segments where it can, and makes `sequence`
   * the current sequence: the next append gets `sequence + 1`. `0` empties
   * the log. A `sequence` at or above `currentSequence` does nothing.
   *
   * @throws {WalArgumentError} `sequence` is not a safe integer of at least 0
   * @throws {WalPoisonedError} the truncation failed part-way (reopen to recover), or the log was poisoned
   * @throws {WalIoError} the flush failed
   * @throws {WalClosedError} the log is closed
   */
  truncateBack(sequence: number): Promise<void> {
    return this.#run(
      () => checkSafeInteger("sequence", sequence, 0),
      () => this.#store.truncateBack(sequence),
    );
  }

  /**
   * Yields the records with sequences from `options.from` to `options.to`,
   * in order, as the log holds them while it reads (appended records need
   * not be flushed). Takes no lock and never delays the writer.
   *
   * @throws {WalArgumentError} an option is invalid (at the call)
   * @throws {WalClosedError} the log is closed (at the call)
   * @throws {WalCorruptionError} a payload cannot be decoded
   * @throws {WalIoError} the filesystem failed
   */
  read(optionsGiven?: WalReadOptions): AsyncGenerator<WalRecord<T>, void, undefined> {
    const options = checkOptions(optionsGiven, "read", READ_OPTION_NAMES);
    const from = checkSafeInteger("from", options.from ?? 0, 0);
    const to = checkSafeInteger("to", options.to ?? Number.MAX_SAFE_INTEGER, 0);
    if (this.#owner.closeRequested) throw new WalClosedError(this.dir);
    return readRecords(this.#source(), { ...this.#readOptions(), from, to, follow: false, signal: undefined });
  }

  /**
   * Yields the records from `options.from` on, in order, then each new one
   * as it is appended (the writer wakes followers; they also look every
   * `pollMs`), until `options.signal` aborts or the log is closed. Never
   * delays the writer. Retention and truncation underneath a follower are
   * handled as for the static {@link Wal.follow}.
   *
   * @throws {WalArgumentError} an option is invalid (at the call)
   * @throws {WalClosedError} the log is closed (at the call)
   * @throws {WalCorruptionError} a payload cannot be decoded
   * @throws {WalIoError} the filesystem failed
   */
  follow(optionsGiven?: WalFollowOptions): AsyncGenerator<WalRecord<T>, void, undefined> {
    const options = checkOptions(optionsGiven, "follow", FOLLOW_OPTION_NAMES);
    const from = checkSafeInteger("from", options.from ?? 0, 0);
    const signal = checkSignal(options.signal);
    const durable = checkBoolean("durable", options.durable, false);
    if (this.#owner.closeRequested) throw new WalClosedError(this.dir);
    const source = durable ? this.#durableSource() : this.#source();
    return readRecords(source, { ...this.#readOptions(), from, to: Number.MAX_SAFE_INTEGER, follow: true, signal });
  }

  /**
   * Flushes, then releases the active segment and the lock. In-process
   * followers then return what is left to read, and end. Later calls of the writing methods reject with
   * `WalClosedError`; a second `close` returns the first one's result. A
   * poisoned log is released without writing.
   */
  close(): Promise<void> {
    this.#durability.stop();
    return this.#owner.close([
      () => this.#store.close(),
      async () => {
        this.#closed = true;
        this.#changes.notify();
      },
    ]);
  }

  /** Same as {@link close}; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Runs an operation through the owner, then wakes the followers: whatever it did, the log may have changed. */
  #run<V, R>(prepare: () => V, operation: (prepared: V) => Promise<R>): Promise<R> {
    return this.#owner.run(prepare, async (prepared) => {
      try {
        return await operation(prepared);
      } finally {
        this.#changes.notify();
      }
    });
  }

  /** In-process readers see the writer's own view and are woken by it. */
  #source(): LogSource {
    return writerSource(this.dir, this.#store, this.#changes, this.#pollMs, () => this.#closed);
  }

  /** The in-process view cut at the writer's last fsync. */
  #durableSource(): LogSource {
    return durableWriterSource(this.#source(), this.#store);
  }

  /** What every reader of this log decodes and reads with. */
  #readOptions(): { codec: Codec<T>; fs: FileSystem; recordBytesMax: number } {
    return { codec: this.#codec, fs: this.#fs, recordBytesMax: this.#recordBytesMax };
  }
}
