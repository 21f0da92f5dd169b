/**
 * The writer process of the demo (examples/demo.ts): opens the segmented
 * log in `argv[2]` (strict: the demo repairs before starting it) and
 * appends orders forever, in batches of 1 to 64 concurrent appends sealed
 * by one flush, until it is killed.
 *
 * Stdout lines, each written only once what it says has happened:
 * `opened <currentSequence>`, then `ack <sequence>` once the flush covering
 * every record up to `sequence` resolved (from then on they must survive).
 *
 * @module
 */

import process from "node:process";
import { Wal } from "../mod.ts";
import { demoOrder } from "./demo-order.ts";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: demo-writer.ts <log directory>");
const wal = await Wal.open(dir, { segmentBytes: 4 << 20 });
process.stdout.write(`opened ${wal.currentSequence}\n`);
for (let round = 0; ; round++) {
  const first = wal.currentSequence + 1;
  const count = 1 + ((round * 37) % 64);
  const appends: Promise<number>[] = [];
  for (let sequence = first; sequence < first + count; sequence++) appends.push(wal.append(demoOrder(sequence)));
  await Promise.all(appends);
  await wal.flush();
  process.stdout.write(`ack ${first + count - 1}\n`);
}
