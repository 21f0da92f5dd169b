/**
 * The npm package works for a Node user with no TypeScript loader: the
 * compiled ESM (built from the same sources with `tsconfig.build.json`) is
 * installed into a scratch `node_modules/tswal`, and a plain `.mjs` file
 * imports `tswal` and `tswal/harness` by name, writes, reopens and reads a
 * log, and runs a small harness exploration. Declarations ship beside the JS.
 * The adapters are reachable by name (`tswal/node`, `tswal/bun`,
 * `tswal/deno`, `tswal/memory`), and where Node can `require()` ES modules
 * (20.19+, 22.12+) a CommonJS file can `require("tswal")`.
 */

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import { runtimeName } from "../adapters/auto.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const CONSUMER = `
import { WalWriter, WalReader, WalCorruptionError } from "tswal";
import { explore, appendFlushWorkload } from "tswal/harness";
const path = process.argv[2];
const writer = await WalWriter.open(path);
await writer.append({ hello: "from plain JavaScript" });
await writer.close();
const values = [];
for await (const r of WalReader.open(path)) values.push(r.value);
const report = await explore({ workload: appendFlushWorkload({ records: 2, batchRecords: 1 }), faultPointsMax: 0, bitFlips: 0, repairCrashes: false });
console.log(JSON.stringify({ values, corruptionCode: new WalCorruptionError({ kind: "bad-magic", offset: 0, path, detail: "" }).code, crashStates: report.crashStates, failures: report.failures.length }));
`;

const ADAPTERS_CONSUMER = `
import { NodeFileSystem, nodeFileSystem } from "tswal/node";
import { BunFileSystem } from "tswal/bun";
import { DenoFileSystem } from "tswal/deno";
import { MemoryFileSystem } from "tswal/memory";
import { WalWriter } from "tswal";
const memory = new MemoryFileSystem({ seed: 1 });
await memory.mkdir("/data");
const writer = await WalWriter.open("/data/x.wal", { fs: memory });
await writer.append(1);
await writer.close();
console.log(JSON.stringify({ node: nodeFileSystem.name, wrapped: new NodeFileSystem().name, bun: typeof BunFileSystem, deno: typeof DenoFileSystem, memory: memory.name }));
`;

const REQUIRE_CONSUMER = `
const { WalWriter, WalReader } = require("tswal");
const { nodeFileSystem } = require("tswal/node");
const path = process.argv[2];
(async () => {
  const writer = await WalWriter.open(path, { fs: nodeFileSystem });
  await writer.append({ hello: "from require" });
  await writer.close();
  const values = [];
  for await (const r of WalReader.open(path)) values.push(r.value);
  console.log(JSON.stringify(values));
})();
`;

/** Real Node: this process on Node, else `$WAL_NODE` or `node`. */
const NODE = runtimeName() === "node" ? process.execPath : (process.env["WAL_NODE"] ?? "node");

let installed: string | null = null;
afterAll(() => {
  if (installed !== null) rmSync(installed, { recursive: true, force: true });
});

/** Builds the package once into a scratch `node_modules/tswal` and returns the scratch directory. */
function installPackage(): string {
  if (installed !== null) return installed;
  const dir = mkdtempSync(join(tmpdir(), "tswal-package-"));
  installed = dir;
  const packageDir = join(dir, "node_modules", "tswal");
  mkdirSync(packageDir, { recursive: true });
  const node = NODE;
  const build = spawnSync(node, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(packageDir, "dist")], {
    encoding: "utf8",
  });
  expect(build.stdout + build.stderr).toBe("");
  expect(build.status).toBe(0);
  cpSync(join(ROOT, "package.json"), join(packageDir, "package.json"));
  expect(existsSync(join(packageDir, "dist", "mod.d.ts"))).toBe(true);
  expect(existsSync(join(packageDir, "dist", "harness", "mod.d.ts"))).toBe(true);
  symlinkSync(join(ROOT, "node_modules"), join(packageDir, "node_modules"));
  return dir;
}

// The package is for Node users; the check spawns real Node whatever runs the suite, so it runs once, in the Node run.
test.skipIf(runtimeName() !== "node")("a plain JavaScript file imports the built package by name on Node", () => {
  const dir = installPackage();
  const node = NODE;
  writeFileSync(join(dir, "consumer.mjs"), CONSUMER);

  const run = spawnSync(node, [join(dir, "consumer.mjs"), join(dir, "plain.wal")], { cwd: dir, encoding: "utf8" });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const result = JSON.parse(run.stdout.trim()) as { values: unknown[]; corruptionCode: string; crashStates: number; failures: number };
  expect(result.values).toEqual([{ hello: "from plain JavaScript" }]);
  expect(result.corruptionCode).toBe("WAL_CORRUPTION");
  expect(result.crashStates).toBeGreaterThan(0);
  expect(result.failures).toBe(0);
});

test.skipIf(runtimeName() !== "node")("every adapter is reachable by name: tswal/node, tswal/bun, tswal/deno, tswal/memory", () => {
  const dir = installPackage();
  writeFileSync(join(dir, "adapters.mjs"), ADAPTERS_CONSUMER);
  const run = spawnSync(NODE, [join(dir, "adapters.mjs")], { cwd: dir, encoding: "utf8" });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout.trim())).toEqual({ node: "node", wrapped: "node", bun: "function", deno: "function", memory: "memory" });
});

/** Whether this Node can `require()` an ES module without a flag (20.19+, 22.12+). */
const REQUIRES_ESM = (process.features as { require_module?: boolean }).require_module === true;

test.skipIf(runtimeName() !== "node" || !REQUIRES_ESM)("a CommonJS file can require(\"tswal\") on a Node that can require ES modules", () => {
  const dir = installPackage();
  writeFileSync(join(dir, "consumer.cjs"), REQUIRE_CONSUMER);
  const run = spawnSync(NODE, ["--no-warnings=ExperimentalWarning", join(dir, "consumer.cjs"), join(dir, "required.wal")], { cwd: dir, encoding: "utf8" });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout.trim())).toEqual([{ hello: "from require" }]);
});
