/**
 * What every system in the bench stores, and its encodings for the systems
 * that take bytes.
 *
 * @module
 */

/** The value every system stores: an order with a 256-byte note (≈ 330 bytes of JSON). */
export interface Order {
  readonly id: number;
  readonly kind: string;
  readonly customer: string;
  readonly amount: number;
  readonly note: string;
}

/** Bytes of each value of the bytes-codec workload. */
export const BYTE_RECORD_BYTES = 100;

const encoder = new TextEncoder();

/**
 * The note, decoded from bytes as text read from a file or a socket is, so
 * that it is a flat string on every run. `"x".repeat(256)` would be a rope
 * in V8: `JSON.stringify` flattens it in place, but whether later calls see
 * the flat text or keep walking the rope depends on whether a scavenge ran
 * between its creation and its first use. Measured on Deno 2.9, that timing
 * alone moved one workload's stringify cost by up to 2.5×, between runs and
 * between scripts differing only in their imports, for every system alike.
 */
const NOTE = new TextDecoder().decode(new Uint8Array(256).fill(0x78));

/** The order with id `id`. */
export function order(id: number): Order {
  return { id, kind: "order-created", customer: "c-1234", amount: 1999, note: NOTE };
}

/** The orders `first` … `first + count - 1`. */
export function orders(first: number, count: number): Order[] {
  return Array.from({ length: count }, (_, i) => order(first + i));
}

/** `values` as JSON lines, UTF-8. */
export function jsonLines(values: readonly unknown[]): Uint8Array {
  let text = "";
  for (const value of values) text += `${JSON.stringify(value)}\n`;
  return encoder.encode(text);
}

/** Makes the byte value with id `id` (see {@link byteRecord}). */
export type ByteRecordMaker = (id: number) => Uint8Array;

/**
 * A fresh {@link BYTE_RECORD_BYTES}-byte value whose first four bytes are
 * `id` (little-endian), in an array of its own. On V8 (Node, Deno) this
 * allocation costs more than an append: a million of them took 415–1,120 ms
 * alone, against 30–70 ms for {@link slabByteRecords}' views.
 */
export function byteRecord(id: number): Uint8Array {
  return withId(new Uint8Array(BYTE_RECORD_BYTES), id);
}

/** Bytes of each slab {@link slabByteRecords} carves values from. */
const SLAB_BYTES = 64 * 1024;

/**
 * A maker of the same values as {@link byteRecord}, each a fresh view carved
 * in turn from a 64 KiB slab (a new slab when one is used up): how a pooled
 * allocator hands out small byte arrays (Node's `Buffer.allocUnsafe` below
 * 4 KiB) and how values decoded from a received frame arrive.
 */
export function slabByteRecords(): ByteRecordMaker {
  let slab = new Uint8Array(SLAB_BYTES);
  let usedBytes = 0;
  return (id) => {
    if (usedBytes + BYTE_RECORD_BYTES > SLAB_BYTES) {
      slab = new Uint8Array(SLAB_BYTES);
      usedBytes = 0;
    }
    const bytes = slab.subarray(usedBytes, usedBytes + BYTE_RECORD_BYTES);
    usedBytes += BYTE_RECORD_BYTES;
    return withId(bytes, id);
  };
}

/** `bytes` with `id` in its first four bytes (little-endian). */
function withId(bytes: Uint8Array, id: number): Uint8Array {
  bytes[0] = id;
  bytes[1] = id >>> 8;
  bytes[2] = id >>> 16;
  bytes[3] = id >>> 24;
  return bytes;
}
