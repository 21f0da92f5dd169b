/**
 * The crash explorer: runs a workload once to count its I/O operations, then
 * crashes it before every one of them (or a seeded sample, for large
 * workloads) under every crash outcome and repair policy, crashes recoveries
 * too, injects every kind of fault at every matching operation, flips bits in
 * acknowledged data, and checks the invariants after each.
 *
 * @module
 */

import { CRASH_OUTCOMES, type CrashOutcome, type MemoryFileSystem, Prng, type SubsetOptions, subsetOutcomes } from "../sim/mod.ts";
import type { RepairPolicy } from "../src/log/writer.ts";
import type { Workload } from "./context.ts";
import { frames } from "./frames.ts";
import type { History } from "./history.ts";
import {
  armFault,
  type Checker,
  FAULTS,
  type FaultKind,
  LOG_PATH,
  openAndCloseLog,
  prepareMachine,
  recoverAndCheck,
  runScenario,
  runWorkload,
  type Scenario,
  type ScenarioResult,
  WAL_DIR,
} from "./scenario.ts";

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
  const undisturbed = await runUndisturbed(seed, options.workload);
  const exploration: Exploration = {
    options,
    seed,
    outcomes: options.outcomes ?? CRASH_OUTCOMES,
    policies: options.policies ?? (["strict", "truncate-partial"] as const),
    undisturbed,
    report: newReport(undisturbed.fs.operationCount - undisturbed.startOperation),
  };
  await exploreCrashPoints(exploration);
  await exploreFaults(exploration);
  await exploreBitFlips(exploration);
  return exploration.report;
}

/** One undisturbed run of the workload, and the machines around it that fix where counting starts. */
interface UndisturbedRun {
  /** The machine the workload ran on, to the end. */
  readonly fs: MemoryFileSystem;
  /** Its operation count when the workload started (after the preparation). */
  readonly startOperation: number;
  /** What the workload did. */
  readonly history: History;
  /** A prepared machine on which nothing else ran. */
  readonly prepared: MemoryFileSystem;
}

/** What every phase of {@link explore} shares. */
interface Exploration {
  readonly options: ExploreOptions;
  readonly seed: number;
  readonly outcomes: readonly CrashOutcome[];
  readonly policies: readonly RepairPolicy[];
  readonly undisturbed: UndisturbedRun;
  readonly report: ExploreReport;
}

async function runUndisturbed(seed: number, workload: Workload): Promise<UndisturbedRun> {
  const prepared = await prepareMachine(seed);
  const fs = await prepareMachine(seed);
  const startOperation = fs.operationCount;
  const history = await runWorkload(fs, workload);
  return { fs, startOperation, history, prepared };
}

function newReport(operations: number): ExploreReport {
  return {
    operations,
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
}

/** Counts one checked state in the row `key`, and keeps its scenario if it failed (up to `failuresMax`). */
function record(exploration: Exploration, key: string, scenario: Scenario, result: ScenarioResult): void {
  const { report } = exploration;
  const row = report.rows.get(key) ?? { states: 0, repaired: 0, strictRefused: 0, failed: 0 };
  row.states++;
  if (result.repaired) row.repaired++;
  if (result.strictRefused) row.strictRefused++;
  if (result.problems.length > 0) {
    row.failed++;
    if (report.failures.length < (exploration.options.failuresMax ?? 10)) report.failures.push({ scenario, problems: result.problems });
  }
  report.rows.set(key, row);
}

/**
 * Crashes before every operation of the workload after its `ctx.focus()`
 * (if it called it), up to one past the last ("after the workload
 * finished"), or a seeded sample of them.
 */
async function exploreCrashPoints(exploration: Exploration): Promise<void> {
  const { options, seed, report, undisturbed } = exploration;
  const focus = undisturbed.history.focusOperation;
  const skipped = focus === null ? 0 : focus - undisturbed.startOperation;
  const points = sample(report.operations + 1 - skipped, options.crashPointsMax ?? 400, seed).map((i) => i + 1 + skipped);
  for (const [index, crashAt] of points.entries()) {
    await exploreCrashPoint(exploration, crashAt);
    report.crashPoints++;
    options.onProgress?.({ phase: "crash", done: index + 1, total: points.length });
  }
}

/** Runs the workload to a crash before its operation `crashAt`, then recovers every crash state asked for. */
async function exploreCrashPoint(exploration: Exploration, crashAt: number): Promise<void> {
  const { options, outcomes, report } = exploration;
  const pointSeed = deriveSeed(exploration.seed, crashAt);
  const fs = await prepareMachine(pointSeed);
  fs.crashAtOperation(fs.operationCount + crashAt);
  const crashed: CrashedRun = { fs, history: await runWorkload(fs, options.workload), crashAt, seed: pointSeed };
  for (const outcome of outcomes) await recoverUnderEveryPolicy(exploration, crashed, outcome, outcomeName(outcome));
  if (options.subsets !== false) {
    const plan = subsetOutcomes(fs.pendingOperations(), { seed: pointSeed, ...options.subsets });
    if (plan.exhaustive && plan.combinations > 0) report.subsetExhaustivePoints++;
    const key = plan.exhaustive ? "any subset torn (exhaustive)" : "any subset torn (sampled)";
    for (const outcome of plan.outcomes) report.subsetStates += await recoverUnderEveryPolicy(exploration, crashed, outcome, key);
  }
  if ((options.repairCrashes ?? true) && outcomes.length > 0) await crashEveryRecoveryOperation(exploration, crashed);
}

/** A workload run that a scheduled crash stopped. */
interface CrashedRun {
  readonly fs: MemoryFileSystem;
  readonly history: History;
  /** The operation it crashed before, counted from the workload's first. */
  readonly crashAt: number;
  /** The seed of its machine and of its crash outcomes. */
  readonly seed: number;
}

/** Recovers the crash state `outcome` makes of `crashed` under every policy, recording each in the row `key`; returns how many. */
async function recoverUnderEveryPolicy(exploration: Exploration, crashed: CrashedRun, outcome: CrashOutcome, key: string): Promise<number> {
  const { fs, history, crashAt, seed } = crashed;
  const check = exploration.options.check;
  for (const policy of exploration.policies) {
    const scenario: Scenario = { kind: "crash", seed, crashAt, outcome, policy };
    record(exploration, key, scenario, await recoverAndCheck(fs, history, { outcome, policy, seed, check }));
    exploration.report.crashStates++;
  }
  return exploration.policies.length;
}

/** Crashes the truncate-partial recovery of one crash state of `crashed` before each of its operations. */
async function crashEveryRecoveryOperation(exploration: Exploration, crashed: CrashedRun): Promise<void> {
  const { fs, history, crashAt, seed } = crashed;
  const { outcomes, report } = exploration;
  const outcome = outcomes[crashAt % outcomes.length]!;
  const recoveryOperations = await countRecoveryOperations(fs, history, outcome, seed);
  for (let repairCrashAt = 1; repairCrashAt <= recoveryOperations; repairCrashAt++) {
    const scenario: Scenario = { kind: "crash", seed, crashAt, outcome, policy: "truncate-partial", repairCrashAt };
    const result = await recoverAndCheck(fs, history, { outcome, policy: "truncate-partial", seed, repairCrashAt, check: exploration.options.check });
    record(exploration, "crash during repair", scenario, result);
    report.repairCrashes++;
    report.crashStates++;
  }
}

/** Injects every fault kind at every matching operation after the focus (or a seeded sample of them), each run then crashed and recovered. */
async function exploreFaults(exploration: Exploration): Promise<void> {
  const { options, seed, outcomes, report } = exploration;
  const faults = options.faults ?? FAULTS;
  const plan = await planFaults(exploration, faults);
  for (const [index, { fault, nth }] of plan.entries()) {
    const outcome = outcomes[(index + nth) % outcomes.length] ?? "lose-unsynced";
    const scenario: Scenario = { kind: "fault", seed: deriveSeed(seed, 7919 * index), fault, nth, outcome };
    const kind = faults[fault]!;
    const fs = await prepareMachine(scenario.seed);
    armFault(fs, kind, nth);
    const history = await runWorkload(fs, options.workload);
    report.faultsInjected += fs.faultsInjected;
    const recovery = { outcome, policy: "truncate-partial", seed: scenario.seed, check: options.check } as const;
    record(exploration, `fault: ${kind.name}`, scenario, await recoverAndCheck(fs, history, recovery));
    report.faultScenarios++;
    options.onProgress?.({ phase: "fault", done: index + 1, total: plan.length });
  }
}

/**
 * Which fault of `faults` to arm at which matching operation: for each kind,
 * every operation of its kind after the focus (or a seeded sample). A
 * fault's `nth` counts from the workload's start (not the machine's
 * preparation, which syncs its directory), so the operations before the
 * focus are counted on a run crashed right after it.
 */
async function planFaults(exploration: Exploration, faults: readonly FaultKind[]): Promise<{ fault: number; nth: number }[]> {
  const { options, seed, undisturbed } = exploration;
  const faultPointsMax = options.faultPointsMax ?? 64;
  const beforeFocus = await prepareMachine(seed);
  if (faultPointsMax > 0 && undisturbed.history.focusOperation !== null) {
    beforeFocus.crashAtOperation(undisturbed.history.focusOperation + 1);
    await runWorkload(beforeFocus, options.workload);
  }
  const plan: { fault: number; nth: number }[] = [];
  for (const [fault, { op }] of faults.entries()) {
    const skippedOfKind = beforeFocus.operationsOfKind(op) - undisturbed.prepared.operationsOfKind(op);
    const afterFocus = undisturbed.fs.operationsOfKind(op) - beforeFocus.operationsOfKind(op);
    for (const n of sample(afterFocus, faultPointsMax, deriveSeed(seed, fault))) plan.push({ fault, nth: skippedOfKind + n + 1 });
  }
  return plan;
}

/** Flips bits in acknowledged data (a seeded sample of its bytes) after an undisturbed run. */
async function exploreBitFlips(exploration: Exploration): Promise<void> {
  const { options, seed, report, undisturbed } = exploration;
  const flips = options.bitFlips ?? 64;
  const flippable = flips > 0 ? flippableBytes(undisturbed.fs, undisturbed.history) : 0;
  const offsets = sample(flippable, flips, deriveSeed(seed, 31337));
  for (const [index, byteOffset] of offsets.entries()) {
    const scenario: Scenario = { kind: "bit-flip", seed, byteOffset, bit: (byteOffset * 5 + index) % 8 };
    record(exploration, "bit flip in acknowledged data", scenario, await runScenario(options.workload, scenario, options.check));
    report.bitFlips++;
    options.onProgress?.({ phase: "bit-flip", done: index + 1, total: offsets.length });
  }
}

/** How many I/O operations a truncate-partial recovery of this crash state performs. */
async function countRecoveryOperations(fs: MemoryFileSystem, history: History, outcome: CrashOutcome, seed: number): Promise<number> {
  const machine = fs.crash(outcome, seed);
  const before = machine.operationCount;
  if ((await machine.stat(history.target === "wal" ? WAL_DIR : LOG_PATH)) === null) return 0;
  await openAndCloseLog(machine, history).catch(() => undefined);
  return machine.operationCount - before;
}

/**
 * Durable bytes up to the end of the last acknowledged record, after an
 * undisturbed run and a crash that keeps only synced data: all of it is
 * acknowledged data (or its headers and commits), which no policy may cut.
 */
function flippableBytes(undisturbed: MemoryFileSystem, history: History): number {
  const acknowledged = history.acknowledgedCount;
  if (acknowledged === 0 || history.target === "wal") return 0;
  const bytes = undisturbed.crash("lose-unsynced").durableContents(LOG_PATH);
  const last = frames(bytes).filter((f) => f.kind === 1)[acknowledged - 1];
  if (last === undefined) throw new Error(`only part of ${acknowledged} acknowledged records is durable`);
  return last.end;
}

/** `count` distinct integers from `[0, population)`, all of them if they fit, else a seeded sample, ascending. */
function sample(population: number, count: number, seed: number): number[] {
  const all = Array.from({ length: population }, (_, i) => i);
  if (population <= count) return all;
  const prng = new Prng(seed);
  for (let i = 0; i < count; i++) {
    const j = i + prng.below(population - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count).sort((a, b) => a - b);
}

/** The seed of one scenario of an exploration seeded with `seed`: a hash of both, as an unsigned 32-bit integer. */
function deriveSeed(seed: number, salt: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + salt) >>> 0;
}

/** A short name for an outcome, for the table. */
function outcomeName(outcome: CrashOutcome): string {
  return typeof outcome === "string" ? outcome : outcome.kind;
}
