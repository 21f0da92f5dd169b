/**
 * Crash outcomes: the named ones and the explicit ones a harness builds,
 * and their checks.
 *
 * @module
 */

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

/** How many sectors of `sectorBytes` (aligned to file offsets) a non-empty write of `byteLength` bytes at `position` touches. */
export function sectorsSpanned(position: number, byteLength: number, sectorBytes: SectorBytes): number {
  return Math.floor((position + byteLength - 1) / sectorBytes) - Math.floor(position / sectorBytes) + 1;
}

/** What replaces the sectors of a torn write that did not land; see {@link CRASH_OUTCOMES}. */
export type TornFill = "lost" | "zero" | "garbage";

/** Every {@link TornFill}. */
export const TORN_FILLS: readonly TornFill[] = ["lost", "zero", "garbage"];

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

/** Throws a `RangeError` unless `outcome` is a well-formed crash outcome. */
export function validateOutcome(outcome: CrashOutcome): void {
  if (typeof outcome === "string") {
    if (!(CRASH_OUTCOMES as readonly string[]).includes(outcome)) throw new RangeError(`unknown crash outcome ${outcome}`);
  } else if (outcome.kind === "prefix") {
    if (!Number.isSafeInteger(outcome.keep) || outcome.keep < 0) throw new RangeError(`prefix keep ${outcome.keep}`);
  } else if (outcome.kind === "subset") {
    validateSubset(outcome);
  } else if (outcome.kind === "torn") {
    validateTear(outcome.sectorBytes, outcome.fill);
    if (!Number.isSafeInteger(outcome.landedSectors) || outcome.landedSectors < 0) {
      throw new RangeError(`landedSectors ${outcome.landedSectors}`);
    }
  } else {
    throw new RangeError(`unknown crash outcome ${JSON.stringify(outcome)}`);
  }
}

function validateSubset(outcome: SubsetOutcome): void {
  if (!Array.isArray(outcome.data)) throw new RangeError("subset data must be an array of fates");
  if (!Number.isSafeInteger(outcome.entries) || outcome.entries < 0) throw new RangeError(`subset entries ${outcome.entries}`);
  for (const fate of outcome.data) {
    if (fate === "land" || fate === "drop") continue;
    if (typeof fate !== "object" || fate === null || !Array.isArray(fate.landed)) throw new RangeError(`subset fate ${JSON.stringify(fate)}`);
    validateTear(fate.sectorBytes, fate.fill);
  }
}

function validateTear(sectorBytes: SectorBytes, fill: TornFill): void {
  if (!(SECTOR_BYTES as readonly number[]).includes(sectorBytes)) throw new RangeError(`sectorBytes ${sectorBytes} is not one of ${SECTOR_BYTES.join(", ")}`);
  if (!TORN_FILLS.includes(fill)) throw new RangeError(`torn fill ${fill} is not one of ${TORN_FILLS.join(", ")}`);
}
