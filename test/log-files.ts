/**
 * Test-side helpers for building logs and looking at their bytes. The frame
 * walker comes from the harness, which wrote it from docs/FORMAT.md
 * independently of `src/log/scan.ts`, so tests do not check the scanner against
 * itself.
 *
 * @module
 */

import { readFile, writeFile } from "node:fs/promises";
import { WalReader, WalWriter, type WalWriterOptions } from "../mod.ts";

import { damageOffset, FILE_HEADER_BYTES, frames } from "../harness/frames.ts";

export { damageOffset, frames };

/** Writes `values` to a fresh log at `path`, flushing after each, and closes it. */
export async function writeLog(path: string, values: unknown[], options: WalWriterOptions<unknown> = {}): Promise<Uint8Array> {
  const writer = await WalWriter.open(path, options);
  for (const value of values) {
    await writer.append(value);
    await writer.flush();
  }
  await writer.close();
  return new Uint8Array(await readFile(path));
}

/**
 * Writes each of `batches` to a fresh log at `path` as one batch
 * (`appendBatch`, then `flush`), and closes it.
 */
export async function writeBatches(path: string, batches: unknown[][], options: WalWriterOptions<unknown> = {}): Promise<Uint8Array> {
  const writer = await WalWriter.open(path, options);
  for (const batch of batches) {
    await writer.appendBatch(batch);
    await writer.flush();
  }
  await writer.close();
  return new Uint8Array(await readFile(path));
}

/**
 * Where the final batch of an undamaged log starts: just past its
 * second-to-last commit record (past the file header when it has one batch).
 */
export function finalBatchStart(bytes: Uint8Array): number {
  return frames(bytes).filter((frame) => frame.kind === 2).at(-2)?.end ?? FILE_HEADER_BYTES;
}

/** Every record's value, read back with a reader. */
export async function readValues(path: string, options: { from?: number } = {}): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const record of WalReader.open(path, options)) out.push(record.value);
  return out;
}

/** Replaces the file's contents. */
export async function overwrite(path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(path, bytes);
}

/** The file's contents. */
export async function contents(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/** The size of the log in the file at `path`: the end of its last frame, without the zeros an open writer preallocates after it. */
export async function logBytes(path: string): Promise<number> {
  return frames(await contents(path)).at(-1)?.end ?? FILE_HEADER_BYTES;
}
