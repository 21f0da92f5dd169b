/**
 * {@link MemoryFileSystem}: the {@link FileSystem} contract over a simulated
 * machine, plus the controls a test or crash harness needs.
 *
 * @module
 */

import type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity } from "../src/fs.ts";
import { crashMachine } from "./crash.ts";
import { fsError } from "./errors.ts";
import { type FaultRule, type OperationName, type ResolvedFault, resolveFault, throwFault } from "./faults.ts";
import { MemoryFileHandle } from "./handle.ts";
import { DirectoryNode, type FileNode, type Node, type PendingOperation } from "./inodes.ts";
import { Machine } from "./machine.ts";
import type { CrashOutcome } from "./outcomes.ts";
import { joinPath, resolve, splitPath } from "./paths.ts";
import { createFile, linkEntry, makeDirectories, renameEntry, snapshotTree, unlinkEntry } from "./tree.ts";

/** Options of a new {@link MemoryFileSystem}. */
export interface MemoryFileSystemOptions {
  /** Default seed of {@link MemoryFileSystem.crash}'s random choices (a safe integer). Default 0. */
  readonly seed?: number;
  /** Pid of the initial simulated process. Default 1000. */
  readonly pid?: number;
  /** Host name every process reports. Default `memory`. */
  readonly hostname?: string;
}

const PID_DEFAULT = 1000;
/** Hands a machine to the constructor when {@link MemoryFileSystem} makes another view of it. */
let adoptedMachine: Machine | null = null;

function checkPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new RangeError(`pid ${pid} must be a positive safe integer`);
}

/**
 * A deterministic in-memory filesystem with a durability model, scheduled
 * crashes and injectable faults. Runs unchanged on Node, Bun and Deno.
 *
 * Durability: a file's writes and truncates reach the disk at
 * `FileHandle.sync()`; creating, removing, renaming and linking entries, and
 * `mkdir`, reach it when the directory holding the entry is synced with
 * {@link MemoryFileSystem.syncDir} (a rename between directories is one atomic operation,
 * durable once either directory is synced). {@link MemoryFileSystem.crash} turns the rest into
 * one of the {@link CrashOutcome}s. Handles refer to inodes, so an unlinked
 * open file keeps working.
 *
 * Operations: every `FileSystem` and `FileHandle` method except `process`,
 * `isProcessAlive` and `crc32` is one counted operation, numbered from 1 in
 * call order across all processes of the machine (reads count too, so the
 * n-th call into the adapter is operation n). Not counted: calls refused
 * because the machine crashed or the process was killed, calls on a closed
 * handle (`EBADF`), malformed paths (`ENAMETOOLONG`, `EINVAL`), and the inspection and
 * control methods of this class. A counted call may still fail: an injected
 * fault or an ordinary error (`ENOENT`, ...).
 *
 * Paths: `/`-separated, `.` and `..` resolved lexically, relative paths
 * taken from the root. Errors are `MemoryFileSystemError`s with a
 * POSIX `code`.
 */
export class MemoryFileSystem implements FileSystem {
  /** Adapter name. */
  readonly name: "memory" = "memory";
  readonly #machine: Machine;
  readonly #pid: number;

  /** A machine with an empty, durable root directory and one live process. */
  constructor(options: MemoryFileSystemOptions = {}) {
    const pid = options.pid ?? PID_DEFAULT;
    checkPid(pid);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed ${seed} must be a safe integer`);
    this.#machine = adoptedMachine ?? new Machine(new DirectoryNode(), seed, options.hostname ?? "memory");
    this.#pid = pid;
    this.#machine.alivePids.add(pid);
  }

  static #view(machine: Machine, pid: number): MemoryFileSystem {
    adoptedMachine = machine;
    try {
      return new MemoryFileSystem({ pid });
    } finally {
      adoptedMachine = null;
    }
  }

  /** Counted operations performed so far on this machine (see the class comment). */
  get operationCount(): number {
    return this.#machine.operationCount;
  }

  /** Injected faults that fired on this machine. */
  get faultsInjected(): number {
    return this.#machine.faultsInjected;
  }

  /** How many operations of kind `operation` ran so far (counted as {@link operationCount} counts). */
  operationsOfKind(operation: OperationName): number {
    return this.#machine.operationCountsByKind.get(operation) ?? 0;
  }

  /** File syncs (`FileHandle.sync`) that succeeded on this machine, for counting fsyncs per commit. */
  get syncCount(): number {
    return this.#machine.fileSyncsCompleted;
  }

  /** Crash states produced from this machine by {@link crash}. */
  get crashStatesProduced(): number {
    return this.#machine.crashStatesProduced;
  }

  /** True once the machine crashed (scheduled crash reached, or {@link crash} called). */
  get crashed(): boolean {
    return this.#machine.crashed;
  }

  /** Adds a fault rule; see {@link FaultRule}. Several rules may be in force; the earliest added fires first. */
  injectFault(rule: FaultRule): void {
    this.#machine.faults.add(resolveFault(rule));
  }

  /** Removes every fault rule in force. */
  clearFaults(): void {
    this.#machine.faults.clear();
  }

  /**
   * Crashes the machine when operation number `operationNumber` is about to
   * run: that operation and every later one, in every process, throws a
   * `SimulatedCrashError` (code `ESIMCRASH`) without effect. Must be a later
   * operation than any performed so far.
   */
  crashAtOperation(operationNumber: number): void {
    if (!Number.isSafeInteger(operationNumber) || operationNumber <= this.#machine.operationCount) {
      throw new RangeError(`crash point ${operationNumber} must be after operation ${this.#machine.operationCount}`);
    }
    if (this.#machine.crashed) throw new RangeError("the machine already crashed");
    this.#machine.crashAtOperation = operationNumber;
  }

  /**
   * The filesystem found after a reboot: a new machine whose disk holds this
   * one's durable state plus what `outcome` persists of the unsynced state,
   * random choices drawn from `seed` (default: the constructor's). Same state,
   * outcome and seed give the same result. This machine counts as crashed
   * from now on (every operation throws `ESIMCRASH`) but keeps its state, so
   * it can be crashed again with other outcomes. The new machine has one live
   * process with this view's pid (as after a reboot that reuses pids), no
   * fault rules and no scheduled crash; its own default seed derives from
   * `seed`.
   */
  crash(outcome: CrashOutcome, seed: number = this.#machine.seed): MemoryFileSystem {
    return MemoryFileSystem.#view(crashMachine(this.#machine, outcome, seed), this.#pid);
  }

  /** The unsynced operations a crash may persist, in issue order (its length bounds a `{ kind: "prefix" }` outcome). */
  pendingOperations(): PendingOperation[] {
    return this.#machine.unsyncedOperations().map((operation): PendingOperation => {
      if (operation.kind === "entry") return operation.description;
      if (operation.kind === "truncate") return { kind: "truncate", path: operation.path, size: operation.size };
      const { path, position } = operation;
      return { kind: "write", path, position, byteLength: operation.bytes.length };
    });
  }

  /**
   * Inverts bit `bit` (0-7) of byte `byteOffset` of the file's disk
   * contents, as media rot would; `byteOffset` must be below its durable
   * size. Reads see it too unless the cache holds newer unsynced data for
   * that byte (a pending write or truncate covers it); then only a crash
   * reveals it, and a sync of that data overwrites it.
   */
  flipBit(path: string, byteOffset: number, bit: number): void {
    const file = this.#inspectFile(path);
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset >= file.durable.size) {
      throw new RangeError(`byte ${byteOffset} is outside the ${file.durable.size} durable bytes of ${path}`);
    }
    if (!Number.isInteger(bit) || bit < 0 || bit > 7) throw new RangeError(`bit ${bit} must be 0 to 7`);
    const cached = file.pending.every((operation) =>
      operation.kind === "write"
        ? byteOffset < operation.position || byteOffset >= operation.position + operation.bytes.length
        : byteOffset < operation.size,
    );
    file.durable.flipBit(byteOffset, bit);
    if (cached) file.volatile.flipBit(byteOffset, bit);
  }

  /** A copy of the disk contents of the file at `path` (looked up in the current, volatile tree). */
  durableContents(path: string): Uint8Array {
    return this.#inspectFile(path).durable.view().slice();
  }

  /**
   * Every path of the current (volatile) tree, depth first with names
   * sorted, mapped to a copy of the file's contents or to `directory`. The
   * root is left out; paths are normalized (`/a/b`).
   */
  snapshot(): Map<string, Uint8Array | "directory"> {
    return snapshotTree(this.#machine.root);
  }

  /** Another process on the same machine (same files, counters, faults and crash schedule) with `pid`, now alive. */
  withProcess(pid: number): MemoryFileSystem {
    checkPid(pid);
    return MemoryFileSystem.#view(this.#machine, pid);
  }

  /**
   * Kills the process `pid`: `isProcessAlive(pid)` turns false and its
   * operations throw `ESIMCRASH` (reason `killed`). Unlike a machine crash,
   * its unsynced writes stay in the shared page cache.
   */
  killProcess(pid: number): void {
    this.#machine.alivePids.delete(pid);
  }

  /** Opens `path` in `mode`; see {@link OpenMode}. `create` adds an unsynced directory entry. */
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const names = splitPath(path, "open");
    const fault = this.#begin("open", [joinPath(names)], path);
    if (mode !== "read" && mode !== "write" && mode !== "create") throw fsError("EINVAL", "open", path);
    throwFault(fault, "open", path);
    if (mode === "create") {
      const file = createFile(this.#machine, names, path);
      return new MemoryFileHandle(this.#machine, this.#pid, file, joinPath(names), path, false);
    }
    const file = this.#existing("file", names, "open", path);
    return new MemoryFileHandle(this.#machine, this.#pid, file, joinPath(names), path, mode === "read");
  }

  /** Size and kind of `path` in the current tree, or null if absent. */
  async stat(path: string): Promise<FileStat | null> {
    const names = this.#beginOn("stat", path);
    const node = resolve(this.#machine.root, names, "stat", path);
    if (node === null) return null;
    const isFile = node.kind === "file";
    return { size: isFile ? node.volatile.size : 0, isFile, isDirectory: !isFile };
  }

  /** A copy of the file's current contents. */
  async readFile(path: string): Promise<Uint8Array> {
    const names = this.#beginOn("readFile", path);
    return this.#existing("file", names, "readFile", path).volatile.view().slice();
  }

  /**
   * Atomically points `to` at what `from` names and removes `from`,
   * replacing a file (or an empty directory, when moving a directory) at
   * `to`. Renaming a name onto another name of the same inode does nothing.
   */
  async rename(from: string, to: string): Promise<void> {
    const [fromNames, toNames] = this.#beginOnPair("rename", from, to);
    renameEntry(this.#machine, fromNames, toNames, from, to);
  }

  /** Adds the name `to` for the file `from`; `EEXIST` if `to` exists, `EPERM` for a directory. */
  async link(from: string, to: string): Promise<void> {
    const [fromNames, toNames] = this.#beginOnPair("link", from, to);
    linkEntry(this.#machine, fromNames, toNames, from, to);
  }

  /** Removes the name `path` of a file; open handles keep the inode. */
  async unlink(path: string): Promise<void> {
    const names = this.#beginOn("unlink", path);
    unlinkEntry(this.#machine, names, path);
  }

  /** Creates `path` and missing parents (each an unsynced entry of its parent); `EEXIST` if a file is there. */
  async mkdir(path: string): Promise<void> {
    const names = this.#beginOn("mkdir", path);
    makeDirectories(this.#machine, names, path);
  }

  /** Entry names of a directory, sorted. */
  async readdir(path: string): Promise<string[]> {
    const names = this.#beginOn("readdir", path);
    return [...this.#existing("directory", names, "readdir", path).entries.keys()].sort();
  }

  /**
   * Makes the directory's pending entry operations durable (see the class
   * comment). An injected fault makes nothing durable; the operations stay
   * pending.
   */
  async syncDir(path: string): Promise<void> {
    const names = this.#beginOn("syncDir", path);
    this.#machine.syncDirectory(this.#existing("directory", names, "syncDir", path));
  }

  /** This simulated process: its pid, the machine's host name, runtime `memory`, one pid namespace for all. */
  process(): ProcessIdentity {
    return {
      pid: this.#pid,
      hostname: this.#machine.hostname,
      runtime: "memory",
      instance: `memory-boot-${this.#machine.bootNumber}-pid-${this.#pid}`,
      // Every simulated process of the machine sees every other's pid.
      pidNamespace: "memory",
    };
  }

  /** True for the pids of this machine's live processes ({@link withProcess}, not {@link killProcess}ed); never throws. */
  isProcessAlive(pid: number): boolean {
    return this.#machine.alivePids.has(pid);
  }

  /** Starts `operation` of this process on `keys` (normalized paths); returns the fault that fires, if any. */
  #begin(operation: OperationName, keys: readonly string[], path: string): ResolvedFault | null {
    return this.#machine.begin(this.#pid, operation, keys, path);
  }

  /** Starts `operation` on the one path `path` and throws the fault that fires, if any; returns the path's names. */
  #beginOn(operation: OperationName, path: string): string[] {
    const names = splitPath(path, operation);
    throwFault(this.#begin(operation, [joinPath(names)], path), operation, path);
    return names;
  }

  /** Starts `operation` on the paths `from` and `to` and throws the fault that fires, if any; returns both paths' names. */
  #beginOnPair(operation: OperationName, from: string, to: string): [string[], string[]] {
    const fromNames = splitPath(from, operation);
    const toNames = splitPath(to, operation);
    throwFault(this.#begin(operation, [joinPath(fromNames), joinPath(toNames)], from), operation, from);
    return [fromNames, toNames];
  }

  /** The node of kind `kind` at `names`: `ENOENT` if absent, `EISDIR` or `ENOTDIR` if of the other kind. */
  #existing<K extends Node["kind"]>(kind: K, names: readonly string[], syscall: string, path: string): Extract<Node, { kind: K }> {
    const node = resolve(this.#machine.root, names, syscall, path);
    if (node === null) throw fsError("ENOENT", syscall, path);
    if (node.kind !== kind) throw fsError(kind === "file" ? "EISDIR" : "ENOTDIR", syscall, path);
    return node as Extract<Node, { kind: K }>;
  }

  #inspectFile(path: string): FileNode {
    return this.#existing("file", splitPath(path, "inspect"), "inspect", path);
  }
}
