/**
 * The bench's workloads on tswal, through the public API only.
 *
 * @module
 */

import { defaultFileSystem } from "../adapters/auto.ts";
import { bytesCodec, type FileHandle, type FileSystem, type OpenMode, type SyncMode, WalReader, WalWriter } from "../mod.ts";
import { type ByteRecordMaker, order, orders } from "./records.ts";

/**
 * How the serial and concurrent workloads make each record durable:
 * `manual`, `append` then `flush`; `always`, a plain `append` under `sync: "always"`.
 */
export type PerRecordSync = Exclude<SyncMode, object>;

/** One record at a time, each durable before the next; on `fs` when given (else the runtime's default adapter). */
export async function walSerial(path: string, records: number, sync: PerRecordSync, fs?: FileSystem): Promise<void> {
  const writer = await WalWriter.open(path, fs === undefined ? { sync } : { sync, fs });
  for (let i = 0; i < records; i++) await appendDurably(writer, sync, order(i));
  await writer.close();
}

/** `rounds` rounds of `callers` concurrent callers, each appending one record durably; on `fs` when given. */
export async function walConcurrent(path: string, rounds: number, callers: number, sync: PerRecordSync, fs?: FileSystem): Promise<void> {
  const writer = await WalWriter.open(path, fs === undefined ? { sync } : { sync, fs });
  for (let round = 0; round < rounds; round++) {
    await Promise.all(Array.from({ length: callers }, (_, caller) => appendDurably(writer, sync, order(round * callers + caller))));
  }
  await writer.close();
}

/** Appends `value` and returns once it is durable (flushing under `manual`). */
async function appendDurably(writer: WalWriter, sync: PerRecordSync, value: unknown): Promise<void> {
  await writer.append(value);
  if (sync === "manual") await writer.flush();
}

/** Awaits every `append`; awaits a `flush` after every `perFlush` records. */
export async function walBulk(path: string, records: number, perFlush: number): Promise<void> {
  const writer = await WalWriter.open(path);
  for (let i = 0; i < records; i++) {
    await writer.append(order(i));
    if ((i + 1) % perFlush === 0) await writer.flush();
  }
  await writer.close();
}

/** Fires `perFlush` appends without awaiting them one by one, then awaits them together with a `flush`. */
export async function walBulkUnawaited(path: string, records: number, perFlush: number): Promise<void> {
  const writer = await WalWriter.open(path);
  for (let first = 0; first < records; first += perFlush) {
    const appends = orders(first, Math.min(perFlush, records - first)).map((value) => writer.append(value));
    await Promise.all([...appends, writer.flush()]);
  }
  await writer.close();
}

/** One `appendBatch` + `flush` per `perBatch` records. */
export async function walBulkAppendBatch(path: string, records: number, perBatch: number): Promise<void> {
  const writer = await WalWriter.open(path);
  for (let first = 0; first < records; first += perBatch) {
    await writer.appendBatch(orders(first, Math.min(perBatch, records - first)));
    await writer.flush();
  }
  await writer.close();
}

/**
 * Awaited appends of 100-byte values made by `value` (a fresh one each),
 * with the bytes codec, one `flush` at the end (the writer still writes and
 * syncs each full `maxBatchBytes` batch on its own, as it does for any user).
 */
export async function walBytes(path: string, records: number, value: ByteRecordMaker): Promise<void> {
  const writer = await WalWriter.open(path, { codec: bytesCodec });
  for (let i = 0; i < records; i++) await writer.append(value(i));
  await writer.close();
}

/** Opens (so validates) the log and closes it. */
export async function walOpen(path: string): Promise<void> {
  await (await WalWriter.open(path)).close();
}

/** Reads every record, values decoded; returns how many there were. */
export async function walReadAll(path: string): Promise<number> {
  let count = 0;
  for await (const _ of WalReader.open(path)) count++;
  return count;
}

/**
 * Writes a log of `records` one-record batches (`append` + `flush` each)
 * through the runtime's adapter with its fsyncs turned into no-ops: the file
 * is byte for byte what durable flushes would leave, made in seconds instead
 * of one fsync pair per record. A fixture, not a measurement.
 */
export async function writeOneRecordBatches(path: string, records: number): Promise<void> {
  const writer = await WalWriter.open(path, { fs: withoutFsync(await defaultFileSystem()) });
  for (let i = 0; i < records; i++) {
    await writer.append(order(i));
    await writer.flush();
  }
  await writer.close();
}

/**
 * Writes `bytes` (rounded up to whole records) of `recordBytes`-byte values
 * with the bytes codec, one flush per 1,000 records; for the `--big` open.
 */
export async function writeBytesLog(path: string, bytes: number, recordBytes: number): Promise<void> {
  const writer = await WalWriter.open(path, { codec: bytesCodec });
  const value = new Uint8Array(recordBytes).fill(7);
  for (let i = 0; i * recordBytes < bytes; i++) {
    await writer.append(value);
    if ((i + 1) % 1000 === 0) await writer.flush();
  }
  await writer.close();
}

/** `fs` with `sync` and `syncDir` as no-ops; every other call goes to `fs` unchanged. */
function withoutFsync(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, key) {
      if (key === "open") return async (path: string, mode: OpenMode) => handleWithoutSync(await target.open(path, mode));
      if (key === "syncDir") return async () => {};
      const member: unknown = Reflect.get(target, key);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

/** `file` with `sync` as a no-op. */
function handleWithoutSync(file: FileHandle): FileHandle {
  return {
    read: (buffer, position) => file.read(buffer, position),
    write: (data, position) => file.write(data, position),
    truncate: (size) => file.truncate(size),
    sync: async () => {},
    size: () => file.size(),
    close: () => file.close(),
  };
}
