/**
 * The simulated machine: inodes with durable and volatile contents, the
 * directory tree with durable and volatile entries, the queue of unsynced
 * operations, operation counting, scheduled crashes and injected faults.
 *
 * Durability model. Each file keeps `durable` bytes (on disk) and `volatile`
 * bytes (page cache), plus `pending`: the writes and truncates issued since
 * the last sync, in issue order. Invariant: `volatile` equals `durable` with
 * `pending` applied, except after a failed sync dropped dirty data (then the
 * cache holds bytes that are neither durable nor pending, `cacheDiverged`).
 * Each directory keeps `durableEntries` and volatile `entries` plus its
 * `pending` entry operations, with the same invariant (no divergence there).
 * Every unsynced operation carries a machine-wide issue number (`seq`).
 *
 * @module
 */

import { assert, ByteBuffer } from "./bytes.ts";
import { MemoryFileSystemError, SimulatedCrashError } from "./errors.ts";

/** Longest name of a directory entry, in UTF-8 bytes (`NAME_MAX`). */
export const NAME_BYTES_MAX = 255;
/** Longest path accepted, in UTF-16 code units (`PATH_MAX`, approximately). */
export const PATH_LENGTH_MAX = 4096;

/**
 * The counted operations, by the name of the method that performs them
 * (`FileSystem` methods, then `FileHandle` methods).
 */
export type OperationName =
  | "open"
  | "stat"
  | "readFile"
  | "rename"
  | "link"
  | "unlink"
  | "mkdir"
  | "readdir"
  | "syncDir"
  | "read"
  | "write"
  | "truncate"
  | "sync"
  | "size"
  | "close";

/** POSIX codes an injected fault may carry. */
export type FaultCode = "EIO" | "ENOSPC" | "EDQUOT" | "EACCES" | "EPERM" | "EROFS" | "EMFILE" | "EBUSY";

/**
 * Makes a future operation fail. The operation throws a
 * `MemoryFileSystemError` with `code`, and has no effect, except:
 * - `write` first lands the first `bytesWritten` bytes (a short write);
 * - `sync` drops the file's dirty data from the durability queue while the
 *   cache keeps it (Linux after a failed `fsync`): reads still return it, the
 *   next sync succeeds without persisting it, a crash loses it;
 * - `close` releases the handle anyway.
 */
export interface FaultRule {
  /** The operation that fails. */
  readonly op: OperationName;
  /** Fails the `nth` matching operation, counted from 1 from when the rule is added. Default 1. */
  readonly nth?: number;
  /** Fails every matching operation from the `nth` on, not only the `nth`. Default false. */
  readonly repeat?: boolean;
  /**
   * Only operations on this path match. A handle's operations match the path
   * it was opened with; `rename` and `link` match either of their paths.
   * Default: every path.
   */
  readonly path?: string;
  /** The error's POSIX code. Default `EIO`. */
  readonly code?: FaultCode;
  /** `write` only: how many leading bytes land before the error, clamped to the data's length. Default 0. */
  readonly bytesWritten?: number;
  /**
   * Start counting matching operations only once another fault has fired
   * after this rule was added (to fail, say, the truncate that rolls back a
   * failed write). Default false.
   */
  readonly afterFault?: boolean;
}

/** A fault rule with its defaults filled in and its path normalized. */
export interface ResolvedFault {
  /** See {@link FaultRule.op}. */
  readonly op: OperationName;
  /** See {@link FaultRule.nth}. */
  readonly nth: number;
  /** See {@link FaultRule.repeat}. */
  readonly repeat: boolean;
  /** Normalized path, or null for every path. */
  readonly key: string | null;
  /** See {@link FaultRule.code}. */
  readonly code: FaultCode;
  /** See {@link FaultRule.bytesWritten}. */
  readonly bytesWritten: number;
  /** See {@link FaultRule.afterFault}. */
  readonly afterFault: boolean;
}

/**
 * An unsynced operation, described for a harness (`pendingOperations()`).
 * Paths are normalized (`/a/b`); a write or truncate names the path its
 * handle was opened with.
 */
export type PendingOperation =
  | { readonly kind: "write"; readonly path: string; readonly position: number; readonly byteLength: number }
  | { readonly kind: "truncate"; readonly path: string; readonly size: number }
  | { readonly kind: "create" | "mkdir" | "unlink"; readonly path: string }
  | { readonly kind: "link" | "rename"; readonly from: string; readonly path: string };

/** An unsynced write: `bytes` (a private copy) at `position`. */
export interface WriteOperation {
  /** Discriminant. */
  readonly kind: "write";
  /** Machine-wide issue number. */
  readonly seq: number;
  /** The file written. */
  readonly file: FileNode;
  /** Normalized path the handle was opened with. */
  readonly path: string;
  /** File offset of the first byte. */
  readonly position: number;
  /** The data, never empty. */
  readonly bytes: Uint8Array;
}

/** An unsynced truncate to `size` bytes. */
export interface TruncateOperation {
  /** Discriminant. */
  readonly kind: "truncate";
  /** Machine-wide issue number. */
  readonly seq: number;
  /** The file truncated. */
  readonly file: FileNode;
  /** Normalized path the handle was opened with. */
  readonly path: string;
  /** New size in bytes. */
  readonly size: number;
}

/** An unsynced change to a file's contents. */
export type DataOperation = WriteOperation | TruncateOperation;

/** One entry set (`target` a node) or removed (`target` null) in one directory. */
export interface EntryChange {
  /** The directory whose entry changes. */
  readonly directory: DirectoryNode;
  /** The entry's name. */
  readonly name: string;
  /** What the name refers to afterwards, or null when removed. */
  readonly target: Node | null;
}

/**
 * An unsynced namespace operation: its changes become durable together. It
 * is queued in every directory it touches (two for a cross-directory rename).
 */
export interface EntryOperation {
  /** Discriminant. */
  readonly kind: "entry";
  /** Machine-wide issue number. */
  readonly seq: number;
  /** What the caller did. */
  readonly description: PendingOperation;
  /** The entry changes, applied in order. */
  readonly changes: readonly EntryChange[];
}

/** Any operation not yet durable. */
export type UnsyncedOperation = DataOperation | EntryOperation;

/** A regular file's inode. */
export class FileNode {
  /** Discriminant. */
  readonly kind = "file";
  /** Contents on disk. */
  readonly durable: ByteBuffer;
  /** Contents in the page cache: what reads return. */
  readonly volatile: ByteBuffer;
  /** Writes and truncates since the last sync, in issue order. */
  pending: DataOperation[] = [];
  /** Set once a failed sync dropped dirty data: the cache then holds bytes neither durable nor pending. */
  cacheDiverged = false;

  /** A file whose durable and volatile contents are both `contents`. */
  constructor(contents: ByteBuffer) {
    this.durable = contents;
    this.volatile = contents.clone();
  }
}

/** A directory's inode. */
export class DirectoryNode {
  /** Discriminant. */
  readonly kind = "directory";
  /** Entries as seen by lookups. */
  readonly entries: Map<string, Node>;
  /** Entries on disk. */
  readonly durableEntries: Map<string, Node>;
  /** Entry operations touching this directory since they were last made durable, in issue order. */
  pending: EntryOperation[] = [];

  /** A directory whose durable and volatile entries are both `entries`. */
  constructor(entries: Map<string, Node> = new Map()) {
    this.entries = entries;
    this.durableEntries = new Map(entries);
  }
}

/** An inode. */
export type Node = FileNode | DirectoryNode;

/** Applies one data operation to `buffer`. */
export function applyData(buffer: ByteBuffer, operation: DataOperation): void {
  if (operation.kind === "write") {
    buffer.write(operation.position, operation.bytes);
  } else {
    buffer.resize(operation.size);
  }
}

/** Applies one entry change to `entries` (volatile or durable); a removed name must be present. */
export function applyEntryChange(entries: Map<string, Node>, change: EntryChange): void {
  if (change.target === null) {
    const removed = entries.delete(change.name);
    assert(removed, `removed entry ${change.name} must exist`);
  } else {
    entries.set(change.name, change.target);
  }
}

/** Shorthand for a {@link MemoryFileSystemError} with the standard wording. */
export function fsError(code: string, syscall: string, path: string): MemoryFileSystemError {
  return new MemoryFileSystemError(code, syscall, path);
}

const utf8 = new TextEncoder();

/**
 * Splits `path` into entry names: `/` separated, empty and `.` segments
 * dropped, `..` resolved lexically (never above the root). Absolute and
 * relative paths both start at the root.
 */
export function splitPath(path: string, syscall: string): string[] {
  if (typeof path !== "string" || path.length === 0) throw fsError("ENOENT", syscall, String(path));
  if (path.includes("\0")) throw fsError("EINVAL", syscall, path);
  if (path.length > PATH_LENGTH_MAX) throw fsError("ENAMETOOLONG", syscall, path);
  const names: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      names.pop();
      continue;
    }
    if (utf8.encode(segment).length > NAME_BYTES_MAX) throw fsError("ENAMETOOLONG", syscall, path);
    names.push(segment);
  }
  return names;
}

/** The normalized form of split names: `/a/b`, or `/` for the root. */
export function joinPath(names: readonly string[]): string {
  return `/${names.join("/")}`;
}

/** The node at `names`, or null when the last name is absent. An intermediate file throws `ENOTDIR`, an absent one `ENOENT`. */
export function resolve(root: DirectoryNode, names: readonly string[], syscall: string, path: string): Node | null {
  let node: Node = root;
  for (let index = 0; index < names.length; index++) {
    if (node.kind !== "directory") throw fsError("ENOTDIR", syscall, path);
    const child = node.entries.get(names[index] ?? "");
    if (child === undefined) {
      if (index === names.length - 1) return null;
      throw fsError("ENOENT", syscall, path);
    }
    node = child;
  }
  return node;
}

/** The directory that holds (or would hold) the last name of `names`. The root itself has no parent: `EBUSY`. */
export function resolveParent(
  root: DirectoryNode,
  names: readonly string[],
  syscall: string,
  path: string,
): { readonly parent: DirectoryNode; readonly name: string } {
  const name = names[names.length - 1];
  if (name === undefined) throw fsError("EBUSY", syscall, path);
  const parent = resolve(root, names.slice(0, -1), syscall, path);
  if (parent === null) throw fsError("ENOENT", syscall, path);
  if (parent.kind !== "directory") throw fsError("ENOTDIR", syscall, path);
  return { parent, name };
}

/** A fault rule in force, with the number of operations it has matched so far. */
interface ActiveFault {
  readonly fault: ResolvedFault;
  matchCount: number;
  /** `faultsInjected` when the rule was added (see {@link FaultRule.afterFault}). */
  readonly faultsAtAdd: number;
}

/**
 * The state one simulated machine's processes share: the tree, the unsynced
 * queue, the operation counter, the crash schedule, the faults, the
 * processes.
 */
/** Machines constructed so far in this heap (each boot is a new machine). */
let bootsStarted = 0;

export class Machine {
  /** Distinct for every machine and every reboot of one: processes of different boots are different process instances. */
  readonly bootNumber = ++bootsStarted;
  /** The root directory; always exists and is durable. */
  readonly root: DirectoryNode;
  /** Default seed for crash outcomes. */
  readonly seed: number;
  /** Host name reported by every process. */
  readonly hostname: string;
  /** Pids that `isProcessAlive` reports alive; operations of any other pid throw `ESIMCRASH`. */
  readonly alivePids = new Set<number>();
  /** Operations performed so far. */
  operationCount = 0;
  /** Operations performed so far, by kind. */
  readonly operationCounts = new Map<OperationName, number>();
  /** Operation number that crashes the machine, or null. */
  crashAtOperation: number | null = null;
  /** True once the machine crashed: every operation throws `ESIMCRASH`. */
  crashed = false;
  /** Injected faults that fired. */
  faultsInjected = 0;
  /** File syncs (`FileHandle.sync`) that succeeded. */
  fileSyncsCompleted = 0;
  /** Crash states produced by `crash`. */
  crashStatesProduced = 0;
  #faults: ActiveFault[] = [];
  #nextSeq = 1;
  /** Nodes with a non-empty `pending` queue, so a crash need not walk the tree to find them. */
  readonly #dirty = new Set<Node>();

  /** A machine whose disk holds the tree under `root` and nothing unsynced. */
  constructor(root: DirectoryNode, seed: number, hostname: string) {
    this.root = root;
    this.seed = seed;
    this.hostname = hostname;
  }

  /**
   * Starts operation `operation` of process `pid` on normalized `keys`
   * (`path` is the caller's, for messages). Throws `ESIMCRASH` if the machine
   * crashed, the process is dead, or this is the scheduled crash point;
   * otherwise counts the operation and returns the fault that fires, if any.
   */
  begin(pid: number, operation: OperationName, keys: readonly string[], path: string): ResolvedFault | null {
    const operationNumber = this.operationCount + 1;
    if (this.crashed) throw new SimulatedCrashError("crash", operationNumber, operation, path);
    if (!this.alivePids.has(pid)) throw new SimulatedCrashError("killed", operationNumber, operation, path);
    if (this.crashAtOperation === operationNumber) {
      this.crashed = true;
      throw new SimulatedCrashError("crash", operationNumber, operation, path);
    }
    this.operationCount = operationNumber;
    this.operationCounts.set(operation, (this.operationCounts.get(operation) ?? 0) + 1);
    let fired: ResolvedFault | null = null;
    for (const active of this.#faults) {
      const { fault } = active;
      if (fault.op !== operation || (fault.key !== null && !keys.includes(fault.key))) continue;
      if (fault.afterFault && this.faultsInjected === active.faultsAtAdd) continue;
      active.matchCount += 1;
      const fires = fault.repeat ? active.matchCount >= fault.nth : active.matchCount === fault.nth;
      if (fires && fired === null) fired = fault;
    }
    this.#faults = this.#faults.filter((active) => active.fault.repeat || active.matchCount < active.fault.nth);
    if (fired !== null) this.faultsInjected += 1;
    return fired;
  }

  /** Adds a fault rule; it counts matching operations from now on. */
  addFault(fault: ResolvedFault): void {
    this.#faults.push({ fault, matchCount: 0, faultsAtAdd: this.faultsInjected });
  }

  /** Removes every fault rule. */
  clearFaults(): void {
    this.#faults = [];
  }

  /** Writes `bytes` (a private copy, never empty) to the file's cache and queues the write. */
  recordWrite(file: FileNode, path: string, position: number, bytes: Uint8Array): void {
    assert(bytes.length > 0, "an empty write changes nothing and is not queued");
    file.volatile.write(position, bytes);
    this.#queueData({ kind: "write", seq: this.#takeSeq(), file, path, position, bytes });
  }

  /** Truncates the file's cache to `size` bytes and queues the truncate. */
  recordTruncate(file: FileNode, path: string, size: number): void {
    file.volatile.resize(size);
    this.#queueData({ kind: "truncate", seq: this.#takeSeq(), file, path, size });
  }

  /** Applies `changes` to the volatile tree and queues them as one entry operation in every directory touched. */
  recordEntry(description: PendingOperation, changes: readonly EntryChange[]): void {
    assert(changes.length > 0, "an entry operation changes at least one entry");
    const operation: EntryOperation = { kind: "entry", seq: this.#takeSeq(), description, changes };
    for (const change of changes) {
      applyEntryChange(change.directory.entries, change);
      const queue = change.directory.pending;
      if (queue[queue.length - 1] !== operation) queue.push(operation);
      this.#dirty.add(change.directory);
    }
  }

  /** A successful `fsync`: the file's pending operations reach the disk in issue order. */
  syncFile(file: FileNode): void {
    for (const operation of file.pending) applyData(file.durable, operation);
    file.pending = [];
    this.#dirty.delete(file);
    assert(file.cacheDiverged || file.durable.size === file.volatile.size, "a synced file's cache matches its disk");
  }

  /** A failed `fsync`: the dirty data leaves the durability queue but stays in the cache, never to be persisted. */
  dropDirty(file: FileNode): void {
    if (file.pending.length === 0) return;
    file.pending = [];
    file.cacheDiverged = true;
    this.#dirty.delete(file);
  }

  /**
   * A successful directory `fsync`: every pending entry operation touching
   * `directory` becomes durable, and with each cross-directory one, the
   * earlier operations queued in the other directories it touches (so that
   * every directory's durable entries stay a prefix of its history). Other
   * directories' unrelated operations stay pending.
   */
  syncDirectory(directory: DirectoryNode): void {
    const selected = new Set<EntryOperation>();
    const work = [...directory.pending];
    for (let operation = work.pop(); operation !== undefined; operation = work.pop()) {
      if (selected.has(operation)) continue;
      selected.add(operation);
      for (const change of operation.changes) {
        for (const earlier of change.directory.pending) {
          if (earlier.seq < operation.seq && !selected.has(earlier)) work.push(earlier);
        }
      }
    }
    const ordered = [...selected].sort((left, right) => left.seq - right.seq);
    for (const operation of ordered) {
      for (const change of operation.changes) applyEntryChange(change.directory.durableEntries, change);
    }
    for (const operation of ordered) {
      for (const change of operation.changes) {
        const touched = change.directory;
        touched.pending = touched.pending.filter((queued) => !selected.has(queued));
        if (touched.pending.length === 0) this.#dirty.delete(touched);
      }
    }
    assert(directory.pending.length === 0, "a synced directory has nothing pending");
  }

  /** Every unsynced operation on the machine, in issue order. */
  unsyncedOperations(): UnsyncedOperation[] {
    const operations = new Set<UnsyncedOperation>();
    for (const node of this.#dirty) {
      assert(node.pending.length > 0, "a dirty node has pending operations");
      for (const operation of node.pending) operations.add(operation);
    }
    return [...operations].sort((left, right) => left.seq - right.seq);
  }

  /**
   * Checks that every node with pending operations has a cache equal to its
   * disk with the pending operations applied (files whose cache diverged
   * after a failed sync excepted). Costs a copy of each such node.
   */
  checkCacheInvariant(): void {
    for (const node of this.#dirty) {
      if (node.kind === "file") {
        if (node.cacheDiverged) continue;
        const expected = node.durable.clone();
        for (const operation of node.pending) applyData(expected, operation);
        assert(expected.equals(node.volatile), "file cache equals disk plus pending operations");
      } else {
        const expected = new Map(node.durableEntries);
        for (const operation of node.pending) {
          for (const change of operation.changes) {
            if (change.directory === node) applyEntryChange(expected, change);
          }
        }
        assert(expected.size === node.entries.size, "directory entry count equals disk plus pending operations");
        for (const [name, target] of expected) {
          assert(node.entries.get(name) === target, `directory entry ${name} equals disk plus pending operations`);
        }
      }
    }
  }

  #queueData(operation: DataOperation): void {
    operation.file.pending.push(operation);
    this.#dirty.add(operation.file);
  }

  #takeSeq(): number {
    const seq = this.#nextSeq;
    this.#nextSeq += 1;
    return seq;
  }
}
