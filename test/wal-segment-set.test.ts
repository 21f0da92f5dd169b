/**
 * The segment set of a `Wal` is verified as a set (docs/SEGMENTS.md, "The
 * segment set"): a segment deleted by hand (in the middle, the newest, the
 * one holding the front), a segment copied in from another log, and a
 * deleted bounds file each fail opening with a typed `WalCorruptionError`
 * under every repair policy, leaving the directory byte for byte as it was.
 * Also: explicit rotation applies retention (`cleanupOnRotate`), and a
 * non-regular file where a segment or the bounds file should be is refused
 * instead of blocking the open forever.
 */

import { execFileSync } from "node:child_process";
import { copyFile, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { CRASH_OUTCOMES, MemoryFileSystem } from "../sim/mod.ts";
import { type RepairPolicy, Wal, WalCorruptionError, WalIoError, type WalOptions, WalReader } from "../mod.ts";
import { useTempDir } from "./helpers.ts";

const SEGMENT_NAME = /^\d{20}\.wal$/;
const POLICIES: readonly RepairPolicy[] = ["strict", "truncate-partial"];

/** Segment files of `dir`, in order. */
async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).sort();
}

/** Every entry of `dir` with its bytes: what "the directory is untouched" compares. */
async function snapshot(dir: string): Promise<[string, string][]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name): Promise<[string, string]> => [name, Buffer.from(await readFile(`${dir}/${name}`)).toString("hex")]));
}

/** A log in a fresh directory with records 1 … `count` in segments of a few records each, closed. */
async function writtenLog(count: number, options: WalOptions<unknown> = {}): Promise<string> {
  const dir = `${await useTempDir()}/log`;
  const wal = await Wal.open(dir, { segmentBytes: 300, ...options });
  for (let sequence = 1; sequence <= count; sequence++) {
    await wal.append(`r${sequence}`);
    await wal.flush();
  }
  await wal.close();
  return dir;
}

/** Opening `dir` fails with a corruption of `kind` under every policy, and changes no file. */
async function expectRefused(dir: string, kind: string): Promise<void> {
  const before = await snapshot(dir);
  for (const repair of POLICIES) {
    const error = await Wal.open(dir, { repair, segmentBytes: 300 }).then(
      async (wal) => {
        await wal.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(error, repair).toBeInstanceOf(WalCorruptionError);
    expect((error as WalCorruptionError).corruption.kind, repair).toBe(kind);
    expect(await snapshot(dir), repair).toEqual(before);
  }
}

describe("a segment deleted by hand", () => {
  test("in the middle: missing-segment", async () => {
    const dir = await writtenLog(20);
    const names = await segmentFiles(dir);
    expect(names.length).toBeGreaterThanOrEqual(4);
    await unlink(`${dir}/${names[1]}`);
    await expectRefused(dir, "missing-segment");
  });

  test("the newest: missing-segment (its sequences would be reused)", async () => {
    const dir = await writtenLog(20);
    const names = await segmentFiles(dir);
    await unlink(`${dir}/${names.at(-1)}`);
    await expectRefused(dir, "missing-segment");
  });

  test("the newest, when it is empty after a rotation: missing-segment", async () => {
    const dir = await writtenLog(20);
    const wal = await Wal.open(dir, { segmentBytes: 300 });
    await wal.rotate();
    const count = wal.stats().segments;
    await wal.close();
    const names = await segmentFiles(dir);
    expect(names.length).toBe(count);
    await unlink(`${dir}/${names.at(-1)}`);
    await expectRefused(dir, "missing-segment");
  });

  test("the oldest, which holds the front: missing-segment", async () => {
    const dir = await writtenLog(20);
    const wal = await Wal.open(dir, { segmentBytes: 300 });
    await wal.truncateFront(5);
    const first = wal.firstSequence;
    await wal.close();
    expect(first).toBe(5);
    const names = await segmentFiles(dir);
    await unlink(`${dir}/${names[0]}`);
    await expectRefused(dir, "missing-segment");
  });

  test("every segment: missing-segment", async () => {
    const dir = await writtenLog(20);
    for (const name of await segmentFiles(dir)) await unlink(`${dir}/${name}`);
    await expectRefused(dir, "missing-segment");
  });
});

describe("a segment copied in from another log", () => {
  test("replacing one of the same name, with the same records: foreign-segment", async () => {
    const dir = await writtenLog(20);
    const other = await writtenLog(20);
    const names = await segmentFiles(dir);
    expect(await segmentFiles(other)).toEqual(names);
    await copyFile(`${other}/${names[1]}`, `${dir}/${names[1]}`);
    await expectRefused(dir, "foreign-segment");
  });

  test("added after the newest: foreign-segment", async () => {
    const dir = await writtenLog(10);
    const other = await writtenLog(20);
    const ours = await segmentFiles(dir);
    const theirs = (await segmentFiles(other)).filter((name) => name > ours.at(-1)!);
    expect(theirs.length).toBeGreaterThan(0);
    await copyFile(`${other}/${theirs[0]}`, `${dir}/${theirs[0]}`);
    await expectRefused(dir, "foreign-segment");
  });
});

describe("the bounds file", () => {
  test("deleted after truncateFront: missing-bounds, not the removed records back", async () => {
    const dir = await writtenLog(20);
    const wal = await Wal.open(dir, { segmentBytes: 300 });
    await wal.truncateFront(8);
    await wal.close();
    await unlink(`${dir}/wal.bounds`);
    await expectRefused(dir, "missing-bounds");
  });

  test("deleted from a log never truncated: missing-bounds", async () => {
    const dir = await writtenLog(20);
    await unlink(`${dir}/wal.bounds`);
    await expectRefused(dir, "missing-bounds");
  });

  test("exists from the first open on, and a crash anywhere in creating a log opens it empty", async () => {
    const reference = new MemoryFileSystem({ seed: 3 });
    const created = await Wal.open("/data/log", { fs: reference });
    const operations = reference.operationCount;
    await created.close();
    expect(await reference.readdir("/data/log")).toContain("wal.bounds");
    let states = 0;
    for (let crashAt = 1; crashAt <= operations; crashAt++) {
      const fs = new MemoryFileSystem({ seed: 3 });
      fs.crashAtOperation(crashAt);
      await expect(Wal.open("/data/log", { fs })).rejects.toThrow();
      for (const outcome of CRASH_OUTCOMES) {
        const rebooted = fs.crash(outcome);
        const wal = await Wal.open("/data/log", { fs: rebooted, baseSequence: 7 });
        expect(await rebooted.readdir("/data/log"), `crash at ${crashAt}, ${outcome}`).toContain("wal.bounds");
        expect(wal.stats().records).toBe(0);
        await wal.append("first");
        await wal.close();
        states++;
      }
    }
    expect(states).toBeGreaterThan(operations);
  });
});

describe("explicit rotation applies retention (cleanupOnRotate)", () => {
  /** Rotates ten times, one record before each, and returns the segment count the log and the directory report. */
  async function tenRotations(options: WalOptions<unknown>): Promise<{ stats: number; files: number; first: number }> {
    const dir = `${await useTempDir()}/log`;
    let nowMs = 1_000_000;
    const wal = await Wal.open(dir, { ...options, now: () => nowMs });
    for (let index = 0; index < 10; index++) {
      await wal.append(`r${index + 1}`);
      nowMs += 1000;
      await wal.rotate();
    }
    const result = { stats: wal.stats().segments, files: (await segmentFiles(dir)).length, first: wal.firstSequence };
    await wal.close();
    return result;
  }

  test("maxSegments", async () => {
    expect(await tenRotations({ maxSegments: 2 })).toEqual({ stats: 2, files: 2, first: 10 });
    expect(await tenRotations({ maxSegments: 2, cleanupOnRotate: false })).toMatchObject({ stats: 11, files: 11 });
  });

  test("maxTotalBytes", async () => {
    // an empty segment is 64 bytes, one with r9 64 + 36 + 56 = 156, with r10 157
    expect(await tenRotations({ maxTotalBytes: 64 + 2 * 157 })).toEqual({ stats: 3, files: 3, first: 9 });
  });

  test("maxAgeMs", async () => {
    expect(await tenRotations({ maxAgeMs: 2500 })).toEqual({ stats: 3, files: 3, first: 9 });
  });
});

describe("a non-regular file where a file of the log should be", () => {
  /** Opening refuses within a second with `WalIoError`, then opens once the FIFO is gone (the lock was released). */
  async function expectFifoRefused(dir: string, fifo: string, attempt: () => Promise<unknown> = () => Wal.open(dir, { segmentBytes: 300 })): Promise<void> {
    execFileSync("mkfifo", [fifo]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("still opening after 2 s"), 2000);
    });
    const outcome = await Promise.race([attempt().then((opened) => opened, (e: unknown) => e), hung]);
    clearTimeout(timer);
    if (outcome === "still opening after 2 s") {
      // unblock the reader stuck in open(2) so that the test process can end
      const writer = await open(fifo, "w");
      await writer.close();
    }
    expect(outcome).toBeInstanceOf(WalIoError);
    expect(String((outcome as Error).message)).toContain("not a regular file");
    await unlink(fifo);
  }

  test("an older segment", async () => {
    const dir = await writtenLog(3, { baseSequence: 100 });
    const name = (await segmentFiles(dir))[0]!;
    await expectFifoRefused(dir, `${dir}/00000000000000000001.wal`);
    const wal = await Wal.open(dir, { segmentBytes: 300 });
    expect(wal.stats().records).toBe(3);
    await wal.close();
    expect((await segmentFiles(dir))[0]).toBe(name);
  });

  test("a segment under a reader: WalReader and Wal.follow refuse it instead of blocking", async () => {
    const dir = await writtenLog(3);
    const segment = (await segmentFiles(dir)).at(-1)!;
    await rename(`${dir}/${segment}`, `${dir}/segment.saved`);
    await expectFifoRefused(dir, `${dir}/${segment}`, async () => {
      for await (const _ of WalReader.open(`${dir}/${segment}`));
    });
    await expectFifoRefused(dir, `${dir}/${segment}`, async () => {
      for await (const _ of Wal.follow(dir, { pollMs: 5 }));
    });
  });

  test("the bounds file", async () => {
    const dir = await writtenLog(3);
    await rename(`${dir}/wal.bounds`, `${dir}/bounds.saved`).catch(() => undefined);
    await expectFifoRefused(dir, `${dir}/wal.bounds`);
    await rename(`${dir}/bounds.saved`, `${dir}/wal.bounds`).catch(() => undefined);
    const wal = await Wal.open(dir, { segmentBytes: 300 });
    expect(wal.stats().records).toBe(3);
    await wal.close();
  });
});
