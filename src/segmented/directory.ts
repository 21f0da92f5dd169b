/**
 * What opening a log does about the directories and files it needs, the
 * same way for `WalWriter.open` (a file) and `Wal.open` (a directory):
 * missing parent directories are created, durably, unless the caller asked
 * with `create: false` to open only a log that exists, in which case a
 * missing log is refused before anything is created or locked.
 *
 * @module
 */

import { BOUNDS_FILE } from "./bounds.ts";
import { WalIoError } from "../errors.ts";
import type { FileSystem } from "../fs.ts";
import { errorCode } from "../io.ts";
import { io } from "../log/log-file.ts";
import { dirname } from "../path.ts";
import { segmentFirsts } from "./segments.ts";

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
  try {
    return (await fs.stat(path)) !== null;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false;
    throw error;
  }
}

/**
 * Throws `WalIoError` (operation `open`, `cause.code` `ENOENT`) unless a
 * log file is at `path`: what `create: false` asks of `WalWriter.open`.
 */
export async function requireLogFile(fs: FileSystem, path: string): Promise<void> {
  if (!(await io("stat", path, () => exists(fs, path)))) throw noSuchLog(path, "no such log file");
}

/**
 * Throws `WalIoError` (operation `open`, `cause.code` `ENOENT`) unless
 * `dir` holds a segmented log (its bounds file, or a segment a crash left
 * before the bounds file was written): what `create: false` asks of
 * `Wal.open`. An empty directory holds no log.
 */
export async function requireLogDirectory(fs: FileSystem, dir: string): Promise<void> {
  if (!(await io("stat", dir, () => exists(fs, dir)))) throw noSuchLog(dir, "no such log directory");
  const names = await io("list", dir, () => fs.readdir(dir));
  if (!names.includes(BOUNDS_FILE) && segmentFirsts(names).length === 0) throw noSuchLog(dir, "no log in this directory");
}

/** The error `create: false` gives for a missing log at `path`. */
function noSuchLog(path: string, what: string): WalIoError {
  const cause = Object.assign(new Error(`${what} (create: false)`), { code: "ENOENT" });
  return new WalIoError("open", path, cause);
}
