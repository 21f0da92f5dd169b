/**
 * Fates: what a crash outcome makes of each unsynced operation (lands whole,
 * is dropped, or lands sector by sector), its random choices drawn from a
 * seeded generator.
 *
 * @module
 */

import { assert } from "../src/assert.ts";
import type { FileNode, UnsyncedOperation } from "./inodes.ts";
import { type CrashOutcome, SECTOR_BYTES, type SectorBytes, sectorsSpanned, type SubsetOutcome, type TornFill } from "./outcomes.ts";
import type { Prng } from "./prng.ts";

/** A write split into sectors, some of which land. */
export interface SectorFate {
  /** Sector size the write is split at. */
  readonly sectorBytes: SectorBytes;
  /** One flag per sector the write spans, in offset order. */
  readonly landed: readonly boolean[];
  /** What replaces the sectors that did not land. */
  readonly fill: TornFill;
  /** Replacement bytes for the whole write when `fill` is `garbage`. */
  readonly garbage: Uint8Array | null;
}

/** What becomes of one unsynced operation. Truncates and entry operations are only ever `land` or `drop`. */
export type Fate = "land" | "drop" | SectorFate;

/** The fate of every unsynced operation under `outcome`, in issue order. */
export function decideFates(
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
        const sectorCount = sectorsSpanned(operation.position, operation.bytes.length, sectorBytes);
        const landed = Array.from({ length: sectorCount }, () => prng.coin());
        return { sectorBytes, landed, fill: "lost", garbage: null };
      });
    }
  }
}

/** Fates as the explicit subset outcome lists them; garbage bytes drawn from `prng`. */
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
    const landed = Array.from({ length: sectorsSpanned(operation.position, operation.bytes.length, fate.sectorBytes) }, (_, i) => fate.landed[i] === true);
    const garbage = fate.fill === "garbage" ? prng.bytes(operation.bytes.length) : null;
    fates.set(operation, { sectorBytes: fate.sectorBytes, landed, fill: fate.fill, garbage });
  }
  return fates;
}

/** One of {@link SECTOR_BYTES}, drawn from `prng`. */
function pickSectorBytes(prng: Prng): SectorBytes {
  return SECTOR_BYTES[prng.below(SECTOR_BYTES.length)] ?? 512;
}

/** Each file keeps a seeded prefix of its own operations; entry operations keep one seeded prefix in issue order. */
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

/**
 * Everything before the last unsynced write lands, nothing after it, and
 * that write lands its first `chooseLandedSectors(sectorCount)` sectors
 * (everything lands when there is no unsynced write).
 */
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
      const sectorCount = sectorsSpanned(operation.position, operation.bytes.length, sectorBytes);
      const landedCount = Math.min(chooseLandedSectors(sectorCount), sectorCount);
      const landed = Array.from({ length: sectorCount }, (_, sector) => sector < landedCount);
      const garbage = fill === "garbage" ? prng.bytes(operation.bytes.length) : null;
      fates.set(operation, { sectorBytes, landed, fill, garbage });
    }
  });
  return fates;
}

