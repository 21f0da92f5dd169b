/**
 * Back truncation inside one segment, by atomic replacement. The records up
 * to the cut are copied byte for byte (file header, salt and offsets
 * included, so every checksum and commit still holds) to
 * `<segment>.creating`, the copy gets a commit record for its last batch,
 * is synced, and is renamed over the segment; then the directory is synced.
 *
 * Why not truncate in place: the cut usually falls inside a batch, so the
 * file would end with records whose commit was cut off. They are durable,
 * but until a new commit lands they sit where opening treats them as
 * unacknowledged, and opening rewrites that region in place (LogFile
 * re-asserts the durability of the last commit and what follows): a crash
 * tearing that rewrite could destroy acknowledged records. With the copy,
 * the live file is at every instant either the old segment or the cut one,
 * committed to its last record.
 *
 * @module
 */

import type { FileSystem } from "./fs.ts";
import { copyToNewFile, unlinkIfPresent } from "./io.ts";
import { io, LogFile, type ValidateOptions } from "./log-file.ts";
import { dirname } from "./path.ts";
import { scanSegment } from "./segments.ts";


/** What {@link cutSegment} needs. */
export interface CutOptions extends ValidateOptions {
  /** Clock for the new commit record. */
  readonly now: () => number;
}

/**
 * Replaces the segment at `path` with one holding only its records up to
 * `sequence`, all committed, atomically and durably. Returns false, doing
 * nothing, when no record is above `sequence`.
 */
export async function cutSegment(fs: FileSystem, path: string, sequence: number, options: CutOptions): Promise<boolean> {
  let cut = -1;
  await scanSegment(fs, path, {
    codec: options.codec,
    recordBytesMax: options.recordBytesMax,
    crc: options.crc,
    onRecord: (record) => {
      if (cut < 0 && record.sequence > sequence) cut = record.offset;
    },
  });
  if (cut < 0) return false;
  const temporary = `${path}.creating`;
  await io("unlink", temporary, () => unlinkIfPresent(fs, temporary));
  await io("copy", temporary, () => copyPrefix(fs, path, temporary, cut));
  const copy = await LogFile.open(fs, temporary, { ...options, repair: "strict", baseSequence: 0 });
  try {
    await copy.commit();
  } finally {
    await copy.close();
  }
  await io("rename", temporary, () => fs.rename(temporary, path));
  await io("sync", path, () => fs.syncDir(dirname(path)));
  return true;
}

/** Writes the first `bytes` bytes of `from` to the new file `to`, and syncs it. */
async function copyPrefix(fs: FileSystem, from: string, to: string, bytes: number): Promise<void> {
  const source = await fs.open(from, "read");
  try {
    await copyToNewFile(fs, source, 0, bytes, to);
  } finally {
    await source.close();
  }
}
