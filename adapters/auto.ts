/**
 * Picks the filesystem adapter of the runtime this code runs on, importing
 * only that runtime's adapter (the others would not load: `adapters/deno.ts`
 * needs `Deno`, `adapters/bun.ts` needs `Bun`).
 *
 * @module
 */

import type { FileSystem } from "../src/fs.ts";

/** The JavaScript runtimes with a native adapter. */
export type RuntimeName = "node" | "bun" | "deno";

/** The runtime this code runs on: `deno` or `bun` by their globals, else `node`. */
export function runtimeName(): RuntimeName {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

/** Options every runtime's adapter takes (see {@link runtimeFileSystem}). */
export interface RuntimeFileSystemOptions {
  /**
   * Make each fsync of a log file on the calling thread: a faster serial
   * flush, but the event loop stops for the whole fsync. Default `false`.
   * See `NodeFileSystemOptions.blockingSync` for the trade, measured.
   */
  readonly blockingSync?: boolean;
}

/** The adapter class of the current runtime, loading only its module. */
async function adapterClass(): Promise<new (options: RuntimeFileSystemOptions) => FileSystem> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno.ts")).DenoFileSystem;
    case "bun":
      return (await import("./bun.ts")).BunFileSystem;
    case "node":
      return (await import("./node.ts")).NodeFileSystem;
  }
}

/**
 * A new {@link FileSystem} of the current runtime's adapter made with
 * `options`, for code that runs on any runtime, e.g.
 * `WalWriter.open(path, { fs: await runtimeFileSystem({ blockingSync: true }) })`.
 */
export async function runtimeFileSystem(options: RuntimeFileSystemOptions = {}): Promise<FileSystem> {
  return new (await adapterClass())(options);
}

/** The adapter every log uses when not given `fs`: one per process, with default options. */
let defaultAdapter: Promise<FileSystem> | undefined;

/** The {@link FileSystem} of the current runtime with default options (see {@link runtimeName}); the same one on every call. */
export function defaultFileSystem(): Promise<FileSystem> {
  defaultAdapter ??= runtimeFileSystem();
  return defaultAdapter;
}
