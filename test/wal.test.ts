/**
 * The segmented log on the running runtime's real filesystem: layout,
 * sequences across segments and reopen, rotation under concurrent appends,
 * retention by each limit, truncation at both ends down to an empty log,
 * damage in the newest and in sealed segments, options, the lock.
 * Readers and followers are in `wal-follow.test.ts`, crash safety in
 * `wal-crash.test.ts`.
 */

import { readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import {
  WalSequenceError,
  Wal,
  WalArgumentError,
  WalClosedError,
  WalCorruptionError,
  WalLockedError,
  type WalOptions,
  WalReader,
} from "../mod.ts";
import { gatedSyncs, useTempDir } from "./helpers.ts";
import { finalBatchStart, logBytes } from "./log-files.ts";

const SEGMENT_NAME = /^\d{20}\.wal$/;

/** The log directory's segment files, in order. */
async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).sort();
}

/** Every record a read returns, as `[sequence, value]`. */
async function entries(wal: Wal, options: { from?: number; to?: number } = {}): Promise<[number, unknown][]> {
  const out: [number, unknown][] = [];
  for await (const record of wal.read(options)) out.push([record.sequence, record.value]);
  return out;
}

/** Sequences `from` … `to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

/** Appends `r<sequence>` for each sequence up to `to`, flushing after each. */
async function appendUpTo(wal: Wal, to: number): Promise<void> {
  while (wal.currentSequence < to) {
    await wal.append(`r${wal.currentSequence + 1}`);
    await wal.flush();
  }
}

/** Opens the log in a fresh directory (`<temp>/log`, created by the open). */
async function freshWal(options: WalOptions<unknown> = {}): Promise<{ dir: string; wal: Wal }> {
  const dir = `${await useTempDir()}/nested/log`;
  return { dir, wal: await Wal.open(dir, options) };
}

/** A clock the test moves by hand. */
function manualClock(startMs: number): { now: () => number; set: (ms: number) => void } {
  let nowMs = startMs;
  return { now: () => nowMs, set: (ms) => (nowMs = ms) };
}

/** Opens and expects a corruption error; returns its diagnostic. */
async function corruptionOf(dir: string, options: WalOptions<unknown>) {
  const error = await Wal.open(dir, options).then(
    async (wal) => {
      await wal.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WalCorruptionError);
  return (error as WalCorruptionError).corruption;
}

describe("group commit", () => {
  test("appends made while a flush's fsync is in flight are accepted at once and go out together in the next batch", async () => {
    const { fs, hold, release, syncs } = await gatedSyncs();
    const dir = `${await useTempDir()}/log`;
    const wal = await Wal.open(dir, { fs });
    await wal.append("r1");
    hold();
    const first = wal.flush(); // its fsync waits at the gate
    await new Promise((resolve) => setTimeout(resolve, 10));
    const before = syncs();
    // Neither waits for that fsync: they fill the next batch (a queued flush would hold them until it returns).
    for (let n = 2; n <= 5; n++) expect(await wal.append(`r${n}`)).toBe(n);
    const second = wal.flush();
    release();
    await Promise.all([first, second]);
    expect(syncs() - before).toBe(1); // one more fsync for r2 … r5
    expect((await entries(wal)).map(([, value]) => value)).toEqual(["r1", "r2", "r3", "r4", "r5"]);
    await wal.close();
  });
});

describe("layout and sequences", () => {
  test("segments are named by first sequence, each is a valid single-file log, and sequences continue across them and across reopen", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 20);
    await wal.close();
    const names = await segmentFiles(dir);
    expect(names.length).toBeGreaterThan(3);
    expect(names[0]).toBe("00000000000000000001.wal");
    const perSegment: number[][] = [];
    for (const name of names) {
      const sequences: number[] = [];
      for await (const record of WalReader.open(`${dir}/${name}`)) sequences.push(record.sequence);
      expect(sequences[0], name).toBe(Number(name.slice(0, 20)));
      expect((await stat(`${dir}/${name}`)).size).toBeLessThanOrEqual(300);
      perSegment.push(sequences);
    }
    expect(perSegment.flat()).toEqual(range(1, 20));

    const reopened = await Wal.open(dir, { segmentBytes: 300 });
    expect(reopened.currentSequence).toBe(20);
    expect(await reopened.append("r21")).toBe(21);
    expect(await reopened.append("r30", { sequence: 30 })).toBe(30);
    await expect(reopened.append("again", { sequence: 30 })).rejects.toBeInstanceOf(WalSequenceError);
    expect((await entries(reopened)).map(([sequence]) => sequence)).toEqual(range(1, 20)); // 21 and 30 are not flushed yet
    await reopened.flush();
    expect((await entries(reopened)).map(([sequence]) => sequence)).toEqual([...range(1, 21), 30]);
    expect([reopened.firstSequence, reopened.lastSequence]).toEqual([1, 30]);
    await reopened.close();
  });

  test("a new log starts after baseSequence; an existing one ignores it", async () => {
    const { dir, wal } = await freshWal({ baseSequence: 41 });
    expect([wal.currentSequence, wal.firstSequence, wal.lastSequence]).toEqual([41, 42, 41]);
    expect(await wal.append("a")).toBe(42);
    await wal.close();
    expect(await segmentFiles(dir)).toEqual(["00000000000000000042.wal"]);
    const reopened = await Wal.open(dir, { baseSequence: 7 });
    expect(reopened.currentSequence).toBe(42);
    await reopened.close();
  });

  test("rotation under concurrent appends, flushes and rotations loses, reorders and duplicates nothing", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 512 });
    const values = range(1, 300).map((n) => ({ n, pad: "x".repeat(n % 60) }));
    const sequences = await Promise.all(
      values.map(async (value, index) => {
        const appended = wal.append(value);
        if (index % 17 === 0) void wal.flush();
        if (index % 41 === 0) void wal.rotate();
        return appended;
      }),
    );
    await wal.flush();
    expect(sequences).toEqual(range(1, 300));
    expect((await entries(wal)).map(([, value]) => value)).toEqual(values);
    const names = await segmentFiles(dir);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      let records = 0;
      for await (const _ of WalReader.open(`${dir}/${name}`)) records++;
      const bytes = await logBytes(`${dir}/${name}`);
      expect(bytes <= 512 || records === 1, `${name}: ${bytes} bytes, ${records} records`).toBe(true);
    }
    expect(wal.stats()).toMatchObject({ segments: names.length, records: 300 });
    await wal.close();
    const reopened = await Wal.open(dir, { segmentBytes: 512 });
    expect(reopened.currentSequence).toBe(300);
    expect((await entries(reopened)).length).toBe(300);
    await reopened.close();
  });

  test("rotate flushes and seals the active segment on demand, and does nothing to an empty one", async () => {
    const { dir, wal } = await freshWal();
    await wal.append("a");
    await wal.rotate();
    expect(await segmentFiles(dir)).toEqual(["00000000000000000001.wal", "00000000000000000002.wal"]);
    expect(await entries(wal)).toEqual([[1, "a"]]); // the rotation flushed it
    await wal.rotate();
    expect((await segmentFiles(dir)).length).toBe(2);
    expect(await wal.append("b")).toBe(2);
    expect(await entries(wal)).toEqual([[1, "a"]]); // "b" is not flushed yet
    await wal.flush();
    expect(await entries(wal)).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    await wal.close();
  });

  test("stats count segments, bytes, records and the oldest record's time", async () => {
    const clock = manualClock(5000);
    const { dir, wal } = await freshWal({ segmentBytes: 300, now: clock.now });
    expect(wal.stats()).toEqual({ segments: 1, bytes: 64, records: 0, oldestTimeMs: null });
    await appendUpTo(wal, 3);
    clock.set(9000);
    await appendUpTo(wal, 12);
    const names = await segmentFiles(dir);
    let bytes = 0;
    for (const name of names) bytes += await logBytes(`${dir}/${name}`);
    expect(wal.stats()).toEqual({ segments: names.length, bytes, records: 12, oldestTimeMs: 5000 });
    await wal.close();
  });

  test("record times never decrease along the log, even when the clock steps back", async () => {
    const clock = manualClock(10_000);
    const { dir, wal } = await freshWal({ now: clock.now, segmentBytes: 200 });
    await wal.append("a");
    clock.set(3_000);
    await wal.append("b");
    await wal.close();
    const reopened = await Wal.open(dir, { now: clock.now, segmentBytes: 200 });
    await reopened.append("c");
    await reopened.flush();
    const times: number[] = [];
    for await (const record of reopened.read()) times.push(record.timeMs);
    expect(times).toEqual([10_000, 10_000, 10_000]);
    await reopened.close();
  });
});

describe("retention", () => {
  test("maxSegments keeps the newest segments, on demand and after every rotation", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300, maxSegments: 2, cleanupOnRotate: false });
    await appendUpTo(wal, 20);
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThan(2);
    await wal.cleanup();
    const kept = await segmentFiles(dir);
    expect(kept).toEqual(before.slice(-2));
    const first = Number(kept[0]!.slice(0, 20));
    expect(wal.firstSequence).toBe(first);
    expect((await entries(wal)).map(([sequence]) => sequence)).toEqual(range(first, 20));
    await wal.close();

    const automatic = await Wal.open(dir, { segmentBytes: 300, maxSegments: 2 });
    for (let n = 21; n <= 60; n++) {
      await automatic.append(`r${n}`);
      await automatic.flush();
      expect((await segmentFiles(dir)).length).toBeLessThanOrEqual(2);
    }
    expect(automatic.lastSequence).toBe(60);
    await automatic.close();
  });

  test("maxTotalBytes removes the oldest segments until the rest fit; never the active one", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300, maxTotalBytes: 700, cleanupOnRotate: false });
    await appendUpTo(wal, 30);
    await wal.cleanup();
    const names = await segmentFiles(dir);
    let total = 0;
    for (const name of names) total += await logBytes(`${dir}/${name}`);
    expect(total).toBeLessThanOrEqual(700);
    expect(wal.stats().bytes).toBe(total);
    expect(wal.lastSequence).toBe(30);
    await wal.close();

    const tiny = await Wal.open(dir, { segmentBytes: 300, maxTotalBytes: 0 });
    await tiny.cleanup();
    expect(await segmentFiles(dir)).toEqual(names.slice(-1));
    expect(tiny.lastSequence).toBe(30);
    await tiny.close();
  });

  test("maxAgeMs removes exactly the records appended too long ago, inside a segment too, durably", async () => {
    const clock = manualClock(0);
    const options = { segmentBytes: 300, maxAgeMs: 4500, now: clock.now, cleanupOnRotate: false };
    const { dir, wal } = await freshWal(options);
    for (let n = 1; n <= 10; n++) {
      clock.set(n * 1000);
      await wal.append(`r${n}`);
      await wal.flush();
    }
    const before = await segmentFiles(dir);
    await wal.cleanup(); // at 10000: records appended before 5500 go
    expect((await entries(wal)).map(([sequence]) => sequence)).toEqual(range(6, 10));
    expect([wal.firstSequence, wal.lastSequence, wal.stats().records, wal.stats().oldestTimeMs]).toEqual([6, 10, 5, 6000]);
    const after = await segmentFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(Number(after[0]!.slice(0, 20))).toBeLessThanOrEqual(6);
    await wal.close();

    const reopened = await Wal.open(dir, options);
    expect((await entries(reopened)).map(([sequence]) => sequence)).toEqual(range(6, 10));
    clock.set(20_000);
    await reopened.cleanup(); // everything expired: empty, and the sequence goes on
    expect(await entries(reopened)).toEqual([]);
    expect([reopened.currentSequence, reopened.firstSequence, reopened.lastSequence]).toEqual([10, 11, 10]);
    expect(reopened.stats()).toMatchObject({ segments: 1, records: 0, oldestTimeMs: null });
    expect(await reopened.append("r11")).toBe(11);
    await reopened.flush();
    expect(await entries(reopened)).toEqual([[11, "r11"]]);
    await reopened.close();
  });

  test("cleanup without limits changes nothing", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 10);
    const before = await segmentFiles(dir);
    await wal.cleanup();
    expect(await segmentFiles(dir)).toEqual(before);
    expect((await entries(wal)).length).toBe(10);
    await wal.close();
  });
});

describe("truncation", () => {
  test("truncateFront hides records below the sequence, deletes whole segments, and holds across reopen", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 20);
    const before = await segmentFiles(dir);
    const straddling = before.filter((name) => Number(name.slice(0, 20)) <= 9).at(-1)!;
    await wal.truncateFront(9);
    expect(await segmentFiles(dir)).toEqual(before.slice(before.indexOf(straddling)));
    expect((await entries(wal)).map(([sequence]) => sequence)).toEqual(range(9, 20));
    expect(await entries(wal, { from: 2, to: 10 })).toEqual([
      [9, "r9"],
      [10, "r10"],
    ]);
    expect([wal.firstSequence, wal.stats().records]).toEqual([9, 12]);
    await wal.truncateFront(4); // below the front: nothing
    expect(wal.firstSequence).toBe(9);
    await wal.close();
    const reopened = await Wal.open(dir, { segmentBytes: 300 });
    expect((await entries(reopened)).map(([sequence]) => sequence)).toEqual(range(9, 20));
    await reopened.close();
  });

  test("truncateFront to an empty log, and restarting at any sequence", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 10);
    await wal.truncateFront(11);
    expect(await entries(wal)).toEqual([]);
    expect([wal.currentSequence, wal.firstSequence, wal.lastSequence]).toEqual([10, 11, 10]);
    expect(await segmentFiles(dir)).toEqual(["00000000000000000011.wal"]);
    await wal.truncateFront(1000);
    expect([wal.currentSequence, wal.firstSequence]).toEqual([999, 1000]);
    expect(await segmentFiles(dir)).toEqual(["00000000000000001000.wal"]);
    expect(await wal.append("r1000")).toBe(1000);
    await wal.close();
    const reopened = await Wal.open(dir);
    expect(await entries(reopened)).toEqual([[1000, "r1000"]]);
    expect(await reopened.append("r1001")).toBe(1001);
    await reopened.close();
  });

  test("truncateBack removes records above the sequence, in the active segment and across sealed ones", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 20);
    await wal.truncateBack(18);
    expect([wal.currentSequence, wal.lastSequence]).toEqual([18, 18]);
    expect((await entries(wal)).map(([sequence]) => sequence)).toEqual(range(1, 18));
    const before = await segmentFiles(dir);
    await wal.truncateBack(5);
    const after = await segmentFiles(dir);
    expect(after).toEqual(before.filter((name) => Number(name.slice(0, 20)) <= 5));
    expect((await entries(wal)).map(([sequence]) => sequence)).toEqual(range(1, 5));
    expect([wal.currentSequence, wal.lastSequence]).toEqual([5, 5]);
    expect(await wal.append("new 6")).toBe(6);
    expect(await wal.append("new 7")).toBe(7);
    await wal.close();
    const reopened = await Wal.open(dir, { segmentBytes: 300 });
    expect((await entries(reopened)).slice(-3)).toEqual([
      [5, "r5"],
      [6, "new 6"],
      [7, "new 7"],
    ]);
    await reopened.truncateBack(40); // above the end: nothing
    expect(reopened.currentSequence).toBe(7);
    await reopened.close();
  });

  test("truncateBack to 0 empties the log; to a sequence past the last record, the log continues from it", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 10);
    await wal.append("r50", { sequence: 50 });
    await wal.truncateBack(30);
    expect([wal.currentSequence, wal.lastSequence]).toEqual([30, 10]);
    expect(await wal.append("r31")).toBe(31);
    await wal.truncateBack(0);
    expect(await entries(wal)).toEqual([]);
    expect([wal.currentSequence, wal.firstSequence, wal.lastSequence]).toEqual([0, 1, 0]);
    expect(await segmentFiles(dir)).toEqual(["00000000000000000001.wal"]);
    expect(await wal.append("again")).toBe(1);
    await wal.close();
    const reopened = await Wal.open(dir);
    expect(await entries(reopened)).toEqual([[1, "again"]]);
    await reopened.close();
  });

  test("truncateBack below the front empties the log and lowers the front, so the new records are returned", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 20);
    await wal.truncateFront(12);
    await wal.truncateBack(4);
    expect(await entries(wal)).toEqual([]);
    expect([wal.currentSequence, wal.firstSequence]).toEqual([4, 5]);
    expect(await wal.append("new 5")).toBe(5);
    await wal.close();
    const reopened = await Wal.open(dir);
    expect(await entries(reopened)).toEqual([[5, "new 5"]]);
    await reopened.close();
  });

  test("sequence arguments are checked", async () => {
    const { wal } = await freshWal();
    await expect(wal.truncateFront(-1)).rejects.toBeInstanceOf(WalArgumentError);
    await expect(wal.truncateBack(1.5)).rejects.toBeInstanceOf(WalArgumentError);
    expect(() => wal.read({ from: -2 })).toThrow(WalArgumentError);
    expect(() => wal.read({ to: Number.NaN })).toThrow(WalArgumentError);
    await wal.close();
  });
});

describe("damage", () => {
  test("a torn tail in the newest segment: strict fails, truncate-partial cuts its whole final batch and saves it", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 10);
    await wal.appendBatch(["whole, but in the torn batch", "torn soon"]);
    await wal.close();
    const newest = `${dir}/${(await segmentFiles(dir)).at(-1)!}`;
    const bytes = new Uint8Array(await readFile(newest));
    const start = finalBatchStart(bytes);
    await writeFile(newest, bytes.subarray(0, bytes.length - 56 - 5)); // into the last record, its commit gone
    const corruption = await corruptionOf(dir, { repair: "strict" });
    expect(corruption).toMatchObject({ path: newest, kind: "torn-batch", offset: start });
    const repaired = await Wal.open(dir, { repair: "truncate-partial" });
    expect(repaired.repaired).toMatchObject({ kind: "torn-batch", offset: start, bytes: bytes.length - 61 - start });
    expect(repaired.currentSequence).toBe(10);
    expect((await entries(repaired)).map(([sequence]) => sequence)).toEqual(range(1, 10));
    expect(await readdir(dir)).toContain(repaired.repaired!.savedTo.slice(dir.length + 1));
    await repaired.close();
  });

  test("damage in a sealed segment fails under every policy, even where it looks like a torn tail", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 12);
    await wal.close();
    const [first, second] = (await segmentFiles(dir)).map((name) => `${dir}/${name}`);
    const original = await readFile(first!);
    const flipped = Uint8Array.from(original);
    flipped[64 + 33] = flipped[64 + 33]! ^ 0x40; // a payload byte of the first record
    await writeFile(first!, flipped);
    for (const repair of ["strict", "truncate-partial"] as const) {
      expect((await corruptionOf(dir, { repair })).path).toBe(first);
    }
    await writeFile(first!, original.subarray(0, original.length - 3)); // its final commit cut short
    for (const repair of ["strict", "truncate-partial"] as const) {
      const corruption = await corruptionOf(dir, { repair });
      expect(corruption.path).toBe(first);
      expect(corruption.detail).toContain("sealed");
    }
    await writeFile(first!, original);
    await rename(second!, `${dir}/00000000000000000099.wal`);
    expect((await corruptionOf(dir, {})).kind).toBe("sequence-violation");
  });

  test("a damaged bounds file fails under every policy", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 10);
    await wal.truncateFront(3);
    await wal.close();
    const bounds = await readFile(`${dir}/wal.bounds`);
    bounds[17] = bounds[17]! ^ 1;
    await writeFile(`${dir}/wal.bounds`, bounds);
    for (const repair of ["strict", "truncate-partial"] as const) {
      const corruption = await corruptionOf(dir, { repair });
      expect(corruption).toMatchObject({ kind: "checksum-mismatch", path: `${dir}/wal.bounds` });
    }
  });
});

describe("options, lock and closing", () => {
  test("invalid options are refused before anything is created", async () => {
    const dir = `${await useTempDir()}/log`;
    const bad: WalOptions<unknown>[] = [
      { segmentBytes: 0 },
      { segmentBytes: 1.5 },
      { maxAgeMs: -1 },
      { maxTotalBytes: Number.POSITIVE_INFINITY },
      { maxSegments: 0 },
      { pollMs: 0 },
      { pollMs: 2 ** 31 },
      { cleanupOnRotate: "yes" as unknown as boolean },
      { repair: "maybe" as "strict" },
      { baseSequence: -1 },
    ];
    for (const options of bad) await expect(Wal.open(dir, options), JSON.stringify(options)).rejects.toBeInstanceOf(WalArgumentError);
    await expect(stat(dir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("one writer at a time holds the directory", async () => {
    const { dir, wal } = await freshWal();
    await expect(Wal.open(dir)).rejects.toBeInstanceOf(WalLockedError);
    await wal.close();
    const second = await Wal.open(dir);
    await second.close();
  });

  test("a closed log refuses writes and reads; close is idempotent and flushes", async () => {
    const { dir, wal } = await freshWal();
    await wal.append("pending");
    const closing = wal.close();
    expect(wal.close()).toBe(closing);
    await closing;
    await expect(wal.append("late")).rejects.toBeInstanceOf(WalClosedError);
    await expect(wal.truncateBack(0)).rejects.toBeInstanceOf(WalClosedError);
    expect(() => wal.read()).toThrow(WalClosedError);
    expect(() => wal.follow()).toThrow(WalClosedError);
    await using reopened = await Wal.open(dir);
    expect(await entries(reopened)).toEqual([[1, "pending"]]);
  });
});

describe("limits", () => {
  test("a sequence past 2^53 - 1 is refused cleanly, before any write", async () => {
    const dir = await useTempDir();
    await using wal = await Wal.open(dir);
    expect(await wal.append("last", { sequence: Number.MAX_SAFE_INTEGER })).toBe(Number.MAX_SAFE_INTEGER);
    await expect(wal.append("one too many")).rejects.toBeInstanceOf(WalArgumentError);
    expect(wal.poisoned).toBe(false);
    await wal.flush();
    expect(wal.lastSequence).toBe(Number.MAX_SAFE_INTEGER);
  });
});
