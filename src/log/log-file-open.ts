/**
 * Opening a log file for appending, up to the point where the
 * {@link LogFile} state machine takes it over: create the file atomically
 * when absent, validate every batch (one scan), apply the repair policy to
 * a torn tail, and make what the scan saw durable. Nothing here appends:
 * the file comes out exactly as the scan saw it, or cut back to its last
 * intact batch by a `truncate-partial` repair.
 *
 * @module
 */

import { WalCorruptionError } from "../errors.ts";
import { encodeFileHeader, type FileHeader, LOG_ID_BYTES, SALT_BYTES } from "../format/frame.ts";
import type { FileHandle, FileSystem } from "../fs.ts";
import { io, notRegularFile, replaceFileWithBytes } from "../io.ts";
import { dirname } from "../path.ts";
import type { LogFile, LogFileOptions } from "./log-file.ts";
import { cutTornTail, type Repair } from "./repair.ts";
import { type ScanEnd, scanLog } from "./scan.ts";

/** What {@link validate} needs to know. */
export type ValidateOptions = Pick<LogFileOptions, "recordBytesMax" | "crc" | "onRecord">;

/** What opening needs: creating (header fields), validating, repairing. */
export type OpenOptions = Pick<
  LogFileOptions,
  "repair" | "recordBytesMax" | "crc" | "onRecord" | "baseSequence" | "salt" | "logId" | "link"
>;

/** A log file opened, validated, repaired and synced, ready for a {@link LogFile} to append after `scan.endOffset`. */
export interface ValidatedFile {
  /** The handle, open for writing; the caller owns it (and closes it). */
  readonly file: FileHandle;
  /** What the scan found: the header, the end of the last intact batch, the last record. */
  readonly scan: ScanEnd;
  /** What the repair cut off as a torn tail, or null when nothing was cut. */
  readonly repaired: Repair | null;
  /** The file's size now: as opened, or `scan.endOffset` after a repair (zeros past the end may remain without one). */
  readonly fileBytes: number;
}

/**
 * Opens `path` for writing, creating it (atomically, with
 * `options.baseSequence` and the header fields) when absent, validates
 * every batch, and applies `options.repair` to a torn tail: `strict` throws
 * `WalCorruptionError`, `truncate-partial` saves and cuts it. Closes the
 * handle again when any of this fails.
 */
export async function openValidated(fs: FileSystem, path: string, options: OpenOptions): Promise<ValidatedFile> {
  const stat = await io("stat", path, () => fs.stat(path));
  if (stat !== null && !stat.isFile) throw notRegularFile(path);
  if (stat === null) await io("create", path, () => createLogFile(fs, path, options));
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
    return { file, scan, repaired, fileBytes: repaired === null ? fileBytes : scan.endOffset };
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

/** Scans the whole file, passing each record of each intact batch to `options.onRecord`. Decodes nothing; repairs nothing. */
export function validate(file: FileHandle, fileBytes: number, path: string, options: ValidateOptions): Promise<ScanEnd> {
  return io("read", path, async () => {
    const scan = scanLog(file, fileBytes, {
      path,
      recordBytesMax: options.recordBytesMax,
      crc: options.crc,
      ...(options.onRecord === undefined ? {} : { visit: options.onRecord }),
    });
    for (;;) {
      const next = await scan.next();
      if (next.done === true) return next.value;
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

/** Creates a log file holding only its header, atomically: header to `<path>.creating`, sync, rename, sync the directory. */
async function createLogFile(fs: FileSystem, path: string, options: OpenOptions): Promise<void> {
  const header: FileHeader = {
    salt: options.salt ?? crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
    baseSequence: options.baseSequence,
    logId: options.logId ?? new Uint8Array(LOG_ID_BYTES),
    link: options.link ?? new Uint8Array(SALT_BYTES),
  };
  await replaceFileWithBytes(fs, path, `${path}.creating`, encodeFileHeader(header, options.crc));
}
