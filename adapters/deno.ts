/**
 * The Deno filesystem adapter: {@link FileSystem} on Deno's own file APIs.
 *
 * Permissions: `--allow-read` and `--allow-write` for the log directory,
 * `--allow-sys=hostname` for {@link DenoFileSystem.process}. That is enough
 * for the lock: a lock left by a dead process is broken once its heartbeat
 * is older than `staleMs` (no `--allow-run` needed). To break it at once, the
 * lock must read `/proc` (the pid namespace, and the holder's pid and start
 * time), which Deno 2 allows only under `--allow-all` (it refuses
 * `--allow-read=/proc`); the `WalLockedError` says so.
 *
 * `Deno.FsFile` has no positional read or write: each goes through the file's
 * single cursor (`seek`, then `read`/`write`). A {@link DenoFileHandle}
 * therefore runs its operations one at a time, in call order, so that two
 * interleaved calls on one handle can never move each other's cursor. Separate
 * handles have separate cursors and need no coordination.
 *
 * The seek is `seekSync` (an `lseek`, which never waits on the disk), and
 * writes of up to 4 MiB are `writeSync` calls of at most 1 MiB (copies into
 * the page cache; the Node adapter's bounds, for the reasons given there),
 * which leaves one async op per flush: the `syncData`, unless
 * `blockingSync` makes that synchronous too. Measured on the 2-core CI
 * machine (Deno 2.9.6), 300-byte write + sync per second: awaited seek,
 * write and `syncData` 5,700–6,400; `seekSync` and `writeSync` with an
 * awaited `syncData` 6,700–8,700; `node:fs/promises` (`pwrite`) 5,700–6,700.
 * Reading a 64 MiB file in 1 MiB chunks: 4.0–4.1 GB/s (Node's adapter on
 * Node: 4.9–6.2 GB/s). Deno's own API is kept (its errors, its permission
 * model).
 *
 * @module
 */

import * as zlib from "node:zlib";
import type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus } from "../src/fs.ts";

export type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus } from "../src/fs.ts";
import { isProcessAlive, noProgressError } from "./errors.ts";
import { ownProcessFacts, processStatus } from "./process.ts";
import { errorCode } from "../src/fs.ts";

/** The largest write made with the synchronous `writeSync` (the Node adapter's bound, for the same reason). */
const SYNC_WRITE_BYTES_MAX = 4 * 1024 * 1024;
/** The most one `writeSync` call copies (the Node adapter's bound). */
const SYNC_WRITE_CALL_BYTES_MAX = 1024 * 1024;

/** `Deno.open` options for each {@link OpenMode}: never append, never truncate. */
const OPEN_OPTIONS: Readonly<Record<OpenMode, Deno.OpenOptions>> = {
  read: { read: true },
  write: { read: true, write: true },
  create: { read: true, write: true, createNew: true },
};

/**
 * POSIX codes for the Deno error classes that can be thrown without a `code`
 * (errors that come from an OS call already carry one, e.g. `NotFound` has
 * `ENOENT`; `BadResource` and the permission sandbox's `NotCapable` do not).
 */
const CODE_BY_ERROR_NAME: Readonly<Record<string, string>> = {
  NotFound: "ENOENT",
  AlreadyExists: "EEXIST",
  PermissionDenied: "EACCES",
  NotCapable: "EACCES",
  BadResource: "EBADF",
  IsADirectory: "EISDIR",
  NotADirectory: "ENOTDIR",
  Interrupted: "EINTR",
  Busy: "EBUSY",
  FilesystemLoop: "ELOOP",
  WriteZero: "EIO",
  UnexpectedEof: "EIO",
};

/** Gives a Deno error without a `code` the POSIX one for its class, then returns it. */
function withPosixCode(error: unknown): unknown {
  if (!(error instanceof Error) || errorCode(error) !== undefined) return error;
  const code = CODE_BY_ERROR_NAME[error.name];
  if (code !== undefined) Object.defineProperty(error, "code", { value: code, enumerable: true });
  return error;
}

/** Awaits `operation`, rethrowing any failure with a POSIX `code`. */
async function posix<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw withPosixCode(error);
  }
}

/** Options of {@link DenoFileSystem}. */
export interface DenoFileSystemOptions {
  /**
   * Make each `fdatasync` on the calling thread (`syncDataSync`) instead of
   * an async op. Default `false`. The same trade as the Node adapter's
   * option of this name: one round trip less per flush, but the event loop
   * stops for the whole fsync.
   */
  readonly blockingSync?: boolean;
}

/** A {@link FileHandle} over a `Deno.FsFile`, one operation at a time. */
export class DenoFileHandle implements FileHandle {
  readonly #file: Deno.FsFile;
  /** Whether {@link sync} runs `syncDataSync` on the calling thread ({@link DenoFileSystemOptions.blockingSync}). */
  readonly #blockingSync: boolean;
  /** Settles when the last queued operation has finished, whatever its outcome. */
  #idle: Promise<unknown> = Promise.resolve();

  /** Wraps an open file; closing this closes it. */
  constructor(file: Deno.FsFile, blockingSync = false) {
    this.#file = file;
    this.#blockingSync = blockingSync;
  }

  /** Runs `operation` after every earlier one on this handle has finished. */
  #serially<T>(operation: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    const result = this.#idle.then(() => posix(() => operation(this.#file)));
    this.#idle = result.catch(() => undefined);
    return result;
  }

  /** Seeks, then loops on short reads until `buffer` is full or end of file. */
  read(buffer: Uint8Array, position: number): Promise<number> {
    return this.#serially(async (file) => {
      file.seekSync(position, Deno.SeekMode.Start);
      let filledBytes = 0;
      while (filledBytes < buffer.length) {
        const readBytes = await file.read(buffer.subarray(filledBytes));
        if (readBytes === null || readBytes === 0) break;
        filledBytes += readBytes;
      }
      return filledBytes;
    });
  }

  /**
   * Seeks, then loops on short writes; throws `EIO` if a write makes no
   * progress. Up to {@link SYNC_WRITE_BYTES_MAX} bytes are written with
   * `writeSync`, at most {@link SYNC_WRITE_CALL_BYTES_MAX} a call (see the
   * module documentation).
   */
  write(data: Uint8Array, position: number): Promise<void> {
    return this.#serially(async (file) => {
      file.seekSync(position, Deno.SeekMode.Start);
      const small = data.length <= SYNC_WRITE_BYTES_MAX;
      let writtenBytes = 0;
      while (writtenBytes < data.length) {
        const rest = small ? data.subarray(writtenBytes, writtenBytes + SYNC_WRITE_CALL_BYTES_MAX) : data.subarray(writtenBytes);
        const bytesWritten = small ? file.writeSync(rest) : await file.write(rest);
        if (bytesWritten === 0) throw noProgressError(position + writtenBytes);
        writtenBytes += bytesWritten;
      }
    });
  }

  /** `ftruncate(2)`. */
  truncate(size: number): Promise<void> {
    return this.#serially((file) => file.truncate(size));
  }

  /** `fdatasync(2)` (`FsFile.syncData`, or `syncDataSync` under {@link DenoFileSystemOptions.blockingSync}). */
  sync(): Promise<void> {
    if (this.#blockingSync) return this.#serially(async (file) => file.syncDataSync());
    return this.#serially((file) => file.syncData());
  }

  /** `fstat(2)` size. */
  size(): Promise<number> {
    return this.#serially(async (file) => (await file.stat()).size);
  }

  /** `close(2)`, after any operation still running. */
  close(): Promise<void> {
    return this.#serially(async (file) => file.close());
  }
}

/** The Deno {@link FileSystem}. */
export class DenoFileSystem implements FileSystem {
  /** Adapter name for diagnostics. */
  readonly name = "deno";
  /** See {@link DenoFileSystemOptions.blockingSync}. */
  readonly blockingSync: boolean;

  /** An adapter; `options.blockingSync` makes every fsync on the calling thread. */
  constructor(options: DenoFileSystemOptions = {}) {
    if (options.blockingSync !== undefined && typeof options.blockingSync !== "boolean") {
      throw new TypeError(`blockingSync must be a boolean, got ${String(options.blockingSync)}`);
    }
    this.blockingSync = options.blockingSync === true;
  }

  /**
   * `node:zlib`'s CRC-32, seeded like zlib's `crc32(data, value)`; `undefined`
   * if this Deno's `node:zlib` lacks it (the core then uses its own). Measured on
   * Deno 2.9.6 against `src/format/crc32.ts`: 79 vs 99 ns for 64 bytes, 87 vs 357 ns
   * for 256 bytes, 64 vs 0.76 GB/s on 1 MiB.
   */
  readonly crc32: ((data: Uint8Array, seed: number) => number) | undefined =
    typeof zlib.crc32 === "function" ? (data, seed) => zlib.crc32(data, seed) : undefined;

  /** `Deno.open` with the options in {@link OPEN_OPTIONS}. */
  open(path: string, mode: OpenMode): Promise<FileHandle> {
    return posix(async () => new DenoFileHandle(await Deno.open(path, OPEN_OPTIONS[mode]), this.blockingSync));
  }

  /** `Deno.stat` (follows symlinks); `null` on `ENOENT`. */
  async stat(path: string): Promise<FileStat | null> {
    try {
      const info = await posix(() => Deno.stat(path));
      const modified = info.mtime === null ? {} : { modifiedAtMs: info.mtime.getTime() };
      return { size: info.size, isFile: info.isFile, isDirectory: info.isDirectory, ...modified };
    } catch (error) {
      if (errorCode(error) === "ENOENT") return null;
      throw error;
    }
  }

  /** `Deno.readFile`. */
  readFile(path: string): Promise<Uint8Array> {
    return posix(() => Deno.readFile(path));
  }

  /** `Deno.rename` (`rename(2)`). */
  rename(from: string, to: string): Promise<void> {
    return posix(() => Deno.rename(from, to));
  }

  /** `Deno.link` (`link(2)`). */
  link(from: string, to: string): Promise<void> {
    return posix(() => Deno.link(from, to));
  }

  /** `Deno.remove`; unlike `unlink(2)` it would also remove an empty directory. */
  unlink(path: string): Promise<void> {
    return posix(() => Deno.remove(path));
  }

  /** `Deno.mkdir` with `recursive`. */
  mkdir(path: string): Promise<void> {
    return posix(() => Deno.mkdir(path, { recursive: true }));
  }

  /** Entry names from `Deno.readDir`. */
  readdir(path: string): Promise<string[]> {
    return posix(async () => {
      const names: string[] = [];
      for await (const entry of Deno.readDir(path)) names.push(entry.name);
      return names;
    });
  }

  /** Opens the directory read-only, `fsync(2)`s it (`FsFile.sync`), closes it. */
  syncDir(path: string): Promise<void> {
    return posix(async () => {
      const directory = await Deno.open(path, { read: true });
      try {
        await directory.sync();
      } finally {
        directory.close();
      }
    });
  }

  /**
   * `Deno.pid`, `Deno.hostname()` (needs `--allow-sys=hostname`), `deno <version>`,
   * and boot id, pid namespace and start time where `/proc` may be read.
   */
  process(): ProcessIdentity {
    try {
      return { pid: Deno.pid, hostname: Deno.hostname(), runtime: `deno ${Deno.version.deno}`, ...ownProcessFacts() };
    } catch (error) {
      throw withPosixCode(error);
    }
  }

  /**
   * `kill(pid, 0)` through `node:process` (see `adapters/errors.ts`), because
   * `Deno.kill` accepts only named signals, not 0. A missing `--allow-run`
   * permission makes every pid look alive.
   */
  isProcessAlive(pid: number): boolean {
    return isProcessAlive(pid);
  }

  /** `/proc/<pid>/stat` (Deno 2: needs `--allow-all`), else `kill(pid, 0)` (needs `--allow-run`); see `adapters/process.ts`. */
  processStatus(pid: number): Promise<ProcessStatus> {
    return processStatus(pid);
  }

  /** `Deno.unrefTimer`: Deno's `setTimeout` returns a number, which has no `unref`. */
  unrefTimer(timer: unknown): void {
    if (typeof timer === "number") Deno.unrefTimer(timer);
  }
}

/** A ready-to-use Deno {@link FileSystem}. */
export const denoFileSystem: FileSystem = new DenoFileSystem();
