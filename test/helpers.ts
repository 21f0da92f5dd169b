/**
 * Test helpers that work unchanged on Node, Bun and Deno (test code may use
 * `node:` modules; all three runtimes provide these).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { defaultFileSystem } from "../adapters/auto.ts";
import type { FileSystem } from "../mod.ts";

/**
 * Creates a fresh empty directory under the system temp directory and
 * registers its recursive removal for when the current test finishes.
 * Call it inside a test. Returns the directory's path (with `/` separators).
 */
export async function useTempDir(): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), "tswal-test-"));
  onTestFinished(() => rm(path, { recursive: true, force: true }));
  return path;
}

/** The runtime's adapter, counting the bytes read through it. */
export async function countingFileSystem(): Promise<{ fs: FileSystem; bytesRead: () => number }> {
  const base = await defaultFileSystem();
  let bytesRead = 0;
  const fs: FileSystem = Object.create(base);
  fs.open = async (path, mode) => {
    const handle = await base.open(path, mode);
    const read = handle.read.bind(handle);
    handle.read = async (buffer, position) => {
      const count = await read(buffer, position);
      bytesRead += count;
      return count;
    };
    return handle;
  };
  return { fs, bytesRead: () => bytesRead };
}

/** The runtime's adapter with every file sync held, from `hold()` until `release()`, and the syncs counted. */
export async function gatedSyncs(): Promise<{ fs: FileSystem; hold: () => void; release: () => void; syncs: () => number }> {
  const base = await defaultFileSystem();
  let gate: Promise<void> | null = null;
  let open = (): void => undefined;
  let syncs = 0;
  const fs: FileSystem = Object.create(base);
  fs.open = async (path, mode) => {
    const handle = await base.open(path, mode);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      syncs++;
      if (gate !== null) await gate;
      return sync();
    };
    return handle;
  };
  return {
    fs,
    hold: () => {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => {
      gate = null;
      open();
    },
    syncs: () => syncs,
  };
}

/** The pid of a child process that has already exited and been reaped. */
export async function deadPid(): Promise<number> {
  const child = spawn("true", { stdio: "ignore" });
  await new Promise((resolve, reject) => {
    child.once("exit", resolve);
    child.once("error", reject);
  });
  if (child.pid === undefined) throw new Error("child process has no pid");
  return child.pid;
}
