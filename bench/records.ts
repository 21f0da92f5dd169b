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

const NOTE = "x".repeat(256);
const encoder = new TextEncoder();

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

/** A fresh {@link BYTE_RECORD_BYTES}-byte value whose first four bytes are `id` (little-endian). */
export function byteRecord(id: number): Uint8Array {
  const bytes = new Uint8Array(BYTE_RECORD_BYTES);
  bytes[0] = id;
  bytes[1] = id >>> 8;
  bytes[2] = id >>> 16;
  bytes[3] = id >>> 24;
  return bytes;
}
