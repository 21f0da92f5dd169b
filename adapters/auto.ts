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

/** The ready-made {@link FileSystem} of the current runtime (see {@link runtimeName}). */
export async function defaultFileSystem(): Promise<FileSystem> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno.ts")).denoFileSystem;
    case "bun":
      return (await import("./bun.ts")).bunFileSystem;
    case "node":
      return (await import("./node.ts")).nodeFileSystem;
  }
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

/**
 * A new {@link FileSystem} of the current runtime's adapter made with
 * `options`, for code that runs on any runtime, e.g.
 * `WalWriter.open(path, { fs: await runtimeFileSystem({ blockingSync: true }) })`.
 */
export async function runtimeFileSystem(options: RuntimeFileSystemOptions = {}): Promise<FileSystem> {
  switch (runtimeName()) {
    case "deno":
      return new (await import("./deno.ts")).DenoFileSystem(options);
    case "bun":
      return new (await import("./bun.ts")).BunFileSystem(options);
    case "node":
      return new (await import("./node.ts")).NodeFileSystem(options);
  }
}
