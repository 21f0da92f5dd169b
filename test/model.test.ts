/**
 * Model-based tests of the single-file writer on the in-memory filesystem.
 * fast-check generates command sequences (appends with implicit and explicit,
 * also invalid, sequences; flushes; clean close and reopen; crashes with every
 * crash outcome; torn-tail crashes followed by repair; short writes, failed
 * batch writes, failed fsyncs and failed rollbacks) and runs each against a
 * {@link WalWriter} and against a small reference model of what was appended,
 * what was acknowledged and whether the writer is poisoned.
 *
 * What it proves, after every command:
 * - `currentSequence` and `poisoned` are what the model says;
 * - a refused call (`WalSequenceError`, `WalArgumentError`, `WalIoError`) wrote
 *   nothing: the log's bytes are unchanged and the writer stays usable; a
 *   failed batch write discards exactly the records since the last flush;
 * - once poisoned, every append and flush rejects with `WalPoisonedError` and
 *   the log file never changes again until the log is reopened;
 * and after every reopen (clean, after a crash, after a torn-tail repair):
 * - the records read back are a prefix of what was appended (plus at most the
 *   one append that poisoned the writer) and include every acknowledged one;
 * - a clean reopen loses nothing that reached the page cache;
 * - a repair cut exactly what it reports and saved exactly those bytes;
 * - a strict open that refuses a crashed log names a tearable kind and leaves
 *   the directory untouched.
 */

import fc from "fast-check";
import { expect, test } from "vitest";
import { CRASH_OUTCOMES, type CrashOutcome, type FaultCode, MemoryFileSystem } from "../sim/mod.ts";
import {
  type CorruptionKind,
  WalSequenceError,
  WalArgumentError,
  WalCorruptionError,
  WalIoError,
  WalPoisonedError,
  WalReader,
  WalWriter,
} from "../mod.ts";
import { recordFigure } from "./figures.ts";

const PATH = "/data/log.wal";
const RUNS = 100;
const COMMANDS_MAX = 40;

/** A record as the model knows it: values are kept JSON-normalized, as the codec returns them. */
interface ModelRecord {
  readonly sequence: number;
  readonly value: unknown;
}

/** The reference model. */
interface Model {
  /** Records appended (append resolved) and not lost to a crash, in order. */
  records: ModelRecord[];
  /** How many leading `records` must survive any crash. */
  acknowledged: number;
  /** How many leading `records` are in the file (the rest are buffered: a failed batch write discards them). */
  written: number;
  /** What `currentSequence` must be. */
  current: number;
  /** Whether the writer must be poisoned. */
  poisoned: boolean;
  /** The file's base sequence: `current` when it holds no record. */
  base: number;
}

/** The system under test; `fs` changes on every crash. */
interface Real {
  fs: MemoryFileSystem;
  writer: WalWriter;
}

type Command = fc.AsyncCommand<Model, Real>;

let commandsRun = 0;
let crashes = 0;
let repairs = 0;
let faultsFired = 0;

const TEARABLE: readonly CorruptionKind[] = ["torn-batch", "partial-header", "partial-payload", "bad-magic", "checksum-mismatch"];

function normalize(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function fileBytes(fs: MemoryFileSystem, path: string): Uint8Array {
  const found = fs.snapshot().get(path);
  if (!(found instanceof Uint8Array)) throw new Error(`${path} is missing`);
  return found;
}

/** Names in the tree other than the log directory itself. */
function names(fs: MemoryFileSystem): string[] {
  return [...fs.snapshot().keys()].filter((name) => name !== "/data");
}

/** The tree without lock files (a stale lock of an earlier boot is legitimately broken by any open). */
function withoutLocks(fs: MemoryFileSystem): Map<string, Uint8Array | "directory"> {
  return new Map([...fs.snapshot()].filter(([name]) => !name.includes(".lock")));
}

async function readBack(fs: MemoryFileSystem): Promise<ModelRecord[]> {
  const out: ModelRecord[] = [];
  for await (const record of WalReader.open(PATH, { fs })) out.push({ sequence: record.sequence, value: record.value });
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/**
 * A flush failed and poisoned the writer: its batch may or may not be in
 * the file (candidates for recovery), and `currentSequence` is back at the
 * last record written before it.
 */
function poison(model: Model): void {
  model.poisoned = true;
  model.current = model.records[model.written - 1]?.sequence ?? model.base;
}

/** Checks the invariants every command leaves behind. */
function checkState(model: Model, real: Real): void {
  expect(real.writer.currentSequence).toBe(model.current);
  expect(real.writer.poisoned).toBe(model.poisoned);
}

/** Expects a poisoned writer to refuse `call` with `WalPoisonedError` without touching the log. */
async function expectPoisonedRefusal(real: Real, call: () => Promise<unknown>): Promise<void> {
  const before = fileBytes(real.fs, PATH);
  const writes = real.fs.operationsOfKind("write");
  const truncates = real.fs.operationsOfKind("truncate");
  expect(await rejection(call())).toBeInstanceOf(WalPoisonedError);
  expect(fileBytes(real.fs, PATH)).toEqual(before);
  expect(real.fs.operationsOfKind("write")).toBe(writes);
  expect(real.fs.operationsOfKind("truncate")).toBe(truncates);
}

/**
 * After a reopen: the log holds `recovered`. Checks it against the model,
 * then makes the model adopt it. `durable`: the reopen followed a crash, so
 * everything that survived is on disk for good.
 */
function adopt(model: Model, recovered: ModelRecord[], durable: boolean, lossless: boolean): void {
  const candidates = model.records;
  expect(recovered.length).toBeGreaterThanOrEqual(model.acknowledged);
  expect(recovered.length).toBeLessThanOrEqual(candidates.length);
  if (lossless) expect(recovered.length).toBeGreaterThanOrEqual(model.records.length);
  expect(recovered).toEqual(candidates.slice(0, recovered.length));
  model.records = recovered;
  model.written = recovered.length;
  model.acknowledged = durable ? recovered.length : Math.min(model.acknowledged, recovered.length);
  model.current = recovered.at(-1)?.sequence ?? model.base;
  model.poisoned = false;
}

/** Opens the log with `truncate-partial` and checks that a repair saved exactly what it cut. */
async function openRepairing(fs: MemoryFileSystem): Promise<WalWriter> {
  const before = fileBytes(fs, PATH);
  const writer = await WalWriter.open(PATH, { fs, repair: "truncate-partial" });
  const after = fileBytes(fs, PATH);
  const repaired = writer.repaired;
  if (repaired === null) {
    expect(after).toEqual(before);
  } else {
    repairs++;
    expect(TEARABLE).toContain(repaired.kind);
    expect(repaired.offset).toBeGreaterThanOrEqual(40);
    expect(repaired.bytes).toBe(before.length - repaired.offset);
    expect(after).toEqual(before.subarray(0, repaired.offset));
    expect(fileBytes(fs, repaired.savedTo)).toEqual(before.subarray(repaired.offset));
  }
  return writer;
}

/** Crashes the machine with `outcome`, reopens the log on the rebooted one and adopts what survived. */
async function crashAndReopen(model: Model, real: Real, outcome: CrashOutcome, seed: number, tryStrict: boolean): Promise<void> {
  crashes++;
  const rebooted = real.fs.crash(outcome, seed); // the old writer is abandoned with its machine
  real.fs = rebooted;
  let writer: WalWriter | null = null;
  if (tryStrict) {
    const before = withoutLocks(rebooted);
    writer = await WalWriter.open(PATH, { fs: rebooted }).catch((error: unknown) => {
      expect(error).toBeInstanceOf(WalCorruptionError);
      const { kind, offset, path } = (error as WalCorruptionError).corruption;
      expect(TEARABLE).toContain(kind);
      expect(path).toBe(PATH);
      expect(offset).toBeGreaterThanOrEqual(40);
      expect(withoutLocks(rebooted)).toEqual(before);
      expect(names(rebooted).filter((name) => name.includes(".lock"))).toEqual([]);
      return null;
    });
    if (writer !== null) {
      expect(writer.repaired).toBeNull();
      expect(fileBytes(rebooted, PATH)).toEqual(before.get(PATH));
    }
  }
  writer ??= await openRepairing(rebooted);
  real.writer = writer;
  adopt(model, await readBack(rebooted), true, false);
  checkState(model, real);
}

class AppendCommand implements Command {
  constructor(
    readonly value: unknown,
    readonly delta: number | null,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    const sequence = this.delta === null ? undefined : model.current + this.delta;
    const options = sequence === undefined ? undefined : { sequence };
    if (model.poisoned) {
      await expectPoisonedRefusal(real, () => real.writer.append(this.value, options));
    } else if (sequence !== undefined && sequence <= model.current) {
      const before = fileBytes(real.fs, PATH);
      const writes = real.fs.operationsOfKind("write");
      const error = await rejection(real.writer.append(this.value, options));
      if (sequence < 1) {
        expect(error).toBeInstanceOf(WalArgumentError);
      } else {
        expect(error).toBeInstanceOf(WalSequenceError);
        expect((error as WalSequenceError).expected).toBe(model.current + 1);
        expect((error as WalSequenceError).provided).toBe(sequence);
      }
      expect(real.fs.operationsOfKind("write")).toBe(writes);
      expect(fileBytes(real.fs, PATH)).toEqual(before);
    } else {
      const got = await real.writer.append(this.value, options);
      expect(got).toBe(sequence ?? model.current + 1);
      model.records.push({ sequence: got, value: normalize(this.value) });
      model.current = got;
    }
    checkState(model, real);
  }
  toString(): string {
    return `append(${JSON.stringify(this.value).slice(0, 40)}${this.delta === null ? "" : `, current${this.delta >= 0 ? "+" : ""}${this.delta}`})`;
  }
}

class FlushCommand implements Command {
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    if (model.poisoned) {
      await expectPoisonedRefusal(real, () => real.writer.flush());
    } else {
      await real.writer.flush();
      model.acknowledged = model.records.length;
      model.written = model.records.length;
    }
    checkState(model, real);
  }
  toString(): string {
    return "flush";
  }
}

class CloseReopenCommand implements Command {
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    const poisoned = model.poisoned;
    const before = fileBytes(real.fs, PATH);
    await real.writer.close();
    if (poisoned) expect(fileBytes(real.fs, PATH)).toEqual(before);
    else model.acknowledged = model.records.length;
    expect(names(real.fs).filter((name) => name.includes(".lock"))).toEqual([]);
    // a cleanly closed log opens strictly and loses nothing; a poisoned one may end in a torn
    // record, and a failed fsync cut its unacknowledged tail back to the last successful fsync
    real.writer = poisoned ? await openRepairing(real.fs) : await WalWriter.open(PATH, { fs: real.fs });
    if (!poisoned) expect(real.writer.repaired).toBeNull();
    adopt(model, await readBack(real.fs), false, !poisoned);
    checkState(model, real);
  }
  toString(): string {
    return "close+reopen";
  }
}

class CrashCommand implements Command {
  constructor(
    readonly outcome: CrashOutcome,
    readonly seed: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    await crashAndReopen(model, real, this.outcome, this.seed, false);
  }
  toString(): string {
    return `crash(${JSON.stringify(this.outcome)}, ${this.seed})`;
  }
}

/**
 * Appends a few records, crashes inside the flush (after its write, before
 * its fsync) with a torn outcome, tries a strict open, then repairs.
 */
class RepairCommand implements Command {
  constructor(
    readonly values: readonly unknown[],
    readonly outcome: CrashOutcome,
    readonly seed: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    for (const value of this.values) {
      if (model.poisoned) break;
      const sequence = await real.writer.append(value);
      model.records.push({ sequence, value: normalize(value) });
      model.current = sequence;
    }
    if (!model.poisoned) {
      real.fs.crashAtOperation(real.fs.operationCount + 2); // the batch's write lands (unsynced); its fsync never runs
      await real.writer.flush().catch(() => undefined);
    }
    await crashAndReopen(model, real, this.outcome, this.seed, true);
  }
  toString(): string {
    return `repair(${this.values.length} unflushed, ${JSON.stringify(this.outcome)}, ${this.seed})`;
  }
}

/** Runs `body` with fault rules in force, clearing them afterwards whatever happens. */
async function withFaults(real: Real, body: () => Promise<void>): Promise<void> {
  const fired = real.fs.faultsInjected;
  try {
    await body();
  } finally {
    faultsFired += real.fs.faultsInjected - fired;
    real.fs.clearFaults();
  }
}

/**
 * Appends, then the flush's batch write fails (short, then EIO/ENOSPC): it is
 * rolled back, the flush is refused, and every record since the last flush
 * is discarded; nothing on disk changes.
 */
class ShortWriteCommand implements Command {
  constructor(
    readonly value: unknown,
    readonly code: FaultCode,
    readonly bytesWritten: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    await withFaults(real, async () => {
      real.fs.injectFault({ op: "write", code: this.code, bytesWritten: this.bytesWritten });
      if (model.poisoned) {
        await expectPoisonedRefusal(real, () => real.writer.append(this.value));
        return;
      }
      await real.writer.append(this.value);
      const before = fileBytes(real.fs, PATH);
      const fired = real.fs.faultsInjected;
      const error = await rejection(real.writer.flush());
      expect(real.fs.faultsInjected).toBe(fired + 1);
      expect(error).toBeInstanceOf(WalIoError);
      expect(((error as WalIoError).cause as { code?: string }).code).toBe(this.code);
      expect(fileBytes(real.fs, PATH)).toEqual(before);
      model.records.length = model.written;
      model.current = model.records.at(-1)?.sequence ?? model.base;
    });
    checkState(model, real);
  }
  toString(): string {
    return `shortWrite(${this.code}, ${this.bytesWritten})`;
  }
}

/** Appends, then the flush's fsync fails with EIO: the writer is poisoned. */
class FailedSyncCommand implements Command {
  constructor(readonly value: unknown) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    await withFaults(real, async () => {
      real.fs.injectFault({ op: "sync", code: "EIO" });
      if (model.poisoned) {
        await expectPoisonedRefusal(real, () => real.writer.append(this.value));
        return;
      }
      const sequence = await real.writer.append(this.value);
      model.records.push({ sequence, value: normalize(this.value) });
      model.current = sequence;
      const error = await rejection(real.writer.flush());
      expect(error).toBeInstanceOf(WalPoisonedError);
      expect(((error as WalPoisonedError).cause as { code?: string }).code).toBe("EIO");
      poison(model);
    });
    checkState(model, real);
  }
  toString(): string {
    return "failedSync";
  }
}

/** A write fails after a prefix and so does its rollback (truncate or sync): the writer is poisoned. */
class FailedRollbackCommand implements Command {
  constructor(
    readonly value: unknown,
    readonly bytesWritten: number,
    readonly rollbackOp: "truncate" | "sync",
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    commandsRun++;
    await withFaults(real, async () => {
      real.fs.injectFault({ op: "write", code: "EIO", bytesWritten: this.bytesWritten });
      real.fs.injectFault({ op: this.rollbackOp, code: "EIO", afterFault: true });
      if (model.poisoned) {
        await expectPoisonedRefusal(real, () => real.writer.append(this.value));
        return;
      }
      const sequence = await real.writer.append(this.value);
      model.records.push({ sequence, value: normalize(this.value) });
      model.current = sequence;
      const error = await rejection(real.writer.flush());
      expect(error).toBeInstanceOf(WalPoisonedError);
      poison(model);
    });
    checkState(model, real);
  }
  toString(): string {
    return `failedRollback(${this.rollbackOp}, ${this.bytesWritten})`;
  }
}

/** Small JSON values mostly, sometimes values spanning several 512-byte sectors. */
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 400, maxLength: 1500 }) },
);
const tornArb: fc.Arbitrary<CrashOutcome> = fc.oneof(
  fc.constantFrom<CrashOutcome>("torn-lost", "torn-zero", "torn-garbage"),
  fc.record({
    kind: fc.constant("torn" as const),
    fill: fc.constantFrom("lost" as const, "zero" as const, "garbage" as const),
    sectorBytes: fc.constantFrom(512 as const, 4096 as const),
    landedSectors: fc.nat({ max: 4 }),
  }),
);
const faultCodeArb = fc.constantFrom<FaultCode>("EIO", "ENOSPC");
const shortArb = fc.nat({ max: 1600 });

const commandArbs: fc.Arbitrary<Command>[] = [
  valueArb.map((value) => new AppendCommand(value, null)),
  valueArb.map((value) => new AppendCommand(value, null)),
  fc.tuple(valueArb, fc.integer({ min: -3, max: 4 })).map(([value, delta]) => new AppendCommand(value, delta)),
  fc.constant(new FlushCommand()),
  fc.constant(new FlushCommand()),
  fc.constant(new CloseReopenCommand()),
  fc.tuple(fc.constantFrom(...CRASH_OUTCOMES), fc.nat()).map(([outcome, seed]) => new CrashCommand(outcome, seed)),
  fc.tuple(fc.array(valueArb, { maxLength: 3 }), tornArb, fc.nat()).map(([values, outcome, seed]) => new RepairCommand(values, outcome, seed)),
  fc.tuple(valueArb, faultCodeArb, shortArb).map(([value, code, bytes]) => new ShortWriteCommand(value, code, bytes)),
  valueArb.map((value) => new FailedSyncCommand(value)),
  fc.tuple(valueArb, shortArb, fc.constantFrom("truncate" as const, "sync" as const)).map(
    ([value, bytes, op]) => new FailedRollbackCommand(value, bytes, op),
  ),
];

test("the writer agrees with a reference model through appends, flushes, reopens, crashes, repairs and faults", async () => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.commands(commandArbs, { maxCommands: COMMANDS_MAX, size: "+1" }), fc.nat(), async (commands, seed) => {
      runs++;
      const fs = new MemoryFileSystem({ seed });
      await fs.mkdir("/data");
      await fs.syncDir("/");
      const real: Real = { fs, writer: await WalWriter.open(PATH, { fs }) };
      const model: Model = { records: [], acknowledged: 0, written: 0, current: 0, base: 0, poisoned: false };
      try {
        await fc.asyncModelRun(() => ({ model, real }), commands);
        // every run ends with a power loss: what was acknowledged must be there
        await crashAndReopen(model, real, "lose-unsynced", seed, false);
      } finally {
        await real.writer.close().catch(() => undefined);
      }
    }),
    { numRuns: RUNS },
  );
  expect(runs).toBeGreaterThanOrEqual(RUNS);
  // the generated runs really exercised the interesting paths
  expect(crashes).toBeGreaterThan(RUNS);
  expect(repairs).toBeGreaterThan(0);
  expect(faultsFired).toBeGreaterThan(0);
  recordFigure("model runs", runs);
  recordFigure("model commands", commandsRun);
  recordFigure("model crashes", crashes);
  recordFigure("model repairs", repairs);
  recordFigure("model faults", faultsFired);
});
