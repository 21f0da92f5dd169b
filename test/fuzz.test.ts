/**
 * Hostile files. Fuzzes `WalWriter.open` (strict and truncate-partial) and
 * `WalReader` with random bytes, random bytes and random (checksummed)
 * records behind a valid file header, and valid logs mutated by bit flips,
 * insertions, deletions, overwrites, cuts, records spliced in from a log with
 * another salt, damage resealed with matching checksums, and huge length
 * fields with and without a matching header CRC.
 *
 * What it proves, for every case:
 * - only typed errors escape: a {@link WalCorruptionError} (no fault is
 *   injected, so nothing else is possible) with a documented `code`, a kind
 *   from {@link CorruptionKind}, an offset inside the file and the log's path;
 * - termination with bounded work (a read budget turns a would-be hang into
 *   a failure) and bounded memory: no read asks for more than
 *   min(file size, max(1 MiB, 32 + maxRecordBytes)) bytes, whatever the
 *   length fields claim (`src/chunk-reader.ts`: one buffer of at most
 *   max(1 MiB, 32 + maxRecordBytes) bytes, never filled past end of file);
 * - a strict open never changes the directory: the log is byte-identical and
 *   its only traces are the lock files, gone once it fails or is closed;
 * - a truncate-partial open either fails leaving everything as it was, or
 *   succeeds with the log cut at the reported offset and every cut byte in
 *   the reported `.torn` file; the reader then reads the repaired log without
 *   error, and sees exactly what it saw in the unrepaired file;
 * - the three agree: strict succeeds exactly when truncate-partial succeeds
 *   without repairing; they and the reader report the same damage.
 * Targeted properties pin down the kinds: a foreign record (other salt) in
 * place of its twin is `checksum-mismatch` where it starts, fatal exactly when
 * a commit follows; inserted at a record boundary it moves every later commit
 * off the offset it names, which is still fatal (a shifted commit still
 * proves durable data behind it), and a torn tail only when no commit of
 * ours follows; a huge length with a bad header CRC is
 * `checksum-mismatch`, with a matching one `oversized-length` (data) or
 * `bad-header` (commit).
 *
 * The last test pins a bug the fuzzer found (fixed): with `maxRecordBytes`
 * below 24 the writer's own commit records were refused.
 */

import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { MemoryFileSystem } from "../adapters/memory.ts";
import {
  type CorruptionKind,
  crc32,
  type FileHandle,
  type FileStat,
  type FileSystem,
  type OpenMode,
  type ProcessIdentity,
  WalCorruptionError,
  WalError,
  WalReader,
  WalWriter,
} from "../mod.ts";
import { recordFigure } from "./figures.ts";

const PATH = "/data/log.wal";
const MIB = 1024 * 1024;
const RECORD_BYTES_MAX_DEFAULT = 16 * MIB;
/** Reads one case may issue before it counts as a hang. */
const READS_MAX = 10_000;

const DOCUMENTED_CODES = ["WAL_CORRUPTION", "WAL_IO", "WAL_POISONED", "WAL_CLOSED", "WAL_SEQUENCE", "WAL_LOCKED", "WAL_ARGUMENT"];
const KINDS: readonly CorruptionKind[] = [
  "partial-header",
  "partial-payload",
  "zeroed-tail",
  "bad-magic",
  "unsupported-version",
  "bad-header",
  "checksum-mismatch",
  "decode-failure",
  "sequence-violation",
  "oversized-length",
];
const TEARABLE: readonly CorruptionKind[] = ["partial-header", "partial-payload", "zeroed-tail", "bad-magic", "checksum-mismatch"];

let fuzzCases = 0;
/** The largest read any case asked for. */
let largestReadSeen = 0;
afterAll(() => recordFigure("fuzz cases", fuzzCases));

// ---------------------------------------------------------------------------
// A filesystem that watches the reads

/** What the reads of one filesystem looked like. */
interface ReadStats {
  reads: number;
  largestRead: number;
  bytesRead: number;
  exhausted: boolean;
}

/** Delegates to a {@link MemoryFileSystem}, recording every read a handle is asked for. */
class WatchedFileSystem implements FileSystem {
  readonly name = "watched-memory";
  readonly stats: ReadStats = { reads: 0, largestRead: 0, bytesRead: 0, exhausted: false };
  constructor(readonly inner: MemoryFileSystem) {}

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const file = await this.inner.open(path, mode);
    const stats = this.stats;
    return {
      async read(buffer: Uint8Array, position: number): Promise<number> {
        stats.reads++;
        if (stats.reads > READS_MAX) {
          stats.exhausted = true;
          throw new Error(`more than ${READS_MAX} reads: the scan does not terminate`);
        }
        stats.largestRead = Math.max(stats.largestRead, buffer.length);
        const n = await file.read(buffer, position);
        stats.bytesRead += n;
        return n;
      },
      write: (data, position) => file.write(data, position),
      truncate: (size) => file.truncate(size),
      sync: () => file.sync(),
      size: () => file.size(),
      close: () => file.close(),
    };
  }
  stat(path: string): Promise<FileStat | null> {
    return this.inner.stat(path);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  link(from: string, to: string): Promise<void> {
    return this.inner.link(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
  process(): ProcessIdentity {
    return this.inner.process();
  }
  isProcessAlive(pid: number): boolean {
    return this.inner.isProcessAlive(pid);
  }
}

/** A fresh machine holding `bytes`, durably, at {@link PATH}. */
async function install(bytes: Uint8Array): Promise<WatchedFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir("/data");
  await fs.syncDir("/");
  const file = await fs.open(PATH, "create");
  if (bytes.length > 0) await file.write(bytes, 0);
  await file.sync();
  await file.close();
  await fs.syncDir("/data");
  return new WatchedFileSystem(fs);
}

type Tree = Map<string, Uint8Array | "directory">;

function tree(fs: WatchedFileSystem): Tree {
  return fs.inner.snapshot();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Expects `actual` to be a file holding exactly `expected` (compared fast: logs may be megabytes). */
function expectBytes(actual: Uint8Array | "directory" | undefined, expected: Uint8Array, what: string): void {
  if (actual instanceof Uint8Array && sameBytes(actual, expected)) return;
  const found = actual instanceof Uint8Array ? `${actual.length} bytes` : String(actual);
  expect.fail(`${what}: expected ${expected.length} bytes, found ${found} that differ`);
}

/** Expects two trees to hold the same names and the same bytes. */
function expectSameTree(actual: Tree, expected: Tree): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, value] of expected) {
    if (value === "directory") expect(actual.get(name)).toBe("directory");
    else expectBytes(actual.get(name), value, name);
  }
}

const LOCK_NAME = new RegExp(`^${PATH.replace(/\./g, "\\.")}\\.lock(\\.[0-9a-f]{32})?$`);

/** Names in `after` that are not in `before`. */
function added(before: Tree, after: Tree): string[] {
  return [...after.keys()].filter((name) => !before.has(name));
}

// ---------------------------------------------------------------------------
// The checks every hostile file goes through

/** Checks the read bound and the read budget of one filesystem that served a file of `fileBytes` bytes. */
function checkReads(fs: WatchedFileSystem, fileBytes: number, recordBytesMax: number): void {
  expect(fs.stats.exhausted).toBe(false);
  largestReadSeen = Math.max(largestReadSeen, fs.stats.largestRead);
  expect(fs.stats.largestRead).toBeLessThanOrEqual(Math.min(fileBytes, Math.max(MIB, 32 + recordBytesMax)));
  // every pass over the file (scan, commit search, zero check, repair copy, re-sync) is linear
  expect(fs.stats.bytesRead).toBeLessThanOrEqual(8 * fileBytes + MIB);
}

/** Checks a thrown value is a typed corruption error about this file; returns its corruption. */
function typedCorruption(error: unknown, fileBytes: number) {
  expect(error).toBeInstanceOf(WalError);
  expect(DOCUMENTED_CODES).toContain((error as WalError).code);
  expect(error).toBeInstanceOf(WalCorruptionError);
  const corruption = (error as WalCorruptionError).corruption;
  expect(KINDS).toContain(corruption.kind);
  expect(corruption.path).toBe(PATH);
  expect(Number.isSafeInteger(corruption.offset)).toBe(true);
  expect(corruption.offset).toBeGreaterThanOrEqual(0);
  if (fileBytes > 0) expect(corruption.offset).toBeLessThan(fileBytes);
  else expect(corruption.offset).toBe(0);
  return corruption;
}

interface Read {
  readonly records: { sequence: number; value: unknown }[];
  readonly error: unknown;
}

async function readAll(fs: FileSystem, recordBytesMax: number): Promise<Read> {
  const records: { sequence: number; value: unknown }[] = [];
  try {
    for await (const record of WalReader.open(PATH, { fs, maxRecordBytes: recordBytesMax })) {
      records.push({ sequence: record.sequence, value: record.value });
    }
    return { records, error: null };
  } catch (error) {
    return { records, error };
  }
}

/** What opening a hostile file led to. */
interface Verdict {
  /** Strict open: null when it succeeded. */
  readonly strict: { kind: CorruptionKind; offset: number } | null;
  /** Truncate-partial open: the error, or what it cut (null: nothing). */
  readonly repair: { failed: { kind: CorruptionKind; offset: number } } | { cut: { kind: CorruptionKind; offset: number } | null };
  /** The records the reader saw in the untouched file. */
  readonly records: readonly { sequence: number; value: unknown }[];
}

/**
 * Runs the reader, a strict open and a truncate-partial open on `bytes` (each
 * on its own machine) and checks every invariant in the file comment.
 */
async function checkHostile(bytes: Uint8Array, recordBytesMax: number = RECORD_BYTES_MAX_DEFAULT): Promise<Verdict> {
  fuzzCases++;
  const options = { maxRecordBytes: recordBytesMax };

  // the reader, on the untouched file
  const readerFs = await install(bytes);
  const readerBefore = tree(readerFs);
  const read = await readAll(readerFs, recordBytesMax);
  const readError = read.error === null ? null : typedCorruption(read.error, bytes.length);
  expectSameTree(tree(readerFs), readerBefore);
  checkReads(readerFs, bytes.length, recordBytesMax);

  // strict: never changes anything
  const strictFs = await install(bytes);
  const strictBefore = tree(strictFs);
  const strictOpen = await settle(WalWriter.open(PATH, { fs: strictFs, ...options }));
  let strict: { kind: CorruptionKind; offset: number } | null = null;
  if ("value" in strictOpen) {
    const writer = strictOpen.value;
    const opened = tree(strictFs);
    expect(writer.repaired).toBeNull();
    expectBytes(opened.get(PATH), bytes, "the log after a strict open");
    for (const name of added(strictBefore, opened)) expect(name).toMatch(LOCK_NAME);
    expect(added(opened, strictBefore)).toEqual([]);
    expect(writer.currentSequence).toBe(read.records.at(-1)?.sequence ?? baseSequenceOf(bytes));
    await writer.close();
    expect(added(strictBefore, tree(strictFs))).toEqual([]);
  } else {
    const { kind, offset } = typedCorruption(strictOpen.error, bytes.length);
    strict = { kind, offset };
    expectSameTree(tree(strictFs), strictBefore);
  }
  checkReads(strictFs, bytes.length, recordBytesMax);

  // truncate-partial: fails untouched, or cuts exactly what it reports and keeps it
  const repairFs = await install(bytes);
  const repairBefore = tree(repairFs);
  const repairOpen = await settle(WalWriter.open(PATH, { fs: repairFs, repair: "truncate-partial", ...options }));
  let repair: Verdict["repair"];
  if ("value" in repairOpen) {
    const writer = repairOpen.value;
    const after = tree(repairFs);
    const cut = writer.repaired;
    const expectedNew: string[] = [];
    if (cut === null) {
      expectBytes(after.get(PATH), bytes, "the log after an open that repaired nothing");
    } else {
      expect(TEARABLE).toContain(cut.kind);
      expect(cut.offset).toBeGreaterThanOrEqual(40);
      expect(cut.offset).toBeLessThan(bytes.length);
      expect(cut.bytes).toBe(bytes.length - cut.offset);
      expect(cut.savedTo).toBe(`${PATH}.${cut.offset}.torn`);
      expectBytes(after.get(PATH), bytes.subarray(0, cut.offset), "the repaired log");
      expectBytes(after.get(cut.savedTo), bytes.subarray(cut.offset), "the saved torn tail");
      expectedNew.push(cut.savedTo);
    }
    for (const name of added(repairBefore, after)) if (!expectedNew.includes(name)) expect(name).toMatch(LOCK_NAME);
    expect(added(after, repairBefore)).toEqual([]);
    expect(writer.currentSequence).toBe(read.records.at(-1)?.sequence ?? baseSequenceOf(bytes));
    // whatever truncate-partial accepts, the reader reads, and finds what it found before the repair
    const reread = await readAll(repairFs, recordBytesMax);
    expect(reread.error).toBeNull();
    expect(reread.records).toEqual(read.records);
    checkReads(repairFs, bytes.length, recordBytesMax);
    await writer.close();
    expect(added(repairBefore, tree(repairFs))).toEqual(expectedNew);
    // and the repaired log (with a commit from the close, perhaps) now opens strictly
    const again = await WalWriter.open(PATH, { fs: repairFs, ...options });
    expect(again.repaired).toBeNull();
    expect(again.currentSequence).toBe(writer.currentSequence);
    await again.close();
    repair = { cut: cut === null ? null : { kind: cut.kind, offset: cut.offset } };
  } else {
    const { kind, offset } = typedCorruption(repairOpen.error, bytes.length);
    repair = { failed: { kind, offset } };
    expectSameTree(tree(repairFs), repairBefore);
    checkReads(repairFs, bytes.length, recordBytesMax);
  }

  // the three agree
  if ("failed" in repair) {
    expect(strict).toEqual(repair.failed);
    expect(readError).toMatchObject(repair.failed);
  } else {
    expect(readError).toBeNull();
    expect(strict).toEqual(repair.cut);
  }
  return { strict, repair, records: read.records };
}

/** The value or the error of a promise, without letting an assertion inside a `try` be mistaken for either. */
async function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

function baseSequenceOf(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(28, true) * 2 ** 32 + view.getUint32(24, true);
}

// ---------------------------------------------------------------------------
// Building files, from docs/FORMAT.md (independently of src/format.ts)

const FILE_MAGIC = [0x89, 0x57, 0x41, 0x4c, 0x0d, 0x0a, 0x1a, 0x0a];

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % 2 ** 32, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

/** CRC-32 of the salt followed by `bytes`, as FORMAT.md defines record checksums. */
function saltedCrc(salt: Uint8Array, bytes: Uint8Array): number {
  return crc32(concat(salt, bytes), 0);
}

function fileHeader(salt: Uint8Array, baseSequence: number): Uint8Array {
  const bytes = new Uint8Array(40);
  const view = new DataView(bytes.buffer);
  bytes.set(FILE_MAGIC, 0);
  view.setUint16(8, 1, true);
  view.setUint16(10, 40, true);
  bytes.set(salt, 16);
  setU64(view, 24, baseSequence);
  view.setUint32(36, crc32(bytes.subarray(0, 36), 0), true);
  return bytes;
}

/** A record frame with both checksums right for `salt`; `payloadBytes` may lie about the payload's length. */
function frame(
  salt: Uint8Array,
  fields: { version?: number; kind: number; sequence: number; timeMs?: number; payload: Uint8Array; payloadBytes?: number },
): Uint8Array {
  const header = new Uint8Array(32);
  const view = new DataView(header.buffer);
  header[0] = 0x57;
  header[1] = 0x52;
  header[2] = fields.version ?? 1;
  header[3] = fields.kind;
  view.setUint32(4, fields.payloadBytes ?? fields.payload.length, true);
  setU64(view, 8, fields.sequence);
  setU64(view, 16, fields.timeMs ?? 1_700_000_000_000);
  view.setUint32(24, saltedCrc(salt, fields.payload), true);
  view.setUint32(28, saltedCrc(salt, header.subarray(0, 28)), true);
  return concat(header, fields.payload);
}

function commitPayload(batchStart: number, commitOffset: number, recordCount: number): Uint8Array {
  const bytes = new Uint8Array(24);
  const view = new DataView(bytes.buffer);
  setU64(view, 0, batchStart);
  setU64(view, 8, commitOffset);
  view.setUint32(16, recordCount, true);
  return bytes;
}

/** Where one frame of a log is, read tolerantly (a walk stops where the bytes stop making sense). */
interface Span {
  readonly offset: number;
  readonly end: number;
  readonly kind: number;
}

function spans(bytes: Uint8Array): Span[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Span[] = [];
  for (let offset = 40; offset + 32 <= bytes.length; ) {
    const end = offset + 32 + view.getUint32(offset + 4, true);
    if (end > bytes.length) break;
    out.push({ offset, end, kind: bytes[offset + 3]! });
    offset = end;
  }
  return out;
}

/** A valid log, as the writer makes it: flushed batches, then records never flushed. */
interface LogSpec {
  readonly salt: Uint8Array;
  readonly baseSequence: number;
  readonly batches: readonly (readonly unknown[])[];
  readonly unflushed: readonly unknown[];
}

async function buildLog(spec: LogSpec): Promise<Uint8Array> {
  const fs = new MemoryFileSystem();
  await fs.mkdir("/data");
  const writer = await WalWriter.open(PATH, { fs, salt: spec.salt, baseSequence: spec.baseSequence, now: () => 1_700_000_000_000 });
  for (const batch of spec.batches) {
    for (const value of batch) await writer.append(value);
    await writer.flush();
  }
  for (const value of spec.unflushed) await writer.append(value);
  return fs.snapshot().get(PATH) as Uint8Array; // the writer is abandoned: closing would commit the unflushed records
}

const saltArb = fc.uint8Array({ minLength: 8, maxLength: 8 });
const smallValueArb = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.string({ maxLength: 80 }));
const logSpecArb: fc.Arbitrary<LogSpec> = fc.record({
  salt: saltArb,
  baseSequence: fc.oneof(fc.constant(0), fc.nat({ max: 1_000_000 })),
  batches: fc.array(fc.array(smallValueArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
  unflushed: fc.array(smallValueArb, { maxLength: 2 }),
});
/** The default limit mostly; small limits make ordinary records oversized. */
const recordBytesMaxArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(RECORD_BYTES_MAX_DEFAULT) },
  { weight: 1, arbitrary: fc.constantFrom(1, 8, 24, 64, 1000) },
);

// ---------------------------------------------------------------------------
// Mutations

const HUGE_LENGTHS = [0xffff_ffff, 0x8000_0000, 0x7fff_ffff, RECORD_BYTES_MAX_DEFAULT + 1, RECORD_BYTES_MAX_DEFAULT, 65_536, 1_000];

type Mutation =
  | { readonly op: "flip"; readonly at: number; readonly bit: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "delete"; readonly at: number; readonly length: number }
  | { readonly op: "overwrite"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "cut"; readonly at: number }
  | { readonly op: "cut-at-record"; readonly at: number }
  | { readonly op: "splice"; readonly from: number; readonly at: number; readonly replace: boolean }
  | { readonly op: "length"; readonly frame: number; readonly value: number; readonly reseal: boolean }
  | { readonly op: "reseal"; readonly frame: number; readonly at: number; readonly bit: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant("overwrite" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ op: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("cut-at-record" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("splice" as const), from: fc.nat(), at: fc.nat(), replace: fc.boolean() }),
  fc.record({ op: fc.constant("length" as const), frame: fc.nat(), value: fc.oneof(fc.constantFrom(...HUGE_LENGTHS), fc.nat()), reseal: fc.boolean() }),
  fc.record({ op: fc.constant("reseal" as const), frame: fc.nat(), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
);

/** Recomputes both checksums of the frame at `offset` (if it is whole), so damage inside it passes them. */
function reseal(bytes: Uint8Array, salt: Uint8Array, offset: number): void {
  if (offset + 32 > bytes.length) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = offset + 32 + view.getUint32(offset + 4, true);
  if (end <= bytes.length) view.setUint32(offset + 24, saltedCrc(salt, bytes.subarray(offset + 32, end)), true);
  view.setUint32(offset + 28, saltedCrc(salt, bytes.subarray(offset, offset + 28)), true);
}

/** Applies `mutation` to `bytes` (a log salted with `salt`); `foreign` is a valid log with another salt. */
function mutate(bytes: Uint8Array, mutation: Mutation, salt: Uint8Array, foreign: Uint8Array): Uint8Array {
  const at = (n: number) => (bytes.length === 0 ? 0 : n % (bytes.length + 1));
  const inside = (n: number) => n % Math.max(1, bytes.length);
  switch (mutation.op) {
    case "flip": {
      if (bytes.length === 0) return bytes;
      const out = bytes.slice();
      out[inside(mutation.at)]! ^= 1 << mutation.bit;
      return out;
    }
    case "insert":
      return concat(bytes.subarray(0, at(mutation.at)), mutation.bytes, bytes.subarray(at(mutation.at)));
    case "delete": {
      const from = at(mutation.at);
      return concat(bytes.subarray(0, from), bytes.subarray(from + mutation.length));
    }
    case "overwrite": {
      const from = at(mutation.at);
      const out = bytes.slice();
      out.set(mutation.bytes.subarray(0, Math.max(0, out.length - from)), from);
      return out;
    }
    case "cut":
      return bytes.slice(0, at(mutation.at));
    case "cut-at-record": {
      const ours = spans(bytes);
      return ours.length === 0 ? bytes : bytes.slice(0, ours[mutation.at % ours.length]!.offset);
    }
    case "splice": {
      // a whole record of the foreign log, in place of or before a record boundary of this one
      const theirs = spans(foreign);
      const ours = spans(bytes);
      if (theirs.length === 0) return bytes;
      const source = theirs[mutation.from % theirs.length]!;
      const record = foreign.subarray(source.offset, source.end);
      const boundaries = [...ours.map((span) => span.offset), ours.at(-1)?.end ?? Math.min(40, bytes.length)];
      const index = mutation.at % boundaries.length;
      const where = boundaries[index]!;
      const replaced = mutation.replace && index < ours.length ? ours[index]!.end : where;
      return concat(bytes.subarray(0, where), record, bytes.subarray(replaced));
    }
    case "length": {
      const ours = spans(bytes);
      if (ours.length === 0) return bytes;
      const target = ours[mutation.frame % ours.length]!;
      const out = bytes.slice();
      new DataView(out.buffer).setUint32(target.offset + 4, mutation.value, true);
      if (mutation.reseal) reseal(out, salt, target.offset);
      return out;
    }
    case "reseal": {
      // damage that checksums cannot see: flip a bit of a record, then make both its CRCs match again
      const ours = spans(bytes);
      if (ours.length === 0) return bytes;
      const target = ours[mutation.frame % ours.length]!;
      const out = bytes.slice();
      const within = mutation.at % (target.end - target.offset);
      if (within !== 24 && within !== 25 && within !== 26 && within !== 27 && !(within >= 28 && within < 32)) {
        out[target.offset + within]! ^= 1 << mutation.bit;
      }
      reseal(out, salt, target.offset);
      return out;
    }
  }
}

// ---------------------------------------------------------------------------
// The properties

describe("hostile files never escape the typed errors, the memory bound or the repair contract", () => {
  test("(a) random bytes, with and without a file magic in front", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.uint8Array({ maxLength: 300 }),
        recordBytesMaxArb,
        async (magic, random, recordBytesMax) => {
          const bytes = magic ? concat(Uint8Array.from(FILE_MAGIC), random) : random;
          const verdict = await checkHostile(bytes, recordBytesMax);
          // random bytes are never a file header (a 2^-32 CRC coincidence aside): fatal under every policy
          if (bytes.length < 40 || !magic) expect(verdict.repair).toHaveProperty("failed");
        },
      ),
      { numRuns: 150 },
    );
  });

  test("(b) random bytes behind a valid file header", async () => {
    await fc.assert(
      fc.asyncProperty(saltArb, fc.nat({ max: 1000 }), fc.uint8Array({ maxLength: 600 }), recordBytesMaxArb, async (salt, base, random, max) => {
        const bytes = concat(fileHeader(salt, base), random);
        const verdict = await checkHostile(bytes, max);
        // random bytes hold no valid commit, so all of it is a torn tail: cut at the header
        expect(verdict.repair).toEqual({ cut: random.length === 0 ? null : { kind: expect.any(String), offset: 40 } });
      }),
      { numRuns: 150 },
    );
  });

  /** Pieces of a body that pass the checksums but may break every other rule. */
  type Piece =
    | { readonly t: "data"; readonly value: unknown; readonly gap: number }
    | { readonly t: "commit"; readonly skew: number; readonly field: number }
    | { readonly t: "raw"; readonly version: number; readonly kind: number; readonly sequence: number; readonly payload: Uint8Array; readonly lie: number | null }
    | { readonly t: "undecodable"; readonly bytes: Uint8Array }
    | { readonly t: "garbage"; readonly bytes: Uint8Array };

  const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant("data" as const), value: smallValueArb, gap: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 3 }) }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant("commit" as const), skew: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }), field: fc.nat({ max: 3 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant("raw" as const),
        version: fc.constantFrom(0, 1, 1, 2, 255),
        kind: fc.constantFrom(0, 1, 2, 3),
        sequence: fc.oneof(fc.nat(), fc.constant(2 ** 53), fc.constant(2 ** 64 - 1)),
        payload: fc.uint8Array({ maxLength: 40 }),
        lie: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...HUGE_LENGTHS, 24, 0) }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant("undecodable" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant("garbage" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  );

  /** Encodes pieces behind a header, with commits that describe their batch unless skewed. */
  function body(salt: Uint8Array, base: number, pieces: readonly Piece[]): Uint8Array {
    const parts: Uint8Array[] = [fileHeader(salt, base)];
    let offset = 40;
    let sequence = base;
    let batchStart = 40;
    let pending = 0;
    for (const piece of pieces) {
      let bytes: Uint8Array;
      if (piece.t === "data") {
        sequence = Math.max(0, sequence + piece.gap);
        bytes = frame(salt, { kind: 1, sequence, payload: new TextEncoder().encode(JSON.stringify(piece.value) ?? "null") });
        pending++;
      } else if (piece.t === "undecodable") {
        // intact checksums, next sequence, bytes that are (almost always) not UTF-8 JSON
        sequence += 1;
        bytes = frame(salt, { kind: 1, sequence, payload: piece.bytes });
        pending++;
      } else if (piece.t === "commit") {
        const fields = [batchStart, offset, pending, sequence];
        fields[piece.field] = Math.max(0, fields[piece.field]! + piece.skew);
        bytes = frame(salt, { kind: 2, sequence: fields[3]!, payload: commitPayload(fields[0]!, fields[1]!, fields[2]!) });
        batchStart = offset + bytes.length;
        pending = 0;
      } else if (piece.t === "raw") {
        const sequenceField = Math.min(piece.sequence, 2 ** 53 + 2 ** 20); // above 2^53 - 1 either way
        bytes = frame(salt, { version: piece.version, kind: piece.kind, sequence: sequenceField, payload: piece.payload, payloadBytes: piece.lie ?? undefined });
      } else {
        bytes = piece.bytes;
      }
      parts.push(bytes);
      offset += bytes.length;
    }
    return concat(...parts);
  }

  test("(b) random checksummed records behind a valid file header: every fatal kind, never untyped", async () => {
    const kindsSeen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(saltArb, fc.nat({ max: 1000 }), fc.array(pieceArb, { maxLength: 8 }), recordBytesMaxArb, async (salt, base, pieces, max) => {
        const verdict = await checkHostile(body(salt, base, pieces), max);
        if ("failed" in verdict.repair) kindsSeen.add(verdict.repair.failed.kind);
        else if (verdict.repair.cut !== null) kindsSeen.add(`torn ${verdict.repair.cut.kind}`);
        else kindsSeen.add("clean");
      }),
      { numRuns: 300 },
    );
    // the generator reaches the fatal kinds a crash cannot produce
    for (const kind of ["clean", "unsupported-version", "bad-header", "sequence-violation", "oversized-length", "decode-failure"]) {
      expect([...kindsSeen]).toContain(kind);
    }
  });

  test("(c) valid logs under random mutations", async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        logSpecArb,
        logSpecArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        recordBytesMaxArb,
        async (spec, other, mutations, max) => {
          fc.pre(!sameBytes(spec.salt, other.salt));
          const original = await buildLog(spec);
          const foreign = await buildLog(other);
          let bytes = original;
          for (const mutation of mutations) bytes = mutate(bytes, mutation, spec.salt, foreign);
          const verdict = await checkHostile(bytes, max);
          outcomes.add("failed" in verdict.repair ? "fatal" : verdict.repair.cut === null ? "clean" : "repaired");
        },
      ),
      { numRuns: 250 },
    );
    // not vacuous: mutations led to fatal damage and to repairs (and, rarely, to nothing at all)
    expect(outcomes).toContain("fatal");
    expect(outcomes).toContain("repaired");
  });

  test("(c) a record from a log with another salt, put in place of its twin, is checksum-mismatch: fatal before a commit, torn after", async () => {
    await fc.assert(
      fc.asyncProperty(logSpecArb, saltArb, fc.nat(), async (spec, otherSalt, pick) => {
        fc.pre(!sameBytes(spec.salt, otherSalt));
        // the same records under another salt: every frame has its twin's length, so nothing moves
        const ours = await buildLog(spec);
        const foreign = await buildLog({ ...spec, salt: otherSalt });
        expect(foreign.length).toBe(ours.length);
        const all = spans(ours);
        const target = all[pick % all.length]!;
        const bytes = ours.slice();
        bytes.set(foreign.subarray(target.offset, target.end), target.offset);
        const verdict = await checkHostile(bytes);
        const commitFollows = all.some((span) => span.offset > target.offset && span.kind === 2);
        const damage = { kind: "checksum-mismatch", offset: target.offset };
        expect(verdict.strict).toEqual(damage);
        expect(verdict.repair).toEqual(commitFollows ? { failed: damage } : { cut: damage });
      }),
      { numRuns: 80 },
    );
  });

  test("(c) a record from a log with another salt inserted at a record boundary shifts every commit after it: fatal if one follows", async () => {
    await fc.assert(
      fc.asyncProperty(logSpecArb, logSpecArb, fc.nat(), fc.nat(), async (spec, other, pick, place) => {
        fc.pre(!sameBytes(spec.salt, other.salt));
        const ours = await buildLog(spec);
        const foreign = await buildLog(other);
        const theirs = spans(foreign);
        const source = theirs[pick % theirs.length]!;
        const boundaries = [...spans(ours).map((span) => span.offset), ours.length];
        const where = boundaries[place % boundaries.length]!;
        const bytes = concat(ours.subarray(0, where), foreign.subarray(source.offset, source.end), ours.subarray(where));
        const verdict = await checkHostile(bytes);
        // a commit of ours that moved still proves durable data behind it: fatal; with none after, a torn tail
        const damage = { kind: "checksum-mismatch", offset: where };
        const commitFollows = spans(ours).some((span) => span.offset >= where && span.kind === 2);
        expect(verdict.strict).toEqual(damage);
        expect(verdict.repair).toEqual(commitFollows ? { failed: damage } : { cut: damage });
      }),
      { numRuns: 60 },
    );
  });

  test("(c) a huge length field: checksum-mismatch without a matching header CRC, oversized-length or bad-header with one", async () => {
    await fc.assert(
      fc.asyncProperty(
        logSpecArb,
        fc.nat(),
        fc.constantFrom(...HUGE_LENGTHS.filter((value) => value > 1000)),
        fc.boolean(),
        fc.constantFrom(RECORD_BYTES_MAX_DEFAULT, 1000),
        async (spec, pick, length, resealed, max) => {
          const original = await buildLog(spec);
          const all = spans(original);
          const target = all[pick % all.length]!;
          const bytes = original.slice();
          new DataView(bytes.buffer).setUint32(target.offset + 4, length, true);
          if (resealed) reseal(bytes, spec.salt, target.offset);
          const verdict = await checkHostile(bytes, max);
          const commitFollows = all.some((span) => span.offset > target.offset && span.kind === 2);
          if (!resealed) {
            // the length is never believed: the header CRC fails first
            const damage = { kind: "checksum-mismatch", offset: target.offset };
            expect(verdict.strict).toEqual(damage);
            expect(verdict.repair).toEqual(commitFollows ? { failed: damage } : { cut: damage });
          } else if (target.kind === 2) {
            expect(verdict.repair).toEqual({ failed: { kind: "bad-header", offset: target.offset } });
          } else if (length > max) {
            expect(verdict.repair).toEqual({ failed: { kind: "oversized-length", offset: target.offset } });
          } else {
            // believed, within the limit, but runs past the end of the file: a partial payload
            expect(verdict.strict).toEqual({ kind: "partial-payload", offset: target.offset });
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  test("memory stays bounded on multi-megabyte logs whose length fields claim more than the file holds", async () => {
    const big = "x".repeat(1_200_000);
    const salt = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const original = await buildLog({ salt, baseSequence: 0, batches: [[big, "a"], [big]], unflushed: ["b"] });
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.oneof(fc.constantFrom(...HUGE_LENGTHS), fc.integer({ min: MIB, max: 8 * MIB })),
        fc.boolean(),
        fc.constantFrom(RECORD_BYTES_MAX_DEFAULT, 2 * MIB, MIB + 100, 1000),
        async (pick, length, resealed, max) => {
          const all = spans(original);
          const target = all[pick % all.length]!;
          const bytes = original.slice();
          new DataView(bytes.buffer).setUint32(target.offset + 4, length, true);
          if (resealed) reseal(bytes, salt, target.offset);
          await checkHostile(bytes, max);
        },
      ),
      { numRuns: 12 },
    );
    // the cases reached the regime where maxRecordBytes, not the 1 MiB read-ahead, is the limit
    expect(largestReadSeen).toBeGreaterThan(MIB);
  });
});

describe("bugs found by the fuzzer", () => {
  /**
   * Found by this fuzzer: with a limit of 1 to 23 (documented as valid), the
   * writer's own 24-byte commit records were refused as `oversized-length`.
   * The limit applies to data records only.
   */
  test("a log written with maxRecordBytes below 24 reopens with the same options", async () => {
    const fs = new MemoryFileSystem();
    const writer = await WalWriter.open("/log.wal", { fs, maxRecordBytes: 8 });
    await writer.append("a");
    await writer.flush(); // acknowledged
    await writer.close();
    const reopened = await WalWriter.open("/log.wal", { fs, maxRecordBytes: 8 });
    expect(reopened.currentSequence).toBe(1);
    await reopened.close();
    const values: unknown[] = [];
    for await (const record of WalReader.open("/log.wal", { fs, maxRecordBytes: 8 })) values.push(record.value);
    expect(values).toEqual(["a"]);
  });
});
