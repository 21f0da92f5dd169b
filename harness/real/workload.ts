/**
 * The workload of a real-crash run, run as a child process under strace:
 * `workload.ts <log path> <ack file> <records> [bug]`.
 *
 * Opens a {@link WalWriter} at the log path (its parent directory is
 * created), appends `records` records ({@link realValue}) in flushed batches
 * of 1, 2, 3, … (one of them with `appendBatch`), closes and reopens half
 * way, and closes at the end. After each flush resolves it writes
 * `ack <sequence>\n` to the ack file with one synchronous `write(2)`: the
 * trace shows exactly when each record was acknowledged.
 *
 * `bug` plants a bug in the runtime's own adapter, to show that the checks
 * catch it: `no-datasync` (a file's `sync` does nothing), `no-dirsync-after-rename`
 * (the directory sync that follows a rename is skipped), `ack-before-sync`
 * (a file's `sync` resolves at once and its fdatasync runs 50 ms later).
 *
 * @module
 */

import * as fs from "node:fs";
import process from "node:process";
import { defaultFileSystem } from "../../adapters/auto.ts";
import { type FileHandle, type FileSystem, WalWriter } from "../../mod.ts";
import { realBatches, realValue } from "./values.ts";

/** Appends one batch of `size` records from `first`, flushes, and marks the acknowledgement. */
async function batch(writer: WalWriter<unknown>, first: number, size: number, ackFd: number): Promise<void> {
  const values = Array.from({ length: size }, (_, k) => realValue(first + k));
  if (size === 3) await writer.appendBatch(values);
  else for (const value of values) await writer.append(value);
  await writer.flush();
  fs.writeSync(ackFd, `ack ${first + size - 1}\n`);
}

/** A handle whose `sync` is replaced. */
function withSync(handle: FileHandle, sync: () => Promise<void>): FileHandle {
  return {
    read: (buffer, position) => handle.read(buffer, position),
    write: (data, position) => handle.write(data, position),
    truncate: (size) => handle.truncate(size),
    size: () => handle.size(),
    close: () => handle.close(),
    sync,
  };
}

/** The runtime's adapter with `bug` planted (see the module documentation). */
function buggy(fs: FileSystem, bug: string): FileSystem {
  if (bug === "none") return fs;
  const wrapped = Object.create(fs) as FileSystem;
  if (bug === "no-datasync") {
    wrapped.open = async (path, mode) => withSync(await fs.open(path, mode), () => Promise.resolve());
  } else if (bug === "ack-before-sync") {
    wrapped.open = async (path, mode) => {
      const handle = await fs.open(path, mode);
      return withSync(handle, () => {
        setTimeout(() => void handle.sync().catch(() => undefined), 50);
        return Promise.resolve();
      });
    };
  } else if (bug === "no-dirsync") {
    wrapped.syncDir = () => Promise.resolve();
  } else if (bug === "no-dirsync-after-rename") {
    let renamed = false;
    wrapped.rename = (from, to) => {
      renamed = true;
      return fs.rename(from, to);
    };
    wrapped.syncDir = (path) => {
      if (!renamed) return fs.syncDir(path);
      renamed = false;
      return Promise.resolve();
    };
  } else throw new Error(`unknown bug ${bug}`);
  return wrapped;
}

/** Runs the workload. */
async function main(args: readonly string[]): Promise<void> {
  const [path, ackPath, count, bug = "none"] = args;
  const adapter = buggy(await defaultFileSystem(), bug);
  if (path === undefined || ackPath === undefined || count === undefined) throw new Error("usage: workload.ts <log> <acks> <records>");
  const ackFd = fs.openSync(ackPath, "a");
  const sizes = realBatches(Number(count));
  let writer = await WalWriter.open<unknown>(path, { fs: adapter });
  let next = 1;
  for (const [index, size] of sizes.entries()) {
    if (index === Math.floor(sizes.length / 2)) {
      await writer.close();
      writer = await WalWriter.open<unknown>(path, { repair: "truncate-partial", fs: adapter });
    }
    await batch(writer, next, size, ackFd);
    next += size;
  }
  await writer.close();
  fs.closeSync(ackFd);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`workload failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}
