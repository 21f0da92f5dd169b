/**
 * Back truncation inside one segment, by atomic replacement. The records up
 * to the cut are written afresh (same file header: base sequence, salt, log
 * id and link; their sequences and times kept, in whole batches) to
 * `<segment>.creating`, which is synced and renamed over the segment; then
 * the directory is synced.
 *
 * Why a copy, not a truncation of the file: the cut usually falls inside a
 * batch, and a batch is valid only with its commit record, whose checksum
 * covers every record of it. Cut short at the sequence, the file would end
 * in a batch without its commit, which opening takes for a torn tail
 * (refused under `strict`, cut away whole under `truncate-partial`),
 * records below the cut included. With the copy, the file under the
 * segment's name is at every instant either the old segment or the cut
 * one, committed to its last record.
 *
 * @module
 */

import { assert } from "../assert.ts";
import { RECORD_HEADER_BYTES } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { io, replaceFile } from "../io.ts";
import { LogFile, type LogFileOptions } from "../log/log-file.ts";
import { readFileRecords } from "../log/reader.ts";
import { readFileHead } from "./segments.ts";

/** What {@link cutSegment} needs. */
export type CutOptions = Pick<LogFileOptions, "recordBytesMax" | "batchBytesMax" | "crc" | "now">;

/** A record copied out of a segment. */
interface Copied {
  readonly sequence: number;
  readonly timeMs: number;
  readonly payload: Uint8Array;
}

/**
 * Replaces the segment at `path` with one holding only its records up to
 * `sequence`, all committed, under the same file header, atomically and
 * durably.
 */
export async function cutSegment(fs: FileSystem, path: string, sequence: number, options: CutOptions): Promise<void> {
  const { header } = await readFileHead(fs, path, options.crc);
  assert(header.baseSequence <= sequence, `the cut at ${sequence} falls inside ${path}`);
  const copyTo = (temporary: string): Promise<void> => copyUpTo(fs, path, temporary, sequence, { ...options, ...header, repair: "strict" });
  await io("rename", path, () => replaceFile(fs, path, `${path}.creating`, copyTo));
}

/** Copies the records of the segment at `path` up to `sequence` into the new log file `target`, all committed, and closes it. */
async function copyUpTo(fs: FileSystem, path: string, target: string, sequence: number, options: LogFileOptions): Promise<void> {
  const copy = await LogFile.open(fs, target, options);
  try {
    const keep = (recordSequence: number, timeMs: number, bytes: Uint8Array, start: number, end: number): Copied | undefined =>
      recordSequence <= sequence ? { sequence: recordSequence, timeMs, payload: bytes.slice(start, end) } : undefined;
    for await (const records of readFileRecords(fs, path, null, options.recordBytesMax, keep)) {
      for (const record of records) {
        await copy.whenRoom(RECORD_HEADER_BYTES + record.payload.length);
        copy.append(record.payload, record.sequence, record.timeMs);
      }
    }
    assert(copy.currentSequence <= sequence, "the copy holds nothing above the cut");
    await copy.commit();
  } finally {
    await copy.close();
  }
}
