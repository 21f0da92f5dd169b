/**
 * Child for `test/drop.test.ts`: opens a writer and a segmented log in the
 * directory given as its argument, appends and flushes, and drops both
 * without closing them; then forces garbage collection (`Bun.gc(true)` on
 * Bun, `gc()` elsewhere, which the parent enables with `--expose-gc`) a few
 * times and prints `survived`. A runtime that kills the process when a file
 * handle is collected unclosed never prints it.
 *
 * @module
 */

import process from "node:process";
import { Wal, WalWriter } from "../../mod.ts";

/** Forces a full garbage collection on this runtime. */
function collect(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) return bun.gc(true);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("start this child with --expose-gc");
  gc();
}

/** Opens, writes and drops a writer and a log; nothing of them stays reachable. */
async function dropUnclosed(dir: string): Promise<void> {
  const writer = await WalWriter.open(`${dir}/dropped.wal`);
  await writer.append({ dropped: true });
  await writer.flush();
  const wal = await Wal.open(`${dir}/dropped`);
  await wal.append({ dropped: true });
  await wal.flush();
}

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: drop-writer.ts DIR");
await dropUnclosed(dir);
for (let round = 0; round < 5; round++) {
  collect();
  await new Promise((resolve) => setTimeout(resolve, 20)); // lets finalizers and their closes run between collections
}
console.log("survived");
