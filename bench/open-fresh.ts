/**
 * Opening a log in a fresh process: what an application pays when it opens
 * its log at start-up, before any of tswal's code has been optimized by the
 * engine. The bench's other open figures come after warm-up in a process
 * that has already written logs, and hid that a fresh Bun process opened
 * one-record batches at under 300 MB/s (see `src/format/frame.ts`).
 *
 * Run as a script (`<runtime> open-fresh.{js,ts} <path>`), it opens `path`
 * once and prints how long that took in milliseconds; the bench runs it with
 * the runtime that runs the bench ({@link openInFreshProcess}).
 *
 * @module
 */

import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../adapters/auto.ts";
import { walOpen } from "./tswal.ts";

/** This file as the running runtime loads it: the compiled `.js` on Node (`npm run bench`), the `.ts` source on Bun and Deno. */
const SCRIPT = fileURLToPath(import.meta.url);

/** Tries per open: a child the runtime itself crashed (killed by a signal) is run again, with a note. */
const ATTEMPTS_MAX = 3;

/**
 * MB/s of one open of `path` in a new process of this runtime, timed inside
 * it (start-up and module loading excluded). A child killed by a signal is
 * run again (seen once: Deno 2.9.5 segfaulted in a V8 worker thread); one
 * that exits with an error fails the bench.
 */
export async function openInFreshProcess(path: string): Promise<number> {
  const megabytes = (await stat(path)).size / 1e6;
  const args = runtimeName() === "deno" ? ["run", "-A", SCRIPT, path] : [SCRIPT, path];
  const stdout = await childOutput(args);
  const openMs = Number(stdout.trim());
  if (!(openMs > 0)) throw new Error(`open-fresh printed ${JSON.stringify(stdout)}, not a duration`);
  return megabytes / (openMs / 1000);
}

/** What a child of this runtime run with `args` printed, retried up to {@link ATTEMPTS_MAX} times while it is killed by a signal. */
async function childOutput(args: readonly string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<string>((done, fail) => {
        execFile(process.execPath, args, (error, out) => (error ? fail(error) : done(String(out))));
      });
    } catch (error) {
      const signal = (error as { signal?: unknown }).signal;
      if (typeof signal !== "string" || attempt === ATTEMPTS_MAX) throw error;
      console.error(`open-fresh: the child was killed by ${signal}; running it again`);
    }
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === SCRIPT) {
  const start = performance.now();
  await walOpen(process.argv[2]!);
  console.log(performance.now() - start);
}
