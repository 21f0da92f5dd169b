/**
 * Rollback and poisoning, with faults injected by the in-memory filesystem:
 * a failed write leaves the file byte-identical and the writer usable; a
 * failed rollback or a failed fsync poisons the writer, which then never
 * writes another byte; stale locks of dead processes are taken over.
 */

import { describe, expect, test } from "vitest";
import { MemoryFileSystem } from "../adapters/memory.ts";
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
    test(`a write failing with ${code} after every possible prefix is rolled back; the writer stays usable`, async () => {
      const recordBytes = 32 + JSON.stringify("x".repeat(50)).length;
      for (let landed = 0; landed < recordBytes; landed++) {
        const fs = new MemoryFileSystem({ seed: landed });
        const writer = await freshLog(fs, ["a", "b"]);
        const before = bytesOf(fs);
        fs.injectFault({ op: "write", code, bytesWritten: landed });
        const error = await writer.append("x".repeat(50)).catch((e: unknown) => e);
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

  test("a failed commit write is rolled back too; the batch stays pending and a later flush commits it", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    await writer.append("b");
    fs.injectFault({ op: "write", code: "ENOSPC", bytesWritten: 10 });
    await expect(writer.flush()).rejects.toBeInstanceOf(WalIoError);
    expect(writer.poisoned).toBe(false);
    await writer.flush();
    const durable = fs.crash("lose-unsynced");
    expect(await valuesIn(durable)).toEqual(["a", "b"]);
  });

  test("a failed rollback poisons the writer, which never writes again", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    fs.injectFault({ op: "write", code: "EIO", bytesWritten: 7 });
    fs.injectFault({ op: "truncate", code: "EIO" });
    const error = await writer.append("b").catch((e: unknown) => e);
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
    await expect(writer.append("b")).rejects.toBeInstanceOf(WalPoisonedError);
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

  test("the second fsync of a flush failing poisons too", async () => {
    const fs = new MemoryFileSystem();
    const writer = await freshLog(fs, ["a"]);
    await writer.append("b");
    fs.injectFault({ op: "sync", nth: 2, code: "EIO" });
    await expect(writer.flush()).rejects.toBeInstanceOf(WalPoisonedError);
    expect(writer.poisoned).toBe(true);
    await writer.close();
  });
});

describe("group commit", () => {
  test("fifty concurrent append-then-flush callers share one commit: two fsyncs in all", async () => {
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
    expect(countSyncs(fs) - syncsBefore).toBe(2);
    expect(new Set(sequences).size).toBe(50);
    const durable = fs.crash("lose-unsynced");
    expect(await valuesIn(durable)).toHaveLength(51);
    await writer.close().catch(() => undefined);
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
