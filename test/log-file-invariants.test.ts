/**
 * The LogFile state machine at the edges its asserted invariants guard,
 * driven directly (no writer, no lock): a file poisoned while a batch is in
 * flight starts no further batch, and the batches written before it stay
 * exactly as they were.
 */

import { expect, test } from "vitest";
import { bytesCodec, WalPoisonedError, WalReader } from "../mod.ts";
import { crc32 } from "../src/format/crc32.ts";
import { LogFile, type LogFileOptions } from "../src/log/log-file.ts";
import { MemoryFileSystem } from "../sim/mod.ts";

const PATH = "/data/log.wal";

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

async function openLog(fs: MemoryFileSystem, fence?: () => Promise<void> | undefined): Promise<LogFile> {
  await fs.mkdir("/data");
  await fs.syncDir("/");
  const options: LogFileOptions = {
    repair: "strict",
    recordBytesMax: 1024,
    batchBytesMax: 64 * 1024,
    crc: crc32,
    now: () => 1_000,
    baseSequence: 0,
    ...(fence === undefined ? {} : { fence }),
  };
  return LogFile.open(fs, PATH, options);
}

test("poisoned while a batch is in flight: the commit queued behind it rejects with WalPoisonedError and writes nothing", async () => {
  const fs = new MemoryFileSystem();
  let gate: { promise: Promise<void>; resolve: () => void } | null = null;
  const log = await openLog(fs, () => gate?.promise);
  log.append(new Uint8Array([1]));
  gate = deferred();
  const first = log.commit(); // batch 1 waits at the fence
  log.append(new Uint8Array([2]));
  const queued = log.commit(); // queued behind batch 1
  const cause = new Error("poisoned from outside");
  log.poison(cause);
  gate.resolve();
  await first; // batch 1 was sealed before the poison: it completes
  const endAfterFirst = log.endOffset;
  await expect(queued).rejects.toBeInstanceOf(WalPoisonedError);
  expect(log.endOffset).toBe(endAfterFirst);
  expect(log.durableEndOffset).toBe(endAfterFirst);
  await log.close();
  const values: unknown[] = [];
  for await (const record of WalReader.open(PATH, { fs, codec: bytesCodec })) values.push([...record.value]);
  expect(values).toEqual([[1]]);
});
