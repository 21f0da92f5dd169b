/**
 * Real-syscall crash states (issue 10, item 1), on the runtime this suite
 * runs in: `harness/real` runs a workload in a child of that runtime under
 * strace on the real filesystem, turns the trace into crash states (every
 * prefix; unsynced writes lost, whole or torn into sector pieces; directory
 * entries lost until their directory's fsync), recovers each with a child of
 * the same runtime under both repair policies, and checks every
 * acknowledged record, the prefix rule and strict's refusals, and the trace
 * itself (no acknowledgement before the sync that makes it durable).
 *
 * The planted bugs prove the checks can fail: the same workload through an
 * adapter whose file `sync` does nothing, or whose directory sync does
 * nothing, must be reported both by the trace check and by lost
 * acknowledged records in some crash state.
 *
 * Without strace, or where ptrace is not permitted, the tests are skipped
 * and their names say why. Sized to stay well within a minute per runtime:
 * 36 records in 18 flushed batches (a close and reopen half way), up to 60
 * seeded random variants per prefix, at most 1000 distinct crash states.
 */

import process from "node:process";
import { expect, test } from "vitest";
import { type RealCrashBug, realCrash, type RealCrashReport, realCrashUnsupported } from "../harness/mod.ts";
import { runtimeName } from "../adapters/auto.ts";
import { childCommand } from "./children.ts";
import { recordFigure } from "./figures.ts";

const runtime = runtimeName();
/** `WAL_STRACE` names another strace (say a missing one, to see the tests skip). */
const strace = process.env["WAL_STRACE"] ?? "strace";
const unsupported = await realCrashUnsupported(strace);
const skipNote = unsupported === null ? "" : ` (skipped: ${unsupported})`;
if (unsupported !== null) console.warn(`test/real-crash.test.ts skipped on ${runtimeName()}: ${unsupported}`);
const command = (script: string, args: readonly string[]): string[] => childCommand(runtime, script, args);

/** A short account of a report for failure messages. */
function summary(report: RealCrashReport): string {
  return JSON.stringify({ traceProblems: report.traceProblems.slice(0, 3), failures: report.failures.slice(0, 3) }, null, 1);
}

test.skipIf(unsupported !== null)(`real crash states on ${runtime}: every acknowledged record survives${skipNote}`, async () => {
  const report = await realCrash({ command, strace, seed: 1, records: 36, variants: 60, maxStates: 1000 });
  expect(report.traceProblems, summary(report)).toEqual([]);
  expect(report.failures, summary(report)).toEqual([]);
  expect(report.failedStates).toBe(0);
  expect(report.acknowledgements).toBe(18);
  expect(report.kinds["synced-only"]).toBeGreaterThan(0);
  expect(report.kinds.random).toBeGreaterThan(50);
  expect(report.strictRefused).toBeGreaterThan(0);
  expect(report.states).toBeGreaterThan(300);
  recordFigure("real crash states (strace)", report.states);
  recordFigure("real crash recoveries (2 policies each)", report.states * 2);
}, 180_000);

for (const bug of ["no-datasync", "no-dirsync"] as const satisfies readonly RealCrashBug[]) {
  test.skipIf(unsupported !== null)(`real crash states on ${runtime} catch a planted bug: ${bug}${skipNote}`, async () => {
    const report = await realCrash({ command, strace, seed: 2, records: 9, maxStates: 120, bug });
    expect(report.traceProblems.length, summary(report)).toBeGreaterThan(0);
    expect(report.failedStates, summary(report)).toBeGreaterThan(0);
    expect(report.lostAcknowledged, summary(report)).toBeGreaterThan(0);
    recordFigure("real crash states with a planted bug", report.states);
  }, 180_000);
}
