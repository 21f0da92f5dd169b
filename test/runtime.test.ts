/**
 * The suite runs inside the runtime it claims to: `scripts/test.mjs` sets
 * `WAL_EXPECT_RUNTIME` for each run, and `defaultFileSystem()` must pick that
 * runtime's own adapter.
 */

import process from "node:process";
import { expect, test } from "vitest";
import { defaultFileSystem, runtimeName } from "../adapters/auto.ts";

/** The runtime as `process.versions` tells it, independently of the globals. */
function runtimeFromVersions(): string {
  if (process.versions["deno"] !== undefined) return "deno";
  if (process.versions["bun"] !== undefined) return "bun";
  return "node";
}

const expectedRuntime = process.env["WAL_EXPECT_RUNTIME"];

test.skipIf(expectedRuntime === undefined)("runs on the runtime the runner asked for", () => {
  expect(runtimeName()).toBe(expectedRuntime);
});

test("detects the runtime and loads its adapter", async () => {
  expect(runtimeName()).toBe(runtimeFromVersions());
  expect((await defaultFileSystem()).name).toBe(runtimeName());
});
