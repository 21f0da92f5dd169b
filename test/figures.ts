/**
 * Tests record the figures of what they explored (crash states, faults,
 * kills, fuzz cases); `scripts/test.mjs` prints them after each runtime's run.
 *
 * @module
 */

import { appendFileSync, mkdirSync } from "node:fs";
import { runtimeName } from "../adapters/auto.ts";
import type { ExploreReport } from "../harness/mod.ts";

/** Appends one figure (`name`: `value`) to `.tmp/figures-<runtime>.txt`. */
export function recordFigure(name: string, value: number): void {
  mkdirSync(".tmp", { recursive: true });
  appendFileSync(`.tmp/figures-${runtimeName()}.txt`, `${name}\t${value}\n`);
}

/** Records an `explore` report's figures: totals, the states checked on `log`, and the crash states of each kind it covered. */
export function recordExploreReport(report: ExploreReport, log: "Wal" | "WalWriter"): void {
  recordFigure("crash points", report.crashPoints);
  recordFigure("crash states checked", report.crashStates);
  recordFigure(`crash states checked on ${log}`, report.crashStates);
  recordFigure("crashes during repair", report.repairCrashes);
  if (report.bitFlips > 0) recordFigure("bit flips", report.bitFlips);
  recordFigure("fault scenarios", report.faultScenarios);
  recordFigure("faults injected", report.faultsInjected);
  for (const [kind, row] of report.rows) if (!kind.startsWith("fault") && !kind.startsWith("bit")) recordFigure(`crash states: ${kind}`, row.states);
}
