/**
 * Which calls the Node adapter (also Bun's) makes: small writes on the
 * calling thread with `writeSync`, large ones through the thread pool, and
 * fsyncs through the thread pool with the callback `fdatasync` on the
 * descriptor (the handle's `datasync()` when the module has none) unless
 * `blockingSync` asks for `fdatasyncSync` (directory fsyncs, rare, always
 * use the thread pool). Checked by counting the calls of a module that
 * wraps the real `node:fs`, so the bytes still reach the disk and are read
 * back.
 */

import { Buffer } from "node:buffer";
import * as nodeFs from "node:fs";
import { describe, expect, test } from "vitest";
import { NodeFileSystem, type NodeFsFileHandle, type NodeFsModule, SYNC_WRITE_BYTES_MAX, SYNC_WRITE_CALL_BYTES_MAX } from "../adapters/node.ts";
import { WalPoisonedError, WalReader, WalWriter } from "../mod.ts";
import { utf8IntoPortable } from "../src/format/utf8.ts";
import { useTempDir } from "./helpers.ts";

/** How many times each counted call ran. */
interface Calls {
  writeSync: number;
  promiseWrite: number;
  fdatasyncSync: number;
  promiseDatasync: number;
  fdatasync: number;
}

/** `node:fs` with its synchronous write (and each one's length) and fsync, its callback fsync, and its handles' `write` and `datasync` counted. */
function countingModule(): { module: NodeFsModule; calls: Calls; writeSyncLengths: number[] } {
  const calls: Calls = { writeSync: 0, promiseWrite: 0, fdatasyncSync: 0, promiseDatasync: 0, fdatasync: 0 };
  /** The byte count asked of each `writeSync` call, in order. */
  const writeSyncLengths: number[] = [];
  /** Counts the calls on handles opened for writing (`r` opens a directory to fsync, or a file to read). */
  const countedHandle = (handle: NodeFsFileHandle, flags: string): NodeFsFileHandle => flags === "r" ? handle : ({
    fd: handle.fd,
    read: (...args) => handle.read(...args),
    write: (...args) => (calls.promiseWrite++, handle.write(...args)),
    truncate: (length) => handle.truncate(length),
    datasync: () => (calls.promiseDatasync++, handle.datasync()),
    stat: () => handle.stat(),
    close: () => handle.close(),
  });
  const promises = nodeFs.promises as unknown as NodeFsModule["promises"];
  const module: NodeFsModule = {
    promises: Object.assign(Object.create(promises) as NodeFsModule["promises"], {
      open: async (path: string, flags: string) => countedHandle(await promises.open(path, flags), flags),
    }),
    writeSync: (fd, buffer, offset, length, position) => {
      calls.writeSync++;
      writeSyncLengths.push(length);
      return nodeFs.writeSync(fd, buffer, offset, length, position);
    },
    fdatasyncSync: (fd) => (calls.fdatasyncSync++, nodeFs.fdatasyncSync(fd)),
    fdatasync: (fd, callback) => (calls.fdatasync++, nodeFs.fdatasync(fd, callback)),
  };
  return { module, calls, writeSyncLengths };
}

describe("NodeFileSystem calls", () => {
  test("writes up to SYNC_WRITE_BYTES_MAX with writeSync in calls of at most SYNC_WRITE_CALL_BYTES_MAX, larger ones and every fsync through the thread pool (fsyncs with the callback fdatasync)", async () => {
    const { module, calls, writeSyncLengths } = countingModule();
    const fs = new NodeFileSystem({ fs: module });
    const handle = await fs.open(`${await useTempDir()}/file`, "create");
    const small = new Uint8Array(SYNC_WRITE_BYTES_MAX).fill(1);
    const large = new Uint8Array(SYNC_WRITE_BYTES_MAX + 1).fill(2);
    await handle.write(small, 0);
    const syncCalls = SYNC_WRITE_BYTES_MAX / SYNC_WRITE_CALL_BYTES_MAX;
    expect(syncCalls).toBeGreaterThan(1);
    expect(calls).toEqual({ writeSync: syncCalls, promiseWrite: 0, fdatasyncSync: 0, promiseDatasync: 0, fdatasync: 0 });
    expect(writeSyncLengths).toEqual(Array.from({ length: syncCalls }, () => SYNC_WRITE_CALL_BYTES_MAX));
    await handle.write(large, small.length);
    await handle.sync();
    expect(calls).toEqual({ writeSync: syncCalls, promiseWrite: 1, fdatasyncSync: 0, promiseDatasync: 0, fdatasync: 1 });
    const back = new Uint8Array(small.length + large.length);
    expect(await handle.read(back, 0)).toBe(back.length);
    // Compared whole rather than with toEqual, which walks megabytes element by element for seconds.
    expect(Buffer.compare(back.subarray(0, small.length), small)).toBe(0);
    expect(Buffer.compare(back.subarray(small.length), large)).toBe(0);
    await handle.close();
  });

  test("without a callback fdatasync in the module, fsyncs go through the handle's datasync", async () => {
    const { module, calls } = countingModule();
    const { fdatasync: _, ...withoutCallbackFsync } = module;
    const handle = await new NodeFileSystem({ fs: withoutCallbackFsync }).open(`${await useTempDir()}/file`, "create");
    await handle.write(Uint8Array.of(1, 2, 3), 0);
    await handle.sync();
    await handle.close();
    expect(calls).toEqual({ writeSync: 1, promiseWrite: 0, fdatasyncSync: 0, promiseDatasync: 1, fdatasync: 0 });
  });

  test("a failed callback fdatasync rejects the sync with its error, and poisons the writer", async () => {
    const { module } = countingModule();
    let failing = false;
    const failure = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO", syscall: "fdatasync" });
    const flaky: NodeFsModule = {
      ...module,
      fdatasync: (fd, callback) => (failing ? queueMicrotask(() => callback(failure)) : module.fdatasync!(fd, callback)),
    };
    const fs = new NodeFileSystem({ fs: flaky });
    const handle = await fs.open(`${await useTempDir()}/file`, "create");
    failing = true;
    await expect(handle.sync()).rejects.toBe(failure);
    await handle.close();
    failing = false;
    const writer = await WalWriter.open(`${await useTempDir()}/orders.wal`, { fs });
    await writer.append({ order: 1 });
    failing = true;
    await expect(writer.flush()).rejects.toBeInstanceOf(WalPoisonedError);
    expect(writer.poisoned).toBe(true);
    await writer.close();
  });

  test("blockingSync makes every fsync of a log file with fdatasyncSync, and a log written that way reads back", async () => {
    const { module, calls } = countingModule();
    const fs = new NodeFileSystem({ fs: module, blockingSync: true });
    const path = `${await useTempDir()}/orders.wal`;
    const writer = await WalWriter.open(path, { fs });
    for (let order = 0; order < 5; order++) {
      await writer.append({ order });
      await writer.flush();
    }
    await writer.close();
    expect(calls.promiseDatasync).toBe(0);
    expect(calls.fdatasyncSync).toBeGreaterThanOrEqual(5);
    const orders: unknown[] = [];
    for await (const record of WalReader.open(path)) orders.push(record.value);
    expect(orders).toEqual([0, 1, 2, 3, 4].map((order) => ({ order })));
  });

  test("handles opened for reading never write synchronously", async () => {
    const { module, calls } = countingModule();
    const fs = new NodeFileSystem({ fs: module, blockingSync: true });
    const path = `${await useTempDir()}/file`;
    await (await fs.open(path, "create")).close();
    const reader = await fs.open(path, "read");
    await expect(reader.write(new Uint8Array(1), 0)).rejects.toMatchObject({ code: "EBADF" });
    await reader.close();
    expect(calls.writeSync).toBe(0);
  });

  test("a writer encodes text records with the adapter's utf8Into, and the log reads back", async () => {
    let encoded = 0;
    class CountingUtf8 extends NodeFileSystem {
      override readonly utf8Into = (text: string, bytes: Uint8Array, offset: number): number => (encoded++, utf8IntoPortable(text, bytes, offset));
    }
    const path = `${await useTempDir()}/orders.wal`;
    const writer = await WalWriter.open(path, { fs: new CountingUtf8() });
    await writer.append({ order: "é" });
    await writer.appendBatch([{ order: 2 }, { order: 3 }]);
    await writer.close();
    expect(encoded).toBe(3);
    const orders: unknown[] = [];
    for await (const record of WalReader.open(path)) orders.push(record.value);
    expect(orders).toEqual([{ order: "é" }, { order: 2 }, { order: 3 }]);
  });

  test("refuses a blockingSync that is not a boolean, and one the module cannot honour", () => {
    expect(() => new NodeFileSystem({ blockingSync: "yes" as unknown as boolean })).toThrow(/blockingSync must be a boolean/);
    const { fdatasyncSync: _, ...withoutSyncFsync } = countingModule().module;
    expect(() => new NodeFileSystem({ fs: withoutSyncFsync, blockingSync: true })).toThrow(/needs an fs module with fdatasyncSync/);
  });
});
