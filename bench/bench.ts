/**
 * `npm run bench`: throughput of the log next to peers measured in the same
 * run on the same disk, printed as ratios (never asserted: machines are
 * noisy). Peers:
 * - raw: `write` + `fdatasync` per record through `node:fs` (the floor for a
 *   durable serial append), and one `fdatasync` per batch of 64;
 * - JSONL: `appendFile` of a JSON line + `fsync` per record (the shape of the
 *   runtimo_core reference writer);
 * - raw read: reading the same log file sequentially, for the cost of open's
 *   full validation.
 * Runs on whichever runtime executes it: `npm run bench` (Node),
 * `deno run -A bench/bench.ts`, `bun bench/bench.ts`.
 */

import { appendFile, mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeName } from "../adapters/auto.ts";
import { WalWriter } from "../mod.ts";

const RECORD_VALUE = { id: 0, kind: "order-created", customer: "c-1234", amount: 1999, items: ["a", "b", "c"] };
const SERIAL_RECORDS = 2000;
const BATCH_RECORDS = 64;
const BATCHES = 200;
const SCAN_RECORDS = 200_000;

const dir = await mkdtemp(join(tmpdir(), "tswal-bench-"));
try {
  console.log(`runtime: ${runtimeName()}; record ≈ ${JSON.stringify(RECORD_VALUE).length} B of JSON\n`);

  const rawSerial = await opsPerSecond(SERIAL_RECORDS, () => rawAppends(join(dir, "raw.bin"), SERIAL_RECORDS, 1));
  const jsonlSerial = await opsPerSecond(SERIAL_RECORDS, () => jsonlAppends(join(dir, "log.jsonl"), SERIAL_RECORDS));
  const walSerial = await opsPerSecond(SERIAL_RECORDS, () => walSerialAppends(join(dir, "serial.wal"), SERIAL_RECORDS));
  const rawBatched = await opsPerSecond(BATCH_RECORDS * BATCHES, () => rawAppends(join(dir, "rawb.bin"), BATCH_RECORDS * BATCHES, BATCH_RECORDS));
  const walGroup = await opsPerSecond(BATCH_RECORDS * BATCHES, () => walGroupCommit(join(dir, "group.wal"), BATCHES, BATCH_RECORDS));

  const scanPath = join(dir, "scan.wal");
  await walBulk(scanPath, SCAN_RECORDS);
  const scanBytes = (await stat(scanPath)).size;
  const rawRead = await bytesPerSecond(scanBytes, () => rawRead1MiB(scanPath));
  const walOpen = await bytesPerSecond(scanBytes, async () => (await WalWriter.open(scanPath)).close());

  const rows: [string, number, string, number][] = [
    ["durable appends/s, one at a time", walSerial, "raw write+fdatasync", rawSerial],
    ["durable appends/s, one at a time", walSerial, "JSONL appendFile+fsync", jsonlSerial],
    [`durable appends/s, ${BATCH_RECORDS} concurrent callers`, walGroup, `raw, 1 fdatasync per ${BATCH_RECORDS}`, rawBatched],
    [`open+validate MB/s (${(scanBytes / 1e6).toFixed(0)} MB)`, walOpen / 1e6, "raw sequential read", rawRead / 1e6],
  ];
  console.log(`${"measure".padEnd(44)} ${"tswal".padStart(10)}  ${"peer".padEnd(28)} ${"peer".padStart(10)}  ratio`);
  for (const [what, ours, peer, theirs] of rows) {
    console.log(`${what.padEnd(44)} ${ours.toFixed(0).padStart(10)}  ${peer.padEnd(28)} ${theirs.toFixed(0).padStart(10)}  ${(ours / theirs).toFixed(2)}×`);
  }
  console.log("\nA flush is fsync + commit record + fsync (docs/FORMAT.md), so one-at-a-time durable appends cost two fsyncs;");
  console.log("concurrent callers share them (group commit).");
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function opsPerSecond(ops: number, run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return ops / ((performance.now() - start) / 1000);
}

async function bytesPerSecond(bytes: number, run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return bytes / ((performance.now() - start) / 1000);
}

function encodedRecord(i: number): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ ...RECORD_VALUE, id: i })}\n`);
}

async function rawAppends(path: string, records: number, perSync: number): Promise<void> {
  const file = await open(path, "w");
  let position = 0;
  for (let i = 0; i < records; i++) {
    const bytes = encodedRecord(i);
    await file.write(bytes, 0, bytes.length, position);
    position += bytes.length;
    if ((i + 1) % perSync === 0) await file.datasync();
  }
  await file.close();
}

async function jsonlAppends(path: string, records: number): Promise<void> {
  for (let i = 0; i < records; i++) {
    await appendFile(path, encodedRecord(i));
    const file = await open(path, "r+");
    await file.sync();
    await file.close();
  }
}

async function walSerialAppends(path: string, records: number): Promise<void> {
  const writer = await WalWriter.open(path);
  for (let i = 0; i < records; i++) {
    await writer.append({ ...RECORD_VALUE, id: i });
    await writer.flush();
  }
  await writer.close();
}

async function walGroupCommit(path: string, batches: number, callers: number): Promise<void> {
  const writer = await WalWriter.open(path);
  for (let b = 0; b < batches; b++) {
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        await writer.append({ ...RECORD_VALUE, id: b * callers + c });
        await writer.flush();
      }),
    );
  }
  await writer.close();
}

async function walBulk(path: string, records: number): Promise<void> {
  const writer = await WalWriter.open(path);
  for (let i = 0; i < records; i++) {
    await writer.append({ ...RECORD_VALUE, id: i });
    if ((i + 1) % 1000 === 0) await writer.flush();
  }
  await writer.close();
}

async function rawRead1MiB(path: string): Promise<void> {
  const file = await open(path, "r");
  const buffer = new Uint8Array(1024 * 1024);
  for (let position = 0; ; ) {
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
  }
  await file.close();
}
