/**
 * The observer options: `onSync` is told about every batch once it is
 * written and synced (its bytes, records, and how long the write and fsync
 * took), `onRepair` about what opening cut; both on `WalWriter` and `Wal`.
 * An observer that throws cannot fail the log; one of the wrong type is
 * refused at open.
 */

import { appendFile, stat } from "node:fs/promises";
import { expect, test } from "vitest";
import { type Repair, Wal, WalArgumentError, WalWriter } from "../mod.ts";
import { useTempDir } from "./helpers.ts";

/** What `onSync` is told. */
interface SyncEvent {
  readonly bytes: number;
  readonly records: number;
  readonly durationMs: number;
  readonly syncMs: number;
}

/** The file header's size (docs/FORMAT.md): what a log file holds besides its batches. */
const FILE_HEADER_BYTES = 64;

test("WalWriter.onSync is told each batch's bytes and records, which add up to the file; durations are not negative", async () => {
  const dir = await useTempDir();
  const events: SyncEvent[] = [];
  const writer = await WalWriter.open(`${dir}/orders.wal`, { onSync: (event) => events.push(event) });
  await writer.append({ order: 1 });
  await writer.append({ order: 2 });
  await writer.flush();
  await writer.appendBatch([{ order: 3 }, { order: 4 }, { order: 5 }]);
  await writer.flush();
  await writer.flush(); // nothing pending: no batch, no event
  await writer.close();

  expect(events.map((event) => event.records)).toEqual([2, 3]);
  const size = (await stat(`${dir}/orders.wal`)).size;
  expect(events.reduce((sum, event) => sum + event.bytes, 0)).toBe(size - FILE_HEADER_BYTES);
  for (const event of events) {
    expect(event.syncMs).toBeGreaterThanOrEqual(0);
    expect(event.durationMs).toBeGreaterThanOrEqual(event.syncMs);
  }
});

test("Wal.onSync is told every batch of every segment", async () => {
  const dir = await useTempDir();
  const events: SyncEvent[] = [];
  const wal = await Wal.open(`${dir}/log`, { segmentBytes: 256, onSync: (event) => events.push(event) });
  for (let index = 1; index <= 12; index++) {
    await wal.append({ index });
    if (index % 3 === 0) await wal.flush();
  }
  await wal.close();
  expect(wal.stats().segments).toBeGreaterThan(1);
  expect(events.reduce((sum, event) => sum + event.records, 0)).toBe(12);
});

test("onRepair is told what opening cut, on WalWriter and Wal, and an observer that throws fails nothing", async () => {
  const dir = await useTempDir();
  const writer = await WalWriter.open(`${dir}/orders.wal`);
  await writer.append("kept");
  await writer.close();
  await appendFile(`${dir}/orders.wal`, new Uint8Array(40).fill(0xab));
  const wal = await Wal.open(`${dir}/log`);
  await wal.append("kept");
  await wal.close();
  await appendFile(`${dir}/log/00000000000000000001.wal`, new Uint8Array(40).fill(0xab));

  const repairs: Repair[] = [];
  const thrower = (): void => {
    throw new Error("an observer's own bug");
  };
  const repairedWriter = await WalWriter.open(`${dir}/orders.wal`, { repair: "truncate-partial", onRepair: (repair) => repairs.push(repair), onSync: thrower });
  await repairedWriter.append("after");
  await repairedWriter.flush();
  await repairedWriter.close();
  const repairedWal = await Wal.open(`${dir}/log`, { repair: "truncate-partial", onRepair: (repair) => repairs.push(repair), onSync: thrower });
  await repairedWal.append("after");
  await repairedWal.flush();
  await repairedWal.close();

  expect(repairs).toEqual([repairedWriter.repaired, repairedWal.repaired]);
  expect(repairs.map((repair) => repair.bytes)).toEqual([40, 40]);
  expect(repairedWriter.currentSequence).toBe(2);
  expect(repairedWal.currentSequence).toBe(2);
});

test("an observer that is not a function is refused at open", async () => {
  const dir = await useTempDir();
  await expect(WalWriter.open(`${dir}/x.wal`, { onSync: "histogram" as never })).rejects.toBeInstanceOf(WalArgumentError);
  await expect(Wal.open(`${dir}/y`, { onRepair: {} as never })).rejects.toBeInstanceOf(WalArgumentError);
});
