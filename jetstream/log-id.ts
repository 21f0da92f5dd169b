/**
 * A log's identity and front, read from its bounds file without its lock.
 *
 * @module
 */

import type { FileSystem } from "../src/fs.ts";
import { crcOf, fileSystemOrDefault } from "../src/options.ts";
import { readBounds } from "../src/segmented/bounds.ts";
import { pause } from "./connection.ts";
import { hexId } from "./headers.ts";

/** The log id (hex) of the `Wal` in `dir`, waiting (polling every `pollMs`) until it exists; null when `signal` aborted first. */
export async function logIdOf(dir: string, fsGiven: FileSystem | undefined, pollMs: number, signal: AbortSignal | undefined): Promise<string | null> {
  const fs = await fileSystemOrDefault(fsGiven);
  while (signal?.aborted !== true) {
    const bounds = await readBounds(fs, dir, crcOf(fs));
    if (bounds !== null) return hexId(bounds.logId);
    await pause(pollMs, signal);
  }
  return null;
}

/** The lowest sequence the `Wal` in `dir` still returns (0 when it has no bounds file). */
export async function frontOf(dir: string, fsGiven: FileSystem | undefined): Promise<number> {
  const fs = await fileSystemOrDefault(fsGiven);
  return (await readBounds(fs, dir, crcOf(fs)))?.front ?? 0;
}
