/**
 * Writes a log on the real filesystem, tears its tail the way a crash would
 * (a batch half-written when the machine went down), shows that a strict open refuses it,
 * reopens with `truncate-partial`, and prints what was recovered and what was
 * cut (and where the cut bytes were kept).
 *
 * Runs on any runtime: `npm run example:torn-tail`, `deno run -A
 * examples/torn-tail.ts`, `bun examples/torn-tail.ts`.
 */

import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WalCorruptionError, WalReader, WalWriter } from "../mod.ts";

const dir = await mkdtemp(join(tmpdir(), "tswal-demo-"));
const path = join(dir, "orders.wal");
try {
  // 1. Ten orders, each acknowledged by a flush.
  const writer = await WalWriter.open(path);
  for (let i = 1; i <= 10; i++) {
    await writer.append({ order: i, item: `widget-${i}`, qty: i * 3 });
    await writer.flush();
  }
  await writer.close();
  const durableBytes = (await stat(path)).size;
  console.log(`wrote 10 acknowledged records: ${durableBytes} bytes`);

  // 2. A crash mid-flush: a batch of two more records was being written, and
  //    its last 20 bytes (part of its commit record) never reached the disk.
  const crashing = await WalWriter.open(path);
  await crashing.append({ order: 11, item: "whole, but its batch is torn", qty: 1 });
  await crashing.append({ order: 12, item: "torn by the crash", qty: 2 });
  await crashing.close();
  const onDisk = new Uint8Array(await readFile(path));
  await writeFile(path, onDisk.subarray(0, onDisk.length - 20));
  console.log(`simulated crash: file is now ${onDisk.length - 20} bytes, the last batch torn`);

  // 3. Strict open refuses, naming kind and offset; the file is untouched.
  try {
    await WalWriter.open(path, { repair: "strict" });
    throw new Error("strict open accepted a torn log");
  } catch (error) {
    if (!(error instanceof WalCorruptionError)) throw error;
    const { kind, offset } = error.corruption;
    console.log(`strict open refused: ${kind} at offset ${offset}`);
  }

  // 4. Repair cuts only the torn batch (both records: a batch survives whole or not at all) and keeps its bytes aside.
  const repaired = await WalWriter.open(path, { repair: "truncate-partial" });
  const cut = repaired.repaired;
  if (cut === null) throw new Error("expected a repair");
  console.log(`truncate-partial cut ${cut.bytes} bytes (${cut.kind}) at offset ${cut.offset}, saved to ${cut.savedTo}`);
  console.log(`log continues at sequence ${repaired.currentSequence + 1}`);
  await repaired.append({ order: 13, item: "after recovery", qty: 5 });
  await repaired.close();

  // 5. What survived.
  console.log("recovered records:");
  for await (const { sequence, value } of WalReader.open(path)) console.log(`  #${sequence} ${JSON.stringify(value)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
