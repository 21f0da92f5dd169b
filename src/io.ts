/**
 * Small filesystem idioms shared by the writer, the lock and repair.
 *
 * @module
 */

import { WalIoError } from "./errors.ts";
import type { FileHandle, FileSystem } from "./fs.ts";

/** Copy buffer size. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/** The POSIX `code` of a thrown value, or `undefined`. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Creates `path` (which must not exist), writes `bytes`, syncs and closes it.
 * The directory entry is not synced; callers decide when that must happen.
 */
export async function writeNewFile(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const file = await fs.open(path, "create");
  try {
    await file.write(bytes, 0);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Removes `path`, succeeding if it is already gone. */
export async function unlinkIfPresent(fs: FileSystem, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
}

/**
 * Copies bytes `[from, to)` of `source` into the new file `target` (which
 * must not exist), syncs and closes it. The directory entry is not synced.
 */
export async function copyToNewFile(fs: FileSystem, source: FileHandle, from: number, to: number, target: string): Promise<void> {
  const copy = await fs.open(target, "create");
  try {
    const buffer = new Uint8Array(Math.min(COPY_CHUNK_BYTES, Math.max(1, to - from)));
    for (let at = from; at < to; ) {
      const n = await source.read(buffer.subarray(0, Math.min(buffer.length, to - at)), at);
      if (n === 0) throw new Error(`source shrank to ${at} bytes while being copied to ${target}`);
      await copy.write(buffer.subarray(0, n), at - from);
      at += n;
    }
    await copy.sync();
  } finally {
    await copy.close();
  }
}

/**
 * The error for something other than a regular file (a FIFO, a device, a
 * directory) where a file of the log should be: it is refused before it is
 * opened, since opening a FIFO blocks until someone writes to it.
 */
export function notRegularFile(path: string): WalIoError {
  return new WalIoError("open", path, new Error("not a regular file"));
}

/** Throws {@link notRegularFile} when something other than a regular file is at `path` (nothing there is fine: opening reports it). */
export async function checkRegularFile(fs: FileSystem, path: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (error) {
    throw new WalIoError("stat", path, error);
  }
  if (stat !== null && !stat.isFile) throw notRegularFile(path);
}
