/**
 * The crash explorer: runs a workload once to count its I/O operations, then
 * crashes it before every one of them (or a seeded sample, for large
 * workloads) under every crash outcome and repair policy, crashes recoveries
 * too, injects every kind of fault at every matching operation, flips bits in
 * acknowledged data, and checks the invariants after each.
 *
 * @module
 */

import { CRASH_OUTCOMES, type CrashOutcome, type MemoryFileSystem, type SubsetOptions, subsetOutcomes } from "../sim/mod.ts";
import type { RepairPolicy } from "../src/log/writer.ts";
import { WalWriter } from "../src/log/writer.ts";
import type { Workload } from "./context.ts";
import { frames } from "./frames.ts";
import type { History } from "./history.ts";
import {
  armFault,
  FAULTS,
  type FaultKind,
  LOG_PATH,
  prepareMachine,
  recoverAndCheck,
  runScenario,
  runWorkload,
  type Scenario,
  type ScenarioResult,
  type Checker,
  WAL_DIR,
} from "./scenario.ts";
import { openAndClose } from "./wal-recover.ts";

/** Options of {@link explore}. */
export interface ExploreOptions {
  /** The workload to torture. */
  readonly workload: Workload;
  /** Your own invariant over every recovered log, checked after the harness's own (pass it to `runScenario` too when replaying). */
  readonly check?: Checker;
  /** Seed for every random choice; the same seed explores the same scenarios. Default 1. */
  readonly seed?: number;
  /** Crash outcomes to apply at each crash point; default all of `CRASH_OUTCOMES`. Empty: only the subsets (no crashes during repair). */
  readonly outcomes?: readonly CrashOutcome[];
  /** Repair policies to recover under; default both. */
  readonly policies?: readonly RepairPolicy[];
  /**
   * At each crash point, also every subset of the unsynced writes persisting,
   * each whole, torn or lost (see `subsetOutcomes`): all combinations up to
   * `exhaustiveMax`, else seeded samples; recovered under every policy.
   * Default `{}` (64 and 24); `false` disables.
   */
  readonly subsets?: SubsetOptions | false;
  /** Crash points to explore at most; beyond it a seeded sample. Default 400. */
  readonly crashPointsMax?: number;
  /** Also crash each recovery at every one of its operations (for one outcome per crash point). Default true. */
  readonly repairCrashes?: boolean;
  /** Inject every fault kind at every matching operation (after `ctx.focus()`, if called); per kind at most this many. Default 64; 0 disables. */
  readonly faultPointsMax?: number;
  /** The fault kinds to inject; default {@link FAULTS}. Replay a failure with `runScenario(workload, scenario, check, faults)`. */
  readonly faults?: readonly FaultKind[];
  /** Bit flips in acknowledged data to try (single-file writer workloads only). Default 64; 0 disables. */
  readonly bitFlips?: number;
  /** Called after each scenario. */
  readonly onProgress?: (progress: Progress) => void;
  /** Stop collecting after this many failures. Default 10. */
  readonly failuresMax?: number;
}

/** Where the explorer is. */
export interface Progress {
  /** Current phase. */
  readonly phase: "crash" | "fault" | "bit-flip";
  /** Scenarios finished in this phase. */
  readonly done: number;
  /** Scenarios planned in this phase. */
  readonly total: number;
}

/** One failed scenario: replay it with `runScenario(workload, scenario)`. */
export interface Failure {
  /** The exact scenario. */
  readonly scenario: Scenario;
  /** What went wrong. */
  readonly problems: readonly string[];
}

/** Counts per crash outcome or fault kind, for the summary table. */
export interface OutcomeRow {
  /** Post-crash (or post-fault) states checked. */
  states: number;
  /** Of those, recoveries that cut a torn tail. */
  repaired: number;
  /** Of those, strict opens that refused a torn tail. */
  strictRefused: number;
  /** Of those, failures. */
  failed: number;
}

/** What {@link explore} did and found. */
export interface ExploreReport {
  /** I/O operations in one undisturbed run of the workload. */
  readonly operations: number;
  /** Crash points explored. */
  crashPoints: number;
  /** Crash states recovered and checked (including crashed recoveries). */
  crashStates: number;
  /** Crashes injected into recoveries. */
  repairCrashes: number;
  /** Of `crashStates`, those where any subset of the unsynced writes persisted, each whole, torn or lost. */
  subsetStates: number;
  /** Crash points whose every subset combination was explored (the rest were sampled). */
  subsetExhaustivePoints: number;
  /** Fault scenarios run. */
  faultScenarios: number;
  /** Faults that actually fired. */
  faultsInjected: number;
  /** Bit flips checked. */
  bitFlips: number;
  /** Per outcome (or `fault:<op>:<code>`, or `bit-flip`). */
  readonly rows: Map<string, OutcomeRow>;
  /** Failed scenarios (at most `failuresMax`). */
  readonly failures: Failure[];
}

/** Explores crashes, faults and bit flips of `options.workload`; see the module doc. */
export async function explore(options: ExploreOptions): Promise<ExploreReport> {
  const seed = options.seed ?? 1;
  const outcomes = options.outcomes ?? CRASH_OUTCOMES;
  const policies = options.policies ?? (["strict", "truncate-partial"] as const);
  const failuresMax = options.failuresMax ?? 10;
  const { workload, check } = options;

  const machineStart = await prepareMachine(seed);
  const dry = await prepareMachine(seed);
  const start = dry.operationCount;
  const dryHistory = await runWorkload(dry, workload);
  const report: ExploreReport = {
    operations: dry.operationCount - start,
    crashPoints: 0,
    crashStates: 0,
    repairCrashes: 0,
    subsetStates: 0,
    subsetExhaustivePoints: 0,
    faultScenarios: 0,
    faultsInjected: 0,
    bitFlips: 0,
    rows: new Map(),
    failures: [],
  };
  const record = (key: string, scenario: Scenario, result: ScenarioResult): void => {
    const row = report.rows.get(key) ?? { states: 0, repaired: 0, strictRefused: 0, failed: 0 };
    row.states++;
    if (result.repaired) row.repaired++;
    if (result.strictRefused) row.strictRefused++;
    if (result.problems.length > 0) {
      row.failed++;
      if (report.failures.length < failuresMax) report.failures.push({ scenario, problems: result.problems });
    }
    report.rows.set(key, row);
  };

  // Crash before every operation (1 … operations + 1: the last is "after the workload finished").
  // Crash points after the workload's `ctx.focus()`, if it called it.
  const skipped = dryHistory.focusOperation === null ? 0 : dryHistory.focusOperation - start;
  const points = sample(report.operations + 1 - skipped, options.crashPointsMax ?? 400, seed).map((i) => i + 1 + skipped);
  for (const [index, crashAt] of points.entries()) {
    const pointSeed = mix(seed, crashAt);
    const fs = await prepareMachine(pointSeed);
    fs.crashAtOperation(fs.operationCount + crashAt);
    const history = await runWorkload(fs, workload);
    for (const outcome of outcomes) {
      for (const policy of policies) {
        const scenario: Scenario = { kind: "crash", seed: pointSeed, crashAt, outcome, policy };
        record(outcomeName(outcome), scenario, await recoverAndCheck(fs, history, { outcome, policy, seed: pointSeed, check }));
        report.crashStates++;
      }
    }
    if (options.subsets !== false) {
      const plan = subsetOutcomes(fs.pendingOperations(), { seed: pointSeed, ...options.subsets });
      if (plan.exhaustive && plan.combinations > 0) report.subsetExhaustivePoints++;
      const key = plan.exhaustive ? "any subset torn (exhaustive)" : "any subset torn (sampled)";
      for (const outcome of plan.outcomes) {
        for (const policy of policies) {
          const scenario: Scenario = { kind: "crash", seed: pointSeed, crashAt, outcome, policy };
          record(key, scenario, await recoverAndCheck(fs, history, { outcome, policy, seed: pointSeed, check }));
          report.crashStates++;
          report.subsetStates++;
        }
      }
    }
    if ((options.repairCrashes ?? true) && outcomes.length > 0) {
      const outcome = outcomes[crashAt % outcomes.length]!;
      const recoveryOperations = await countRecoveryOperations(fs, history, outcome, pointSeed);
      for (let repairCrashAt = 1; repairCrashAt <= recoveryOperations; repairCrashAt++) {
        const scenario: Scenario = { kind: "crash", seed: pointSeed, crashAt, outcome, policy: "truncate-partial", repairCrashAt };
        const result = await recoverAndCheck(fs, history, { outcome, policy: "truncate-partial", seed: pointSeed, repairCrashAt, check });
        record("crash during repair", scenario, result);
        report.repairCrashes++;
        report.crashStates++;
      }
    }
    report.crashPoints++;
    options.onProgress?.({ phase: "crash", done: index + 1, total: points.length });
  }

  // Every fault kind at every matching operation (after the focus, if any), then a crash.
  const faultPointsMax = options.faultPointsMax ?? 64;
  const faults = options.faults ?? FAULTS;
  const faultPlan: { fault: number; nth: number }[] = [];
  // a fault's `nth` counts from the workload's start (not the machine's preparation, which syncs
  // its directory), or from the focus: a run crashed right after the focus counts the operations before
  const prepared = await prepareMachine(seed);
  if (faultPointsMax > 0 && dryHistory.focusOperation !== null) {
    prepared.crashAtOperation(dryHistory.focusOperation + 1);
    await runWorkload(prepared, workload);
  }
  for (const [fault, { op }] of faults.entries()) {
    const skippedOfKind = prepared.operationsOfKind(op) - machineStart.operationsOfKind(op);
    for (const n of sample(dry.operationsOfKind(op) - prepared.operationsOfKind(op), faultPointsMax, mix(seed, fault))) {
      faultPlan.push({ fault, nth: skippedOfKind + n + 1 });
    }
  }
  for (const [index, { fault, nth }] of faultPlan.entries()) {
    const outcome = outcomes[(index + nth) % outcomes.length] ?? "lose-unsynced";
    const scenario: Scenario = { kind: "fault", seed: mix(seed, 7919 * index), fault, nth, outcome };
    const kind = faults[fault]!;
    const fs = await prepareMachine(scenario.seed);
    armFault(fs, kind, nth);
    const history = await runWorkload(fs, workload);
    report.faultsInjected += fs.faultsInjected;
    const recovery = { outcome, policy: "truncate-partial", seed: scenario.seed, check } as const;
    record(`fault: ${kind.name}`, scenario, await recoverAndCheck(fs, history, recovery));
    report.faultScenarios++;
    options.onProgress?.({ phase: "fault", done: index + 1, total: faultPlan.length });
  }

  // Bit flips in acknowledged data.
  const flips = options.bitFlips ?? 64;
  const flippable = flips > 0 ? flippableBytes(dry, dryHistory) : 0;
  const offsets = sample(flippable, flips, mix(seed, 31337));
  for (const [index, byteOffset] of offsets.entries()) {
    const scenario: Scenario = { kind: "bit-flip", seed, byteOffset, bit: (byteOffset * 5 + index) % 8 };
    record("bit flip in acknowledged data", scenario, await runScenario(workload, scenario, check));
    report.bitFlips++;
    options.onProgress?.({ phase: "bit-flip", done: index + 1, total: offsets.length });
  }
  return report;
}

/** How many I/O operations a truncate-partial recovery of this crash state performs. */
async function countRecoveryOperations(fs: MemoryFileSystem, history: History, outcome: CrashOutcome, seed: number): Promise<number> {
  const machine = fs.crash(outcome, seed);
  const before = machine.operationCount;
  const wal = history.target === "wal";
  if ((await machine.stat(wal ? WAL_DIR : LOG_PATH)) === null) return 0;
  const open = wal ? openAndClose(machine, WAL_DIR, history) : WalWriter.open(LOG_PATH, { fs: machine, repair: "truncate-partial" }).then((w) => w.close());
  await open.catch(() => undefined);
  return machine.operationCount - before;
}

/**
 * Durable bytes up to the end of the last acknowledged record, after an
 * undisturbed run and a crash that keeps only synced data: all of it is
 * acknowledged data (or its headers and commits), which no policy may cut.
 */
function flippableBytes(dry: MemoryFileSystem, history: History): number {
  const acknowledged = history.acknowledgedCount;
  if (acknowledged === 0 || history.target === "wal") return 0;
  const bytes = dry.crash("lose-unsynced").durableContents(LOG_PATH);
  const last = frames(bytes).filter((f) => f.kind === 1)[acknowledged - 1];
  if (last === undefined) throw new Error(`only part of ${acknowledged} acknowledged records is durable`);
  return last.end;
}

/** `count` distinct integers from `[0, population)`, all of them if they fit, else a seeded sample, ascending. */
function sample(population: number, count: number, seed: number): number[] {
  const all = Array.from({ length: population }, (_, i) => i);
  if (population <= count) return all;
  let state = seed >>> 0 || 1;
  for (let i = population - 1; i > 0; i--) {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = state % (i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count).sort((a, b) => a - b);
}

/** A derived seed. */
function mix(seed: number, salt: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + salt) >>> 0;
}

/** A short name for an outcome, for the table. */
export function outcomeName(outcome: CrashOutcome): string {
  return typeof outcome === "string" ? outcome : outcome.kind;
}
