/**
 * Crash outcomes: how the unsynced state of a machine turns into the disk
 * found after reboot. Each outcome decides, for every unsynced operation in
 * issue order, whether it lands whole, not at all, or sector by sector; then
 * the reachable tree is rebuilt from the durable state plus what landed.
 * Data dropped by a failed sync is never unsynced-and-pending, so every
 * outcome loses it.
 *
 * @module
 */

import { assert, ByteBuffer, Prng } from "./bytes.ts";
import {
  applyEntryChange,
  DirectoryNode,
  FileNode,
  Machine,
  type Node,
  type UnsyncedOperation,
  type WriteOperation,
} from "./state.ts";

/**
 * Named crash outcomes, for enumeration. Where an outcome makes a random
 * choice, the crash seed picks it. "Unsynced" covers file data not yet made
 * durable by `sync()` and directory entries not yet made durable by
 * `syncDir()`.
 *
 * - `lose-unsynced`: nothing unsynced persists.
 * - `keep-unsynced`: everything unsynced persists (the kernel flushed it all).
 * - `lose-data`: every unsynced directory operation persists, no unsynced
 *   file data (a renamed or created file shows its last synced contents).
 * - `lose-directory-ops`: all unsynced file data persists, no unsynced
 *   directory operation.
 * - `prefix`: each file keeps a seeded prefix (possibly empty or complete) of
 *   its own unsynced writes and truncates, independently of other files;
 *   directory operations keep one seeded prefix in machine-wide issue order.
 * - `torn-lost`, `torn-zero`, `torn-garbage`: every unsynced operation issued
 *   before the last unsynced write persists, none after it, and that write is
 *   torn: split at sector boundaries of its file offsets (seeded 512 or
 *   4096 bytes), a seeded prefix of its sectors lands (fewer than all). The
 *   missing sectors are absent (`lost`: old contents stay, the size grows
 *   only as far as the landed sectors), or the size covers the whole write
 *   and they read as zeros (`zero`) or seeded random bytes (`garbage`). With
 *   no unsynced write, everything unsynced persists.
 * - `reorder`: every unsynced write is split into sectors (seeded 512 or
 *   4096 bytes); each sector, and each unsynced truncate, lands or not by a
 *   seeded coin, in issue order; missing sectors are absent. Every unsynced
 *   directory operation persists.
 * - `size-before-data`: everything unsynced persists, except that each file's
 *   bytes from its low-water mark (the smallest of its durable size and its
 *   unsynced truncate sizes) to its end read as zeros: sizes grew, appended
 *   data did not land.
 */
export const CRASH_OUTCOMES = [
  "lose-unsynced",
  "keep-unsynced",
  "lose-data",
  "lose-directory-ops",
  "prefix",
  "torn-lost",
  "torn-zero",
  "torn-garbage",
  "reorder",
  "size-before-data",
] as const;

/** One of {@link CRASH_OUTCOMES}. */
export type CrashOutcomeName = (typeof CRASH_OUTCOMES)[number];

/** Sector sizes a write can be torn at, in bytes. */
export const SECTOR_BYTES = [512, 4096] as const;

/** One of {@link SECTOR_BYTES}. */
export type SectorBytes = (typeof SECTOR_BYTES)[number];

/** What replaces the sectors of a torn write that did not land; see {@link CRASH_OUTCOMES}. */
export type TornFill = "lost" | "zero" | "garbage";

/**
 * Exactly the first `keep` unsynced operations persist, in machine-wide issue
 * order (file data and directory operations interleaved), for `keep` from 0
 * to `pendingOperations().length`. For exhaustive runs.
 */
export interface PrefixOutcome {
  /** Discriminant. */
  readonly kind: "prefix";
  /** How many unsynced operations persist. */
  readonly keep: number;
}

/**
 * Like `torn-<fill>` with the choices given: the first `landedSectors`
 * sectors of the last unsynced write land (a value at least the number of
 * sectors it spans lands it whole). For exhaustive runs.
 */
export interface TornOutcome {
  /** Discriminant. */
  readonly kind: "torn";
  /** What replaces the sectors that did not land. */
  readonly fill: TornFill;
  /** Sector size the write is split at. */
  readonly sectorBytes: SectorBytes;
  /** How many leading sectors land. */
  readonly landedSectors: number;
}

/**
 * A write of a {@link SubsetOutcome} torn at `sectorBytes`: sector `i` (of
 * those the write spans, aligned to file offsets) lands where `landed[i]` is
 * true (a missing flag is false); the others are absent or read as `fill`.
 */
export interface TornWrite {
  /** Sector size the write is split at. */
  readonly sectorBytes: SectorBytes;
  /** Which sectors land, in offset order. */
  readonly landed: readonly boolean[];
  /** What replaces the sectors that did not land. */
  readonly fill: TornFill;
}

/** What becomes of one unsynced write or truncate in a {@link SubsetOutcome}; a truncate is only `land` or `drop`. */
export type DataFate = "land" | "drop" | TornWrite;

/**
 * Any subset of the unsynced writes and truncates persists, each whole,
 * torn or not at all, independently of issue order (later writes may land
 * while earlier ones are lost or torn); the first `entries` unsynced
 * directory operations persist, in issue order. `data` has one fate per
 * unsynced write or truncate, in issue order (see `pendingOperations()`).
 * Garbage bytes are drawn from the crash seed. `subsetOutcomes` enumerates
 * them for a crash state.
 */
export interface SubsetOutcome {
  /** Discriminant. */
  readonly kind: "subset";
  /** One fate per unsynced data operation, in issue order. */
  readonly data: readonly DataFate[];
  /** How many unsynced directory operations persist, in issue order. */
  readonly entries: number;
}

/** How a crash treats unsynced state: a named outcome or an explicit one. */
export type CrashOutcome = CrashOutcomeName | PrefixOutcome | TornOutcome | SubsetOutcome;

/** A write split into sectors, some of which land. */
interface SectorFate {
  readonly sectorBytes: SectorBytes;
  /** One flag per sector the write spans, in offset order. */
  readonly landed: readonly boolean[];
  readonly fill: TornFill;
  /** Replacement bytes for the whole write when `fill` is `garbage`. */
  readonly garbage: Uint8Array | null;
}

/** What becomes of one unsynced operation. Truncates and entry operations are only ever `land` or `drop`. */
type Fate = "land" | "drop" | SectorFate;

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
  if (typeof outcome === "object" && outcome.kind === "prefix" && outcome.keep > operations.length) {
    throw new RangeError(`prefix keep ${outcome.keep} exceeds the ${operations.length} unsynced operations`);
  }
  if (typeof outcome === "object" && outcome.kind === "subset") checkSubsetFits(outcome, operations);
  const prng = new Prng(seed);
  const fates = decideFates(outcome, operations, prng);
  const root = rebuildTree(machine.root, fates, outcome === "size-before-data");
  machine.crashed = true;
  machine.crashStatesProduced += 1;
  return new Machine(root, prng.nextU32(), machine.hostname);
}

function validateOutcome(outcome: CrashOutcome): void {
  if (typeof outcome === "string") {
    if (!(CRASH_OUTCOMES as readonly string[]).includes(outcome)) throw new RangeError(`unknown crash outcome ${outcome}`);
  } else if (outcome.kind === "prefix") {
    if (!Number.isSafeInteger(outcome.keep) || outcome.keep < 0) throw new RangeError(`prefix keep ${outcome.keep}`);
  } else if (outcome.kind === "subset") {
    validateSubset(outcome);
  } else if (outcome.kind === "torn") {
    if (!(SECTOR_BYTES as readonly number[]).includes(outcome.sectorBytes)) {
      throw new RangeError(`sectorBytes ${outcome.sectorBytes} is not one of ${SECTOR_BYTES.join(", ")}`);
    }
    if (!["lost", "zero", "garbage"].includes(outcome.fill)) throw new RangeError(`torn fill ${outcome.fill}`);
    if (!Number.isSafeInteger(outcome.landedSectors) || outcome.landedSectors < 0) {
      throw new RangeError(`landedSectors ${outcome.landedSectors}`);
    }
  } else {
    throw new RangeError(`unknown crash outcome ${JSON.stringify(outcome)}`);
  }
}

function decideFates(
  outcome: CrashOutcome,
  operations: readonly UnsyncedOperation[],
  prng: Prng,
): Map<UnsyncedOperation, Fate> {
  const each = (fate: (operation: UnsyncedOperation, index: number) => Fate): Map<UnsyncedOperation, Fate> =>
    new Map(operations.map((operation, index) => [operation, fate(operation, index)]));
  if (typeof outcome === "object") {
    if (outcome.kind === "prefix") return each((_, index) => (index < outcome.keep ? "land" : "drop"));
    if (outcome.kind === "subset") return decideSubset(outcome, operations, prng);
    return decideTorn(operations, outcome.fill, outcome.sectorBytes, () => outcome.landedSectors, prng);
  }
  switch (outcome) {
    case "lose-unsynced":
      return each(() => "drop");
    case "keep-unsynced":
    case "size-before-data":
      return each(() => "land");
    case "lose-data":
      return each((operation) => (operation.kind === "entry" ? "land" : "drop"));
    case "lose-directory-ops":
      return each((operation) => (operation.kind === "entry" ? "drop" : "land"));
    case "prefix":
      return decideSeededPrefix(operations, prng);
    case "torn-lost":
    case "torn-zero":
    case "torn-garbage": {
      const fill = outcome === "torn-lost" ? "lost" : outcome === "torn-zero" ? "zero" : "garbage";
      const sectorBytes = pickSectorBytes(prng);
      return decideTorn(operations, fill, sectorBytes, (sectorCount) => prng.below(sectorCount), prng);
    }
    case "reorder": {
      const sectorBytes = pickSectorBytes(prng);
      return each((operation) => {
        if (operation.kind === "entry") return "land";
        if (operation.kind === "truncate") return prng.coin() ? "land" : "drop";
        const sectorCount = countSectors(operation, sectorBytes);
        const landed = Array.from({ length: sectorCount }, () => prng.coin());
        return { sectorBytes, landed, fill: "lost", garbage: null };
      });
    }
  }
}

function validateSubset(outcome: SubsetOutcome): void {
  if (!Array.isArray(outcome.data)) throw new RangeError("subset data must be an array of fates");
  if (!Number.isSafeInteger(outcome.entries) || outcome.entries < 0) throw new RangeError(`subset entries ${outcome.entries}`);
  for (const fate of outcome.data) {
    if (fate === "land" || fate === "drop") continue;
    if (typeof fate !== "object" || fate === null || !Array.isArray(fate.landed)) throw new RangeError(`subset fate ${JSON.stringify(fate)}`);
    if (!(SECTOR_BYTES as readonly number[]).includes(fate.sectorBytes)) throw new RangeError(`sectorBytes ${fate.sectorBytes}`);
    if (!["lost", "zero", "garbage"].includes(fate.fill)) throw new RangeError(`torn fill ${fate.fill}`);
  }
}

/** A subset outcome must give one fate per unsynced data operation, and tear only writes. */
function checkSubsetFits(outcome: SubsetOutcome, operations: readonly UnsyncedOperation[]): void {
  const data = operations.filter((operation) => operation.kind !== "entry");
  const entries = operations.length - data.length;
  if (outcome.data.length !== data.length) throw new RangeError(`subset has ${outcome.data.length} fates for ${data.length} unsynced writes and truncates`);
  if (outcome.entries > entries) throw new RangeError(`subset entries ${outcome.entries} exceeds the ${entries} unsynced directory operations`);
  data.forEach((operation, index) => {
    if (operation.kind === "truncate" && typeof outcome.data[index] === "object") throw new RangeError(`unsynced operation ${index} is a truncate: it cannot tear`);
  });
}

function decideSubset(outcome: SubsetOutcome, operations: readonly UnsyncedOperation[], prng: Prng): Map<UnsyncedOperation, Fate> {
  const fates = new Map<UnsyncedOperation, Fate>();
  let dataIndex = 0;
  let entryIndex = 0;
  for (const operation of operations) {
    if (operation.kind === "entry") {
      fates.set(operation, entryIndex++ < outcome.entries ? "land" : "drop");
      continue;
    }
    const fate = outcome.data[dataIndex++]!;
    if (typeof fate === "string" || operation.kind !== "write") {
      fates.set(operation, typeof fate === "string" ? fate : "drop");
      continue;
    }
    const landed = Array.from({ length: countSectors(operation, fate.sectorBytes) }, (_, i) => fate.landed[i] === true);
    const garbage = fate.fill === "garbage" ? prng.bytes(operation.bytes.length) : null;
    fates.set(operation, { sectorBytes: fate.sectorBytes, landed, fill: fate.fill, garbage });
  }
  return fates;
}

function pickSectorBytes(prng: Prng): SectorBytes {
  return SECTOR_BYTES[prng.below(SECTOR_BYTES.length)] ?? 512;
}

function decideSeededPrefix(operations: readonly UnsyncedOperation[], prng: Prng): Map<UnsyncedOperation, Fate> {
  const countByFile = new Map<FileNode, number>();
  let entryCount = 0;
  for (const operation of operations) {
    if (operation.kind === "entry") entryCount += 1;
    else countByFile.set(operation.file, (countByFile.get(operation.file) ?? 0) + 1);
  }
  const keepByFile = new Map<FileNode, number>();
  for (const [file, count] of countByFile) keepByFile.set(file, prng.below(count + 1));
  const keepEntries = prng.below(entryCount + 1);
  const seenByFile = new Map<FileNode, number>();
  let entriesSeen = 0;
  const fates = new Map<UnsyncedOperation, Fate>();
  for (const operation of operations) {
    let position: number;
    let keep: number;
    if (operation.kind === "entry") {
      position = entriesSeen;
      entriesSeen += 1;
      keep = keepEntries;
    } else {
      position = seenByFile.get(operation.file) ?? 0;
      seenByFile.set(operation.file, position + 1);
      keep = keepByFile.get(operation.file) ?? 0;
    }
    fates.set(operation, position < keep ? "land" : "drop");
  }
  return fates;
}

function decideTorn(
  operations: readonly UnsyncedOperation[],
  fill: TornFill,
  sectorBytes: SectorBytes,
  chooseLandedSectors: (sectorCount: number) => number,
  prng: Prng,
): Map<UnsyncedOperation, Fate> {
  let lastWriteIndex = -1;
  operations.forEach((operation, index) => {
    if (operation.kind === "write") lastWriteIndex = index;
  });
  const fates = new Map<UnsyncedOperation, Fate>();
  operations.forEach((operation, index) => {
    if (lastWriteIndex === -1 || index < lastWriteIndex) {
      fates.set(operation, "land");
    } else if (index > lastWriteIndex) {
      fates.set(operation, "drop");
    } else {
      assert(operation.kind === "write", "the torn operation is a write");
      const sectorCount = countSectors(operation, sectorBytes);
      const landedCount = Math.min(chooseLandedSectors(sectorCount), sectorCount);
      const landed = Array.from({ length: sectorCount }, (_, sector) => sector < landedCount);
      const garbage = fill === "garbage" ? prng.bytes(operation.bytes.length) : null;
      fates.set(operation, { sectorBytes, landed, fill, garbage });
    }
  });
  return fates;
}

/** How many sectors of `sectorBytes` (aligned to file offsets) the write touches; at least 1. */
function countSectors(write: WriteOperation, sectorBytes: SectorBytes): number {
  assert(write.bytes.length > 0, "queued writes are never empty");
  const firstSector = Math.floor(write.position / sectorBytes);
  const lastSector = Math.floor((write.position + write.bytes.length - 1) / sectorBytes);
  return lastSector - firstSector + 1;
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
