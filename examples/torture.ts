/**
 * A torture session of the crash harness on the embedded in-memory
 * filesystem: the `tswal torture` command (cli/torture.ts) with today's
 * default size. Three workloads are crashed before every I/O operation
 * under every crash outcome and both repair policies, their recoveries are
 * crashed in turn, every fault kind is injected at every matching
 * operation, and bits are flipped in acknowledged data. After each, every
 * acknowledged record must be there. Prints progress (on a terminal) and a
 * summary table; exits 1 (printing replayable scenarios) if anything failed.
 *
 * `deno run -A examples/torture.ts [seed]`, `bun examples/torture.ts [seed]`;
 * `npm run demo` runs a smaller session after showing the log on disk.
 */

import process from "node:process";
import { processIo, runCli } from "../cli/run.ts";

const seed = process.argv[2] ?? "1";
process.exitCode = await runCli(["torture", "--seed", seed], processIo());
