/**
 * Records as `dump` and `follow` print them: one JSON line each,
 * `{"sequence","timeMs","value"}`, the value decoded as JSON, or with `raw`
 * the payload's bytes in base64.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { bytesCodec, type Codec, jsonCodec, WalReader, type WalRecord, type VerifyReport } from "../mod.ts";

/** The codec for `raw` (bytes) or not (JSON). */
export function codecFor(raw: boolean): Codec<unknown> {
  return raw ? (bytesCodec as Codec<unknown>) : jsonCodec;
}

/** One record as a JSON line. */
export function recordLine(record: WalRecord<unknown>, raw: boolean): string {
  const value = raw ? Buffer.from(record.value as Uint8Array).toString("base64") : record.value;
  return JSON.stringify({ sequence: record.sequence, timeMs: record.timeMs, value });
}

/**
 * The records in `[from, to]` of the files a verify report lists (the log
 * file, or the live segments oldest first, records below the front left
 * out), read without the lock. Stops at the first damage it meets (a
 * `WalCorruptionError` thrown after every intact record before it).
 */
export async function* readReported(report: VerifyReport, from: number, to: number, raw: boolean): AsyncGenerator<WalRecord<unknown>, void, undefined> {
  const start = Math.max(from, report.front ?? 0);
  for (const file of report.files) {
    if (file.lastSequence !== null && file.lastSequence < start) continue;
    for await (const record of WalReader.open(file.path, { from: start, codec: codecFor(raw) })) {
      if (record.sequence > to) return;
      yield record;
    }
  }
}
