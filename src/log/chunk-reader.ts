/**
 * A bounded read-ahead buffer over a {@link FileHandle}: the scan asks for
 * byte ranges, this serves them from one reusable buffer, refilling it with
 * large sequential reads. Memory never exceeds `capacityMaxBytes`.
 *
 * @module
 */

import { assert } from "../assert.ts";
import type { FileHandle } from "../fs.ts";

/** Read-ahead size when nothing larger is asked for. */
const READ_AHEAD_BYTES = 1024 * 1024;
/** The first buffer holds at least this much (a file header), however little follows the start. */
const FIRST_BUFFER_BYTES_MIN = 64;

/** Serves byte ranges of one file from a single growable buffer. */
export class ChunkReader {
  readonly #file: FileHandle;
  readonly #fileBytes: number;
  readonly #capacityMaxBytes: number;
  #buffer: Uint8Array;
  /** File offset of `#buffer[0]`. */
  #bufferStart = 0;
  /** Bytes of `#buffer` that hold the file's (from `#bufferStart`). */
  #bufferedBytes = 0;

  /**
   * @param file the file to read
   * @param fileBytes the file's size; nothing past it is read
   * @param capacityMaxBytes the largest single range {@link view} will be asked for
   * @param startOffset where reading will start: the buffer is sized for what lies after it
   */
  constructor(file: FileHandle, fileBytes: number, capacityMaxBytes: number, startOffset = 0) {
    this.#file = file;
    this.#fileBytes = fileBytes;
    this.#capacityMaxBytes = Math.max(capacityMaxBytes, READ_AHEAD_BYTES);
    this.#buffer = new Uint8Array(Math.min(READ_AHEAD_BYTES, Math.max(fileBytes - startOffset, FIRST_BUFFER_BYTES_MIN)));
  }

  /**
   * The buffer itself, for loops that read many frames without a view
   * object per frame (fields read with `frame.ts`'s `getU32` and `getU64`):
   * file offset `o` is at index `o - bufferStart`, valid while
   * {@link isBuffered} says so, until the next refill.
   */
  get buffer(): Uint8Array {
    return this.#buffer;
  }

  /** File offset of `buffer[0]`. */
  get bufferStart(): number {
    return this.#bufferStart;
  }

  /** The file size this reader was made for. */
  get fileBytes(): number {
    return this.#fileBytes;
  }

  /** Whether {@link view} of this range would be served from the buffer without reading. */
  isBuffered(offset: number, lengthBytes: number): boolean {
    const wantedBytes = Math.max(0, Math.min(lengthBytes, this.#fileBytes - offset));
    return offset >= this.#bufferStart && offset + wantedBytes <= this.#bufferStart + this.#bufferedBytes;
  }

  /**
   * Bytes `[offset, offset + lengthBytes)`, cut short at end of file. The view
   * is valid until the next call. Returns the view itself (no promise) when
   * the range is already buffered, so a scan over buffered records never
   * waits on the event loop. The scan asks for no range longer than the
   * capacity nor starting past the end of the file.
   */
  view(offset: number, lengthBytes: number): Uint8Array | Promise<Uint8Array> {
    assert(
      lengthBytes <= this.#capacityMaxBytes && offset >= 0 && offset <= this.#fileBytes,
      "a range asked of the reader fits its capacity and starts within the file",
    );
    const wantedBytes = Math.max(0, Math.min(lengthBytes, this.#fileBytes - offset));
    if (this.isBuffered(offset, lengthBytes)) {
      const from = offset - this.#bufferStart;
      return this.#buffer.subarray(from, from + wantedBytes);
    }
    return this.#refill(offset, wantedBytes);
  }

  /** Bytes `[offset, offset + lengthBytes)` read into a fresh array, leaving the buffer as it is; short at end of file. */
  async peek(offset: number, lengthBytes: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(Math.max(0, Math.min(lengthBytes, this.#fileBytes - offset)));
    return bytes.subarray(0, await readInto(this.#file, bytes, offset));
  }

  /** Refills the buffer with a full read-ahead starting at `offset` (unless it already starts there). */
  async refillFrom(offset: number): Promise<void> {
    if (this.#bufferStart === offset && this.#bufferedBytes > 0) return;
    await this.#refill(offset, Math.min(this.#buffer.length, this.#fileBytes - offset));
  }

  /**
   * Refills from `offset` with twice as many bytes as the buffer holds, up to
   * the capacity and the end of the file, for a batch that reaches past a
   * full buffer. Returns false when the buffer holds no more from `offset`
   * than before: it already held all it can, or the file ended sooner than
   * its size said (a file being cut back, or a writer's zeros cut at close).
   */
  async refillWider(offset: number): Promise<boolean> {
    const heldBytes = this.#bufferStart === offset ? this.#bufferedBytes : 0;
    const wantedBytes = Math.min(this.#capacityMaxBytes, 2 * this.#buffer.length, this.#fileBytes - offset);
    if (wantedBytes <= heldBytes) return false;
    await this.#refill(offset, wantedBytes);
    return this.#bufferedBytes > heldBytes;
  }

  /** Reads a read-ahead from `offset` into the buffer (grown if `wantedBytes` need it) and returns the first `wantedBytes`. */
  async #refill(offset: number, wantedBytes: number): Promise<Uint8Array> {
    const fillBytes = Math.min(Math.max(wantedBytes, READ_AHEAD_BYTES), this.#capacityMaxBytes, this.#fileBytes - offset);
    assert(offset >= 0 && offset <= this.#fileBytes && fillBytes >= wantedBytes, "a refill reads what was asked for, within the file");
    if (fillBytes > this.#buffer.length) {
      this.#buffer = new Uint8Array(Math.min(this.#capacityMaxBytes, Math.max(fillBytes, this.#buffer.length * 2)));
    }
    assert(this.#buffer.length <= this.#capacityMaxBytes, "the buffer never grows past the reader's capacity");
    const readBytes = await readInto(this.#file, this.#buffer.subarray(0, fillBytes), offset);
    this.#bufferStart = offset;
    this.#bufferedBytes = readBytes;
    return this.#buffer.subarray(0, Math.min(wantedBytes, this.#bufferedBytes));
  }
}

/** Reads `file` from `offset` into all of `target`, or less when the file ends first (it may have shrunk); returns the bytes read. */
async function readInto(file: FileHandle, target: Uint8Array, offset: number): Promise<number> {
  let readBytes = 0;
  while (readBytes < target.length) {
    const bytesRead = await file.read(target.subarray(readBytes), offset + readBytes);
    if (bytesRead === 0) break;
    readBytes += bytesRead;
  }
  return readBytes;
}
