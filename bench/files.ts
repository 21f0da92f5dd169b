/**
 * The peers built on plain files through `node:fs` (they run on every
 * runtime): raw `write` + `fdatasync`, a JSONL file, a bare framed log, and
 * raw reads.
 *
 * @module
 */

import { writeSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { BYTE_RECORD_BYTES, type ByteRecordMaker, jsonLines, order, orders } from "./records.ts";

const MIB = 1024 * 1024;
/** Header bytes per record of {@link framedAppends}, as tswal's. */
const FRAME_HEADER_BYTES = 32;

/**
 * Writes `records` copies of `record`, `perSync` of them to a `write` call,
 * each call followed by one `fdatasync`: the least I/O that makes every
 * `perSync` records durable together.
 */
export async function rawAppends(path: string, record: Uint8Array, records: number, perSync: number): Promise<void> {
  const group = new Uint8Array(record.length * perSync);
  for (let i = 0; i < perSync; i++) group.set(record, i * record.length);
  const file = await open(path, "w");
  try {
    for (let written = 0; written < records; written += perSync) {
      const length = Math.min(perSync, records - written) * record.length;
      await file.write(group, 0, length, written * record.length);
      await file.datasync();
    }
  } finally {
    await file.close();
  }
}

/**
 * The fastest durable append loop that never blocks the event loop on the
 * disk: each record written with `writeSync` (a copy into the page cache),
 * then an awaited `fdatasync` (a thread-pool round trip). What a log that
 * keeps the event loop free can at best do one record at a time.
 */
export async function rawAppendsSyncWrite(path: string, record: Uint8Array, records: number): Promise<void> {
  const file = await open(path, "w");
  try {
    for (let written = 0; written < records; written++) {
      writeSync(file.fd, record, 0, record.length, written * record.length);
      await file.datasync();
    }
  } finally {
    await file.close();
  }
}

/** Writes orders 0 … `records - 1` as JSON lines, one `write` + one `fdatasync` per `perBatch` records. */
export async function jsonlAppends(path: string, records: number, perBatch: number): Promise<void> {
  const file = await open(path, "w");
  try {
    for (let first = 0, position = 0; first < records; first += perBatch) {
      const bytes = jsonLines(orders(first, Math.min(perBatch, records - first)));
      await file.write(bytes, 0, bytes.length, position);
      position += bytes.length;
      await file.datasync();
    }
  } finally {
    await file.close();
  }
}

/**
 * The floor for a log that takes one value per awaited call: each order
 * stringified and encoded into a buffer behind a 32-byte header (length,
 * index, `Date.now()`), one awaited resolved promise per value, and one
 * `write` + `fdatasync` per `perBatch`. No checks, no checksum: what any
 * framed log pays before doing its own work.
 */
export async function framedAppends(path: string, records: number, perBatch: number): Promise<void> {
  const encoder = new TextEncoder();
  const file = await open(path, "w");
  try {
    let buffer = new Uint8Array(MIB);
    let view = new DataView(buffer.buffer);
    let length = 0;
    let position = 0;
    for (let i = 0; i < records; i++) {
      const text = JSON.stringify(order(i));
      if (length + FRAME_HEADER_BYTES + 3 * text.length > buffer.length) {
        const grown = new Uint8Array(2 * buffer.length + 3 * text.length);
        grown.set(buffer.subarray(0, length));
        buffer = grown;
        view = new DataView(buffer.buffer);
      }
      const { written } = encoder.encodeInto(text, buffer.subarray(length + FRAME_HEADER_BYTES));
      view.setUint32(length, written, true);
      view.setUint32(length + 4, i, true);
      view.setFloat64(length + 8, Date.now(), true);
      length += FRAME_HEADER_BYTES + written;
      await Promise.resolve(i);
      if ((i + 1) % perBatch === 0 || i === records - 1) {
        await file.write(buffer, 0, length, position);
        position += length;
        length = 0;
        await file.datasync();
      }
    }
  } finally {
    await file.close();
  }
}

/**
 * The floor for unsynced appends of byte records: copies `records` values
 * made by `value`, as the bytes workload makes them, into one buffer, writes
 * it in 1 MiB calls, then one `fdatasync`.
 */
export async function rawBytesWrite(path: string, records: number, value: ByteRecordMaker): Promise<void> {
  const buffer = new Uint8Array(records * BYTE_RECORD_BYTES);
  for (let i = 0; i < records; i++) buffer.set(value(i), i * BYTE_RECORD_BYTES);
  const file = await open(path, "w");
  try {
    for (let position = 0; position < buffer.length; position += MIB) {
      const length = Math.min(MIB, buffer.length - position);
      await file.write(buffer, position, length, position);
    }
    await file.datasync();
  } finally {
    await file.close();
  }
}

/** Reads the whole file in 1 MiB chunks, doing nothing with the bytes. */
export async function rawRead(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    const buffer = new Uint8Array(MIB);
    for (let position = 0;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

/** Reads a JSONL file whole and parses every line; returns how many values it held. */
export async function jsonlReadAll(path: string): Promise<number> {
  const lines = (await readFile(path, "utf8")).split("\n");
  let count = 0;
  for (const line of lines) {
    if (line === "") continue;
    JSON.parse(line);
    count++;
  }
  return count;
}
