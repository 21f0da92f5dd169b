/**
 * Test-side helpers for building logs and looking at their bytes. The frame
 * walker comes from the harness, which wrote it from docs/FORMAT.md
 * independently of `src/scan.ts`, so tests do not check the scanner against
 * itself.
 *
 * @module
 */

import { readFile, writeFile } from "node:fs/promises";
import { WalReader, WalWriter, type WalWriterOptions } from "../mod.ts";

export { frames } from "../harness/frames.ts";

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
