/**
 * A crash: how the unsynced state of a machine turns into the disk found
 * after reboot. The outcome decides, for every unsynced operation in issue
 * order, whether it lands whole, not at all, or sector by sector; then the
 * reachable tree is rebuilt from the durable state plus what landed. Data
 * dropped by a failed sync is never unsynced-and-pending, so every outcome
 * loses it.
 *
 * @module
 */

import { assert } from "../src/assert.ts";
import { ByteBuffer } from "./bytes.ts";
import { decideFates, type Fate, type SectorFate } from "./fates.ts";
import { applyEntryChange, DirectoryNode, FileNode, type Node, type UnsyncedOperation, type WriteOperation } from "./inodes.ts";
import { Machine } from "./machine.ts";
import { type CrashOutcome, validateOutcome } from "./outcomes.ts";
import { Prng } from "./prng.ts";

/**
 * The machine as found after a crash with `outcome`, choices drawn from
 * `seed`: a new machine whose disk and cache both hold the resulting state,
 * with nothing unsynced. Marks `machine` crashed and leaves its state intact,
 * so it can be crashed again with another outcome.
 */
export function crashMachine(machine: Machine, outcome: CrashOutcome, seed: number): Machine {
  validateOutcome(outcome);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`crash seed ${seed} must be a safe integer`);
  machine.checkCacheInvariant();
  const operations = machine.unsyncedOperations();
  checkOutcomeFits(outcome, operations);
  const prng = new Prng(seed);
  const fates = decideFates(outcome, operations, prng);
  assert(fates.size === operations.length && operations.every((operation) => fates.has(operation)), "every unsynced operation has exactly one fate");
  const root = rebuildTree(machine.root, fates, outcome === "size-before-data");
  machine.crashed = true;
  machine.crashStatesProduced += 1;
  return new Machine(root, prng.nextU32(), machine.hostname);
}

/**
 * Throws a `RangeError` unless an explicit outcome fits the unsynced
 * `operations`: a prefix keeps at most all of them; a subset gives one fate
 * per unsynced data operation, tears only writes, and keeps at most all
 * directory operations.
 */
function checkOutcomeFits(outcome: CrashOutcome, operations: readonly UnsyncedOperation[]): void {
  if (typeof outcome === "string") return;
  if (outcome.kind === "prefix" && outcome.keep > operations.length) {
    throw new RangeError(`prefix keep ${outcome.keep} exceeds the ${operations.length} unsynced operations`);
  }
  if (outcome.kind !== "subset") return;
  const data = operations.filter((operation) => operation.kind !== "entry");
  const entries = operations.length - data.length;
  if (outcome.data.length !== data.length) throw new RangeError(`subset has ${outcome.data.length} fates for ${data.length} unsynced writes and truncates`);
  if (outcome.entries > entries) throw new RangeError(`subset entries ${outcome.entries} exceeds the ${entries} unsynced directory operations`);
  data.forEach((operation, index) => {
    if (operation.kind === "truncate" && typeof outcome.data[index] === "object") throw new RangeError(`unsynced operation ${index} is a truncate: it cannot tear`);
  });
}

/** Applies the sectors of `write` according to `fate`. */
function applySectors(image: ByteBuffer, write: WriteOperation, fate: SectorFate): void {
  const endBytes = write.position + write.bytes.length;
  let start = write.position;
  for (const landed of fate.landed) {
    const stop = Math.min(endBytes, (Math.floor(start / fate.sectorBytes) + 1) * fate.sectorBytes);
    const from = start - write.position;
    const to = stop - write.position;
    if (landed) {
      image.write(start, write.bytes.subarray(from, to));
    } else if (fate.fill === "zero") {
      image.write(start, new Uint8Array(stop - start));
    } else if (fate.fill === "garbage") {
      assert(fate.garbage !== null, "garbage fill has garbage bytes");
      image.write(start, fate.garbage.subarray(from, to));
    }
    start = stop;
  }
  assert(start === endBytes, "sectors cover the whole write");
}

/** The file's contents after the crash: its disk plus the unsynced operations that landed. */
function fileImage(file: FileNode, fates: ReadonlyMap<UnsyncedOperation, Fate>, zeroUnsyncedTail: boolean): ByteBuffer {
  const image = file.durable.clone();
  let lowWaterBytes = image.size;
  for (const operation of file.pending) {
    const fate = fates.get(operation);
    assert(fate !== undefined, "every unsynced operation has a fate");
    if (fate === "drop") continue;
    if (operation.kind === "truncate") {
      assert(fate === "land", "a truncate lands whole or not at all");
      image.resize(operation.size);
      lowWaterBytes = Math.min(lowWaterBytes, operation.size);
    } else if (fate === "land") {
      image.write(operation.position, operation.bytes);
    } else {
      applySectors(image, operation, fate);
    }
  }
  if (zeroUnsyncedTail && image.size > lowWaterBytes) image.write(lowWaterBytes, new Uint8Array(image.size - lowWaterBytes));
  return image;
}

/** The directory's entries after the crash: its disk plus the unsynced entry operations that landed. */
function directoryImage(directory: DirectoryNode, fates: ReadonlyMap<UnsyncedOperation, Fate>): Map<string, Node> {
  const entries = new Map(directory.durableEntries);
  for (const operation of directory.pending) {
    const fate = fates.get(operation);
    assert(fate === "land" || fate === "drop", "an entry operation lands whole or not at all");
    if (fate === "drop") continue;
    for (const change of operation.changes) {
      if (change.directory === directory) applyEntryChange(entries, change);
    }
  }
  return entries;
}

/**
 * Copies the tree reachable from `root` after the crash into fresh nodes
 * whose disk and cache both hold the post-crash contents. A node reachable
 * under several names (hard links) is copied once.
 */
function rebuildTree(root: DirectoryNode, fates: ReadonlyMap<UnsyncedOperation, Fate>, zeroUnsyncedTail: boolean): DirectoryNode {
  const copies = new Map<Node, Node>();
  const ancestors = new Set<DirectoryNode>();
  const copy = (node: Node): Node => {
    const existing = copies.get(node);
    if (existing !== undefined) return existing;
    if (node.kind === "file") {
      const file = new FileNode(fileImage(node, fates, zeroUnsyncedTail));
      copies.set(node, file);
      return file;
    }
    assert(!ancestors.has(node), "the crash state has no directory cycle");
    ancestors.add(node);
    const entries = new Map<string, Node>();
    for (const [name, child] of directoryImage(node, fates)) entries.set(name, copy(child));
    ancestors.delete(node);
    const directory = new DirectoryNode(entries);
    copies.set(node, directory);
    return directory;
  };
  const rebuilt = copy(root);
  assert(rebuilt.kind === "directory", "the root is a directory");
  return rebuilt;
}
