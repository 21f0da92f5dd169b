/**
 * One replayable scenario: run the workload on a fresh simulated machine,
 * break it one way (crash at an operation, inject a fault, flip a bit),
 * recover under a repair policy, and check the invariants. A failing
 * scenario is printed as JSON; `runScenario(workload, thatJson)` replays it
 * exactly (everything is deterministic from the seeds in it).
 *
 * @module
 */

import { type CrashOutcome, MemoryFileSystem, type OperationName } from "../sim/mod.ts";
import { type CorruptionKind, WalCorruptionError } from "../src/errors.ts";
import { isTearable } from "../src/format/frame.ts";
import type { RepairPolicy } from "../src/log/writer.ts";
import { WalWriter } from "../src/log/writer.ts";
import type { Wal } from "../src/segmented/wal.ts";
import { checkRecovered, sameValue } from "./check.ts";
import { causedByCrash, HarnessViolation, isTypedFailure, makeContext, readAll, type Workload } from "./context.ts";
import { COMMIT_KIND, damageOffset, FILE_HEADER_BYTES, frames } from "./frames.ts";
import { History, type RecoveredRecord } from "./history.ts";
import { crashDuringRecovery, failedResult, logMissingResult, strictRefusedResult } from "./recovery.ts";
import { openAndClose, recoverWalAndCheck } from "./wal-recover.ts";

/** Directory and file the workload's log lives at on the simulated machine. */
export const LOG_DIRECTORY = "/wal";
/** See {@link LOG_DIRECTORY}. */
export const LOG_PATH = "/wal/log.wal";
/** Directory of the segmented log a workload opens with `ctx.openWal`. */
export const WAL_DIR = "/wal/segments";

/**
 * Faults the harness injects: the `nth` operation of kind `op` fails with
 * `code` (a write after landing `bytesWritten` bytes); `then`, if given,
 * also fails the next operation of that kind (a rollback's truncate or sync).
 */
export const FAULTS: readonly FaultKind[] = [
  { name: "write EIO (short)", op: "write", code: "EIO", bytesWritten: 9 },
  { name: "write ENOSPC (short)", op: "write", code: "ENOSPC", bytesWritten: 9 },
  { name: "write EIO, rollback truncate EIO", op: "write", code: "EIO", bytesWritten: 40, then: "truncate" },
  { name: "write EIO, rollback sync EIO", op: "write", code: "EIO", bytesWritten: 40, then: "sync" },
  { name: "sync EIO", op: "sync", code: "EIO" },
  { name: "syncDir EIO", op: "syncDir", code: "EIO" },
  { name: "read EIO", op: "read", code: "EIO" },
  { name: "rename EIO", op: "rename", code: "EIO" },
  { name: "link EIO", op: "link", code: "EIO" },
];

/** One entry of {@link FAULTS}. */
export interface FaultKind {
  /** Label for reports. */
  readonly name: string;
  /** Operation that fails. */
  readonly op: OperationName;
  /** Its error code. */
  readonly code: "EIO" | "ENOSPC";
  /** For writes: bytes that land before the error. */
  readonly bytesWritten?: number;
  /** A second failure: the next operation of this kind after the first fault. */
  readonly then?: OperationName;
}

/** Arms fault `fault` on the `nth` matching operation of `fs`. */
export function armFault(fs: MemoryFileSystem, fault: FaultKind, nth: number): void {
  fs.injectFault({ op: fault.op, nth, code: fault.code, ...(fault.bytesWritten === undefined ? {} : { bytesWritten: fault.bytesWritten }) });
  if (fault.then !== undefined) fs.injectFault({ op: fault.then, code: "EIO", afterFault: true });
}

/** A replayable scenario. */
export type Scenario =
  | {
      /** Crash before operation `crashAt` (1 = the workload's first), recover under `policy`. */
      readonly kind: "crash";
      readonly seed: number;
      readonly crashAt: number;
      readonly outcome: CrashOutcome;
      readonly policy: RepairPolicy;
      /** Also crash the recovery before its operation `repairCrashAt` (then recover again). */
      readonly repairCrashAt?: number;
    }
  | {
      /** The `nth` operation of the kind of fault number `fault` (of {@link FAULTS}, or of `explore`'s `faults`) fails; the workload goes on; then a crash with `outcome`. */
      readonly kind: "fault";
      readonly seed: number;
      readonly fault: number;
      readonly nth: number;
      readonly outcome: CrashOutcome;
    }
  | {
      /** After a clean run, flip `bit` of durable byte `byteOffset` (before the last commit). */
      readonly kind: "bit-flip";
      readonly seed: number;
      readonly byteOffset: number;
      readonly bit: number;
    };

/** What a scenario's recovery did, for the summary table. */
export interface ScenarioResult {
  /** Invariant violations; empty when the scenario passed. */
  readonly problems: readonly string[];
  /** Whether recovery cut a torn tail. */
  readonly repaired: boolean;
  /** Whether a strict open refused a torn tail (allowed). */
  readonly strictRefused: boolean;
  /** Kind of damage detected, if any. */
  readonly detected: CorruptionKind | null;
}

/** A machine with the log directory made durable, before the workload's first operation. */
export async function prepareMachine(seed: number): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem({ seed });
  await fs.mkdir(LOG_DIRECTORY);
  await fs.syncDir("/");
  return fs;
}

/** Runs the workload to the end (or to a crash); returns its history. Crashes are swallowed. */
export async function runWorkload(fs: MemoryFileSystem, workload: Workload): Promise<History> {
  const history = new History();
  const probe = (): Uint8Array | null => {
    const bytes = fs.crashed ? undefined : fs.snapshot().get(LOG_PATH);
    return bytes instanceof Uint8Array ? bytes.slice() : null;
  };
  const opened: Wal[] = [];
  try {
    await workload(makeContext(fs, LOG_PATH, history, probe, opened, () => fs.operationCount));
  } catch (error) {
    if (!(error instanceof HarnessViolation) && !causedByCrash(error) && !isTypedFailure(error)) throw error;
  } finally {
    // a log left open (the workload failed) stops its lock's heartbeat
    for (const wal of opened) await wal.close().catch(() => undefined);
  }
  return history;
}

/** What a {@link Checker} may read of a recovered segmented log: the open `Wal`, seen read-only. */
export interface RecoveredWal {
  /** Highest sequence in the log. */
  readonly currentSequence: number;
  /** Lowest sequence a read returns. */
  readonly firstSequence: number;
  /** The last record's sequence. */
  readonly lastSequence: number;
  /** Segments, bytes, records and the oldest record's time. */
  stats(): { readonly segments: number; readonly bytes: number; readonly records: number; readonly oldestTimeMs: number | null };
  /** Every record, in order. */
  read(): AsyncIterable<{ readonly sequence: number; readonly value: unknown; readonly timeMs: number }>;
}

/**
 * An application's own invariant over a recovered log, run after the
 * harness's: return the problems found (empty when it holds). `fs` is the
 * recovered machine, opened and checked; do not keep it. For a `Wal`
 * workload, `wal` is the recovered log, open: read it, do not write to it
 * or close it.
 */
export type Checker = (recovered: {
  readonly fs: MemoryFileSystem;
  readonly path: string;
  readonly history: History;
  readonly recovered: readonly RecoveredRecord[];
  readonly wal?: RecoveredWal;
}) => readonly string[] | Promise<readonly string[]>;

/** How {@link recoverAndCheck} crashes and recovers. */
export interface Recovery {
  /** What the crash does to unsynced state. */
  readonly outcome: CrashOutcome;
  /** Repair policy to open with. */
  readonly policy: RepairPolicy;
  /** Seed of the crash's random choices. */
  readonly seed: number;
  /** Crash the recovery too, before its operation number `repairCrashAt`, then recover again. */
  readonly repairCrashAt?: number | undefined;
  /** The caller's own invariant. */
  readonly check?: Checker | undefined;
}

/** Runs one scenario from scratch, with the same `check` (and `faults`, for a fault scenario) the exploration used, if any. */
export async function runScenario(workload: Workload, scenario: Scenario, check?: Checker, faults: readonly FaultKind[] = FAULTS): Promise<ScenarioResult> {
  const fs = await prepareMachine(scenario.seed);
  switch (scenario.kind) {
    case "crash": {
      fs.crashAtOperation(fs.operationCount + scenario.crashAt);
      const history = await runWorkload(fs, workload);
      const { outcome, policy, seed, repairCrashAt } = scenario;
      return recoverAndCheck(fs, history, { outcome, policy, seed, repairCrashAt, check });
    }
    case "fault": {
      const fault = faults[scenario.fault];
      if (fault === undefined) throw new RangeError(`no fault ${scenario.fault}`);
      armFault(fs, fault, scenario.nth);
      const history = await runWorkload(fs, workload);
      return recoverAndCheck(fs, history, { outcome: scenario.outcome, policy: "truncate-partial", seed: scenario.seed, check });
    }
    case "bit-flip": {
      await runWorkload(fs, workload);
      return checkBitFlip(fs, scenario.byteOffset, scenario.bit);
    }
  }
}

/**
 * Opens the workload's log on `machine` (the segmented one if it used
 * `ctx.openWal`, else the single file) under `truncate-partial`, as a
 * recovery does, and closes it; throws what opening throws.
 */
export async function openAndCloseLog(machine: MemoryFileSystem, history: History): Promise<void> {
  if (history.target === "wal") return openAndClose(machine, WAL_DIR, history);
  const writer = await WalWriter.open(LOG_PATH, { fs: machine, repair: "truncate-partial" });
  await writer.close();
}

/**
 * Crashes `fs` with `outcome`, recovers under `policy` and checks the
 * invariants: every acknowledged record, nothing else but a prefix of the
 * rest; a strict open either succeeds or refuses a torn tail without writing;
 * a repair keeps the cut bytes; the repaired log accepts appends; and, with
 * `repairCrashAt`, a crash during recovery is itself recovered from; then
 * the caller's own `check`, if any.
 */
export async function recoverAndCheck(crashed: MemoryFileSystem, history: History, recovery: Recovery): Promise<ScenarioResult> {
  if (history.target === "wal") return recoverWalAndCheck(crashed, WAL_DIR, history, recovery);
  const crashState = crashed.crash(recovery.outcome, recovery.seed);
  const original = crashState.snapshot().get(LOG_PATH);
  const machine = await crashDuringRecovery(crashState, recovery, (m) => openAndCloseLog(m, history), (error) => {
    if (!causedByCrash(error)) throw error;
  });
  // A log never created durably is legal only if nothing was acknowledged.
  if ((await machine.stat(LOG_PATH)) === null) return logMissingResult(history, "log file");
  const before = machine.snapshot().get(LOG_PATH);
  if (!(before instanceof Uint8Array)) throw new Error("log is not a file");
  const writer = await openWriter(machine, history, recovery.policy, before);
  if (!(writer instanceof WalWriter)) return writer;
  const repair = writer.repaired;
  const problems: string[] = [...history.violations];
  if (repair !== null && !sameBytes(machine.snapshot().get(repair.savedTo), before.subarray(repair.offset, repair.offset + repair.bytes))) {
    problems.push(`repair did not keep the ${repair.bytes} cut bytes in ${repair.savedTo}`);
  }
  if (recovery.repairCrashAt !== undefined && original instanceof Uint8Array) problems.push(...cutBytesKept(machine, original));
  const recovered = await readAll(machine, LOG_PATH);
  problems.push(...checkRecovered(history, recovered));
  if (recovery.check !== undefined) problems.push(...(await recovery.check({ fs: machine, path: LOG_PATH, history, recovered })));
  problems.push(...(await writerAcceptsNewRecord(writer, machine, recovered.length, recovery.seed)));
  return { problems, repaired: repair !== null, strictRefused: false, detected: repair?.kind ?? null };
}

/**
 * Opens the log of the crashed `machine` under `policy`; if that fails, the
 * scenario's result instead: allowed for a strict open that refused a torn
 * tail leaving the file as it was (`before`), a failure otherwise.
 */
async function openWriter(machine: MemoryFileSystem, history: History, policy: RepairPolicy, before: Uint8Array): Promise<WalWriter | ScenarioResult> {
  try {
    return await WalWriter.open(LOG_PATH, { fs: machine, repair: policy });
  } catch (error) {
    if (!(error instanceof WalCorruptionError)) return failedResult(history, `open under ${policy} failed: ${String(error)}`);
    const { kind, offset } = error.corruption;
    const unchanged = sameBytes(machine.snapshot().get(LOG_PATH), before);
    if (policy === "strict" && isTearable(kind) && unchanged) return strictRefusedResult(history, kind);
    return failedResult(history, `open under ${policy} refused: ${kind} at ${offset}${unchanged ? "" : " (and changed the file)"}`);
  }
}

/** Appends a sentinel, closes, crashes losing what is unsynced: the sentinel must be the last of `count + 1` records. */
async function writerAcceptsNewRecord(writer: WalWriter, machine: MemoryFileSystem, count: number, seed: number): Promise<string[]> {
  const sequence = await writer.append({ sentinel: seed });
  await writer.close();
  const after = await readAll(machine.crash("lose-unsynced", seed), LOG_PATH);
  return after.length === count + 1 && after.at(-1)?.sequence === sequence ? [] : ["the recovered log did not durably accept a new record"];
}

/**
 * After a clean run and a crash that keeps only synced data: flips one bit
 * of the acknowledged data. Before the final batch (a later commit vouches
 * for it), every open and read must refuse, at the right offset (the frame,
 * or for a data payload its batch: frames.ts), without
 * changing the file. Inside the final batch the flip looks exactly like a
 * torn write (docs/FORMAT.md): strict must refuse it at the batch's start
 * without changing the file, and truncate-partial must cut that batch and
 * keep its bytes aside.
 */
async function checkBitFlip(fs: MemoryFileSystem, byteOffset: number, bit: number): Promise<ScenarioResult> {
  const machine = fs.crash("lose-unsynced");
  const bytes = machine.durableContents(LOG_PATH).slice();
  const finalBatch = finalBatchStart(bytes);
  const inFinalBatch = byteOffset >= finalBatch;
  const frame = inFinalBatch ? finalBatch : damageOffset(bytes, byteOffset);
  machine.flipBit(LOG_PATH, byteOffset, bit);
  const flipped = machine.durableContents(LOG_PATH).slice();
  const problems: string[] = [];
  let detected: CorruptionKind | null = null;
  for (const policy of inFinalBatch ? (["strict"] as const) : (["strict", "truncate-partial"] as const)) {
    const error = await WalWriter.open(LOG_PATH, { fs: machine, repair: policy }).then(
      async (w) => {
        await w.close();
        return null;
      },
      (e: unknown) => e,
    );
    if (!(error instanceof WalCorruptionError)) {
      problems.push(`${policy} open accepted a flipped bit at ${byteOffset}: ${String(error)}`);
      continue;
    }
    detected = error.corruption.kind;
    if (error.corruption.offset !== frame) {
      problems.push(`${policy} open reported offset ${error.corruption.offset}; a flip of byte ${byteOffset} is reported at ${frame}`);
    }
    if (inFinalBatch && !isTearable(detected)) problems.push(`a flip in the final batch was reported as ${detected}, not as a torn tail`);
    if (!sameBytes(machine.durableContents(LOG_PATH), flipped)) problems.push(`${policy} open changed the damaged file`);
  }
  const read = await readAll(machine, LOG_PATH).then(
    (records) => records,
    (e: unknown) => e,
  );
  if (!inFinalBatch && !(read instanceof WalCorruptionError)) problems.push(`a reader accepted a flipped bit at ${byteOffset}`);
  if (inFinalBatch) problems.push(...(await checkFinalBatchCut(machine, flipped, finalBatch)));
  return { problems, repaired: inFinalBatch, strictRefused: inFinalBatch, detected };
}

/** Offset of the last batch of an undamaged log: the end of its second-to-last commit record, or of the file header. */
function finalBatchStart(bytes: Uint8Array): number {
  const commits = frames(bytes).filter((frame) => frame.kind === COMMIT_KIND);
  return commits.at(-2)?.end ?? FILE_HEADER_BYTES;
}

/** Opens with truncate-partial: it must cut exactly the final batch and keep its bytes in a `.torn` file. */
async function checkFinalBatchCut(machine: MemoryFileSystem, flipped: Uint8Array, finalBatch: number): Promise<string[]> {
  const writer = await WalWriter.open(LOG_PATH, { fs: machine, repair: "truncate-partial" }).catch((error: unknown) => error);
  if (!(writer instanceof WalWriter)) return [`truncate-partial refused a flip in the final batch: ${String(writer)}`];
  const repaired = writer.repaired;
  await writer.close();
  if (repaired === null || repaired.offset !== finalBatch) return [`truncate-partial cut ${JSON.stringify(repaired)}, not the final batch at ${finalBatch}`];
  const saved = machine.snapshot().get(repaired.savedTo);
  return saved instanceof Uint8Array && sameBytes(saved, flipped.subarray(finalBatch)) ? [] : ["the cut final batch was not kept byte for byte"];
}

/**
 * Whatever of `original` the log no longer holds must be in a `.torn` file:
 * where the log first differs from `original` (at P), some `<log>.<X>.torn`
 * with X ≤ P must hold exactly `original[X..]`. (After a repair the log may
 * have grown again, e.g. by the commit a clean close writes.)
 */
function cutBytesKept(machine: MemoryFileSystem, original: Uint8Array): string[] {
  const files = machine.snapshot();
  const now = files.get(LOG_PATH);
  if (!(now instanceof Uint8Array)) return ["log missing after a crash during repair"];
  let common = 0;
  while (common < original.length && common < now.length && original[common] === now[common]) common++;
  if (common === original.length) return [];
  for (const [name, bytes] of files) {
    const cutAt = /\.(\d+)(?:\.\d+)?\.torn$/.exec(name.slice(LOG_PATH.length));
    if (!name.startsWith(`${LOG_PATH}.`) || cutAt === null) continue;
    const offset = Number(cutAt[1]);
    if (offset <= common && sameBytes(bytes, original.subarray(offset))) return [];
  }
  return [`a crash during repair lost the ${original.length - common} bytes from offset ${common}: no .torn file holds them`];
}

/** True when `a` (a snapshot entry) is a file holding exactly the bytes `b`. */
function sameBytes(a: Uint8Array | "directory" | undefined, b: Uint8Array): boolean {
  return a instanceof Uint8Array && sameValue(a, b);
}
