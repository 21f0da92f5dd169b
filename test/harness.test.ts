/**
 * The crash harness on the single-file writer: every crash point × every
 * crash outcome × both policies, every subset of the unsynced writes landing
 * whole, torn or not at all, crashes during repair, every fault at every
 * matching operation, bit flips in acknowledged data. Also proves the harness
 * can fail (a workload that claims acknowledgments it never got is caught)
 * and that a failure replays exactly from its scenario.
 */

import { describe, expect, test } from "vitest";
import { appendFlushWorkload, type Checker, explore, runScenario, type Workload } from "../harness/mod.ts";
import { recordExploreReport } from "./figures.ts";

describe("every acknowledged record survives", () => {
  test("sequential batches: every crash point, outcome, policy, fault and bit flip", async () => {
    const report = await explore({ workload: appendFlushWorkload({ records: 8, batchRecords: 3, valueBytes: 300 }), seed: 11 });
    recordExploreReport(report, "WalWriter");
    expect(report.failures).toEqual([]);
    expect(report.crashPoints).toBe(report.operations + 1);
    expect(report.faultsInjected).toBeGreaterThan(30);
    expect(report.bitFlips).toBe(64);
    // torn outcomes really produced torn tails, and repair really ran
    expect(report.rows.get("torn-garbage")?.repaired).toBeGreaterThan(0);
    expect(report.rows.get("crash during repair")?.states).toBeGreaterThan(0);
    // any unsynced write may persist whole, torn or not at all: every combination at these crash points
    expect(report.subsetExhaustivePoints).toBeGreaterThan(10);
    expect(report.rows.get("any subset torn (exhaustive)")?.states).toBe(report.subsetStates);
    expect(report.rows.get("any subset torn (exhaustive)")?.repaired).toBeGreaterThan(0);
  });

  test("concurrent appends with reopens, values larger than a sector", async () => {
    const report = await explore({
      workload: appendFlushWorkload({ records: 6, batchRecords: 3, valueBytes: 700, concurrent: true, reopenEveryBatches: 1 }),
      seed: 5,
      bitFlips: 16,
    });
    recordExploreReport(report, "WalWriter");
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

describe("your own checker", () => {
  test("runs on every recovered log, alongside the harness's invariants", async () => {
    let calls = 0;
    const report = await explore({
      workload: appendFlushWorkload({ records: 5, batchRecords: 2 }),
      seed: 4,
      faultPointsMax: 4,
      bitFlips: 0,
      check: ({ recovered }) => {
        calls++;
        const gaps = recovered.filter((record, i) => record.sequence !== i + 1);
        return gaps.length === 0 ? [] : [`sequences are not 1..${recovered.length}`];
      },
    });
    expect(report.failures).toEqual([]);
    expect(calls).toBeGreaterThan(report.crashPoints);
  });

  /** Transfers: a debit and a credit each; `together` appends both before one flush (one batch), else flushes after each. */
  function transfers(together: boolean, batch: boolean): Workload {
    return async (ctx) => {
      const writer = await ctx.open();
      for (let id = 0; id < 3; id++) {
        if (batch) {
          await writer.appendBatch([{ id, leg: "debit" }, { id, leg: "credit" }]);
        } else {
          await writer.append({ id, leg: "debit" });
          if (!together) await writer.flush();
          await writer.append({ id, leg: "credit" });
        }
        await writer.flush();
      }
      await writer.close();
    };
  }
  const balanced: Checker = ({ recovered }) => {
    const legs = recovered.map((r) => r.value as { id: number; leg: string });
    const debits = legs.filter((l) => l.leg === "debit").length;
    const credits = legs.filter((l) => l.leg === "credit").length;
    return debits === credits ? [] : [`${debits} debits but ${credits} credits`];
  };
  const options = { seed: 9, check: balanced, faultPointsMax: 0, bitFlips: 0, repairCrashes: false } as const;

  test("finds an application invariant the log does not promise: two flushes are not one transaction", async () => {
    const workload = transfers(false, false);
    const report = await explore({ ...options, workload });
    expect(report.failures.length).toBeGreaterThan(0);
    const [first] = report.failures;
    expect(first!.problems).toEqual([expect.stringMatching(/debits but .* credits/)]);
    expect((await runScenario(workload, first!.scenario, balanced)).problems).toEqual(first!.problems);
    expect((await runScenario(workload, first!.scenario)).problems).toEqual([]);
  });

  for (const [name, batch] of [["records flushed together", false], ["appendBatch", true]] as const) {
    test(`${name} survive every crash all together or not at all`, async () => {
      const report = await explore({ ...options, workload: transfers(true, batch) });
      expect(report.crashStates).toBeGreaterThan(100);
      expect(report.failures).toEqual([]);
    });
  }
});
