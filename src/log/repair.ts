/**
 * The `truncate-partial` repair: keep a torn tail's bytes aside, durably,
 * then cut the log back to its last intact record. Crash-safe in this order:
 * the copy is complete and its name durable before the log shrinks, so a
 * crash at any point loses nothing (at worst the next open saves the same
 * bytes again under the next free name).
 *
 * @module
 */

import type { Corruption, CorruptionKind } from "../errors.ts";
import type { FileHandle, FileSystem } from "../fs.ts";
import { copyToNewFile, replaceFile } from "../io.ts";

/** What a repair cut, and where the cut bytes are. */
export interface Repair {
  /** What the torn tail looked like. */
  readonly kind: CorruptionKind;
  /** Where the cut started: the log's size after the repair. */
  readonly offset: number;
  /** How many bytes were cut. */
  readonly bytes: number;
  /** The file holding exactly the cut bytes. */
  readonly savedTo: string;
}

/** Distinct names tried for the saved bytes before giving up. */
const SAVE_NAMES_MAX = 1000;

/**
 * Saves `[tail.offset, fileBytes)` of `file` (the log at `path`) to
 * `<path>.<offset>.torn` (or `<path>.<offset>.<n>.torn` if taken), syncs it
 * and its directory, then truncates and syncs the log.
 */
export async function cutTornTail(
  fs: FileSystem,
  file: FileHandle,
  path: string,
  tail: Corruption,
  fileBytes: number,
): Promise<Repair> {
  const savedTo = await freeTornName(fs, path, tail.offset);
  await replaceFile(fs, savedTo, `${savedTo}.partial`, (partial) => copyToNewFile(fs, file, tail.offset, fileBytes, partial));
  await file.truncate(tail.offset);
  await file.sync();
  return { kind: tail.kind, offset: tail.offset, bytes: fileBytes - tail.offset, savedTo };
}

/** The first of `<path>.<offset>.torn`, `<path>.<offset>.2.torn`, … that does not exist; throws after {@link SAVE_NAMES_MAX} taken names. */
async function freeTornName(fs: FileSystem, path: string, offset: number): Promise<string> {
  for (let n = 1; n <= SAVE_NAMES_MAX; n++) {
    const name = n === 1 ? `${path}.${offset}.torn` : `${path}.${offset}.${n}.torn`;
    if ((await fs.stat(name)) === null) return name;
  }
  throw new Error(`no free name for the torn tail of ${path} at ${offset}`);
}
