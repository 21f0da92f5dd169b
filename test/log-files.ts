/**
 * Test-side helpers for building logs and looking at their bytes. The frame
 * walker here is written from docs/FORMAT.md independently of `src/scan.ts`,
 * so tests do not check the scanner against itself.
 *
 * @module
 */

import { readFile, writeFile } from "node:fs/promises";
import { WalReader, WalWriter, type WalWriterOptions } from "../mod.ts";

/** Where one frame sits in a log file. */
export interface FrameSpan {
  /** Offset of the record header. */
  readonly offset: number;
  /** Offset just past the payload. */
  readonly end: number;
  /** 1 = data, 2 = commit. */
  readonly kind: number;
}

/** Walks the frames of an undamaged log file's bytes. */
export function frames(bytes: Uint8Array): FrameSpan[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: FrameSpan[] = [];
  for (let offset = 40; offset < bytes.length; ) {
    const end = offset + 32 + view.getUint32(offset + 4, true);
    out.push({ offset, end, kind: bytes[offset + 3]! });
    offset = end;
  }
  return out;
}

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
