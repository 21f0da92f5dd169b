/**
 * Bad input from a user, checked at the door: a clock returning what the
 * format cannot store, options that are not objects, a follow signal that is
 * not an `AbortSignal`, a codec without `decode`, an empty path; and what
 * `close` does to calls made before it (they complete).
 */

import { readdir } from "node:fs/promises";
import process from "node:process";
import { describe, expect, test } from "vitest";
import { type Codec, Wal, WalArgumentError, WalClosedError, WalReader, WalWriter } from "../mod.ts";
import { useTempDir } from "./helpers.ts";

/** Everything an async iterable yields (`Array.fromAsync`, which Node 20 lacks). */
async function all<R>(records: AsyncIterable<R>): Promise<R[]> {
  const collected: R[] = [];
  for await (const record of records) collected.push(record);
  return collected;
}

/** Values a broken clock might return: none of them is a record time. */
const BAD_TIMES: readonly unknown[] = [Number.NaN, -1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, "1700000000000", undefined];

describe("the record clock", () => {
  test("a time the format cannot store is refused at append; nothing is accepted and the log still opens with every flushed record", async () => {
    const dir = await useTempDir();
    let clock: unknown = 1_700_000_000_000;
    const wal = await Wal.open(`${dir}/log`, { now: () => clock as number });
    await wal.append("kept");
    await wal.flush();
    for (const bad of BAD_TIMES) {
      clock = bad;
      await expect(wal.append("lost"), String(bad)).rejects.toBeInstanceOf(WalArgumentError);
      await expect(wal.appendBatch(["lost", "lost"]), String(bad)).rejects.toBeInstanceOf(WalArgumentError);
    }
    clock = 1_700_000_000_001;
    await wal.flush();
    expect(wal.currentSequence).toBe(1);
    await wal.close();
    const reopened = await Wal.open(`${dir}/log`);
    expect((await all(reopened.read())).map((record) => record.value)).toEqual(["kept"]);
    await reopened.close();
  });

  test("a NaN clock makes cleanup by age refuse, deleting nothing", async () => {
    const dir = await useTempDir();
    let clock = Date.now();
    const wal = await Wal.open(`${dir}/log`, { now: () => clock, maxAgeMs: 24 * 3600 * 1000, segmentBytes: 200, cleanupOnRotate: false });
    for (let n = 1; n <= 10; n++) {
      await wal.append(`r${n}`);
      await wal.flush();
    }
    clock = Number.NaN;
    await expect(wal.cleanup()).rejects.toBeInstanceOf(WalArgumentError);
    clock = Date.now();
    await wal.cleanup(); // seconds-old records are well within a day
    expect((await all(wal.read())).length).toBe(10);
    await wal.close();
  });
});

describe("options", () => {
  test("an options argument that is not an object is refused with WalArgumentError at every entry point", async () => {
    const dir = await useTempDir();
    const bad = null as unknown as object;
    await expect(Wal.open(`${dir}/log`, bad)).rejects.toBeInstanceOf(WalArgumentError);
    await expect(WalWriter.open(`${dir}/file.wal`, bad)).rejects.toBeInstanceOf(WalArgumentError);
    expect(() => WalReader.open(`${dir}/file.wal`, bad)).toThrow(WalArgumentError);
    expect(() => Wal.follow(`${dir}/log`, bad)).toThrow(WalArgumentError);
    const wal = await Wal.open(`${dir}/log`);
    expect(() => wal.read(bad)).toThrow(WalArgumentError);
    expect(() => wal.follow(bad)).toThrow(WalArgumentError);
    await expect(wal.append("x", bad)).rejects.toBeInstanceOf(WalArgumentError);
    await expect(wal.append("x", 5 as unknown as object)).rejects.toBeInstanceOf(WalArgumentError);
    expect(wal.currentSequence).toBe(0);
    await wal.close();
  });

  test("a follow signal that is not an AbortSignal is refused at the call, and nothing is left armed to fail later", async () => {
    const dir = await useTempDir();
    const wal = await Wal.open(`${dir}/log`);
    await wal.append("r1");
    await wal.flush();
    const controller = new AbortController();
    for (const signal of [controller, {}, "abort", 1]) {
      const options = { signal } as unknown as { signal: AbortSignal };
      expect(() => wal.follow(options)).toThrow(WalArgumentError);
      expect(() => Wal.follow(`${dir}/log`, { ...options, pollMs: 1 })).toThrow(WalArgumentError);
    }
    // A poll timer armed by a half-started follower would fire (and throw, uncaught) within this wait.
    await new Promise((resolve) => setTimeout(resolve, 30));
    await wal.close();
  });

  test("a codec without encode or decode, or an fs that is not an adapter, is refused before anything is created", async () => {
    const dir = await useTempDir();
    const noDecode = { name: "half", encode: (value: unknown) => new TextEncoder().encode(String(value)) } as unknown as Codec<unknown>;
    for (const options of [{ codec: noDecode }, { codec: "json" as unknown as Codec<unknown> }, { fs: {} as never }]) {
      await expect(Wal.open(`${dir}/log`, options)).rejects.toBeInstanceOf(WalArgumentError);
      await expect(WalWriter.open(`${dir}/file.wal`, options)).rejects.toBeInstanceOf(WalArgumentError);
      expect(() => WalReader.open(`${dir}/file.wal`, options)).toThrow(WalArgumentError);
      expect(() => Wal.follow(`${dir}/log`, options)).toThrow(WalArgumentError);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  test('an empty path, or one ending in "/", is refused and leaves nothing behind (not even in the working directory)', async () => {
    const dir = await useTempDir();
    const before = await readdir(process.cwd());
    for (const path of ["", `${dir}/`, `${dir}/x\0y`]) {
      await expect(WalWriter.open(path), JSON.stringify(path)).rejects.toBeInstanceOf(WalArgumentError);
      await expect(Wal.open(path), JSON.stringify(path)).rejects.toBeInstanceOf(WalArgumentError);
      expect(() => WalReader.open(path)).toThrow(WalArgumentError);
    }
    expect(await readdir(process.cwd())).toEqual(before);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("close", () => {
  for (const kind of ["Wal", "WalWriter"] as const) {
    test(`${kind}: appends and flushes called before close complete normally; calls after it are refused`, async () => {
      const dir = await useTempDir();
      const path = kind === "Wal" ? `${dir}/log` : `${dir}/file.wal`;
      // A small batch buffer: most appends wait in line for room, as they would behind a slow disk.
      const log = kind === "Wal" ? await Wal.open(path, { segmentBytes: 2_000 }) : await WalWriter.open(path, { maxBatchBytes: 1024 });
      const before: Promise<unknown>[] = [];
      for (let n = 1; n <= 100; n++) {
        before.push(log.append(`r${n}${".".repeat(100)}`));
        if (n % 25 === 0) before.push(log.flush());
      }
      const closing = log.close();
      const after = log.append("too late").catch((error: unknown) => error);
      expect(await Promise.allSettled(before)).toEqual(before.map(() => expect.objectContaining({ status: "fulfilled" })));
      expect(await after).toBeInstanceOf(WalClosedError);
      await closing;
      const values =
        kind === "Wal"
          ? await (async () => {
              const reopened = await Wal.open(path);
              const read = (await all(reopened.read())).map((record) => record.value);
              await reopened.close();
              return read;
            })()
          : (await all(WalReader.open(path))).map((record) => record.value);
      expect(values).toEqual(Array.from({ length: 100 }, (_, index) => `r${index + 1}${".".repeat(100)}`));
    });
  }
});
