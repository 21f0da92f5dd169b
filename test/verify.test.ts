/**
 * `verify(path)` (src/segmented/verify.ts): the read-only check of a log file or a
 * segment directory, and `WalReader.tail`, on the real filesystem.
 */

import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import { defaultFileSystem } from "../adapters/auto.ts";
import { type FileSystem, verify, Wal, WalArgumentError, WalIoError, WalReader } from "../mod.ts";
import { useTempDir } from "./helpers.ts";
import { contents, finalBatchStart, overwrite, writeBatches } from "./log-files.ts";

/** The runtime's adapter, throwing on anything that could write, create, remove or lock. */
async function readOnlyFileSystem(): Promise<{ fs: FileSystem; calls: string[] }> {
  const base = await defaultFileSystem();
  const calls: string[] = [];
  const refuse = (name: string) => (): never => {
    calls.push(name);
    throw new Error(`verify called ${name}`);
  };
  const crc32 = base.crc32?.bind(base);
  const fs: FileSystem = {
    name: base.name,
    open: (path, mode) => (mode === "read" ? base.open(path, mode) : refuse(`open ${mode}`)()),
    stat: (path) => base.stat(path),
    readFile: (path) => base.readFile(path),
    readdir: (path) => base.readdir(path),
    process: () => base.process(),
    isProcessAlive: (pid) => base.isProcessAlive(pid),
    rename: refuse("rename"),
    link: refuse("link"),
    unlink: refuse("unlink"),
    mkdir: refuse("mkdir"),
    syncDir: refuse("syncDir"),
    ...(crc32 === undefined ? {} : { crc32 }),
  };
  return { fs, calls };
}

/** A segmented log in `dir` with one record per segment: 1..n, values {n}. */
async function writeSegments(dir: string, n: number): Promise<void> {
  const wal = await Wal.open(dir, { segmentBytes: 200 });
  for (let i = 1; i <= n; i++) {
    await wal.append({ n: i });
    await wal.flush();
  }
  await wal.close();
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith(".wal")).sort().map((name) => join(dir, name));
}

test("a sound file: records, batches, sequences, times, nothing written", async () => {
  const path = join(await useTempDir(), "a.wal");
  const bytes = await writeBatches(path, [[1, 2], [3], [4, 5, 6]]);
  const { fs, calls } = await readOnlyFileSystem();
  const report = await verify(path, { fs });
  expect(calls).toEqual([]);
  expect(report).toMatchObject({ layout: "file", status: "sound", formatVersion: 3, records: 6, batches: 3, firstSequence: 1, lastSequence: 6, bytes: bytes.length, tail: null, damage: null, front: null });
  expect(report.firstTimeMs).toBeGreaterThan(0);
  expect(report.lastTimeMs).toBeGreaterThanOrEqual(report.firstTimeMs!);
  expect(await contents(path)).toEqual(bytes);
});

test("a torn final batch is a torn tail at the batch's start; the intact records are counted; WalReader.tail reports it", async () => {
  const path = join(await useTempDir(), "a.wal");
  const bytes = await writeBatches(path, [[1, 2], [3], [4, 5, 6]]);
  await overwrite(path, bytes.subarray(0, bytes.length - 20));
  const report = await verify(path);
  expect(report.status).toBe("torn-tail");
  expect(report.tail).toMatchObject({ kind: "torn-batch", offset: finalBatchStart(bytes), path });
  expect(report).toMatchObject({ records: 3, batches: 2, lastSequence: 3, damage: null });
  const reader = WalReader.open(path);
  expect(reader.tail).toBe(null);
  const seen: number[] = [];
  for await (const record of reader) seen.push(record.sequence);
  expect(seen).toEqual([1, 2, 3]);
  expect(reader.tail).toMatchObject({ kind: "torn-batch", offset: finalBatchStart(bytes) });
  expect(await contents(path)).toEqual(bytes.subarray(0, bytes.length - 20));
});

test("a sound file read to its end leaves WalReader.tail null", async () => {
  const path = join(await useTempDir(), "a.wal");
  await writeBatches(path, [[1], [2]]);
  const reader = WalReader.open(path);
  for await (const _ of reader) void _;
  expect(reader.tail).toBe(null);
});

test("damage followed by a later batch is damage to durable data, with kind and offset", async () => {
  const path = join(await useTempDir(), "a.wal");
  const bytes = await writeBatches(path, [[1, 2], [3], [4, 5, 6]]);
  const damaged = bytes.slice();
  damaged[96] = damaged[96]! ^ 0x40; // the first payload byte of record 1
  await overwrite(path, damaged);
  const report = await verify(path);
  expect(report.status).toBe("damaged");
  expect(report.damage).toMatchObject({ kind: "checksum-mismatch", offset: 64, path });
  expect(report.tail).toBe(null);
  expect(await contents(path)).toEqual(damaged);
});

test("a directory: segments, the front, hidden records; read-only beside a live writer holding the lock", async () => {
  const dir = await useTempDir();
  await writeSegments(dir, 5);
  const wal = await Wal.open(dir, { segmentBytes: 200 });
  try {
    await wal.truncateFront(3);
    await wal.append({ n: 6 });
    await wal.flush();
    const { fs, calls } = await readOnlyFileSystem();
    const report = await verify(dir, { fs });
    expect(calls).toEqual([]);
    expect(report).toMatchObject({ layout: "directory", status: "sound", front: 3, records: 4, firstSequence: 3, lastSequence: 6 });
    expect(report.files.length).toBe(4);
    expect(report.files.every((file) => file.damage === null && file.tail === null)).toBe(true);
  } finally {
    await wal.close();
  }
});

test("a directory: a torn newest segment is a torn tail, a torn sealed one is damage", async () => {
  const dir = await useTempDir();
  await writeSegments(dir, 3);
  const files = await segmentFiles(dir);
  const newest = await contents(files.at(-1)!);
  await overwrite(files.at(-1)!, newest.subarray(0, newest.length - 10));
  const torn = await verify(dir);
  expect(torn.status).toBe("torn-tail");
  expect(torn.tail).toMatchObject({ offset: 64, path: files.at(-1)! });
  await overwrite(files.at(-1)!, newest);
  const sealed = await contents(files[0]!);
  await overwrite(files[0]!, sealed.subarray(0, sealed.length - 10));
  const damaged = await verify(dir);
  expect(damaged.status).toBe("damaged");
  expect(damaged.damage).toMatchObject({ offset: 64, path: files[0]! });
  expect(damaged.damage!.detail).toContain("sealed");
});

test("a directory missing a middle segment is damaged (missing-segment)", async () => {
  const dir = await useTempDir();
  await writeSegments(dir, 4);
  await unlink((await segmentFiles(dir))[1]!);
  const report = await verify(dir);
  expect(report.status).toBe("damaged");
  expect(report.damage?.kind).toBe("missing-segment");
});

test("nothing at the path, or no log in a directory, is a WalIoError; a misspelled option a WalArgumentError", async () => {
  const dir = await useTempDir();
  await expect(verify(join(dir, "absent.wal"))).rejects.toBeInstanceOf(WalIoError);
  await expect(verify(dir)).rejects.toBeInstanceOf(WalIoError);
  await expect(verify(dir, { maxRecordByte: 10 } as never)).rejects.toBeInstanceOf(WalArgumentError);
});
