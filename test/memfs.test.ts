/**
 * The Node adapter runs on any module shaped like `node:fs`: here memfs, the
 * in-memory filesystem many projects already fake the disk with in unit
 * tests. A single-file log and a segmented one are written, reopened, read,
 * locked and repaired entirely inside a memfs volume, and nothing reaches
 * the real disk. (memfs has no page cache and no crashes, so it proves the
 * adapter, not crash safety: that is the simulator's job, see the README.)
 */

import { existsSync } from "node:fs";
import { Volume } from "memfs";
import { expect, test } from "vitest";
import { NodeFileSystem } from "../adapters/node.ts";
import { Wal, WalCorruptionError, WalLockedError, WalReader, WalWriter } from "../mod.ts";

/** A fresh memfs volume, the adapter on it, and a root directory name no real disk has. */
function memfs(): { volume: Volume; fs: NodeFileSystem; root: string } {
  const volume = new Volume();
  const root = `/tswal-memfs-${crypto.randomUUID()}`;
  return { volume, fs: new NodeFileSystem({ fs: volume }), root };
}

/** Everything an async iterable yields (`Array.fromAsync`, which Node 20 lacks). */
async function all<R>(records: AsyncIterable<R>): Promise<R[]> {
  const collected: R[] = [];
  for await (const record of records) collected.push(record);
  return collected;
}

test("a log file is created, written, locked, reopened and read inside a memfs volume, and never on the real disk", async () => {
  const { volume, fs, root } = memfs();
  const path = `${root}/data/orders.wal`;
  const writer = await WalWriter.open(path, { fs });
  await writer.append({ order: 1 });
  await writer.appendBatch([{ order: 2 }, { order: 3 }]);
  await writer.flush();
  await expect(WalWriter.open(path, { fs })).rejects.toBeInstanceOf(WalLockedError);
  await writer.close();

  expect(volume.existsSync(path)).toBe(true);
  expect(existsSync(root)).toBe(false);
  const reopened = await WalWriter.open(path, { fs, create: false });
  expect(reopened.currentSequence).toBe(3);
  await reopened.close();
  const values = (await all(WalReader.open(path, { fs }))).map((record) => record.value);
  expect(values).toEqual([{ order: 1 }, { order: 2 }, { order: 3 }]);
});

test("a torn tail in a memfs volume is refused by a strict open and cut by truncate-partial, its bytes kept beside the log", async () => {
  const { volume, fs, root } = memfs();
  const path = `${root}/orders.wal`;
  const writer = await WalWriter.open(path, { fs });
  await writer.append("kept");
  await writer.close();
  volume.appendFileSync(path, new Uint8Array(40).fill(0xab));

  await expect(WalWriter.open(path, { fs })).rejects.toBeInstanceOf(WalCorruptionError);
  const repaired = await WalWriter.open(path, { fs, repair: "truncate-partial" });
  expect(repaired.repaired).not.toBeNull();
  expect(repaired.currentSequence).toBe(1);
  await repaired.close();
  const torn = volume.readdirSync(root).map(String).filter((name) => name.endsWith(".torn"));
  expect(torn.length).toBe(1);
});

test("a segmented log rotates, truncates and follows inside a memfs volume", async () => {
  const { volume, fs, root } = memfs();
  const dir = `${root}/segments`;
  const wal = await Wal.open(dir, { fs, segmentBytes: 256 });
  for (let index = 1; index <= 20; index++) await wal.append({ index });
  await wal.flush();
  await wal.rotate();
  await wal.truncateFront(5);
  expect(wal.stats().segments).toBeGreaterThan(1);
  await wal.close();

  expect(volume.readdirSync(dir).map(String)).toContain("wal.bounds");
  const signal = AbortSignal.abort();
  const followed = await all(Wal.follow(dir, { fs, from: 0, signal }));
  expect(followed.length).toBeLessThanOrEqual(16);
  const reopened = await Wal.open(dir, { fs, create: false });
  const read = (await all(reopened.read())).map((record) => record.sequence);
  expect(read).toEqual(Array.from({ length: 16 }, (_, index) => index + 5));
  await reopened.close();
  expect(existsSync(root)).toBe(false);
});
