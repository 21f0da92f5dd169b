/**
 * A bounded read-ahead buffer over a {@link FileHandle}: the scan asks for
 * byte ranges, this serves them from one reusable buffer, refilling it with
 * large sequential reads. Memory never exceeds `capacityMaxBytes`.
 *
 * @module
 */

import type { FileHandle } from "../fs.ts";

/** Read-ahead size when nothing larger is asked for. */
const READ_AHEAD_BYTES = 1024 * 1024;

/** Serves byte ranges of one file from a single growable buffer. */
export class ChunkReader {
  readonly #file: FileHandle;
  readonly #fileBytes: number;
  readonly #capacityMaxBytes: number;
  #buffer: Uint8Array;
  #dataView: DataView;
  /** File offset of `#buffer[0]`. */
  #start = 0;
  /** Valid bytes in `#buffer`. */
  #length = 0;

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
    this.#buffer = new Uint8Array(Math.min(READ_AHEAD_BYTES, Math.max(fileBytes - startOffset, 64)));
    this.#dataView = new DataView(this.#buffer.buffer);
  }

  /**
   * The buffer itself, for loops that read many frames without a view
   * object per frame: file offset `o` is at index `o - bufferStart`, valid
   * while {@link isBuffered} says so, until the next refill.
   */
  get buffer(): Uint8Array {
    return this.#buffer;
  }

  /** A `DataView` over {@link buffer}. */
  get dataView(): DataView {
    return this.#dataView;
  }

  /** File offset of `buffer[0]`. */
  get bufferStart(): number {
    return this.#start;
  }

  /** The file size this reader was made for. */
  get fileBytes(): number {
    return this.#fileBytes;
  }

  /** Whether {@link view} of this range would be served from the buffer without reading. */
  isBuffered(offset: number, lengthBytes: number): boolean {
    const wanted = Math.max(0, Math.min(lengthBytes, this.#fileBytes - offset));
    return offset >= this.#start && offset + wanted <= this.#start + this.#length;
  }

  /**
   * Bytes `[offset, offset + lengthBytes)`, cut short at end of file. The view
   * is valid until the next call. Returns the view itself (no promise) when
   * the range is already buffered, so a scan over buffered records never
   * waits on the event loop.
   */
  view(offset: number, lengthBytes: number): Uint8Array | Promise<Uint8Array> {
    if (lengthBytes > this.#capacityMaxBytes) throw new RangeError(`range of ${lengthBytes} bytes exceeds reader capacity`);
    const wanted = Math.max(0, Math.min(lengthBytes, this.#fileBytes - offset));
    if (this.isBuffered(offset, lengthBytes)) {
      const from = offset - this.#start;
      return this.#buffer.subarray(from, from + wanted);
    }
    return this.#refill(offset, wanted);
  }

  /** Bytes `[offset, offset + lengthBytes)` read into a fresh array, leaving the buffer as it is; short at end of file. */
  async peek(offset: number, lengthBytes: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(Math.max(0, Math.min(lengthBytes, this.#fileBytes - offset)));
    let got = 0;
    while (got < bytes.length) {
      const n = await this.#file.read(bytes.subarray(got), offset + got);
      if (n === 0) break;
      got += n;
    }
    return bytes.subarray(0, got);
  }

  /** Refills the buffer with a full read-ahead starting at `offset` (unless it already starts there). */
  async refillFrom(offset: number): Promise<void> {
    if (this.#start === offset && this.#length > 0) return;
    await this.#refill(offset, Math.min(this.#buffer.length, this.#fileBytes - offset));
  }

  async #refill(offset: number, wanted: number): Promise<Uint8Array> {
    const fill = Math.min(Math.max(wanted, READ_AHEAD_BYTES), this.#capacityMaxBytes, this.#fileBytes - offset);
    if (fill > this.#buffer.length) {
      this.#buffer = new Uint8Array(Math.min(this.#capacityMaxBytes, Math.max(fill, this.#buffer.length * 2)));
      this.#dataView = new DataView(this.#buffer.buffer);
    }
    let got = 0;
    while (got < fill) {
      const n = await this.#file.read(this.#buffer.subarray(got, fill), offset + got);
      if (n === 0) break; // the file shrank under us; report what exists
      got += n;
    }
    this.#start = offset;
    this.#length = got;
    return this.#buffer.subarray(0, Math.min(wanted, got));
  }
}
