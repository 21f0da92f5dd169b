/**
 * Byte storage for the in-memory filesystem: the contents of one file, on
 * disk or in the page cache. Runtime-agnostic: no runtime APIs, no `Buffer`.
 *
 * @module
 */

import { assert } from "../src/assert.ts";

/** Largest file the simulator holds, in bytes; a write or truncate past it fails with `EFBIG`. */
export const FILE_BYTES_MAX = 2 ** 30;

/** Smallest backing array a non-empty buffer allocates, in bytes, so that small appends do not reallocate each time. */
const CAPACITY_BYTES_MIN = 256;

/**
 * The contents of one file, on disk or in the page cache: a byte array that
 * grows geometrically. Invariant: every byte of the backing array at or past
 * `size` is zero, so growing the size exposes zeros (a hole) for free.
 */
export class ByteBuffer {
  #bytes: Uint8Array;
  #sizeBytes: number;

  /** A buffer holding a copy of `contents` (empty if omitted). */
  constructor(contents?: Uint8Array) {
    this.#sizeBytes = contents?.length ?? 0;
    this.#bytes = new Uint8Array(this.#sizeBytes);
    if (contents !== undefined) this.#bytes.set(contents);
  }

  /** Current size in bytes. */
  get size(): number {
    return this.#sizeBytes;
  }

  /** The contents as a view of the backing array: valid until the next mutation, so copy it to keep it. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#sizeBytes);
  }

  /** Copies bytes from offset `position` into `into`; returns how many: fewer at end of file, 0 at or past it. */
  read(into: Uint8Array, position: number): number {
    assert(Number.isSafeInteger(position) && position >= 0, `read position ${position}`);
    if (position >= this.#sizeBytes) return 0;
    const count = Math.min(into.length, this.#sizeBytes - position);
    into.set(this.#bytes.subarray(position, position + count));
    return count;
  }

  /** Copies `data` in at offset `position`, growing the size when it ends past it (the gap reads as zeros). */
  write(position: number, data: Uint8Array): void {
    const endBytes = position + data.length;
    assert(Number.isSafeInteger(position) && position >= 0, `write position ${position}`);
    assert(endBytes <= FILE_BYTES_MAX, `write end ${endBytes} exceeds FILE_BYTES_MAX`);
    this.#reserve(endBytes);
    this.#bytes.set(data, position);
    if (endBytes > this.#sizeBytes) this.#sizeBytes = endBytes;
  }

  /** Sets the size: shrinking discards the tail, growing exposes zeros. */
  resize(sizeBytes: number): void {
    assert(Number.isSafeInteger(sizeBytes) && sizeBytes >= 0 && sizeBytes <= FILE_BYTES_MAX, `size ${sizeBytes}`);
    if (sizeBytes < this.#sizeBytes) {
      this.#bytes.fill(0, sizeBytes, this.#sizeBytes);
    } else {
      this.#reserve(sizeBytes);
    }
    this.#sizeBytes = sizeBytes;
  }

  /** Inverts bit `bit` (0 = least significant) of the byte at `byteOffset`, which must be below `size`. */
  flipBit(byteOffset: number, bit: number): void {
    assert(Number.isSafeInteger(byteOffset) && byteOffset >= 0 && byteOffset < this.#sizeBytes, `flip offset ${byteOffset}`);
    assert(Number.isInteger(bit) && bit >= 0 && bit < 8, `flip bit ${bit}`);
    this.#bytes[byteOffset] = (this.#bytes[byteOffset] ?? 0) ^ (1 << bit);
  }

  /** An independent copy with the same contents. */
  clone(): ByteBuffer {
    return new ByteBuffer(this.view());
  }

  /** Whether `other` holds exactly the same bytes. */
  equals(other: ByteBuffer): boolean {
    if (other.size !== this.#sizeBytes) return false;
    const mine = this.view();
    const theirs = other.view();
    for (let index = 0; index < mine.length; index++) {
      if (mine[index] !== theirs[index]) return false;
    }
    return true;
  }

  #reserve(capacityBytes: number): void {
    if (capacityBytes <= this.#bytes.length) return;
    const grownBytes = Math.min(FILE_BYTES_MAX, Math.max(capacityBytes, this.#bytes.length * 2, CAPACITY_BYTES_MIN));
    const bytes = new Uint8Array(grownBytes);
    bytes.set(this.view());
    this.#bytes = bytes;
  }
}
