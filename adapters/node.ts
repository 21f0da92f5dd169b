/**
 * The Node.js filesystem adapter: {@link FileSystem} on `node:fs/promises`.
 *
 * Reads and writes are positional (`pread`/`pwrite` underneath), so calls on
 * one handle may interleave freely. Errors are Node's own, which already carry
 * POSIX `code` strings.
 *
 * It runs on any module shaped like `node:fs` (its `promises` API, see
 * {@link NodeFsModule}), given as `new NodeFileSystem({ fs })`: an in-memory
 * one such as memfs in unit tests (`new NodeFileSystem({ fs: new Volume() })`),
 * or a wrapper that counts or times calls. Only the process identity and
 * liveness checks of the lock always look at the real process.
 *
 * A handle dropped without `close()` (a writer never closed) is closed when
 * it is garbage-collected, by a `FinalizationRegistry`, rather than left to
 * the runtime: Node warns when it has to close one itself, and Bun aborts
 * the process ("A FileHandle object was closed during garbage collection").
 *
 * Which calls, measured on the 2-core CI machine (Node 20.20.2; a 300-byte
 * write + fdatasync on a preallocated file, per second):
 * - async `write` + async `datasync`: 4,900–6,100; `writeSync` + async
 *   `datasync`: 5,800–6,000; `writeSync` + `fdatasyncSync`: 11,000–11,500.
 * - So writes of up to {@link SYNC_WRITE_BYTES_MAX} bytes (a full batch at
 *   the default `maxBatchBytes`) are made with `writeSync`, in calls of at
 *   most {@link SYNC_WRITE_CALL_BYTES_MAX}: copies into the page cache that
 *   cost less end to end than the thread-pool round trip they replace
 *   (median `writeSync` on Node, Bun and Deno: 19–22 µs for 64 KiB, 74–85 µs
 *   for 366 KiB, 171–205 µs for 1 MiB). With a 1 MiB bound rather than
 *   64 KiB, awaited appends flushed in 366 KiB batches ran 3.0% faster on
 *   Node, 4.0% on Bun and 4.3% on Deno (medians of 20 paired runs).
 * - A 4 MiB batch written as four 1 MiB calls blocked the event loop for
 *   0.7–1.0 ms (median) and 1.23 ms at most over 80 batches on each runtime;
 *   one 4 MiB call did too at the median, but took 5–32 ms at its worst.
 *   Writing such a batch synchronously lets its fsync start at once: an
 *   async write's completion is only seen when the event loop turns, which a
 *   loop of awaited appends allows only once it waits for room, so the fsync
 *   waited until then. Unsynced appends of 100-byte records (4 MiB batches)
 *   ran 18% faster on Node, 25% on Deno and 17–24% on Bun (paired runs)
 *   than with the 1 MiB bound. Larger writes, and reads, stay async.
 * - fsyncs stay async by default: a synchronous one stops the event loop
 *   for the whole flush. `blockingSync: true` makes them synchronous, for a
 *   process that does nothing but log (see {@link NodeFileSystemOptions}).
 * - An async fsync is the callback `fs.fdatasync(fd)` rather than the
 *   handle's `datasync()`, which adds promise-API bookkeeping to each round
 *   trip: one record `append` + `flush` at a time ran 2.8%, 3.8% and 8.9%
 *   faster on Node with it, 64 concurrent callers 1.5%, 3.7% and 0.8%
 *   (medians of three sets of 12 paired runs); no change beyond noise on
 *   Bun.
 * - Reading a 64 MiB file in 1 MiB chunks: 1.9–5.8 GB/s async, 6.5–8.8 GB/s
 *   with `readSync`; reads stay async (a scan would block for its duration).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import * as nodeFs from "node:fs";
import * as os from "node:os";
import process from "node:process";
import * as zlib from "node:zlib";
import type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus } from "../src/fs.ts";

export type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus } from "../src/fs.ts";
import { isProcessAlive, noProgressError } from "./errors.ts";
import { ownProcessFacts, processStatus } from "./process.ts";
import { errorCode } from "../src/fs.ts";

/** `fs.open` flags for each {@link OpenMode}: never `a` (append), never truncating. */
const OPEN_FLAGS: Readonly<Record<OpenMode, string>> = {
  read: "r",
  write: "r+",
  create: "wx+",
};

/**
 * An open file as the `promises` API of `node:fs` (or a module like it)
 * returns it: the methods this adapter calls.
 */
export interface NodeFsFileHandle {
  /** The file descriptor, for the module's synchronous `writeSync` (see {@link NodeFsModule.writeSync}). */
  readonly fd?: number;
  /** Reads `length` bytes at `position` into `buffer` from `offset`. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Writes `length` bytes of `buffer` from `offset` at `position`. */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** `ftruncate(2)`. */
  truncate(length: number): Promise<void>;
  /** `fdatasync(2)`. */
  datasync(): Promise<void>;
  /** `fsync(2)`, used on directories; `datasync` when absent (memfs does not declare it). */
  sync?(): Promise<void>;
  /** `fstat(2)`; only `size` is read. */
  stat(): Promise<{ size: number | bigint }>;
  /** `close(2)`. */
  close(): Promise<void>;
}

/** What `stat` returns in the `promises` API of `node:fs` (the members read). */
export interface NodeFsStats {
  /** Size in bytes. */
  readonly size: number | bigint;
  /** Last modification, ms since the epoch. */
  readonly mtimeMs: number | bigint;
  /** True for a regular file. */
  isFile(): boolean;
  /** True for a directory. */
  isDirectory(): boolean;
}

/** The `promises` API of `node:fs`: the calls this adapter makes. */
export interface NodeFsPromises {
  /** `open(2)` with flags `r`, `r+` or `wx+`. */
  open(path: string, flags: string): Promise<NodeFsFileHandle>;
  /** `stat(2)`. */
  stat(path: string): Promise<NodeFsStats>;
  /** Whole-file read. */
  readFile(path: string): Promise<Uint8Array>;
  /** `rename(2)`. */
  rename(from: string, to: string): Promise<void>;
  /** `link(2)`. */
  link(from: string, to: string): Promise<void>;
  /** `unlink(2)`. */
  unlink(path: string): Promise<void>;
  /** `mkdir -p`. */
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  /** Entry names (strings with the default encoding). */
  readdir(path: string): Promise<readonly unknown[]>;
}

/**
 * A module shaped like `node:fs`: its `promises` member is what the adapter
 * uses. `node:fs` itself, memfs's `fs`, a memfs `Volume`, or a wrapper.
 */
export interface NodeFsModule {
  /** The promise-based API. */
  readonly promises: NodeFsPromises;
  /**
   * `pwrite(2)` on the calling thread, returning the bytes written. When
   * present (and handles have an `fd`), writes of at most
   * {@link SYNC_WRITE_BYTES_MAX} bytes use it; see the module documentation.
   */
  readonly writeSync?: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number;
  /** `fdatasync(2)` on the calling thread; needed for {@link NodeFileSystemOptions.blockingSync}. */
  readonly fdatasyncSync?: (fd: number) => void;
  /**
   * `fdatasync(2)` in the thread pool, with a callback. When present (and
   * handles have an `fd`), handles opened for writing sync with it rather
   * than with their `datasync()`; see the module documentation.
   */
  readonly fdatasync?: (fd: number, callback: (error?: Error | null) => void) => void;
}

/**
 * The largest write made with the synchronous `writeSync` rather than a
 * thread-pool round trip: the default `maxBatchBytes`, so that a full batch
 * is written at once. The event loop waits about 1 ms for one this size
 * (see the module documentation); larger writes go through the thread pool.
 */
export const SYNC_WRITE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * The most one `writeSync` call copies (about 0.2 ms): a larger synchronous
 * write is made as several calls, whose worst case measured far below that
 * of one large call.
 */
export const SYNC_WRITE_CALL_BYTES_MAX = 1024 * 1024;

/** Options of {@link NodeFileSystem}. */
export interface NodeFileSystemOptions {
  /** The `node:fs`-like module to run on; default `node:fs`. */
  readonly fs?: NodeFsModule;
  /**
   * Make each `fdatasync` on the calling thread (`fdatasyncSync`) instead of
   * a thread-pool round trip. Default `false`.
   *
   * The trade: a serial `append` + `flush` costs one round trip less (on
   * the 2-core CI machine, 7,000–8,400 flushes/s against 5,200–6,600/s, and
   * ahead of better-sqlite3, which works this way), but the event loop
   * stops for the whole fsync: timers, sockets and other appends wait,
   * for 0.1 ms on a fast SSD and tens of milliseconds on a slow disk.
   * Appends made while it runs still join the next group commit. Pick it
   * for a process whose only job is the log; leave it off in a server.
   */
  readonly blockingSync?: boolean;
}

/**
 * The calls of `module` on a descriptor that handles use: `writeSync` when
 * it has one; for fsyncs, `fdatasyncSync` under `blockingSync` (which it then
 * must have), else `fdatasync` when it has one.
 */
function descriptorCalls(module: NodeFsModule, blockingSync: boolean): Pick<NodeFsModule, "writeSync" | "fdatasyncSync" | "fdatasync"> {
  const writeSync = typeof module.writeSync === "function" ? module.writeSync.bind(module) : undefined;
  if (!blockingSync) return { writeSync, fdatasync: typeof module.fdatasync === "function" ? module.fdatasync.bind(module) : undefined };
  if (typeof module.fdatasyncSync !== "function") throw new TypeError("blockingSync needs an fs module with fdatasyncSync");
  return { writeSync, fdatasyncSync: module.fdatasyncSync.bind(module) };
}

/** A probe of every UTF-8 length (1 to 4 bytes) and of lone surrogates, which `TextEncoder` writes as U+FFFD. */
const UTF8_PROBE = "a\u00e9\u20ac\u{1f600}\ud800x\udc00\ud83d";

/**
 * `Buffer.prototype.utf8Write` called on a plain `Uint8Array`: UTF-8 written
 * at an offset, where `TextEncoder.encodeInto` needs a `subarray` view per
 * record. Node and Bun have it (it is not in Node's documentation, but it has
 * been there since Node 0.x and is what `buffer.write` calls), so it is taken
 * only when it writes exactly what `TextEncoder` writes for
 * {@link UTF8_PROBE}; otherwise `undefined`. A 300-byte JSON text, median of
 * 2M calls: Bun 1.4.5 22–26 ns against 62–74 ns with `encodeInto`; Node
 * 20.20.2 79–80 against 94–102 ns. Deno's is slower than `encodeInto` (144
 * against 99 ns), so its adapter does not use it.
 */
function bufferUtf8Into(): ((text: string, bytes: Uint8Array, offset: number) => number) | undefined {
  const utf8Write = (Buffer.prototype as { utf8Write?: unknown }).utf8Write;
  if (typeof utf8Write !== "function") return undefined;
  const into = (text: string, bytes: Uint8Array, offset: number): number => utf8Write.call(bytes, text, offset) as number;
  const expected = new TextEncoder().encode(UTF8_PROBE);
  const probe = new Uint8Array(2 + 3 * UTF8_PROBE.length).fill(0xaa);
  try {
    const written = into(UTF8_PROBE, probe, 2);
    const agrees = written === expected.length && expected.every((byte, index) => probe[2 + index] === byte);
    return agrees && probe[0] === 0xaa && probe[1] === 0xaa ? into : undefined;
  } catch {
    return undefined;
  }
}

/** {@link bufferUtf8Into}, probed once when the module loads. */
const BUFFER_UTF8_INTO = bufferUtf8Into();

/** Closes a handle whose wrapper was garbage-collected without `close()` (see the module documentation). */
const dropped = new FinalizationRegistry<NodeFsFileHandle>((handle) => {
  handle.close().catch(() => undefined);
});

/** A synchronous `pwrite` on one descriptor: writes `length` bytes of `data` from `offset` at `position`, returns the bytes written. */
type PositionalWrite = (data: Uint8Array, offset: number, length: number, position: number) => number;

/** A {@link FileHandle} over a `node:fs/promises` handle (or one of a module like it). */
export class NodeFileHandle implements FileHandle {
  readonly #handle: NodeFsFileHandle;
  /** `writeSync` bound to this handle's descriptor, when the module and the handle offer one. */
  readonly #writeSync: PositionalWrite | undefined;
  /** `fdatasyncSync` bound to this handle's descriptor, under {@link NodeFileSystemOptions.blockingSync}. */
  readonly #syncNow: (() => void) | undefined;
  /** The module's callback `fdatasync` on this handle's descriptor, when it has one (and no `#syncNow`). */
  readonly #syncInPool: (() => Promise<void>) | undefined;

  /**
   * Wraps an already open `node:fs/promises` handle; closing this closes it,
   * and so does dropping this without closing it. With the module's
   * `writeSync`, small writes are made on the calling thread; with
   * `fdatasyncSync`, so is every sync; with `fdatasync`, syncs go to the
   * thread pool on the descriptor rather than through the handle.
   */
  constructor(handle: NodeFsFileHandle, calls: Pick<NodeFsModule, "writeSync" | "fdatasyncSync" | "fdatasync"> = {}) {
    this.#handle = handle;
    const { writeSync, fdatasyncSync, fdatasync } = calls;
    const fd = handle.fd;
    const hasFd = typeof fd === "number";
    this.#writeSync = writeSync === undefined || !hasFd
      ? undefined
      : (data, offset, length, position) => writeSync(fd, data, offset, length, position);
    this.#syncNow = fdatasyncSync === undefined || !hasFd ? undefined : () => fdatasyncSync(fd);
    this.#syncInPool = fdatasync === undefined || !hasFd
      ? undefined
      : () => new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
    dropped.register(this, handle, this);
  }

  /** Loops on short reads until `buffer` is full or end of file. */
  async read(buffer: Uint8Array, position: number): Promise<number> {
    let filledBytes = 0;
    while (filledBytes < buffer.length) {
      const { bytesRead } = await this.#handle.read(
        buffer,
        filledBytes,
        buffer.length - filledBytes,
        position + filledBytes,
      );
      if (bytesRead === 0) break;
      filledBytes += bytesRead;
    }
    return filledBytes;
  }

  /**
   * Loops on short writes; throws `EIO` if a write makes no progress. Up to
   * {@link SYNC_WRITE_BYTES_MAX} bytes are written with `writeSync` when
   * available, at most {@link SYNC_WRITE_CALL_BYTES_MAX} a call.
   */
  async write(data: Uint8Array, position: number): Promise<void> {
    const writeSync = data.length <= SYNC_WRITE_BYTES_MAX ? this.#writeSync : undefined;
    const callBytesMax = writeSync === undefined ? data.length : SYNC_WRITE_CALL_BYTES_MAX;
    let writtenBytes = 0;
    while (writtenBytes < data.length) {
      const at = position + writtenBytes;
      const length = Math.min(data.length - writtenBytes, callBytesMax);
      const bytesWritten = writeSync !== undefined
        ? writeSync(data, writtenBytes, length, at)
        : (await this.#handle.write(data, writtenBytes, length, at)).bytesWritten;
      if (bytesWritten === 0) throw noProgressError(at);
      writtenBytes += bytesWritten;
    }
  }

  /** `ftruncate(2)`. */
  truncate(size: number): Promise<void> {
    return this.#handle.truncate(size);
  }

  /**
   * `fdatasync(2)`: on the calling thread under
   * {@link NodeFileSystemOptions.blockingSync}, else in the thread pool (the
   * module's callback `fdatasync` on the descriptor, or the handle's
   * `datasync()` when the module has none).
   */
  async sync(): Promise<void> {
    if (this.#syncNow !== undefined) return this.#syncNow();
    if (this.#syncInPool !== undefined) return this.#syncInPool();
    return this.#handle.datasync();
  }

  /** `fstat(2)` size. */
  async size(): Promise<number> {
    return Number((await this.#handle.stat()).size);
  }

  /** `close(2)`. */
  close(): Promise<void> {
    dropped.unregister(this);
    return this.#handle.close();
  }
}

/**
 * The Node.js {@link FileSystem}, on `node:fs` or on a module like it
 * (`options.fs`). Bun reuses it (see `adapters/bun.ts`), overriding only the
 * runtime-specific members.
 */
export class NodeFileSystem implements FileSystem {
  /** Adapter name for diagnostics. */
  readonly name: string = "node";
  /**
   * The `promises` API this adapter runs on. A plain property, not a
   * private field, so that an adapter wrapped by prototype
   * (`Object.create(adapter)`, overriding a method or two) still works.
   */
  readonly promises: NodeFsPromises;
  /** The module's calls on a descriptor that this adapter uses on handles opened for writing (see {@link NodeFsModule}). */
  readonly descriptorCalls: Pick<NodeFsModule, "writeSync" | "fdatasyncSync" | "fdatasync">;

  /** An adapter on `options.fs` (default `node:fs`). */
  constructor(options: NodeFileSystemOptions = {}) {
    const module = options.fs ?? (nodeFs as unknown as NodeFsModule);
    if (typeof module !== "object" || module === null || typeof module.promises?.open !== "function") {
      throw new TypeError("fs must be a module shaped like node:fs, with a promises API (node:fs itself, memfs's fs or Volume)");
    }
    if (options.blockingSync !== undefined && typeof options.blockingSync !== "boolean") {
      throw new TypeError(`blockingSync must be a boolean, got ${String(options.blockingSync)}`);
    }
    this.promises = module.promises;
    this.descriptorCalls = descriptorCalls(module, options.blockingSync === true);
  }

  /**
   * zlib's CRC-32 (`zlib.crc32`, Node ≥ 20.15 / 22.2), seeded like zlib's
   * `crc32(data, value)`; `undefined` on older Node, where the core uses its
   * own CRC (`src/format/crc32.ts`). Measured on Node 20.20.2 against that one:
   * 90 vs 42 ns for 16 bytes, 220 vs 360 ns for 256 bytes (even at about
   * 128–192 bytes), 3.2–4.2 vs 0.74 GB/s on 1 MiB.
   */
  readonly crc32: ((data: Uint8Array, seed: number) => number) | undefined =
    typeof zlib.crc32 === "function" ? (data, seed) => zlib.crc32(data, seed) : undefined;

  /**
   * UTF-8 at an offset with `Buffer.prototype.utf8Write` (see
   * {@link bufferUtf8Into}), when the runtime has it and it writes what
   * `TextEncoder` writes; `undefined` otherwise (the core uses `encodeInto`).
   */
  readonly utf8Into: ((text: string, bytes: Uint8Array, offset: number) => number) | undefined = BUFFER_UTF8_INTO;

  /** Opens with `r`, `r+` or `wx+` (see {@link OPEN_FLAGS}). */
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFileHandle(await this.promises.open(path, OPEN_FLAGS[mode]), mode === "read" ? {} : this.descriptorCalls);
  }

  /** `stat(2)`, following symlinks; `null` on `ENOENT`. */
  async stat(path: string): Promise<FileStat | null> {
    try {
      const stats = await this.promises.stat(path);
      return { size: Number(stats.size), isFile: stats.isFile(), isDirectory: stats.isDirectory(), modifiedAtMs: Number(stats.mtimeMs) };
    } catch (error) {
      if (errorCode(error) === "ENOENT") return null;
      throw error;
    }
  }

  /** Whole-file read. */
  async readFile(path: string): Promise<Uint8Array> {
    const contents = await this.promises.readFile(path);
    return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
  }

  /** `rename(2)`. */
  rename(from: string, to: string): Promise<void> {
    return this.promises.rename(from, to);
  }

  /** `link(2)`. */
  link(from: string, to: string): Promise<void> {
    return this.promises.link(from, to);
  }

  /** `unlink(2)`. */
  unlink(path: string): Promise<void> {
    return this.promises.unlink(path);
  }

  /** `mkdir -p`. */
  async mkdir(path: string): Promise<void> {
    await this.promises.mkdir(path, { recursive: true });
  }

  /** Entry names, without `.` and `..`. */
  async readdir(path: string): Promise<string[]> {
    return (await this.promises.readdir(path)).map(String);
  }

  /** Opens the directory read-only, `fsync(2)`s it, closes it. */
  async syncDir(path: string): Promise<void> {
    const directory = await this.promises.open(path, "r");
    try {
      await (directory.sync === undefined ? directory.datasync() : directory.sync());
    } finally {
      await directory.close();
    }
  }

  /** pid, `os.hostname()`, `node <version>`, and boot id, pid namespace and start time (`adapters/process.ts`). */
  process(): ProcessIdentity {
    return { pid: process.pid, hostname: os.hostname(), runtime: `node ${process.versions.node}`, ...ownProcessFacts() };
  }

  /** See {@link isProcessAlive} in `adapters/errors.ts`. */
  isProcessAlive(pid: number): boolean {
    return isProcessAlive(pid);
  }

  /** See {@link processStatus} in `adapters/process.ts`. */
  processStatus(pid: number): Promise<ProcessStatus> {
    return processStatus(pid);
  }
}

/** A ready-to-use Node.js {@link FileSystem}. */
export const nodeFileSystem: FileSystem = new NodeFileSystem();
