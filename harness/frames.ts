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

/** Offset of the frame holding byte `at`: 0 for the file header. */
export function frameContaining(bytes: Uint8Array, at: number): number {
  if (at < FILE_HEADER_BYTES) return 0;
  const frame = frames(bytes).find((f) => at >= f.offset && at < f.end);
  if (frame === undefined) throw new RangeError(`byte ${at} is past the last frame`);
  return frame.offset;
}
