/**
 * The filesystem adapter contract.
 *
 * The core (everything under `src/`) never touches a runtime API. It reaches
 * the disk only through a {@link FileSystem}. An adapter is correct when:
 *
 * - Paths are plain strings with `/` separators, passed through unchanged.
 * - Every failure is thrown as an `Error` whose `code` property is the POSIX
 *   name (`ENOENT`, `EEXIST`, `EIO`, `ENOSPC`, `EBADF`, ...) where one applies.
 *   The core branches on `ENOENT` and `EEXIST` only; anything else is passed
 *   to the caller as the `cause` of a `WalIoError`.
 * - {@link FileHandle.write} either writes every byte or throws. It may throw
 *   after writing a prefix (a short write followed by an error); the core
 *   handles that by truncating back.
 * - {@link FileHandle.sync} returns only once the file's data (and the size
 *   needed to read it back) is on stable storage: `fdatasync(2)` or stronger.
 * - {@link FileSystem.syncDir} returns only once the directory's entries
 *   (creations, renames, removals) are on stable storage.
 *
 * The exclusive-writer lock protocol is implemented once, in `src/lock.ts`, on
 * top of {@link FileSystem.link}, {@link FileSystem.process},
 * {@link FileSystem.processStatus} (or {@link FileSystem.isProcessAlive}) and
 * {@link FileSystem.unrefTimer}; adapters only supply those primitives, so
 * every runtime takes and honours the same lock.
 *
 * @module
 */

/** An open file. Positions and sizes are byte counts, always safe integers. */
export interface FileHandle {
  /**
   * Reads up to `buffer.length` bytes starting at file offset `position` into
   * `buffer`, and returns how many were read: fewer only at end of file, 0 at
   * or past the end.
   */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /**
   * Writes all of `data` at file offset `position` (never appends implicitly).
   * Throws if not every byte could be written; some prefix may have landed.
   */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Sets the file's size to `size` bytes. */
  truncate(size: number): Promise<void>;
  /** Makes the file's data durable (`fdatasync`). */
  sync(): Promise<void>;
  /** The file's current size in bytes. */
  size(): Promise<number>;
  /** Releases the handle. Calling any method afterwards is a bug. */
  close(): Promise<void>;
}

/** What {@link FileSystem.stat} tells about a path. */
export interface FileStat {
  /** Size in bytes (0 for directories on some systems). */
  readonly size: number;
  /** True for a regular file. */
  readonly isFile: boolean;
  /** True for a directory. */
  readonly isDirectory: boolean;
  /**
   * Last modification, milliseconds since the epoch, when the adapter knows
   * it. The lock uses it to age a lock file that does not parse.
   */
  readonly modifiedAtMs?: number;
}

/** Who the current process is, as far as the lock protocol needs to know. */
export interface ProcessIdentity {
  /** Operating-system process id. */
  readonly pid: number;
  /** Host name; a lock held on another host is never considered stale. */
  readonly hostname: string;
  /** Runtime name and version, e.g. `node 20.20.2`; informational only. */
  readonly runtime: string;
  /**
   * Tells this run of the process from an earlier one with the same pid
   * (after a reboot or pid reuse). Real adapters leave it out and the core
   * uses a random value made once per process; a simulator that plays
   * several process lifetimes in one heap supplies its own.
   */
  readonly instance?: string;
  /**
   * Which boot of which machine this is (Linux: `/proc/sys/kernel/random/boot_id`);
   * absent when unknown. Two processes can see each other's pids only if
   * their boot ids and pid namespaces are equal.
   */
  readonly bootId?: string;
  /**
   * The pid namespace the pid is valid in (Linux: the `/proc/self/ns/pid`
   * link, e.g. `pid:[4026531836]`; `host` on systems without pid namespaces);
   * absent when unknown, which makes every other process's liveness unknown.
   */
  readonly pidNamespace?: string;
  /** When this process started (Linux: `/proc/self/stat` field 22, clock ticks since boot); absent when unknown. */
  readonly startTime?: string;
}

/** What {@link FileSystem.processStatus} found out about a pid of this machine and pid namespace. */
export interface ProcessStatus {
  /** `gone`: no such process; `alive`: one exists; `unknown`: the adapter could not tell. */
  readonly state: "alive" | "gone" | "unknown";
  /** The live process's start time, comparable with {@link ProcessIdentity.startTime}, when known. */
  readonly startTime?: string;
  /** For `unknown`: why, and what would let the adapter tell (a permission to grant). */
  readonly reason?: string;
}

/** How {@link FileSystem.open} opens a file. */
export type OpenMode =
  /** Read-only; the file must exist. */
  | "read"
  /** Read-write; the file must exist; never truncated or appended implicitly. */
  | "write"
  /** Read-write; the file must not exist (`O_CREAT | O_EXCL`), else `EEXIST`. */
  | "create";

/**
 * Everything the write-ahead log needs from a filesystem and a process.
 * `adapters/` implements it for Node, Bun, Deno and an in-memory simulator.
 */
export interface FileSystem {
  /** Short adapter name for diagnostics, e.g. `node`, `memory`. */
  readonly name: string;
  /** Opens `path` in `mode`; see {@link OpenMode}. */
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Information about `path`, or `null` if nothing is there. */
  stat(path: string): Promise<FileStat | null>;
  /** Reads a whole (small) file. Throws `ENOENT` if absent. */
  readFile(path: string): Promise<Uint8Array>;
  /** Atomically replaces `to` with `from` (POSIX `rename`). */
  rename(from: string, to: string): Promise<void>;
  /** Creates the hard link `to` for `from`; throws `EEXIST` if `to` exists. */
  link(from: string, to: string): Promise<void>;
  /** Removes a file. Throws `ENOENT` if absent. */
  unlink(path: string): Promise<void>;
  /** Creates a directory and any missing parents; succeeds if it exists. */
  mkdir(path: string): Promise<void>;
  /** Names (not paths) of the entries in a directory, in any order. */
  readdir(path: string): Promise<string[]>;
  /** Makes the directory's entries durable (`fsync` on the directory). */
  syncDir(path: string): Promise<void>;
  /** The calling process, for lock files. */
  process(): ProcessIdentity;
  /**
   * Whether a process with `pid` exists on this host. Must not throw; when
   * unsure (no permission to signal it), answer `true` so that a live lock is
   * never broken.
   */
  isProcessAlive(pid: number): boolean;
  /**
   * Whether `pid` exists in this process's pid namespace, and since when.
   * Optional: without it the lock asks {@link isProcessAlive} and knows no
   * start times. Must not throw; `unknown` (with a reason) when unsure.
   */
  processStatus?(pid: number): Promise<ProcessStatus>;
  /**
   * Makes `timer` (what `setTimeout` returned) not keep the process alive,
   * for runtimes whose timers have no `unref` method (Deno). Optional.
   */
  unrefTimer?(timer: unknown): void;
  /**
   * Optional accelerated CRC-32 (IEEE 802.3 / ISO-HDLC polynomial, reflected,
   * init and xorout `0xFFFFFFFF`), continuing from `seed` the way zlib's
   * `crc32(data, value)` does. Must produce exactly what `src/format/crc32.ts`
   * produces; the core falls back to that when absent.
   */
  readonly crc32?: (data: Uint8Array, seed: number) => number;
  /**
   * Optional faster UTF-8 encoder: writes `text` into `bytes` from `offset`
   * and returns the bytes written. Must write exactly what
   * `TextEncoder.encodeInto` writes (a lone surrogate as U+FFFD); the caller
   * guarantees room for 3 bytes per code unit. The core uses `encodeInto`
   * (`src/format/utf8.ts`) when absent.
   */
  readonly utf8Into?: (text: string, bytes: Uint8Array, offset: number) => number;
}

/** The POSIX `code` of a thrown value, or `undefined`. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
