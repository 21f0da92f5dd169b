/**
 * The npm package works for a Node user with no TypeScript loader: the
 * compiled ESM (built from the same sources with `tsconfig.build.json`) is
 * installed into a scratch `node_modules/tswal`, and a plain `.mjs` file
 * imports `tswal` and `tswal/harness` by name, writes, reopens and reads a
 * log, and runs a small harness exploration. Declarations ship beside the JS.
 */

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { runtimeName } from "../adapters/auto.ts";
import { useTempDir } from "./helpers.ts";

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

// The package is for Node users; the check spawns real Node whatever runs the suite, so it runs once, in the Node run.
test.skipIf(runtimeName() !== "node")("a plain JavaScript file imports the built package by name on Node", async () => {
  const dir = await useTempDir();
  const packageDir = join(dir, "node_modules", "tswal");
  mkdirSync(packageDir, { recursive: true });
  const node = runtimeName() === "node" ? process.execPath : (process.env["WAL_NODE"] ?? "node");
  const build = spawnSync(node, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(packageDir, "dist")], {
    encoding: "utf8",
  });
  expect(build.stdout + build.stderr).toBe("");
  expect(build.status).toBe(0);
  cpSync(join(ROOT, "package.json"), join(packageDir, "package.json"));
  expect(existsSync(join(packageDir, "dist", "mod.d.ts"))).toBe(true);
  expect(existsSync(join(packageDir, "dist", "harness", "mod.d.ts"))).toBe(true);
  symlinkSync(join(ROOT, "node_modules"), join(packageDir, "node_modules"));
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
