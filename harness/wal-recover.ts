/**
 * Recovery of a segmented log after a simulated crash, with the harness's
 * invariants: what {@link recoverAndCheck} does for the single-file writer,
 * for a workload that used `ctx.openWal`.
 *
 * @module
 */

import type { MemoryFileSystem } from "../sim/mod.ts";
import { WalCorruptionError } from "../src/errors.ts";
import { isTearable } from "../src/format/frame.ts";
import { Wal, type WalOptions } from "../src/segmented/wal.ts";
import { checkRecovered, sameValue } from "./check.ts";
import { readWal } from "./context.ts";
import type { History } from "./history.ts";
import { crashDuringRecovery, failedResult, logMissingResult, strictRefusedResult } from "./recovery.ts";
import type { Recovery, ScenarioResult } from "./scenario.ts";

/** The lock file a `Wal` keeps in its directory (and its temporary siblings); not part of the log's contents. */
const LOCK_NAME = "wal.lock";

/** The workload's options that shape the files (segment size, record limits), without retention or a clock. */
export function recoveryOptions(history: History): WalOptions<unknown> {
  const { segmentBytes, maxRecordBytes, maxBatchBytes } = history.walOptions;
  return {
    ...(segmentBytes === undefined ? {} : { segmentBytes }),
    ...(maxRecordBytes === undefined ? {} : { maxRecordBytes }),
    ...(maxBatchBytes === undefined ? {} : { maxBatchBytes }),
  };
}

/** Opens the segmented log of a crashed machine under `policy` and closes it; counts nothing, throws what opening throws. */
export async function openAndClose(machine: MemoryFileSystem, dir: string, history: History): Promise<void> {
  const wal = await Wal.open(dir, { ...recoveryOptions(history), fs: machine, repair: "truncate-partial" });
  await wal.close();
}

/** The files of the log directory (lock file aside) and their bytes. */
function filesOf(machine: MemoryFileSystem, dir: string): Map<string, Uint8Array | "directory"> {
  const out = new Map<string, Uint8Array | "directory">();
  for (const [name, bytes] of machine.snapshot()) if (name.startsWith(`${dir}/`) && !name.startsWith(`${dir}/${LOCK_NAME}`)) out.set(name, bytes);
  return out;
}

/** True when two directory listings hold the same files with the same bytes. */
function sameFiles(a: Map<string, Uint8Array | "directory">, b: Map<string, Uint8Array | "directory">): boolean {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) if (!b.has(name) || !sameValue(bytes === "directory" ? name : bytes, b.get(name) === "directory" ? name : b.get(name))) return false;
  return true;
}

/**
 * Crashes `crashed` with the recovery's outcome (crashing the recovery
 * too, with `repairCrashAt`), opens the segmented log at `dir` under its
 * policy and checks: a strict open succeeds or refuses a torn tail without
 * changing a file; every acknowledged record not released is there, in
 * order, byte-identical, and the rest a prefix of what was appended; a
 * repair kept the cut bytes; the log durably accepts a new record; then the
 * caller's own check.
 */
export async function recoverWalAndCheck(crashed: MemoryFileSystem, dir: string, history: History, recovery: Recovery): Promise<ScenarioResult> {
  const { policy, seed } = recovery;
  // a failure of the crashed recovery other than the crash shows again, and is reported, when the log is opened below
  const reopen = (machine: MemoryFileSystem): Promise<void> => openAndClose(machine, dir, history);
  const machine = await crashDuringRecovery(crashed.crash(recovery.outcome, seed), recovery, reopen, () => undefined);
  if ((await machine.stat(dir)) === null) return logMissingResult(history, "log directory");
  const before = filesOf(machine, dir);
  const options = { ...recoveryOptions(history), fs: machine, repair: policy };
  let wal: Wal;
  try {
    wal = await Wal.open(dir, options);
  } catch (error) {
    const unchanged = sameFiles(before, filesOf(machine, dir));
    if (error instanceof WalCorruptionError && policy === "strict" && isTearable(error.corruption.kind) && unchanged) {
      return strictRefusedResult(history, error.corruption.kind);
    }
    return failedResult(history, `open under ${policy} failed: ${String(error)}${unchanged ? "" : " (and changed the files)"}`);
  }
  const problems = [...history.violations];
  const repair = wal.repaired;
  if (repair !== null) {
    const saved = machine.snapshot().get(repair.savedTo);
    if (!(saved instanceof Uint8Array) || saved.length !== repair.bytes) problems.push(`repair did not keep the ${repair.bytes} cut bytes in ${repair.savedTo}`);
  }
  const recovered = await readWal(wal);
  problems.push(...checkRecovered(history, recovered));
  if (recovery.check !== undefined) problems.push(...(await recovery.check({ fs: machine, path: dir, history, recovered, wal })));
  problems.push(...(await acceptsNewRecord(wal, machine, dir, options, recovered.length, seed)));
  return { problems, repaired: repair !== null, strictRefused: false, detected: repair?.kind ?? null };
}

/** Appends a sentinel, closes, crashes losing what is unsynced, reopens: the sentinel must be the last record. */
async function acceptsNewRecord(wal: Wal, machine: MemoryFileSystem, dir: string, options: WalOptions<unknown>, count: number, seed: number): Promise<string[]> {
  try {
    const sequence = await wal.append({ sentinel: seed });
    await wal.close();
    const again = await Wal.open(dir, { ...options, fs: machine.crash("lose-unsynced", seed) });
    const after = await readWal(again);
    await again.close();
    return after.length === count + 1 && after.at(-1)?.sequence === sequence ? [] : ["the recovered log did not durably accept a new record"];
  } catch (error) {
    await wal.close().catch(() => undefined);
    return [`the recovered log did not durably accept a new record: ${String(error)}`];
  }
}
