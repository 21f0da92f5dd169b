/**
 * What the recoveries of the single-file and the segmented log share: a
 * crash during the recovery itself, and the results a recovery ends with
 * before it gets to check records.
 *
 * @module
 */

import type { MemoryFileSystem } from "../sim/mod.ts";
import type { CorruptionKind } from "../src/errors.ts";
import type { History } from "./history.ts";
import type { Recovery, ScenarioResult } from "./scenario.ts";

/**
 * With `recovery.repairCrashAt`: runs `reopen` (a recovery) on `machine`
 * with a crash before its operation `repairCrashAt`, passes any error to
 * `onReopenError`, then crashes the machine again with the same outcome
 * (seed + 1), so the recovery's own unsynced writes meet the same fate as
 * the workload's. Without it: `machine` unchanged.
 */
export async function crashDuringRecovery(
  machine: MemoryFileSystem,
  recovery: Recovery,
  reopen: (machine: MemoryFileSystem) => Promise<void>,
  onReopenError: (error: unknown) => void,
): Promise<MemoryFileSystem> {
  if (recovery.repairCrashAt === undefined) return machine;
  machine.crashAtOperation(machine.operationCount + recovery.repairCrashAt);
  await reopen(machine).catch(onReopenError);
  return machine.crash(recovery.outcome, recovery.seed + 1);
}

/** The log (`what`: its file or directory) is missing after the crash: legal only if nothing was acknowledged. */
export function logMissingResult(history: History, what: string): ScenarioResult {
  const problems = [...history.violations, ...(history.acknowledgedCount > 0 ? [`${what} missing after crash`] : [])];
  return { problems, repaired: false, strictRefused: false, detected: null };
}

/** A strict open refused a torn tail without changing anything: allowed. */
export function strictRefusedResult(history: History, kind: CorruptionKind): ScenarioResult {
  return { problems: [...history.violations], repaired: false, strictRefused: true, detected: kind };
}

/** The recovery failed with `problem`. */
export function failedResult(history: History, problem: string): ScenarioResult {
  return { problems: [...history.violations, problem], repaired: false, strictRefused: false, detected: null };
}
