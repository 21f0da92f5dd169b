/**
 * What `Wal.open({ create: false })` asks of a directory: that it holds a
 * segmented log. (Creating missing parents, and the same check for a single
 * file, are shared with `WalWriter` in `src/io.ts`.)
 *
 * @module
 */

import type { FileSystem } from "../fs.ts";
import { exists, io, noSuchLog } from "../io.ts";
import { BOUNDS_FILE } from "./bounds.ts";
import { segmentFirstSequences } from "./segments.ts";

/**
 * Throws `WalIoError` (operation `open`, `cause.code` `ENOENT`) unless
 * `dir` holds a segmented log (its bounds file, or a segment a crash left
 * before the bounds file was written): what `create: false` asks of
 * `Wal.open`. An empty directory holds no log.
 */
export async function requireLogDirectory(fs: FileSystem, dir: string): Promise<void> {
  if (!(await io("stat", dir, () => exists(fs, dir)))) throw noSuchLog(dir, "no such log directory");
  const names = await io("list", dir, () => fs.readdir(dir));
  if (!names.includes(BOUNDS_FILE) && segmentFirstSequences(names).length === 0) throw noSuchLog(dir, "no log in this directory");
}

