/**
 * Small filesystem idioms shared by both logs, the lock and repair, and the
 * wrapper that turns a failed step into a `WalIoError`.
 *
 * @module
 */

import { AssertionError } from "./assert.ts";
import { type IoOperation, WalError, WalIoError } from "./errors.ts";
import { errorCode, type FileHandle, type FileSystem } from "./fs.ts";
import { dirname } from "./path.ts";

/** Copy buffer size. */
const COPY_CHUNK_BYTES = 1024 * 1024;

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

/**
 * Runs `step` on a path that may not exist, and returns `absent` instead of
 * throwing when it fails with `ENOENT`. Every other failure is thrown.
 */
export async function ifPresent<R, A>(step: () => Promise<R>, absent: A): Promise<R | A> {
  try {
    return await step();
  } catch (error) {
    if (errorCode(error) === "ENOENT") return absent;
    throw error;
  }
}

/** Removes `path`, succeeding if it is already gone. */
export async function unlinkIfPresent(fs: FileSystem, path: string): Promise<void> {
  await ifPresent(() => fs.unlink(path), undefined);
}

/** The contents of the (small) file at `path`, or `null` when nothing is there. */
export function readFileIfPresent(fs: FileSystem, path: string): Promise<Uint8Array | null> {
  return ifPresent(() => fs.readFile(path), null);
}

/** Renames `from` to `to`; false, with nothing done, when `from` does not exist. */
export function renameIfPresent(fs: FileSystem, from: string, to: string): Promise<boolean> {
  return ifPresent(async () => {
    await fs.rename(from, to);
    return true;
  }, false);
}

/**
 * Publishes a new file at `path` atomically: removes a `temporary` an
 * earlier crash may have left, has `write(temporary)` create, fill and sync
 * it, renames it over `path` and syncs the directory. A crash leaves the
 * old file (or none) or the new one at `path`, never a part of one; once
 * this returns, the new one is durable.
 */
export async function replaceFile(
  fs: FileSystem,
  path: string,
  temporary: string,
  write: (temporary: string) => Promise<void>,
): Promise<void> {
  await unlinkIfPresent(fs, temporary);
  await write(temporary);
  await fs.rename(temporary, path);
  await fs.syncDir(dirname(path));
}

/** {@link replaceFile} with `bytes` as the new file's contents. */
export function replaceFileWithBytes(fs: FileSystem, path: string, temporary: string, bytes: Uint8Array): Promise<void> {
  return replaceFile(fs, path, temporary, (created) => writeNewFile(fs, created, bytes));
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

/**
 * Runs an I/O step, wrapping what it throws in `WalIoError`, except the
 * library's own errors and broken invariants (`AssertionError`, a bug to
 * report, never an I/O failure to handle).
 */
export async function io<R>(operation: IoOperation, path: string, step: () => Promise<R>): Promise<R> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof WalError || error instanceof AssertionError) throw error;
    throw new WalIoError(operation, path, error);
  }
}

/**
 * Creates `dir` and any missing parents, and makes each new directory entry
 * durable (each new directory's parent is synced). Does nothing when `dir`
 * exists.
 */
export async function makeDirectory(fs: FileSystem, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let path = dir; !(await exists(fs, path)); path = dirname(path)) {
    missing.push(path);
    if (dirname(path) === path) break; // a root that does not exist: let mkdir report it
  }
  if (missing.length === 0) return;
  await fs.mkdir(dir);
  for (const path of missing.reverse()) await fs.syncDir(dirname(path));
}

/** Whether something is at `path` (an adapter may report a missing parent as `ENOENT`). */
export async function exists(fs: FileSystem, path: string): Promise<boolean> {
  return ifPresent(async () => (await fs.stat(path)) !== null, false);
}

/**
 * Throws `WalIoError` (operation `open`, `cause.code` `ENOENT`) unless a
 * log file is at `path`: what `create: false` asks of `WalWriter.open`.
 */
export async function requireLogFile(fs: FileSystem, path: string): Promise<void> {
  if (!(await io("stat", path, () => exists(fs, path)))) throw noSuchLog(path, "no such log file");
}

/** The error `create: false` gives for a missing log at `path`. */
export function noSuchLog(path: string, what: string): WalIoError {
  const cause = Object.assign(new Error(`${what} (create: false)`), { code: "ENOENT" });
  return new WalIoError("open", path, cause);
}
