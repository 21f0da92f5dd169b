/**
 * Small filesystem idioms shared by the writer, the lock and repair.
 *
 * @module
 */

import type { FileSystem } from "./fs.ts";

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
