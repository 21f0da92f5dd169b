/**
 * The simulated machine: the directory tree (see `inodes.ts` for the
 * durability model), the queue of unsynced operations, operation counting,
 * the scheduled crash, the injected faults and the live processes.
 *
 * @module
 */

import { assert } from "../src/assert.ts";
import { SimulatedCrashError } from "./errors.ts";
import { FaultSchedule, type OperationName, type ResolvedFault } from "./faults.ts";
import {
  applyData,
  applyEntryChange,
  type DataOperation,
  type DirectoryNode,
  type EntryChange,
  type EntryOperation,
  type FileNode,
  type Node,
  type PendingOperation,
  type UnsyncedOperation,
} from "./inodes.ts";

/** Machines constructed so far in this heap (each boot is a new machine). */
let bootsStarted = 0;

/**
 * The state one simulated machine's processes share: the tree, the unsynced
 * queue, the operation counter, the crash schedule, the faults, the
 * processes.
 */
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
  readonly operationCountsByKind = new Map<OperationName, number>();
  /** Operation number that crashes the machine, or null. */
  crashAtOperation: number | null = null;
  /** True once the machine crashed: every operation throws `ESIMCRASH`. */
  crashed = false;
  /** File syncs (`FileHandle.sync`) that succeeded. */
  fileSyncsCompleted = 0;
  /** Crash states produced by `crash`. */
  crashStatesProduced = 0;
  /** The fault rules in force. */
  readonly faults = new FaultSchedule();
  #nextSeq = 1;
  /** Nodes with a non-empty `pending` queue, so a crash need not walk the tree to find them. */
  readonly #dirty = new Set<Node>();
  /** Unsynced operations queued in the nodes of `#dirty`, each counted once (an entry operation may sit in two queues). */
  #unsyncedCount = 0;

  /** A machine whose disk holds the tree under `root` and nothing unsynced. */
  constructor(root: DirectoryNode, seed: number, hostname: string) {
    this.root = root;
    this.seed = seed;
    this.hostname = hostname;
  }

  /** Injected faults that fired. */
  get faultsInjected(): number {
    return this.faults.firedCount;
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
    assert(this.crashAtOperation === null || this.crashAtOperation >= operationNumber, "the scheduled crash point is never passed");
    if (this.crashAtOperation === operationNumber) {
      this.crashed = true;
      throw new SimulatedCrashError("crash", operationNumber, operation, path);
    }
    this.operationCount = operationNumber;
    this.operationCountsByKind.set(operation, (this.operationCountsByKind.get(operation) ?? 0) + 1);
    return this.faults.match(operation, keys);
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
    this.#unsyncedCount += 1;
  }

  /** A successful `fsync`: the file's pending operations reach the disk in issue order. */
  syncFile(file: FileNode): void {
    for (const operation of file.pending) applyData(file.durable, operation);
    this.#unsyncedCount -= file.pending.length;
    file.pending = [];
    this.#dirty.delete(file);
    assert(file.cacheDiverged || file.durable.size === file.volatile.size, "a synced file's cache matches its disk");
  }

  /** A failed `fsync`: the dirty data leaves the durability queue but stays in the cache, never to be persisted. */
  dropDirty(file: FileNode): void {
    if (file.pending.length === 0) return;
    this.#unsyncedCount -= file.pending.length;
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
    const selected = entryOperationsDurableWith(directory);
    const ordered = [...selected].sort((left, right) => left.seq - right.seq);
    for (const operation of ordered) {
      for (const change of operation.changes) applyEntryChange(change.directory.durableEntries, change);
    }
    const touched = new Set<DirectoryNode>();
    for (const operation of ordered) {
      for (const change of operation.changes) touched.add(change.directory);
    }
    for (const touchedDirectory of touched) {
      assertPrefix(touchedDirectory.pending, selected);
      touchedDirectory.pending = touchedDirectory.pending.filter((queued) => !selected.has(queued));
      if (touchedDirectory.pending.length === 0) this.#dirty.delete(touchedDirectory);
    }
    this.#unsyncedCount -= selected.size;
    assert(directory.pending.length === 0, "a synced directory has nothing pending");
  }

  /** Every unsynced operation on the machine, in issue order. */
  unsyncedOperations(): UnsyncedOperation[] {
    const operations = new Set<UnsyncedOperation>();
    for (const node of this.#dirty) {
      assert(node.pending.length > 0, "a dirty node has pending operations");
      for (const operation of node.pending) operations.add(operation);
    }
    assert(operations.size === this.#unsyncedCount, `every unsynced operation is queued (${operations.size} queued, ${this.#unsyncedCount} issued and unsynced)`);
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
        if (!node.cacheDiverged) checkFileCache(node);
      } else {
        checkDirectoryCache(node);
      }
    }
  }

  #queueData(operation: DataOperation): void {
    operation.file.pending.push(operation);
    this.#dirty.add(operation.file);
    this.#unsyncedCount += 1;
  }

  #takeSeq(): number {
    const seq = this.#nextSeq;
    this.#nextSeq += 1;
    return seq;
  }
}

/**
 * The entry operations a sync of `directory` makes durable: its own pending
 * ones and, transitively, for each one that touches other directories, the
 * operations issued before it in those.
 */
function entryOperationsDurableWith(directory: DirectoryNode): Set<EntryOperation> {
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
  return selected;
}

/** Checks that the operations of `queue` (in issue order) that are `selected` come before all that are not. */
function assertPrefix(queue: readonly EntryOperation[], selected: ReadonlySet<EntryOperation>): void {
  const firstKept = queue.findIndex((operation) => !selected.has(operation));
  if (firstKept === -1) return;
  for (let index = firstKept; index < queue.length; index++) {
    assert(!selected.has(queue[index]!), "a directory's durable entries are a prefix of its history");
  }
}

/** Checks that the file's cache equals its disk plus its pending operations. */
function checkFileCache(file: FileNode): void {
  const expected = file.durable.clone();
  for (const operation of file.pending) applyData(expected, operation);
  assert(expected.equals(file.volatile), "file cache equals disk plus pending operations");
}

/** Checks that the directory's entries equal its durable entries plus its pending entry changes. */
function checkDirectoryCache(directory: DirectoryNode): void {
  const expected = new Map(directory.durableEntries);
  for (const operation of directory.pending) {
    for (const change of operation.changes) {
      if (change.directory === directory) applyEntryChange(expected, change);
    }
  }
  assert(expected.size === directory.entries.size, "directory entry count equals disk plus pending operations");
  for (const [name, target] of expected) {
    assert(directory.entries.get(name) === target, `directory entry ${name} equals disk plus pending operations`);
  }
}
