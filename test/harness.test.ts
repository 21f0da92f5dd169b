/**
 * The crash harness on the single-file writer: every crash point × every
 * crash outcome × both policies, crashes during repair, every fault at every
 * matching operation, bit flips in acknowledged data. Also proves the harness
 * can fail (a workload that claims acknowledgments it never got is caught)
 * and that a failure replays exactly from its scenario.
 */

import { describe, expect, test } from "vitest";
import { appendFlushWorkload, type ExploreReport, explore, runScenario, type Workload } from "../harness/mod.ts";
import { recordFigure } from "./figures.ts";

function recordReport(report: ExploreReport): void {
  recordFigure("crash points", report.crashPoints);
  recordFigure("crash states checked", report.crashStates);
  recordFigure("crashes during repair", report.repairCrashes);
  recordFigure("fault scenarios", report.faultScenarios);
  recordFigure("faults injected", report.faultsInjected);
  recordFigure("bit flips", report.bitFlips);
}

describe("every acknowledged record survives", () => {
  test("sequential batches: every crash point, outcome, policy, fault and bit flip", async () => {
    const report = await explore({ workload: appendFlushWorkload({ records: 8, batchRecords: 3, valueBytes: 300 }), seed: 11 });
    recordReport(report);
    expect(report.failures).toEqual([]);
    expect(report.crashPoints).toBe(report.operations + 1);
    expect(report.faultsInjected).toBeGreaterThan(30);
    expect(report.bitFlips).toBe(64);
    // torn outcomes really produced torn tails, and repair really ran
    expect(report.rows.get("torn-garbage")?.repaired).toBeGreaterThan(0);
    expect(report.rows.get("crash during repair")?.states).toBeGreaterThan(0);
  });

  test("concurrent appends with reopens, values larger than a sector", async () => {
    const report = await explore({
      workload: appendFlushWorkload({ records: 6, batchRecords: 3, valueBytes: 700, concurrent: true, reopenEveryBatches: 1 }),
      seed: 5,
      bitFlips: 16,
    });
    recordReport(report);
    expect(report.failures).toEqual([]);
    expect(report.crashStates).toBeGreaterThan(500);
  });
});

describe("the harness can fail", () => {
  /** Claims every append is acknowledged without ever flushing. */
  const lying: Workload = async (ctx) => {
    const writer = await ctx.open();
    for (let i = 0; i < 4; i++) {
      await writer.append({ i });
      ctx.history.acknowledge(ctx.history.flushMark());
    }
    await writer.close();
  };

  test("a workload that claims acknowledgments it never got is caught, and the failure replays", async () => {
    const report = await explore({ workload: lying, seed: 2, faultPointsMax: 0, bitFlips: 0, repairCrashes: false });
    expect(report.failures.length).toBeGreaterThan(0);
    const [first] = report.failures;
    expect(first!.problems.join(" ")).toMatch(/lost acknowledged records/);
    const replayed = await runScenario(lying, JSON.parse(JSON.stringify(first!.scenario)));
    expect(replayed.problems).toEqual(first!.problems);
  });
});
