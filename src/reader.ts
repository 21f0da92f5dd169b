/**
 * The reader: iterates a log file's records in order without taking the
 * writer lock, so it can run beside a live writer (in this or another
 * process). It reads the file as it was when iteration started.
 *
 * It stops quietly at a torn tail (a live writer may be mid-append; a crashed
 * one leaves what `truncate-partial` would cut) and throws
 * `WalCorruptionError` on damage to durable data, exactly as opening a writer
 * would.
 *
 * @module
 */

import type { Codec } from "./codec.ts";
import { WalCorruptionError } from "./errors.ts";
import type { FileSystem } from "./fs.ts";
import { io } from "./log-file.ts";
import { checkRecordBytesMax, checkSafeInteger, codecOrDefault, crcOf, fileSystemOrDefault } from "./options.ts";
import { scanLog } from "./scan.ts";

/** One record as read back. */
export interface WalRecord<T> {
  /** The record's sequence. */
  readonly sequence: number;
  /** The decoded value. */
  readonly value: T;
  /** When it was appended, milliseconds since the epoch. */
  readonly timeMs: number;
}

/** Options of {@link WalReader.open}. */
export interface WalReaderOptions<T> {
  /** Skip records with a lower sequence; default 0 (everything). */
  readonly from?: number;
  /** Value decoding; default JSON. */
  readonly codec?: Codec<T>;
  /** Filesystem adapter; default: the running runtime's. */
  readonly fs?: FileSystem;
  /** Largest payload accepted, as for the writer; default 16 MiB. */
  readonly maxRecordBytes?: number;
}

/** An async iterable over a log's records. Obtain with {@link WalReader.open}. */
export class WalReader<T = unknown> implements AsyncIterable<WalRecord<T>> {
  /** The log file. */
  readonly path: string;
  readonly #from: number;
  readonly #codec: Codec<T>;
  readonly #fs: FileSystem | undefined;
  readonly #recordBytesMax: number;

  private constructor(path: string, options: WalReaderOptions<T>) {
    this.path = path;
    this.#from = checkSafeInteger("from", options.from ?? 0, 0);
    this.#codec = codecOrDefault(options.codec);
    this.#fs = options.fs;
    this.#recordBytesMax = checkRecordBytesMax(options.maxRecordBytes);
  }

  /**
   * A reader of the log at `path`. Nothing is opened until iteration starts;
   * each iteration opens the file afresh.
   */
  static open<T = unknown>(path: string, options: WalReaderOptions<T> = {}): WalReader<T> {
    return new WalReader<T>(path, options);
  }

  /** Yields every intact record with `sequence >= from`, in order. */
  async *[Symbol.asyncIterator](): AsyncIterator<WalRecord<T>> {
    const path = this.path;
    const fs = await fileSystemOrDefault(this.#fs);
    const file = await io("open", path, () => fs.open(path, "read"));
    try {
      const fileBytes = await io("size", path, () => file.size());
      const scan = scanLog(file, fileBytes, { path, recordBytesMax: this.#recordBytesMax, crc: crcOf(fs) });
      for (;;) {
        const next = await io("read", path, () => scan.next());
        if (next.done === true) return;
        // Decode the whole batch before yielding: its payload views die when the scan resumes.
        const decoded: WalRecord<T>[] = [];
        let failure: WalCorruptionError | null = null;
        for (const record of next.value) {
          if (record.sequence < this.#from) continue;
          try {
            decoded.push({ sequence: record.sequence, value: this.#codec.decode(record.payload), timeMs: record.timeMs });
          } catch (error) {
            failure = new WalCorruptionError(
              { kind: "decode-failure", offset: record.offset, path, detail: String(error) },
              { cause: error },
            );
            break;
          }
        }
        yield* decoded;
        if (failure !== null) throw failure;
      }
    } finally {
      await file.close();
    }
  }
}
