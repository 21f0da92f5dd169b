/**
 * Read-only verification of a log: a single file (`WalWriter`) or a segment
 * directory (`Wal`). It checks what opening checks (every batch and its
 * checksum, sequence order; for a directory, the bounds file and the segment
 * set as a whole) and reports what it found instead of throwing, without
 * taking the writer lock and without writing, creating, renaming or deleting
 * anything: it can run beside a live writer, on a read-only copy, or on a
 * log a crash left behind.
 *
 * The verdict follows docs/FORMAT.md: a torn tail (what a crash leaves in
 * the final batch of a file, or of a directory's newest segment) is what
 * `repair: "truncate-partial"` cuts and keeps; damage to durable data is
 * fatal under every policy.
 *
 * @module
 */

import { type Corruption, WalCorruptionError, WalIoError } from "../errors.ts";
import type { Crc32 } from "../format/crc32.ts";
import { FILE_HEADER_BYTES, FORMAT_VERSION, RECORD_HEADER_BYTES } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { checkRegularFile, io } from "../io.ts";
import type { ScanEnd } from "../log/scan.ts";
import { checkFileSystem, checkOptions, checkPath, checkRecordBytesMax, crcOf, fileSystemOrDefault } from "../options.ts";
import type { StoredBounds } from "./bounds.ts";
import { readSegmentSet, type SegmentHead, verifySegmentSet } from "./segment-set.ts";
import { liveFirstSequences, scanSegment, sealedTailDamage, segmentOrderProblem, segmentPath } from "./segments.ts";

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** Filesystem adapter; default: the running runtime's. */
  readonly fs?: FileSystem;
  /** Largest payload accepted, as for the writer; default 16 MiB. */
  readonly maxRecordBytes?: number;
}

/** What {@link verify} counts, for one log file ({@link VerifiedFile}) or a whole log ({@link VerifyReport}). */
export interface VerifiedCounts {
  /** Size of the file (of every file, for a log), bytes. */
  readonly bytes: number;
  /** Data records in intact batches that the log returns (in a directory: at or above the front). */
  readonly records: number;
  /** Intact batches (each closed by its commit record). */
  readonly batches: number;
  /** Sequence of the first record counted in {@link records}, or null when none. */
  readonly firstSequence: number | null;
  /** Sequence of the last record counted in {@link records}, or null when none. */
  readonly lastSequence: number | null;
  /** Append time of the first counted record, ms since the epoch, or null. */
  readonly firstTimeMs: number | null;
  /** Append time of the last counted record, ms since the epoch, or null. */
  readonly lastTimeMs: number | null;
  /** A torn tail after the last intact batch (what `truncate-partial` cuts and keeps), or null. */
  readonly tail: Corruption | null;
  /** Damage to durable data (fatal under every repair policy), or null. Nothing after it was checked. */
  readonly damage: Corruption | null;
}

/** What {@link verify} found in one log file (the log itself, or one segment). */
export interface VerifiedFile extends VerifiedCounts {
  /** The file. */
  readonly path: string;
  /** Every record's sequence is above this (the file header's base sequence); -1 when the header is unreadable. */
  readonly baseSequence: number;
  /** End of the last intact batch: what the log holds; the rest is preallocated zeros or a torn tail. */
  readonly logBytes: number;
  /** Records below a directory's front: never returned again, deleted with their segment. */
  readonly hiddenRecords: number;
}

/** The verdict of {@link verify}. */
export type VerifyStatus =
  /** Every byte checks out (preallocated zeros after the last batch are free space). */
  | "sound"
  /** Sound but for a torn tail a crash can leave: opening with `repair: "truncate-partial"` cuts it and keeps its bytes. */
  | "torn-tail"
  /** Damage no crash explains (or a segment set someone changed by hand): fatal under every repair policy. */
  | "damaged";

/** What {@link verify} reports about a log; the counts are over its file or its live segments. */
export interface VerifyReport extends VerifiedCounts {
  /** The path verified. */
  readonly path: string;
  /** `file`: a single-file log (`WalWriter`); `directory`: a segmented log (`Wal`). */
  readonly layout: "file" | "directory";
  /** The on-disk format version this build reads (docs/FORMAT.md). */
  readonly formatVersion: number;
  /** The verdict: `torn-tail` when {@link tail} is set, `damaged` when {@link damage} is. */
  readonly status: VerifyStatus;
  /** The file, or the live segments oldest first (as far as verification got). */
  readonly files: readonly VerifiedFile[];
  /** Directory: the front from the bounds file (no record below it is returned); null for a file. */
  readonly front: number | null;
  /** Directory: what the next open finishes that a crash cut short (a creation or a rotation, or a back cut), or null. */
  readonly unfinished: string | null;
}

/**
 * Verifies the log at `path` (a log file or a segment directory) read-only:
 * never takes the writer lock, never writes. Damage is reported, not thrown.
 *
 * @throws {WalArgumentError} an argument is invalid
 * @throws {WalIoError} nothing (or no log) is at `path`, or the filesystem failed
 */
export async function verify(path: string, options?: VerifyOptions): Promise<VerifyReport> {
  checkPath("path", path);
  const given = checkOptions(options, "verify", { fs: true, maxRecordBytes: true });
  checkFileSystem(given.fs);
  const recordBytesMax = checkRecordBytesMax(given.maxRecordBytes);
  const fs = await fileSystemOrDefault(given.fs);
  const stat = await io("stat", path, () => fs.stat(path));
  if (stat === null) throw noLog(path, "no such file or directory");
  const context: Context = { fs, crc: crcOf(fs), recordBytesMax };
  if (stat.isDirectory) return await verifyDirectory(context, path);
  return report(path, "file", [await verifyFile(context, path, 0)], null, null);
}

/** What every step needs. */
interface Context {
  readonly fs: FileSystem;
  readonly crc: Crc32;
  readonly recordBytesMax: number;
}

function noLog(path: string, why: string): WalIoError {
  return new WalIoError("verify", path, Object.assign(new Error(why), { code: "ENOENT" }));
}

/** Counts records (at or above `front`), batches and times as a scan visits them. */
class Tally {
  records = 0;
  hidden = 0;
  batches = 0;
  firstSequence: number | null = null;
  lastSequence: number | null = null;
  firstTimeMs: number | null = null;
  lastTimeMs: number | null = null;
  #recordEnd = -1;
  readonly #front: number;

  constructor(front: number) {
    this.#front = front;
  }

  /** Notes the record whose header is at `offset` and whose payload has `payloadBytes` bytes. */
  add(sequence: number, timeMs: number, offset: number, payloadBytes: number): void {
    // Records of one batch follow each other; a commit record sits between two batches.
    if (offset !== this.#recordEnd) this.batches++;
    this.#recordEnd = offset + RECORD_HEADER_BYTES + payloadBytes;
    if (sequence < this.#front) {
      this.hidden++;
      return;
    }
    this.records++;
    this.firstSequence ??= sequence;
    this.firstTimeMs ??= timeMs;
    this.lastSequence = sequence;
    this.lastTimeMs = timeMs;
  }
}

/**
 * Scans the log file at `path` read-only, counting records at or above
 * `front`. Damage is returned in the result, never thrown.
 */
async function verifyFile(context: Context, path: string, front: number): Promise<VerifiedFile> {
  await checkRegularFile(context.fs, path);
  const tally = new Tally(front);
  let end: ScanEnd | null = null;
  let damage: Corruption | null = null;
  let bytes = -1;
  try {
    bytes = (await io("stat", path, () => context.fs.stat(path)))?.size ?? -1;
    end = await scanSegment(context.fs, path, {
      recordBytesMax: context.recordBytesMax,
      crc: context.crc,
      onRecord: (sequence, timeMs, _bytes, payloadStart, payloadEnd, offset) => tally.add(sequence, timeMs, offset, payloadEnd - payloadStart),
    });
  } catch (error) {
    if (!(error instanceof WalCorruptionError)) throw error;
    damage = error.corruption;
  }
  return {
    path,
    baseSequence: end?.header.baseSequence ?? -1,
    bytes: end?.fileBytes ?? bytes,
    logBytes: end?.endOffset ?? (damage === null ? 0 : Math.max(FILE_HEADER_BYTES, damage.offset)),
    records: tally.records,
    hiddenRecords: tally.hidden,
    batches: tally.batches,
    firstSequence: tally.firstSequence,
    lastSequence: tally.lastSequence,
    firstTimeMs: tally.firstTimeMs,
    lastTimeMs: tally.lastTimeMs,
    tail: end?.tail ?? null,
    damage,
  };
}

/**
 * Verifies a segment directory as `Wal.open` would, read-only: the bounds
 * file, the segment set (src/segmented/segment-set.ts), then each live segment. A
 * torn tail is only a torn tail in the newest segment; in a sealed one it
 * is damage. Dead segments (wholly below the front, above a pending back
 * cut) are skipped, as opening deletes them.
 */
async function verifyDirectory(context: Context, dir: string): Promise<VerifyReport> {
  try {
    const { stored, heads } = await readSegmentSet(context.fs, dir, context.crc);
    const verdict = verifySegmentSet(dir, stored, heads);
    if (verdict.kind === "new") throw noLog(dir, "no log in this directory (no bounds file, no segment)");
    const bounds = verdict.bounds;
    const unfinished = unfinishedWork(verdict.rewrite, bounds, heads);
    const live = liveFirstSequences(heads.map((head) => head.first), bounds);
    return report(dir, "directory", await verifySegments(context, dir, live, bounds.front), bounds.front, unfinished);
  } catch (error) {
    if (!(error instanceof WalCorruptionError)) throw error;
    return report(dir, "directory", [], null, null, error.corruption);
  }
}

/** What the next open finishes, as a phrase, or null. */
function unfinishedWork(rewrite: boolean, bounds: StoredBounds, heads: readonly SegmentHead[]): string | null {
  if (bounds.back !== null) return `a back truncation to sequence ${bounds.back}`;
  if (rewrite) return heads.length === 1 ? "the log's creation (its bounds file)" : "a rotation (the bounds file does not name the newest segment yet)";
  return null;
}

/** Verifies the live segments in order, stopping at the first damaged one. */
async function verifySegments(context: Context, dir: string, live: readonly number[], front: number): Promise<VerifiedFile[]> {
  const files: VerifiedFile[] = [];
  for (const [index, first] of live.entries()) {
    let file = await verifyFile(context, segmentPath(dir, first), front);
    const before = files.at(-1);
    if (file.tail !== null && index < live.length - 1) {
      file = { ...file, tail: null, damage: sealedTailDamage(file.tail) };
    } else if (file.damage === null && before?.lastSequence != null) {
      file = { ...file, damage: segmentOrderProblem({ path: before.path, lastSequence: before.lastSequence }, file) };
    }
    files.push(file);
    if (file.damage !== null) break;
  }
  return files;
}

/** Sums the files into the report. `setDamage` is damage to the directory as a whole. */
function report(
  path: string,
  layout: "file" | "directory",
  files: readonly VerifiedFile[],
  front: number | null,
  unfinished: string | null,
  setDamage: Corruption | null = null,
): VerifyReport {
  const damage = setDamage ?? files.find((file) => file.damage !== null)?.damage ?? null;
  const tail = damage === null ? (files.at(-1)?.tail ?? null) : null;
  const counted = files.filter((file) => file.records > 0);
  return {
    path,
    layout,
    formatVersion: FORMAT_VERSION,
    status: damage !== null ? "damaged" : tail !== null ? "torn-tail" : "sound",
    files,
    records: files.reduce((sum, file) => sum + file.records, 0),
    batches: files.reduce((sum, file) => sum + file.batches, 0),
    bytes: files.reduce((sum, file) => sum + Math.max(0, file.bytes), 0),
    firstSequence: counted[0]?.firstSequence ?? null,
    lastSequence: counted.at(-1)?.lastSequence ?? null,
    firstTimeMs: counted[0]?.firstTimeMs ?? null,
    lastTimeMs: counted.at(-1)?.lastTimeMs ?? null,
    tail,
    damage,
    front,
    unfinished,
  };
}
