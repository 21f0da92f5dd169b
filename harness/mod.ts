/**
 * The crash-simulation harness: hand it a workload, get every crash point,
 * crash outcome, fault and bit flip explored on the in-memory filesystem,
 * with every acknowledged record checked after each.
 *
 * ```ts
 * import { explore, appendFlushWorkload } from "tswal/harness";
 * const report = await explore({ workload: appendFlushWorkload({ records: 20 }) });
 * if (report.failures.length > 0) console.log(JSON.stringify(report.failures[0].scenario));
 * ```
 *
 * A failure carries a scenario that `runScenario(workload, scenario)`
 * replays exactly.
 *
 * @module
 */

export {
  CRASH_OUTCOMES,
  type CrashOutcome,
  type CrashOutcomeName,
  type DataFate,
  type FaultCode,
  type FaultRule,
  MemoryFileSystem,
  type MemoryFileSystemOptions,
  type OperationName,
  type PendingOperation,
  type PrefixOutcome,
  SECTOR_BYTES,
  type SectorBytes,
  type SubsetOptions,
  type SubsetOutcome,
  subsetOutcomes,
  type SubsetPlan,
  type TornFill,
  type TornOutcome,
  type TornWrite,
} from "../sim/mod.ts";
export type { AppendOptions, CorruptionKind, FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus, RepairPolicy } from "../mod.ts";
export { checkRecovered, sameValue } from "./check.ts";
export { HarnessViolation, readAll, TrackedWriter, type Workload, type WorkloadContext } from "./context.ts";
export { explore, type ExploreOptions, type ExploreReport, type Failure, type OutcomeRow, type Progress } from "./explore.ts";
export { type AppendEntry, History, type RecoveredRecord } from "./history.ts";
export { type Checker, FAULTS, type RecoveredWal, type FaultKind, LOG_PATH, runScenario, type Scenario, type ScenarioResult } from "./scenario.ts";
export { type AppendFlushOptions, appendFlushWorkload, type BatchedWorkloadOptions, walWorkload, type WalWorkloadOptions } from "./workloads.ts";
export { TrackedWal } from "./wal.ts";
export { type WalHarnessOptions } from "./context.ts";
export { WAL_DIR } from "./scenario.ts";
export type { WalRecord, WalStats } from "../mod.ts";
export {
  ownRuntimeCommand,
  REAL_CRASH_BUGS,
  realCrash,
  type RealCrashBug,
  type RealCrashOptions,
  type RealCrashReport,
  realCrashUnsupported,
} from "./real/run.ts";
export type { VariantKind } from "./real/states.ts";
