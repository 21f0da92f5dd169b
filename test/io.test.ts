/**
 * The small filesystem idioms of `src/io.ts` every part of the log shares:
 * `ENOENT` as a value (`ifPresent` and the helpers on it), the one atomic
 * replace-file, and `io()`, which wraps filesystem failures in `WalIoError`
 * but lets the library's own errors and broken invariants through.
 */

import { expect, test } from "vitest";
import { assert, AssertionError } from "../src/assert.ts";
import { WalArgumentError, WalIoError } from "../src/errors.ts";
import { exists, ifPresent, io, readFileIfPresent, renameIfPresent, replaceFile, replaceFileWithBytes, unlinkIfPresent } from "../src/io.ts";
import { MemoryFileSystem } from "../sim/mod.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A simulated disk with the directory `/d`, durably. */
async function disk(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir("/d");
  await fs.syncDir("/");
  return fs;
}

test("ifPresent turns ENOENT into the given value and throws every other failure", async () => {
  const fs = await disk();
  expect(await ifPresent(() => fs.readFile("/d/none"), "absent")).toBe("absent");
  await expect(ifPresent(() => fs.open("/d", "create"), "absent")).rejects.toMatchObject({ code: "EEXIST" });
  expect(await readFileIfPresent(fs, "/d/none")).toBeNull();
  expect(await renameIfPresent(fs, "/d/none", "/d/other")).toBe(false);
  await unlinkIfPresent(fs, "/d/none");
  expect(await exists(fs, "/d/none")).toBe(false);
  expect(await exists(fs, "/d/none/deeper")).toBe(false);
});

test("the helpers act when the path is there", async () => {
  const fs = await disk();
  await replaceFileWithBytes(fs, "/d/a", "/d/a.creating", bytes("one"));
  expect(await readFileIfPresent(fs, "/d/a")).toEqual(bytes("one"));
  expect(await renameIfPresent(fs, "/d/a", "/d/b")).toBe(true);
  expect(await exists(fs, "/d/a")).toBe(false);
  await unlinkIfPresent(fs, "/d/b");
  expect(await exists(fs, "/d/b")).toBe(false);
});

test("replaceFile removes a leftover temporary, publishes the new file whole and durably, and leaves no temporary", async () => {
  const fs = await disk();
  await replaceFileWithBytes(fs, "/d/bounds", "/d/bounds.creating", bytes("old"));
  await replaceFileWithBytes(fs, "/d/bounds.creating", "/d/leftover.tmp", bytes("half-written by a crash"));
  await replaceFile(fs, "/d/bounds", "/d/bounds.creating", async (temporary) => {
    expect(await exists(fs, temporary)).toBe(false);
    const file = await fs.open(temporary, "create");
    await file.write(bytes("new"), 0);
    await file.sync();
    await file.close();
  });
  expect(await fs.readdir("/d")).toEqual(["bounds"]);
  expect(await fs.crash("lose-unsynced").readFile("/d/bounds")).toEqual(bytes("new"));
});

test("io() wraps a filesystem failure in WalIoError naming the operation, and lets WalErrors and broken invariants through", async () => {
  const fs = await disk();
  const failure = await io("read", "/d/none", () => fs.readFile("/d/none")).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(WalIoError);
  expect(failure).toMatchObject({ operation: "read", path: "/d/none", cause: { code: "ENOENT" } });
  const own = new WalArgumentError("bad");
  await expect(io("write", "/d/x", () => Promise.reject(own))).rejects.toBe(own);
  const broken = await io("read", "/d/x", async () => assert(false, "a bug")).catch((error: unknown) => error);
  expect(broken).toBeInstanceOf(AssertionError);
  expect(broken).not.toBeInstanceOf(WalIoError);
});
