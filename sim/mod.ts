/**
 * The in-memory filesystem adapter: a deterministic simulator of a disk and
 * its page cache, with a durability model, scheduled crashes, crash outcomes
 * drawn from the crash-consistency literature (ALICE, CrashMonkey, LazyFS,
 * FoundationDB) and injectable faults (failed fsync with Linux semantics,
 * short writes, failed truncate, rename, link, unlink, open and read, bit
 * rot). Runtime-agnostic: the crash harness runs it on Node, Bun and Deno.
 *
 * ```ts
 * const fs = new MemoryFileSystem({ seed: 7 });
 * fs.crashAtOperation(12);
 * await workload(fs).catch(() => {}); // operation 12 throws ESIMCRASH
 * for (const outcome of CRASH_OUTCOMES) await check(fs.crash(outcome));
 * ```
 *
 * @module
 */

export type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus } from "../src/fs.ts";
export { FILE_BYTES_MAX } from "./bytes.ts";
export { Prng } from "./prng.ts";
export {
  CRASH_OUTCOMES,
  type CrashOutcome,
  type CrashOutcomeName,
  type DataFate,
  type PrefixOutcome,
  SECTOR_BYTES,
  type SectorBytes,
  type SubsetOutcome,
  type TornFill,
  type TornOutcome,
  type TornWrite,
} from "./outcomes.ts";
export { type SubsetOptions, subsetOutcomes, type SubsetPlan } from "./subsets.ts";
export { MemoryFileSystemError, SimulatedCrashError, type SimulatedCrashReason } from "./errors.ts";
export { MemoryFileSystem, type MemoryFileSystemOptions } from "./filesystem.ts";
export { type FaultCode, type FaultRule, type OperationName } from "./faults.ts";
export type { PendingOperation } from "./inodes.ts";
