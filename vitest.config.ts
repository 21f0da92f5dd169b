/**
 * One configuration for the three runtimes. `scripts/test.mjs` starts vitest
 * under Node, `bun --bun` and `deno run -A`; the `forks` pool then runs every
 * test file in a child process of that same runtime (`process.execPath`).
 * The `threads` pool is not an option: under Deno 2.9 its workers fail at
 * teardown (`parentPort.removeAllListeners` is not implemented).
 */

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // Real-disk tests with an fsync per step, on 2 cores shared by the test
    // files: the slowest took 4.9 s alone and passed vitest's default 5 s once.
    testTimeout: 30_000,
  },
});
