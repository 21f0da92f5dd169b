/**
 * Enumerates {@link SubsetOutcome}s of one crash state: every combination
 * of fates of its unsynced writes and truncates (each whole, dropped, or
 * torn at 512 B or 4 KiB with the first or the second half of its sectors
 * landing, the rest lost, zeroed or garbage) and of how many unsynced
 * directory operations persist. All of them while they number at most
 * `exhaustiveMax`; above, `samples` seeded draws.
 *
 * @module
 */

import type { PendingOperation } from "./inodes.ts";
import { type DataFate, SECTOR_BYTES, sectorsSpanned, type SubsetOutcome, TORN_FILLS } from "./outcomes.ts";
import { Prng } from "./prng.ts";

/** Options of {@link subsetOutcomes}. */
export interface SubsetOptions {
  /** Enumerate every combination while there are at most this many; default 64. */
  readonly exhaustiveMax?: number;
  /** Seeded draws when there are more; default 24. */
  readonly samples?: number;
  /** Seed of the draws; default 1. */
  readonly seed?: number;
}

/** What {@link subsetOutcomes} returns. */
export interface SubsetPlan {
  /** The outcomes, each a different combination. */
  readonly outcomes: SubsetOutcome[];
  /** True when they are every combination. */
  readonly exhaustive: boolean;
  /** How many combinations there are. */
  readonly combinations: number;
}

/**
 * The subset outcomes of a crash state whose unsynced operations are
 * `pending` (from `MemoryFileSystem.pendingOperations()`); none when nothing
 * is unsynced (every outcome is then the same state).
 */
export function subsetOutcomes(pending: readonly PendingOperation[], options: SubsetOptions = {}): SubsetPlan {
  const choices: DataFate[][] = [];
  let entries = 0;
  for (const operation of pending) {
    if (operation.kind === "write") choices.push(writeFates(operation.position, operation.byteLength));
    else if (operation.kind === "truncate") choices.push(["land", "drop"]);
    else entries++;
  }
  if (pending.length === 0) return { outcomes: [], exhaustive: true, combinations: 0 };
  const combinations = choices.reduce((product, fates) => product * fates.length, entries + 1);
  const exhaustiveMax = options.exhaustiveMax ?? 64;
  if (combinations <= exhaustiveMax) {
    const outcomes = Array.from({ length: combinations }, (_, index) => pick(choices, entries, (radix) => {
      const digit = index % radix;
      index = Math.floor(index / radix);
      return digit;
    }));
    return { outcomes, exhaustive: true, combinations };
  }
  const prng = new Prng(options.seed ?? 1);
  const outcomes = Array.from({ length: options.samples ?? 24 }, () => pick(choices, entries, (radix) => prng.below(radix)));
  return { outcomes, exhaustive: false, combinations };
}

/** One outcome: `digit(n)` picks one of `n` choices for each operation in turn, then the directory prefix. */
function pick(choices: readonly DataFate[][], entries: number, digit: (radix: number) => number): SubsetOutcome {
  const data = choices.map((fates) => fates[digit(fates.length)]!);
  return { kind: "subset", data, entries: digit(entries + 1) };
}

/** Fates of one write: whole, dropped, and for each sector size it spans two or more sectors of, each half landing under each fill. */
function writeFates(position: number, byteLength: number): DataFate[] {
  const fates: DataFate[] = ["land", "drop"];
  for (const sectorBytes of SECTOR_BYTES) {
    const sectors = sectorsSpanned(position, byteLength, sectorBytes);
    if (sectors < 2) continue;
    const half = Math.ceil(sectors / 2);
    const head = Array.from({ length: sectors }, (_, i) => i < half);
    const tail = head.map((landed) => !landed);
    for (const fill of TORN_FILLS) fates.push({ sectorBytes, landed: head, fill }, { sectorBytes, landed: tail, fill });
  }
  return fates;
}
