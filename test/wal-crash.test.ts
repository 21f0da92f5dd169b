/**
 * Crash safety of every directory operation of the segmented log, through
 * the public crash harness (`explore` on `ctx.openWal` workloads). For each
 * operation (rotation, retention by each limit, front and back truncation in
 * their different shapes) the machine crashes at every I/O operation from
 * the operation on (`ctx.focus()`), under every named crash outcome and
 * subsets of the unsynced writes; the harness checks its invariants and the
 * reopened log's new record, and a checker that the log (records,
 * sequences and statistics) is exactly as before or after (or after one of
 * the operation's steps). Recovery
 * crashed at every operation, workloads with rotation, retention, both
 * truncations, atomic batches and a follower, and proofs that the harness
 * fails go through `explore` too. So do faults in each directory operation:
 * `explore` fails each I/O operation of every kind from the operation on
 * (`faults`, after `ctx.focus()`), the workload checks that the operation
 * failed and either poisoned the log or left it untouched, and after a
 * reopen (with and without losing what was unsynced) a checker allows only
 * the log before or after the operation.
 */

import { describe, expect, test } from "vitest";
import { MemoryFileSystem } from "../sim/mod.ts";
import { type Checker, explore, type FaultKind, type RecoveredWal, type Workload, walWorkload, type WalWorkloadOptions } from "../harness/mod.ts";
import { Wal, WalIoError, type WalOptions, WalPoisonedError, type WalStats } from "../mod.ts";
import { recordExploreReport } from "./figures.ts";

const DIR = "/data/log";

/** What a reader, the sequence getters and the statistics see. */
interface LogState {
  readonly records: readonly (readonly [number, unknown])[];
  readonly currentSequence: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly stats: WalStats;
}

async function stateOf(wal: RecoveredWal): Promise<LogState> {
  const records: [number, unknown][] = [];
  for await (const record of wal.read()) records.push([record.sequence, record.value]);
  const { currentSequence, firstSequence, lastSequence } = wal;
  return { records, currentSequence, firstSequence, lastSequence, stats: wal.stats() };
}

/** A test clock: every record is appended one second after the one before. */
function steppingClock(): { now: () => number; stepMs: number; timeMs: number } {
  const clock = {
    timeMs: 1_000_000,
    stepMs: 1000,
    now: () => {
      clock.timeMs += clock.stepMs;
      return clock.timeMs;
    },
  };
  return clock;
}

/** What the scenarios call: a `Wal`, or the harness's tracked one. */
type LogOps = Pick<Wal, "append" | "flush" | "rotate" | "cleanup" | "truncateFront" | "truncateBack" | "currentSequence">;

interface Scenario {
  readonly name: string;
  /** Options besides `fs`, `now` and `repair`. */
  readonly options: WalOptions<unknown>;
  /** Brings the log into the state before (everything flushed). */
  readonly setup: (wal: LogOps) => Promise<void>;
  /** The operation under test. */
  readonly operation: (wal: LogOps, clock: { stepMs: number }) => Promise<unknown>;
  /**
   * For an operation made of several steps (directory operations, an
   * append, its flush), the same steps done explicitly: a crash may leave
   * the state after any prefix of them.
   * Default: the operation is one step.
   */
  readonly steps?: readonly ((wal: Wal) => Promise<unknown>)[];
  /** Options besides `options` for the log the steps run on (default none). */
  readonly stepOptions?: WalOptions<unknown>;
}

/** Appends `count` records `r<sequence>`, flushing after every `batch`. */
async function appendRecords(wal: LogOps, count: number, batch = 2): Promise<void> {
  for (let index = 0; index < count; index++) {
    const sequence = wal.currentSequence + 1;
    await wal.append(`r${sequence}`);
    if ((index + 1) % batch === 0) await wal.flush();
  }
  await wal.flush();
}

async function appendNew(wal: LogOps): Promise<void> {
  await wal.append("new");
  await wal.flush();
}

/**
 * With `segmentBytes: 284`, records `r1` … `r10` appended by
 * {@link appendRecords} fill segments [1-3] [4-5] [6-7] [8-9] [10], with
 * commits after records 2, 3 | 4, 5 | 6, 7 | 8, 9 | 10 (a segment takes a
 * record only with room for its commit: 64 + 3 × 36 + 2 × 56 = 284).
 */
const SMALL = { segmentBytes: 284, cleanupOnRotate: false } as const;

const SCENARIOS: readonly Scenario[] = [
  { name: "rotate", options: SMALL, setup: (wal) => appendRecords(wal, 7), operation: (wal) => wal.rotate() },
  {
    name: "an append that rotates, then a flush",
    options: SMALL,
    setup: (wal) => appendRecords(wal, 7),
    operation: appendNew,
    steps: [(wal) => wal.rotate(), (wal) => wal.append("new"), (wal) => wal.flush()],
  },
  {
    name: "an append that rotates while the record before it is not flushed",
    options: SMALL,
    setup: (wal) => appendRecords(wal, 8),
    operation: async (wal) => {
      await wal.append("r9");
      await appendNew(wal);
    },
    steps: [(wal) => wal.append("r9"), (wal) => wal.flush(), (wal) => wal.rotate(), (wal) => wal.append("new"), (wal) => wal.flush()],
  },
  {
    name: "an append that rotates and applies retention (maxSegments)",
    options: { segmentBytes: 284, maxSegments: 2 },
    setup: (wal) => appendRecords(wal, 7),
    operation: appendNew,
    steps: [(wal) => wal.rotate(), (wal) => wal.cleanup(), (wal) => wal.append("new"), (wal) => wal.flush()],
    stepOptions: { cleanupOnRotate: false },
  },
  {
    name: "rotate applying retention (maxSegments)",
    options: { segmentBytes: 284, maxSegments: 2 },
    setup: (wal) => appendRecords(wal, 7),
    operation: (wal) => wal.rotate(),
    steps: [(wal) => wal.rotate(), (wal) => wal.cleanup()],
    stepOptions: { cleanupOnRotate: false },
  },
  { name: "cleanup by maxSegments", options: { ...SMALL, maxSegments: 2 }, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.cleanup() },
  { name: "cleanup by maxTotalBytes", options: { ...SMALL, maxTotalBytes: 500 }, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.cleanup() },
  {
    name: "cleanup by maxAgeMs, cutting inside a segment",
    options: { ...SMALL, maxAgeMs: 5500 },
    setup: (wal) => appendRecords(wal, 10),
    operation: (wal, clock) => {
      clock.stepMs = 0;
      return wal.cleanup();
    },
  },
  {
    name: "cleanup by maxAgeMs when everything expired",
    options: { ...SMALL, maxAgeMs: 10 },
    setup: (wal) => appendRecords(wal, 8),
    operation: (wal, clock) => {
      clock.stepMs = 1_000_000;
      return wal.cleanup();
    },
  },
  { name: "truncateFront inside a segment", options: SMALL, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.truncateFront(5) },
  { name: "truncateFront inside the active segment", options: SMALL, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.truncateFront(9) },
  { name: "truncateFront at a segment start", options: SMALL, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.truncateFront(7) },
  { name: "truncateFront to empty", options: SMALL, setup: (wal) => appendRecords(wal, 8), operation: (wal) => wal.truncateFront(9) },
  { name: "truncateFront restarting at 100", options: SMALL, setup: (wal) => appendRecords(wal, 8), operation: (wal) => wal.truncateFront(100) },
  { name: "truncateBack inside the active segment", options: SMALL, setup: (wal) => appendRecords(wal, 8), operation: (wal) => wal.truncateBack(7) },
  { name: "truncateBack inside a sealed segment", options: SMALL, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.truncateBack(5) },
  { name: "truncateBack to a commit inside a segment", options: SMALL, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.truncateBack(8) },
  { name: "truncateBack to a segment end", options: SMALL, setup: (wal) => appendRecords(wal, 10), operation: (wal) => wal.truncateBack(6) },
  { name: "truncateBack to empty", options: SMALL, setup: (wal) => appendRecords(wal, 8), operation: (wal) => wal.truncateBack(0) },
  {
    name: "truncateBack below the front",
    options: SMALL,
    setup: async (wal) => {
      await appendRecords(wal, 10);
      await wal.truncateFront(6);
    },
    operation: (wal) => wal.truncateBack(3),
  },
  {
    name: "truncateBack above the last record (the log continues from there)",
    options: SMALL,
    setup: async (wal) => {
      await appendRecords(wal, 5);
      await wal.truncateFront(50);
      await wal.append("r50");
      await wal.flush();
    },
    operation: (wal) => wal.truncateBack(20),
  },
];

/** A machine with the scenario's log in its state before; the log still open. */
async function prepare(scenario: Scenario): Promise<{ fs: MemoryFileSystem; wal: Wal; clock: ReturnType<typeof steppingClock> }> {
  const fs = new MemoryFileSystem({ seed: 1 });
  const clock = steppingClock();
  const wal = await Wal.open(DIR, { ...scenario.options, fs, now: clock.now });
  await scenario.setup(wal);
  return { fs, wal, clock };
}

/**
 * A scenario as a harness workload: its setup and operation on the tracked
 * log, then a clean close; with `focused`, crashes only from the operation on.
 */
function scenarioWorkload(scenario: Scenario, focused = false): Workload {
  return async (ctx) => {
    const clock = steppingClock();
    const wal = await ctx.openWal({ ...scenario.options, now: clock.now });
    await scenario.setup(wal);
    if (focused) ctx.focus();
    await scenario.operation(wal, clock);
    await wal.close();
  };
}

/** Sized to stay within seconds per test: a seeded sample of crash points, a few faults of each kind. */
const SIZED = { crashPointsMax: 24, faultPointsMax: 2, bitFlips: 0, subsets: { exhaustiveMax: 32, samples: 8 } } as const;

/**
 * A checker: the recovered log is exactly one of `allowed`, as a reader, the
 * sequence getters and the statistics see it.
 */
function onlyStates(allowed: readonly LogState[]): Checker {
  const states = allowed.map((state) => JSON.stringify(state));
  return async ({ wal }) => {
    if (wal === undefined) return ["no recovered Wal to check"];
    const found = JSON.stringify(await stateOf(wal));
    return states.includes(found) ? [] : [`recovered ${found}: neither the state before, after, nor one between the steps`];
  };
}

/** Every crash point of the operation, every named outcome and a few subsets, recovered with truncate-partial (strict is covered below). */
const ATOMICITY = { policies: ["truncate-partial"], repairCrashes: false, faultPointsMax: 0, bitFlips: 0, subsets: { exhaustiveMax: 8, samples: 4 } } as const;

describe("every directory operation is atomic across a crash", () => {
  for (const scenario of SCENARIOS) {
    test(scenario.name, async () => {
      const unchanged = await prepare(scenario);
      const before = await stateOf(unchanged.wal);
      const allowed = [before];
      let stepping = unchanged.wal;
      if (scenario.stepOptions !== undefined) {
        await stepping.close();
        stepping = await Wal.open(DIR, { ...scenario.options, ...scenario.stepOptions, fs: unchanged.fs, now: unchanged.clock.now });
        expect(await stateOf(stepping)).toEqual(before);
      }
      for (const step of scenario.steps ?? []) {
        await step(stepping);
        allowed.push(await stateOf(stepping));
      }
      await stepping.close();
      const reference = await prepare(scenario);
      const start = reference.fs.operationCount;
      await scenario.operation(reference.wal, reference.clock);
      const end = reference.fs.operationCount;
      const after = await stateOf(reference.wal);
      await reference.wal.close();
      expect(after, "the operation changes what the log holds").not.toEqual(before);
      if (scenario.steps === undefined) allowed.push(after);
      else expect(allowed.at(-1), "the steps end where the operation does").toEqual(after);
      expect(end, "the operation performs I/O").toBeGreaterThan(start);

      const report = await explore({ workload: scenarioWorkload(scenario, true), seed: 17, check: onlyStates(allowed), ...ATOMICITY });
      recordExploreReport(report, "Wal");
      expect(report.failures).toEqual([]);
      expect(report.crashPoints, "every operation of the operation under test, and its close").toBeGreaterThan(end - start);
    });
  }
});

describe("recovery itself is crash-safe (through the public harness)", () => {
  const names = ["truncateBack inside a sealed segment", "truncateFront restarting at 100", "cleanup by maxAgeMs when everything expired"];
  for (const scenario of SCENARIOS.filter((candidate) => names.includes(candidate.name))) {
    test(`crashes in ${scenario.name}, and in the recovery after them`, async () => {
      const report = await explore({ workload: scenarioWorkload(scenario), seed: 21, ...SIZED });
      recordExploreReport(report, "Wal");
      expect(report.failures).toEqual([]);
      expect(report.repairCrashes).toBeGreaterThan(report.crashPoints);
    });
  }
});

describe("the public harness drives Wal", () => {
  const workloads: readonly [string, WalWorkloadOptions][] = [
    ["rotation and retention on rotation (maxSegments)", { records: 10, maxSegments: 2, segmentBytes: 500 }],
    ["truncateFront every few batches", { records: 10, truncateFrontEveryBatches: 3 }],
    ["atomic batches and truncateBack", { records: 8, truncateBackEveryBatches: 2, atomicBatches: true }],
    ["cleanup by maxTotalBytes after explicit rotations", { records: 8, maxTotalBytes: 900, cleanupEveryBatches: 2, rotateEveryBatches: 1 }],
    ["a follower beside the writer, with reopens", { records: 6, follower: true, reopenEveryBatches: 1 }],
  ];
  for (const [name, options] of workloads) {
    test(name, async () => {
      const report = await explore({ workload: walWorkload(options), seed: 13, ...SIZED });
      recordExploreReport(report, "Wal");
      expect(report.failures).toEqual([]);
      expect(report.subsetStates).toBeGreaterThan(0);
      expect(report.faultsInjected).toBeGreaterThan(5);
    });
  }

  test("it can fail: a workload claiming acknowledgments it never got is caught", async () => {
    const lying: Workload = async (ctx) => {
      const wal = await ctx.openWal({ segmentBytes: 300 });
      for (let i = 0; i < 4; i++) {
        await wal.append({ i });
        ctx.history.acknowledge(ctx.history.flushMark());
      }
      await wal.close();
    };
    const report = await explore({ workload: lying, seed: 2, faultPointsMax: 0, repairCrashes: false });
    expect(report.failures.length).toBeGreaterThan(0);
    expect(report.failures[0]!.problems.join(" ")).toMatch(/lost acknowledged records/);
  });

  test("it can fail: a release the log never made is caught", async () => {
    const resurrecting: Workload = async (ctx) => {
      const wal = await ctx.openWal({ segmentBytes: 300 });
      for (let i = 0; i < 4; i++) await wal.append({ i });
      await wal.flush();
      ctx.history.endRelease(3); // claims records 1 and 2 were released for good
      await wal.close();
    };
    const report = await explore({ workload: resurrecting, seed: 2, faultPointsMax: 0, repairCrashes: false, subsets: false });
    expect(report.failures.map((f) => f.problems.join(" ")).join(" ")).toMatch(/came back after the records below 3 were released/);
  });
});

/** An I/O error at each kind of operation a directory operation performs. */
const DIRECTORY_FAULTS: readonly FaultKind[] = (["open", "read", "write", "sync", "close", "rename", "unlink", "syncDir"] as const).map((op) => ({
  name: `${op} EIO`,
  op,
  code: "EIO",
}));

/** What the faulted runs of a workload saw of its operation under test. */
interface FaultTally {
  /** Runs where the fault fired inside the operation (which then failed). */
  failed: number;
  /** Of those, the runs whose log the failure poisoned. */
  poisoned: number;
}

/**
 * A scenario as a workload whose operation may meet an injected fault:
 * `explore` fails each operation from the focus on, the workload goes on
 * (closes the log), then the machine crashes and recovers. A fault inside
 * the operation must fail it: with `WalPoisonedError` (the log poisoned,
 * refusing appends) or with `WalIoError` (the log untouched, still `before`);
 * anything else is a violation the harness reports.
 */
function faultedWorkload(scenario: Scenario, before: LogState, tally: FaultTally): Workload {
  return async (ctx) => {
    const fs = ctx.fs;
    if (!(fs instanceof MemoryFileSystem)) throw new TypeError("explore runs on a MemoryFileSystem");
    const clock = steppingClock();
    const wal = await ctx.openWal({ ...scenario.options, now: clock.now });
    await scenario.setup(wal);
    ctx.focus();
    const fired = fs.faultsInjected;
    const error = await scenario.operation(wal, clock).then(
      () => null,
      (e: unknown) => e,
    );
    const problems: string[] = [];
    if (fs.faultsInjected > fired) {
      tally.failed++;
      if (error instanceof WalPoisonedError) {
        tally.poisoned++;
        if (!wal.poisoned) problems.push("the operation failed with WalPoisonedError, but the log is not poisoned");
        const refused = await wal.append("refused").then(
          () => null,
          (e: unknown) => e,
        );
        if (!(refused instanceof WalPoisonedError)) problems.push(`a poisoned log answered an append with ${String(refused)}, not WalPoisonedError`);
      } else if (error instanceof WalIoError) {
        if (wal.poisoned) problems.push("the operation failed with WalIoError, but the log is poisoned");
        const state = JSON.stringify(await stateOf(wal));
        if (state !== JSON.stringify(before)) problems.push(`a failed operation that did not poison changed the log: ${state}`);
      } else {
        problems.push(`a fault inside the operation ended it with ${String(error)}, not WalPoisonedError or WalIoError`);
      }
    } else if (error !== null) {
      throw error;
    }
    ctx.history.violations.push(...problems);
    await wal.close().catch(() => undefined);
  };
}

describe("a failing directory operation poisons the log, and reopening recovers", () => {
  const names = ["rotate", "cleanup by maxAgeMs, cutting inside a segment", "truncateFront restarting at 100", "truncateBack inside a sealed segment"];
  for (const scenario of SCENARIOS.filter((candidate) => names.includes(candidate.name))) {
    test(scenario.name, async () => {
      const unchanged = await prepare(scenario);
      const before = await stateOf(unchanged.wal);
      await unchanged.wal.close();
      const reference = await prepare(scenario);
      await scenario.operation(reference.wal, reference.clock);
      const after = await stateOf(reference.wal);
      await reference.wal.close();
      // reopened as the failure left it, and after a crash that lost what was unsynced
      for (const outcome of ["keep-unsynced", "lose-unsynced"] as const) {
        const tally: FaultTally = { failed: 0, poisoned: 0 };
        const report = await explore({
          workload: faultedWorkload(scenario, before, tally),
          seed: 5,
          check: onlyStates([before, after]),
          faults: DIRECTORY_FAULTS,
          faultPointsMax: 64,
          crashPointsMax: 0,
          outcomes: [outcome],
          bitFlips: 0,
        });
        recordExploreReport(report, "Wal");
        expect(report.failures, outcome).toEqual([]);
        expect(report.faultsInjected, `${outcome}: every fault fired`).toBe(report.faultScenarios);
        expect(tally.failed, `${outcome}: faults inside the operation`).toBeGreaterThan(10);
        expect(tally.poisoned, `${outcome}: failures that poisoned the log`).toBeGreaterThan(0);
      }
    });
  }
});
