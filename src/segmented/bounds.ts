/**
 * The bounds file of a segmented log (`wal.bounds`, docs/SEGMENTS.md): the
 * front (no record below it is ever returned again) and, while a back
 * truncation is in progress, the sequence it cuts after. Replacing this file
 * is the commit point of every truncation and retention run, so it is only
 * ever replaced whole: written to `wal.bounds.creating`, synced, renamed over
 * `wal.bounds`, and the directory synced. A crash can therefore never tear
 * it, and any damage to it is fatal.
 *
 * It exists from the log's creation on (written right after the first
 * segment), and it also carries the log's id (every segment's header has
 * it) and names the newest segment, so that opening can verify the segment
 * set as a whole (docs/SEGMENTS.md, "The segment set").
 *
 * Layout (64 bytes, little-endian): magic `89 57 41 4C 42 4E 44 0A`
 * (`\x89WALBND\n`), u16 version 1, u16 flags (bit 0: back cut pending), u32
 * reserved 0, u64 front, u64 back (0 unless bit 0), 16 bytes log id, u64
 * newest (first sequence of the newest segment; 0 only while a back cut is
 * pending and no segment lies at or below it), u32 reserved 0, u32 plain
 * CRC-32 of bytes 0..60.
 *
 * @module
 */

import { type CorruptionKind, WalCorruptionError } from "../errors.ts";
import type { Crc32 } from "../format/crc32.ts";
import { getU16, getU32, getU64, LOG_ID_BYTES, setU64 } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { ifPresent, notRegularFile, replaceFileWithBytes } from "../io.ts";
import { join } from "../path.ts";

/** Name of the bounds file inside the log directory. */
export const BOUNDS_FILE = "wal.bounds";
/** Name it is written under before the rename that publishes it. */
export const BOUNDS_TEMPORARY = `${BOUNDS_FILE}.creating`;

const BOUNDS_BYTES = 64;
const CRC_AT = BOUNDS_BYTES - 4;
const MAGIC: readonly number[] = [0x89, 0x57, 0x41, 0x4c, 0x42, 0x4e, 0x44, 0x0a];
const VERSION = 1;
const FLAG_BACK_PENDING = 1;

/** Where the log's records start, and where a pending back truncation cuts. */
export interface Bounds {
  /** No record with a lower sequence is returned; 0 when nothing was ever truncated. */
  readonly front: number;
  /** A back truncation in progress removes every record above this; null when none is. */
  readonly back: number | null;
}

/** Bounds that hide nothing: what a reader assumes where there is no bounds file (yet). */
export const INITIAL_BOUNDS: Bounds = { front: 0, back: null };

/** The whole bounds file: the bounds, and what lets opening verify the segment set. */
export interface StoredBounds extends Bounds {
  /** The log's id (16 bytes): every segment's header carries it. */
  readonly logId: Uint8Array;
  /**
   * First sequence of the newest segment. While a back cut is pending: of
   * the newest segment at or below the cut (the one the cut leaves newest),
   * or 0 when there is none.
   */
  readonly newest: number;
}

/** Encodes `bounds` into the 64-byte file. */
function encodeBounds(bounds: StoredBounds, crc: Crc32): Uint8Array {
  const bytes = new Uint8Array(BOUNDS_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint16(8, VERSION, true);
  view.setUint16(10, bounds.back === null ? 0 : FLAG_BACK_PENDING, true);
  setU64(view, 16, bounds.front);
  setU64(view, 24, bounds.back ?? 0);
  bytes.set(bounds.logId, 32);
  setU64(view, 48, bounds.newest);
  view.setUint32(CRC_AT, crc(bytes.subarray(0, CRC_AT), 0), true);
  return bytes;
}

/** Decodes the bounds file's bytes; anything but a well-formed file throws {@link WalCorruptionError}. */
function decodeBounds(bytes: Uint8Array, crc: Crc32, path: string): StoredBounds {
  const fail = (kind: CorruptionKind, detail: string): never => {
    throw new WalCorruptionError({ kind, offset: 0, path, detail });
  };
  if (bytes.length !== BOUNDS_BYTES) fail("bad-header", `bounds file has ${bytes.length} bytes, not ${BOUNDS_BYTES}`);
  if (MAGIC.some((byte, index) => bytes[index] !== byte)) fail("bad-magic", "not a bounds file (magic differs)");
  if (getU32(bytes, CRC_AT) !== crc(bytes.subarray(0, CRC_AT), 0)) fail("checksum-mismatch", "bounds file CRC does not match");
  const version = getU16(bytes, 8);
  if (version !== VERSION) fail("unsupported-version", `bounds file version ${version}; this build reads ${VERSION}`);
  const flags = getU16(bytes, 10);
  const front = getU64(bytes, 16);
  const back = getU64(bytes, 24);
  const newest = getU64(bytes, 48);
  const pending = flags === FLAG_BACK_PENDING;
  if ((flags & ~FLAG_BACK_PENDING) !== 0 || getU32(bytes, 12) !== 0 || getU32(bytes, 56) !== 0 || front < 0 || back < 0 || newest < 0) {
    fail("bad-header", `bounds file fields out of range (flags ${flags})`);
  }
  if (!pending && back !== 0) fail("bad-header", `bounds file names back ${back} without a pending cut`);
  if (pending && front > back + 1) fail("bad-header", `bounds file front ${front} is above back ${back} + 1`);
  if (pending ? newest > back : newest < 1) fail("bad-header", `bounds file names newest segment ${newest} (back ${pending ? back : "none"})`);
  return { front, back: pending ? back : null, logId: bytes.slice(32, 32 + LOG_ID_BYTES), newest };
}

/**
 * The bounds stored in `dir`, or null when there is no bounds file (no log
 * yet). Anything but a regular file there is refused before it is opened (a
 * FIFO would block the read forever).
 */
export async function readBounds(fs: FileSystem, dir: string, crc: Crc32): Promise<StoredBounds | null> {
  const path = join(dir, BOUNDS_FILE);
  const bytes = await ifPresent(async () => {
    const stat = await fs.stat(path);
    if (stat === null) return null;
    if (!stat.isFile) throw notRegularFile(path);
    return await fs.readFile(path);
  }, null);
  return bytes === null ? null : decodeBounds(bytes, crc, path);
}

/**
 * Replaces the bounds file of `dir` with `bounds`, durably: once this
 * returns, a crash leaves the new bounds; if it throws, a crash leaves the
 * old ones or the new ones.
 */
export async function writeBounds(fs: FileSystem, dir: string, bounds: StoredBounds, crc: Crc32): Promise<void> {
  await replaceFileWithBytes(fs, join(dir, BOUNDS_FILE), join(dir, BOUNDS_TEMPORARY), encodeBounds(bounds, crc));
}
