/**
 * A writer dropped without `close()` must not take the process down when it
 * is garbage-collected. Bun throws from the collection of an unclosed
 * `node:fs/promises` FileHandle ("A FileHandle object was closed during
 * garbage collection"), which kills the process; Node warns. The Node and
 * Bun adapters close a dropped handle themselves (a `FinalizationRegistry`
 * in `adapters/node.ts`), so neither happens. The child
 * (`test/children/drop-writer.ts`) runs in the runtime running this test,
 * drops a writer and a segmented log, forces collections, and must exit
 * cleanly with nothing on stderr.
 */

import { spawnSync } from "node:child_process";
import { expect, test } from "vitest";
import { runtimeName } from "../adapters/auto.ts";
import { childCommand, childScript } from "./children.ts";
import { useTempDir } from "./helpers.ts";

/** The child's command line in this runtime, with garbage collection exposed where it needs a flag. */
function command(dir: string): string[] {
  const runtime = runtimeName();
  const [executable, ...args] = childCommand(runtime, childScript("drop-writer.ts"), [dir]);
  if (runtime === "node") return [executable!, "--expose-gc", ...args];
  if (runtime === "deno") return [executable!, args[0]!, "--v8-flags=--expose-gc", ...args.slice(1)];
  return [executable!, ...args];
}

test("dropping an unclosed writer and log, then collecting garbage, leaves the process alive and quiet", async () => {
  const dir = await useTempDir();
  const [executable, ...args] = command(dir);
  const run = spawnSync(executable!, args, { encoding: "utf8", timeout: 60_000 });
  expect(run.stderr).toBe("");
  expect(run.stdout.trim()).toBe("survived");
  expect(run.status).toBe(0);
});
