/**
 * Rollback and poisoning, with faults injected by the in-memory filesystem:
 * a failed batch write leaves the file byte-identical, discards the
 * unwritten records and leaves the writer usable; a failed rollback or a
 * failed fsync poisons the writer, which then never writes another byte;
 * stale locks of dead processes are taken over.
 */

import { describe, expect, test } from "vitest";
import { MemoryFileSystem } from "../sim/mod.ts";
import { WalIoError, WalLockedError, WalPoisonedError, WalReader, WalWriter } from "../mod.ts";

const PATH = "/data/log.wal";

/** Creates /data durably (the log's own directory entries are the writer's job). */
async function makeDataDir(fs: MemoryFileSystem): Promise<void> {
  await fs.mkdir("/data");
  await fs.syncDir("/");
}

async function freshLog(fs: MemoryFileSystem, values: unknown[]): Promise<WalWriter> {
  await makeDataDir(fs);
  const writer = await WalWriter.open(PATH, { fs });
  for (const value of values) await writer.append(value);
  await writer.flush();
  return writer;
}

async function valuesIn(fs: MemoryFileSystem): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const record of WalReader.open(PATH, { fs })) out.push(record.value);
  return out;
}

function bytesOf(fs: MemoryFileSystem): Uint8Array {
  const found = fs.snapshot().get(PATH);
  if (!(found instanceof Uint8Array)) throw new Error(`${PATH} missing`);
  return found.slice();
}

describe("rollback", () => {
  for (const code of ["EIO", "ENOSPC"] as const) {
    test(`a batch write failing with ${code} after every possible prefix is rolled back and discarded; the writer stays usable`, async () => {
      const batchBytes = 32 + JSON.stringify("x".repeat(50)).length + 56;
      for (let landed = 0; landed < batchBytes; landed++) {
        const fs = new MemoryFileSystem({ seed: landed });
        const writer = await freshLog(fs, ["a", "b"]);
        const before = bytesOf(fs);
        fs.injectFault({ op: "write", code, bytesWritten: landed });
        expect(await writer.append("x".repeat(50))).toBe(3);
        const error = await writer.flush().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WalIoError);
        expect(((error as WalIoError).cause as { code: string }).code).toBe(code);
        expect(bytesOf(fs)).toEqual(before);
        expect(writer.poisoned).toBe(false);
        expect(writer.currentSequence).toBe(2);
        expect(await writer.append("c")).toBe(3);
        await writer.close();
        expect(await valuesIn(fs)).toEqual(["a", "b", "c"]);
      }
    });
  }

  test("a batch that must grow the file (past the preallocated zeros) failing after a prefix leaves the file byte-identical, zeros and size included", async () => {
    const big = "y".repeat(6000); // more than the 4 KiB of zeros the first batch left after it
    const batchBytes = 32 + JSON.stringify(big).length + 56;
    for (let landed = 0; landed < batchBytes + 4096; landed += 211) {
      const fs = new MemoryFileSystem({ seed: landed });
      const writer = await freshLog(fs, ["a", "b"]);
      const before = bytesOf(fs);
      expect(before.at(-1)).toBe(0); // preallocated space after the first batch
      fs.injectFault({ op: "write", code: "ENOSPC", bytesWritten: landed });
      await writer.append(big);
      await expect(writer.flush()).rejects.toBeInstanceOf(WalIoError);
      expect(bytesOf(fs)).toEqual(before);
      expect(await writer.append("c")).toBe(3);
      await writer.close();
      expect(await valuesIn(fs)).toEqual(["a", "b", "c"]);
    }
  });

  test("records accepted while the failed batch was in flight are discarded too; every flush covering them is told", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    await writer.append("b");
    fs.injectFault({ op: "write", code: "ENOSPC", bytesWritten: 10 });
    const first = writer.flush();
    expect(await writer.append("c")).toBe(3);
    const second = writer.flush();
    await expect(first).rejects.toBeInstanceOf(WalIoError);
    await expect(second).rejects.toBeInstanceOf(WalIoError);
    expect(writer.poisoned).toBe(false);
    expect(writer.currentSequence).toBe(1);
    await writer.flush(); // reported already: nothing pending, nothing to report
    expect(await writer.append("d")).toBe(2);
    await writer.flush();
    const durable = fs.crash("lose-unsynced");
    expect(await valuesIn(durable)).toEqual(["a", "d"]);
  });

  test("a batch that fills up and fails with no flush waiting is reported by the next flush", async () => {
    const fs = new MemoryFileSystem();
    await makeDataDir(fs);
    const writer = await WalWriter.open(PATH, { fs, maxBatchBytes: 1024 });
    fs.injectFault({ op: "write", code: "EIO", bytesWritten: 5 });
    for (let i = 0; i < 20; i++) await writer.append("y".repeat(100));
    const error = await writer.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalIoError);
    expect(writer.poisoned).toBe(false);
    const kept = writer.currentSequence;
    await writer.flush();
    await writer.close();
    expect((await valuesIn(fs)).length).toBe(kept);
  });

  test("a failed rollback poisons the writer, which never writes again", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    fs.injectFault({ op: "write", code: "EIO", bytesWritten: 7 });
    fs.injectFault({ op: "truncate", code: "EIO" });
    await writer.append("b");
    const error = await writer.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalPoisonedError);
    expect(writer.poisoned).toBe(true);
    const after = bytesOf(fs);
    const logWrites = () => fs.pendingOperations().filter((op) => JSON.stringify(op).includes(PATH) && op.kind === "write").length;
    const writesWhenPoisoned = logWrites();
    await expect(writer.append("c")).rejects.toBeInstanceOf(WalPoisonedError);
    await expect(writer.flush()).rejects.toBeInstanceOf(WalPoisonedError);
    await writer.close();
    expect(bytesOf(fs)).toEqual(after);
    expect(logWrites()).toBe(writesWhenPoisoned);
  });

  test("a failed sync during rollback poisons the writer", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    fs.injectFault({ op: "write", code: "EIO", bytesWritten: 3 });
    fs.injectFault({ op: "sync", code: "EIO" });
    await writer.append("b");
    await expect(writer.flush()).rejects.toBeInstanceOf(WalPoisonedError);
    await expect(writer.append("c")).rejects.toBeInstanceOf(WalPoisonedError);
    expect(writer.poisoned).toBe(true);
    await writer.close();
  });
});

describe("fsync failure", () => {
  test("a failed fsync in flush poisons; a retry never happens; the data is not claimed durable", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    await writer.append("b");
    fs.injectFault({ op: "sync", code: "EIO" });
    const error = await writer.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalPoisonedError);
    expect(((error as WalPoisonedError).cause as { code: string }).code).toBe("EIO");
    const written = bytesOf(fs);
    await expect(writer.flush()).rejects.toBeInstanceOf(WalPoisonedError);
    await expect(writer.append("c")).rejects.toBeInstanceOf(WalPoisonedError);
    await writer.close();
    expect(bytesOf(fs)).toEqual(written);
    // the dirty page with "b" was dropped by the failed fsync: after a crash only "a" is there
    const rebooted = fs.crash("keep-unsynced");
    expect(await valuesIn(rebooted)).toEqual(["a"]);
    const reopened = await WalWriter.open(PATH, { fs: rebooted, repair: "truncate-partial" });
    expect(reopened.currentSequence).toBe(1);
    await reopened.close();
  });

  test("an fsync failing under sync: \"always\" rejects every append it would have covered, and poisons", async () => {
    const fs = new MemoryFileSystem();
    await makeDataDir(fs);
    const writer = await WalWriter.open(PATH, { fs, sync: "always" });
    expect(await writer.append("a")).toBe(1);
    fs.injectFault({ op: "sync", code: "EIO" });
    const results = await Promise.allSettled([writer.append("b"), writer.append("c")]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect(writer.poisoned).toBe(true);
    await writer.close();
    expect(await valuesIn(fs.crash("keep-unsynced"))).toEqual(["a"]);
  });
});

describe("group commit", () => {
  test("fifty concurrent append-then-flush callers share one batch: one fsync in all", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["first"]);
    const syncsBefore = countSyncs(fs);
    const sequences = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const sequence = await writer.append({ i });
        await writer.flush();
        return sequence;
      }),
    );
    expect(countSyncs(fs) - syncsBefore).toBe(1);
    expect(new Set(sequences).size).toBe(50);
    const durable = fs.crash("lose-unsynced");
    expect(await valuesIn(durable)).toHaveLength(51);
    await writer.close().catch(() => undefined);
  });
});

describe("durability modes", () => {
  test("sync: \"always\" resolves an append only once it is durable; concurrent appends share one fsync", async () => {
    const fs = new MemoryFileSystem();
    await makeDataDir(fs);
    const writer = await WalWriter.open(PATH, { fs, sync: "always" });
    await writer.append("first");
    const syncsBefore = countSyncs(fs);
    const sequences = await Promise.all(Array.from({ length: 20 }, (_, i) => writer.append({ i })));
    expect(sequences).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(countSyncs(fs) - syncsBefore).toBeLessThanOrEqual(2);
    expect(await valuesIn(fs.crash("lose-unsynced"))).toHaveLength(21);
    await writer.close().catch(() => undefined);
  });

  test("sync: { intervalMs } makes appends durable in the background; a background failure poisons", async () => {
    const fs = new MemoryFileSystem();
    await makeDataDir(fs);
    const writer = await WalWriter.open(PATH, { fs, sync: { intervalMs: 5 } });
    const syncsBefore = countSyncs(fs);
    await writer.append("a");
    expect(countSyncs(fs)).toBe(syncsBefore);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(countSyncs(fs)).toBe(syncsBefore + 1);
    expect(await valuesIn(fs)).toEqual(["a"]);
    fs.injectFault({ op: "sync", code: "EIO" });
    await writer.append("b");
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(writer.poisoned).toBe(true);
    await expect(writer.append("c")).rejects.toBeInstanceOf(WalPoisonedError);
    await writer.close();
  });

  test("appendBatch puts its records in one batch: a crash keeps all or none of them", async () => {
    for (let landed = 0; landed < 400; landed += 7) {
      const fs = new MemoryFileSystem({ seed: landed });
      const writer = await freshLog(fs, ["a"]);
      expect(await writer.appendBatch(["b", "c", "d"])).toBe(4);
      fs.injectFault({ op: "sync", code: "EIO" });
      await writer.flush().catch(() => undefined);
      const values = await valuesIn(fs.crash("keep-unsynced"));
      expect([["a"], ["a", "b", "c", "d"]]).toContainEqual(values);
    }
  });

  test("bad sync and batch options are refused before anything is created", async () => {
    const fs = new MemoryFileSystem();
    await makeDataDir(fs);
    for (const options of [{ sync: "sometimes" }, { sync: { intervalMs: 0 } }, { sync: { intervalMs: 5, extra: 1 } }, { maxBatchBytes: 10 }, { now: 5 }]) {
      await expect(WalWriter.open(PATH, { fs, ...(options as object) })).rejects.toMatchObject({ code: "WAL_ARGUMENT" });
    }
    expect(fs.snapshot().has(PATH)).toBe(false);
  });
});

/** Sync operations the filesystem has seen so far (fault rule bookkeeping is not involved). */
function countSyncs(fs: MemoryFileSystem): number {
  return fs.syncCount;
}

describe("locks", () => {
  test("a lock left by a dead process is taken over; a live one is refused", async () => {
    const fs = new MemoryFileSystem();
    await makeDataDir(fs);
    const other = fs.withProcess(4242);
    const held = await WalWriter.open(PATH, { fs: other });
    const refused = await WalWriter.open(PATH, { fs }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WalLockedError);
    expect((refused as WalLockedError).holder?.pid).toBe(4242);
    void held; // never closed: its process dies holding the lock
    fs.killProcess(4242);
    const writer = await WalWriter.open(PATH, { fs });
    expect(writer.currentSequence).toBe(0);
    await writer.close();
  });

  test("after a machine crash the lock of the previous boot does not block", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    void writer;
    const rebooted = fs.crash("keep-unsynced");
    const reopened = await WalWriter.open(PATH, { fs: rebooted });
    expect(reopened.currentSequence).toBe(1);
    await reopened.close();
  });
});
