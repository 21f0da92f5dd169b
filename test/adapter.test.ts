/**
 * The adapter contract of `src/fs.ts`, checked against the adapter of the
 * runtime the suite runs on (`defaultFileSystem()`), on the real disk.
 */

import { Buffer } from "node:buffer";
import { hostname } from "node:os";
import process from "node:process";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { defaultFileSystem, runtimeFileSystem, runtimeName } from "../adapters/auto.ts";
import type { FileHandle } from "../src/fs.ts";
import { deadPid, useTempDir } from "./helpers.ts";

const fs = await defaultFileSystem();
const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);

/** Creates `name` in a fresh temp dir and returns its path and an open handle. */
async function createFile(name = "file"): Promise<{ dir: string; path: string; handle: FileHandle }> {
  const dir = await useTempDir();
  const path = `${dir}/${name}`;
  const handle = await fs.open(path, "create");
  return { dir, path, handle };
}

/** Reads `length` bytes at `position`, returning only what was read. */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  const readBytes = await handle.read(buffer, position);
  return buffer.subarray(0, readBytes);
}

describe(`${runtimeName()} adapter`, () => {
  test("writes at explicit positions and reads them back", async () => {
    const { handle } = await createFile();
    await handle.write(bytes("world"), 6);
    await handle.write(bytes("hello "), 0);
    expect(await handle.size()).toBe(11);
    expect(await readAt(handle, 0, 11)).toEqual(bytes("hello world"));
    expect(await readAt(handle, 6, 3)).toEqual(bytes("wor"));
    await handle.close();
  });

  test("leaves a hole of zero bytes when writing past the end", async () => {
    const { handle } = await createFile();
    await handle.write(bytes("x"), 4);
    expect(await readAt(handle, 0, 5)).toEqual(new Uint8Array([0, 0, 0, 0, 120]));
    await handle.close();
  });

  test("reads short at end of file and nothing past it", async () => {
    const { handle } = await createFile();
    await handle.write(bytes("abcdef"), 0);
    expect(await readAt(handle, 3, 10)).toEqual(bytes("def"));
    expect(await handle.read(new Uint8Array(4), 6)).toBe(0);
    expect(await handle.read(new Uint8Array(4), 100)).toBe(0);
    await handle.close();
  });

  test("writes and reads back 5 MiB at an odd offset", async () => {
    const { handle } = await createFile();
    const large = new Uint8Array(5 * 1024 * 1024 + 3).map((_, index) => index * 7);
    await handle.write(large, 1);
    const readBack = await readAt(handle, 1, large.length + 10);
    // Compared with Buffer.equals: toEqual on 5 Mi elements took over 30 s.
    expect(readBack.length).toBe(large.length);
    expect(Buffer.from(readBack).equals(large)).toBe(true);
    await handle.close();
  });

  test("keeps interleaved reads and writes on one handle apart", async () => {
    const { handle } = await createFile();
    const recordBytes = 64;
    const records = Array.from({ length: 32 }, (_, index) => new Uint8Array(recordBytes).fill(index + 1));
    await Promise.all(records.map((record, index) => handle.write(record, index * recordBytes)));
    const reads = records.map((_, index) => readAt(handle, index * recordBytes, recordBytes));
    const rewrites = records.map((_, index) =>
      handle.write(new Uint8Array(recordBytes).fill(200 + index), (index + 32) * recordBytes),
    );
    expect(await Promise.all(reads)).toEqual(records);
    await Promise.all(rewrites);
    for (let index = 0; index < 32; index += 1) {
      expect(await readAt(handle, (index + 32) * recordBytes, recordBytes)).toEqual(
        new Uint8Array(recordBytes).fill(200 + index),
      );
    }
    await handle.close();
  });

  test("truncates down and up", async () => {
    const { handle } = await createFile();
    await handle.write(bytes("abcdef"), 0);
    await handle.truncate(2);
    expect(await handle.size()).toBe(2);
    expect(await readAt(handle, 0, 6)).toEqual(bytes("ab"));
    await handle.truncate(4);
    expect(await readAt(handle, 0, 6)).toEqual(new Uint8Array([97, 98, 0, 0]));
    await handle.close();
  });

  test("syncs, and the data is there after reopening", async () => {
    const { dir, path, handle } = await createFile();
    await handle.write(bytes("durable"), 0);
    await handle.sync();
    await handle.close();
    await fs.syncDir(dir);
    const reopened = await fs.open(path, "read");
    expect(await readAt(reopened, 0, 16)).toEqual(bytes("durable"));
    await reopened.close();
    expect(await fs.readFile(path)).toEqual(bytes("durable"));
  });

  test("with blockingSync, syncs on the calling thread and the data is there after reopening", async () => {
    const blocking = await runtimeFileSystem({ blockingSync: true });
    const dir = await useTempDir();
    const handle = await blocking.open(`${dir}/file`, "create");
    await handle.write(bytes("durable"), 0);
    await handle.write(new Uint8Array(100_000).fill(9), 7);
    await handle.sync();
    await handle.close();
    const reopened = await fs.open(`${dir}/file`, "read");
    expect(await readAt(reopened, 0, 8)).toEqual(new Uint8Array([...bytes("durable"), 9]));
    expect(await reopened.size()).toBe(100_007);
    await reopened.close();
  });

  test("opens for writing without truncating or appending", async () => {
    const { path, handle } = await createFile();
    await handle.write(bytes("abcdef"), 0);
    await handle.close();
    const writer = await fs.open(path, "write");
    expect(await writer.size()).toBe(6);
    await writer.write(bytes("X"), 1);
    await writer.close();
    expect(await fs.readFile(path)).toEqual(bytes("aXcdef"));
  });

  test("fails with EEXIST to create an existing file", async () => {
    const { path, handle } = await createFile();
    await handle.close();
    await expect(fs.open(path, "create")).rejects.toMatchObject({ code: "EEXIST" });
  });

  test("fails with ENOENT on missing paths", async () => {
    const dir = await useTempDir();
    const missing = `${dir}/missing`;
    await expect(fs.open(missing, "read")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fs.open(missing, "write")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fs.open(`${missing}/child`, "create")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fs.readFile(missing)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fs.unlink(missing)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fs.rename(missing, `${dir}/other`)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fs.readdir(missing)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fs.syncDir(missing)).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("links, and fails with EEXIST when the link name is taken", async () => {
    const { dir, path, handle } = await createFile();
    await handle.write(bytes("shared"), 0);
    await handle.close();
    await fs.link(path, `${dir}/link`);
    expect(await fs.readFile(`${dir}/link`)).toEqual(bytes("shared"));
    await expect(fs.link(path, `${dir}/link`)).rejects.toMatchObject({ code: "EEXIST" });
  });

  test("renames over an existing file", async () => {
    const { dir, path, handle } = await createFile();
    await handle.write(bytes("new"), 0);
    await handle.close();
    const target = await fs.open(`${dir}/target`, "create");
    await target.write(bytes("old"), 0);
    await target.close();
    await fs.rename(path, `${dir}/target`);
    expect(await fs.readFile(`${dir}/target`)).toEqual(bytes("new"));
    expect(await fs.stat(path)).toBeNull();
  });

  test("unlinks a file", async () => {
    const { path, handle } = await createFile();
    await handle.close();
    await fs.unlink(path);
    expect(await fs.stat(path)).toBeNull();
  });

  test("makes nested directories, idempotently, and lists entry names", async () => {
    const dir = await useTempDir();
    await fs.mkdir(`${dir}/a/b`);
    await fs.mkdir(`${dir}/a/b`);
    await (await fs.open(`${dir}/a/one`, "create")).close();
    await (await fs.open(`${dir}/a/two`, "create")).close();
    expect((await fs.readdir(`${dir}/a`)).sort()).toEqual(["b", "one", "two"]);
    expect(await fs.readdir(`${dir}/a/b`)).toEqual([]);
    await fs.syncDir(`${dir}/a`);
  });

  test("writes of several MiB (made in synchronous calls of at most 1 MiB up to 4 MiB, asynchronously beyond) land whole where asked", async () => {
    const { handle } = await createFile();
    const pattern = (bytes: number, seed: number): Uint8Array => Uint8Array.from({ length: bytes }, (_, index) => (index * 31 + seed) % 251);
    const writes = [
      { at: 7, data: pattern(2.5 * 1024 * 1024 + 3, 1) },
      { at: 7 + 2.5 * 1024 * 1024 + 3, data: pattern(4 * 1024 * 1024, 2) },
      { at: 7 + 6.5 * 1024 * 1024 + 3, data: pattern(9 * 1024 * 1024 + 1, 3) },
    ];
    for (const { at, data } of writes) await handle.write(data, at);
    for (const { at, data } of writes) {
      // Compared whole rather than with toEqual, which walks megabytes element by element for seconds.
      expect(Buffer.compare(await readAt(handle, at, data.length), data)).toBe(0);
    }
    expect(await handle.size()).toBe(7 + 15.5 * 1024 * 1024 + 4);
    await handle.close();
  });

  test("stats files and directories, and returns null for nothing", async () => {
    const { dir, path, handle } = await createFile();
    await handle.write(bytes("12345"), 0);
    await handle.close();
    const stat = await fs.stat(path);
    expect(stat).toMatchObject({ size: 5, isFile: true, isDirectory: false });
    // The modification time, which the lock uses to age a lock file that does not parse.
    expect(Math.abs(stat!.modifiedAtMs! - Date.now())).toBeLessThan(60_000);
    expect(await fs.stat(dir)).toMatchObject({ isFile: false, isDirectory: true });
    expect(await fs.stat(`${dir}/missing`)).toBeNull();
  });

  test("computes zlib's CRC-32, including when chained", () => {
    const crc32 = fs.crc32;
    if (crc32 === undefined) throw new Error(`${fs.name} adapter has no crc32`);
    expect(crc32(bytes("123456789"), 0)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0), 0)).toBe(0);
    expect(crc32(bytes("6789"), crc32(bytes("12345"), 0))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0), 0xdeadbeef)).toBe(0xdeadbeef);
    expect(crc32(bytes("123456789"), 0xffffffff)).toBe(3523400311);
  });

  test("writes UTF-8 at an offset exactly as TextEncoder does, lone surrogates included (Node and Bun; Deno's leaves it to encodeInto)", () => {
    const utf8Into = fs.utf8Into;
    if (runtimeName() === "deno") {
      expect(utf8Into).toBeUndefined();
      return;
    }
    if (utf8Into === undefined) throw new Error(`${fs.name} adapter has no utf8Into`);
    /** Any UTF-16 code units, so that lone and reversed surrogates come up as often as pairs. */
    const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units));
    const texts = fc.oneof(codeUnits, fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }));
    fc.assert(
      fc.property(texts, fc.nat(20), (text, offset) => {
        const expected = encoder.encode(text);
        const target = new Uint8Array(offset + 3 * text.length + 4).fill(0xaa);
        expect(utf8Into(text, target, offset)).toBe(expected.length);
        expect(target.subarray(offset, offset + expected.length)).toEqual(expected);
        expect(target.subarray(0, offset).every((byte) => byte === 0xaa)).toBe(true);
        expect(target.subarray(offset + expected.length).every((byte) => byte === 0xaa)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test("identifies the current process", () => {
    const identity = fs.process();
    expect(identity.pid).toBe(process.pid);
    expect(identity.hostname).toBe(hostname());
    expect(identity.runtime.startsWith(`${runtimeName()} `)).toBe(true);
  });

  test("tells a live process from an exited one", async () => {
    expect(fs.isProcessAlive(process.pid)).toBe(true);
    expect(fs.isProcessAlive(await deadPid())).toBe(false);
  });
});
