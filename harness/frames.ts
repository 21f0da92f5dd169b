/**
 * A minimal frame walker over an undamaged log file's bytes, written from
 * docs/FORMAT.md independently of `src/log/scan.ts`, so the harness and the
 * tests never check the scanner against itself.
 *
 * @module
 */

/** File header size (docs/FORMAT.md). */
export const FILE_HEADER_BYTES = 64;
/** Record header size (docs/FORMAT.md). */
const RECORD_HEADER_BYTES = 32;
/** Kind byte of a data record. */
const DATA_KIND = 1;
/** Kind byte of a commit record. */
export const COMMIT_KIND = 2;

/** Where one frame sits in a log file. */
export interface FrameSpan {
  /** Offset of the record header. */
  readonly offset: number;
  /** Offset just past the payload. */
  readonly end: number;
  /** 1 = data, 2 = commit. */
  readonly kind: number;
}

/** The frames of an undamaged log file, in order, up to the zeros a writer preallocates after its last batch. */
export function frames(bytes: Uint8Array): FrameSpan[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: FrameSpan[] = [];
  for (let offset = FILE_HEADER_BYTES; offset + RECORD_HEADER_BYTES <= bytes.length && !isZeroFrame(bytes, offset); ) {
    const end = offset + RECORD_HEADER_BYTES + view.getUint32(offset + 4, true);
    out.push({ offset, end, kind: bytes[offset + 3]! });
    offset = end;
  }
  return out;
}

/** True when the record header at `offset` is all zeros: preallocated space, no frame. */
function isZeroFrame(bytes: Uint8Array, offset: number): boolean {
  for (let i = offset; i < offset + RECORD_HEADER_BYTES; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The offset a scan reports when byte `at` of this undamaged file is
 * flipped (docs/FORMAT.md): 0 in the file header; the frame's own offset in
 * a record header or a commit's payload, which their own CRCs cover; the
 * batch's start in a data payload, which only its batch's CRC covers.
 */
export function damageOffset(bytes: Uint8Array, at: number): number {
  if (at < FILE_HEADER_BYTES) return 0;
  let batchStart = FILE_HEADER_BYTES;
  for (const frame of frames(bytes)) {
    if (at >= frame.offset && at < frame.end) {
      return frame.kind === DATA_KIND && at >= frame.offset + RECORD_HEADER_BYTES ? batchStart : frame.offset;
    }
    if (frame.kind === COMMIT_KIND) batchStart = frame.end;
  }
  throw new RangeError(`byte ${at} is past the last frame`);
}
