/**
 * The `tswal` command line (cli/), run as a real process from the sources
 * under the runtime running this test (test/children.ts starts Node with
 * its TypeScript hooks, Bun and Deno directly), on real logs: sound, with a
 * torn tail, with damage to durable data, and a segment directory.
 */

import { spawn } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { afterAll, expect, test } from "vitest";
import { runtimeName } from "../adapters/auto.ts";
import { Wal, WalWriter } from "../mod.ts";
import { Child, childCommand, killAll, ROOT } from "./children.ts";
import { useTempDir } from "./helpers.ts";
import { contents, finalBatchStart, overwrite, writeBatches } from "./log-files.ts";

const MAIN = join(ROOT, "cli", "main.ts");
const RUNTIME = runtimeName();

afterAll(killAll);

/** How a `tswal` run ended. */
interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tswal ...args` to completion. */
function tswal(...args: string[]): Promise<Run> {
  const [command, ...rest] = childCommand(RUNTIME, MAIN, args);
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  delete env["NODE_OPTIONS"];
  const child = spawn(command!, rest, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** The stdout lines of a run, parsed as JSON. */
function jsonLines(run: Run): unknown[] {
  return run.stdout.trim().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

const VALUES = [{ order: 1 }, { order: 2 }, { order: 3 }, { order: 4 }, { order: 5 }, { order: 6 }];
const BATCHES = [VALUES.slice(0, 2), VALUES.slice(2, 3), VALUES.slice(3)];

test("a sound log: verify exits 0; inspect and dump describe it; --json parses", async () => {
  const path = join(await useTempDir(), "orders.wal");
  await writeBatches(path, BATCHES);
  const verified = await tswal("verify", path);
  expect(verified.code, verified.stderr).toBe(0);
  expect(verified.stdout).toMatch(/^sound: .*orders\.wal \(6 records in 3 batches/);
  const inspected = await tswal("inspect", path);
  expect(inspected.code, inspected.stderr).toBe(0);
  expect(inspected.stdout).toMatch(/records +6\n/);
  expect(inspected.stdout).toMatch(/batches +3\n/);
  expect(inspected.stdout).toMatch(/sequences +1 \.\. 6\n/);
  expect(inspected.stdout).toMatch(/torn tail +none\n/);
  const report = JSON.parse((await tswal("inspect", "--json", path)).stdout);
  expect(report).toMatchObject({ layout: "file", status: "sound", formatVersion: 3, records: 6, batches: 3, firstSequence: 1, lastSequence: 6, tail: null });
  const dumped = await tswal("dump", path);
  expect(dumped.code, dumped.stderr).toBe(0);
  const lines = jsonLines(dumped) as { sequence: number; timeMs: number; value: unknown }[];
  expect(lines.map((line) => [line.sequence, line.value])).toEqual(VALUES.map((value, index) => [index + 1, value]));
  expect(lines.every((line) => line.timeMs >= report.firstTimeMs && line.timeMs <= report.lastTimeMs)).toBe(true);
  const range = jsonLines(await tswal("dump", path, "--from", "2", "--to", "3")) as { sequence: number }[];
  expect(range.map((line) => line.sequence)).toEqual([2, 3]);
  const raw = jsonLines(await tswal("dump", "--raw", path, "--to", "1")) as { value: string }[];
  expect(JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(raw[0]!.value), (c) => c.charCodeAt(0))))).toEqual(VALUES[0]);
});

test("a torn tail: verify exits 1 naming kind, offset and file; repair cuts it and keeps the bytes; verify then exits 0", async () => {
  const path = join(await useTempDir(), "orders.wal");
  const bytes = await writeBatches(path, BATCHES);
  const torn = bytes.subarray(0, bytes.length - 20);
  await overwrite(path, torn);
  const offset = finalBatchStart(bytes);
  const verified = await tswal("verify", path);
  expect(verified.code).toBe(1);
  expect(verified.stdout).toContain(`torn tail: torn-batch at offset ${offset} of ${path}`);
  const report = JSON.parse((await tswal("verify", "--json", path)).stdout);
  expect(report).toMatchObject({ status: "torn-tail", records: 3, tail: { kind: "torn-batch", offset, path } });
  const repaired = await tswal("repair", path);
  expect(repaired.code, repaired.stderr).toBe(0);
  const savedTo = `${path}.${offset}.torn`;
  expect(repaired.stdout).toContain(`cut ${torn.length - offset} bytes (torn-batch) at offset ${offset}; kept them in ${savedTo}`);
  expect(await contents(savedTo)).toEqual(torn.subarray(offset));
  expect((await stat(path)).size).toBe(offset);
  const after = await tswal("verify", path);
  expect(after.code, after.stdout).toBe(0);
  expect((await tswal("repair", path)).stdout).toContain("nothing to repair");
});

test("durable damage: verify exits 1, repair refuses with the same diagnostic and writes nothing, salvage copies the intact records", async () => {
  const dir = await useTempDir();
  const path = join(dir, "orders.wal");
  const bytes = await writeBatches(path, BATCHES);
  const damaged = bytes.slice();
  damaged[96] = damaged[96]! ^ 0x40; // the first payload byte of record 1: its batch (records 1, 2) is damaged
  await overwrite(path, damaged);
  const verified = await tswal("verify", path);
  expect(verified.code).toBe(1);
  expect(verified.stdout).toContain(`damaged: checksum-mismatch at offset 64 of ${path}`);
  const repaired = await tswal("repair", path);
  expect(repaired.code).toBe(1);
  expect(repaired.stdout.split("\n")[0]).toBe(verified.stdout.split("\n")[0]);
  expect(await contents(path)).toEqual(damaged);
  expect((await readdir(dir)).sort()).toEqual(["orders.wal"]);

  const out = join(dir, "salvaged.wal");
  const salvaged = await tswal("salvage", "--json", path, out);
  expect(salvaged.code, salvaged.stderr).toBe(0);
  const report = JSON.parse(salvaged.stdout);
  expect(report).toMatchObject({ records: 4, batches: 2, firstSequence: 3, lastSequence: 6 });
  expect(report.skipped).toEqual([expect.objectContaining({ path, offset: 64, after: 0, before: 3 })]);
  expect((await tswal("verify", out)).code).toBe(0);
  const lines = jsonLines(await tswal("dump", out)) as { sequence: number; value: unknown }[];
  expect(lines.map((line) => [line.sequence, line.value])).toEqual(VALUES.slice(2).map((value, index) => [index + 3, value]));
  expect(await contents(path)).toEqual(damaged);
  expect((await tswal("salvage", path, out)).code).toBe(3); // OUT exists
});

test("a segment directory: inspect lists the segments; dump reads across them", async () => {
  const dir = join(await useTempDir(), "log");
  const wal = await Wal.open(dir, { segmentBytes: 200 });
  for (const value of VALUES) {
    await wal.append(value);
    await wal.flush();
  }
  await wal.close();
  const report = JSON.parse((await tswal("inspect", "--json", dir)).stdout);
  expect(report).toMatchObject({ layout: "directory", status: "sound", records: 6, firstSequence: 1, lastSequence: 6 });
  expect(report.files.length).toBeGreaterThan(1);
  const lines = jsonLines(await tswal("dump", dir, "--from", "4")) as { value: unknown }[];
  expect(lines.map((line) => line.value)).toEqual(VALUES.slice(3));
  expect((await tswal("verify", dir)).code).toBe(0);
});

test("salvage of a segment directory with a damaged sealed segment: a new directory log without that batch", async () => {
  const root = await useTempDir();
  const dir = join(root, "log");
  const wal = await Wal.open(dir, { segmentBytes: 200 });
  for (const value of VALUES) {
    await wal.append(value);
    await wal.flush();
  }
  await wal.close();
  const second = join(dir, (await readdir(dir)).filter((name) => name.endsWith(".wal")).sort()[1]!);
  const bytes = await contents(second);
  bytes[96] = bytes[96]! ^ 0x01;
  await overwrite(second, bytes);
  const verified = await tswal("verify", dir);
  expect(verified.code).toBe(1);
  expect(verified.stdout).toContain(`of ${second}`);
  const out = join(root, "salvaged");
  const salvaged = await tswal("salvage", dir, out);
  expect(salvaged.code, salvaged.stderr).toBe(0);
  expect(salvaged.stdout).toContain(`at offset 64 of ${second}`);
  expect((await tswal("verify", out)).code).toBe(0);
  const lines = jsonLines(await tswal("dump", out)) as { sequence: number; value: unknown }[];
  expect(lines.map((line) => line.sequence)).toEqual([1, 3, 4, 5, 6]);
  expect(lines.map((line) => line.value)).toEqual([VALUES[0], ...VALUES.slice(2)]);
});

test("usage errors exit 2: an unknown option, an unknown command, a missing argument, nothing at PATH; --help exits 0", async () => {
  const path = join(await useTempDir(), "orders.wal");
  await writeBatches(path, BATCHES);
  const unknown = await tswal("verify", "--frobnicate", path);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("--frobnicate");
  expect((await tswal("frobnicate", path)).code).toBe(2);
  expect((await tswal("dump")).code).toBe(2);
  expect((await tswal("dump", path, "--from", "x")).code).toBe(2);
  const absent = await tswal("verify", `${path}.absent`);
  expect(absent.code).toBe(2);
  expect(absent.stderr).toContain("no log at");
  expect((await tswal()).code).toBe(2);
  for (const command of ["inspect", "verify", "dump", "repair", "salvage", "follow", "torture"]) {
    const help = await tswal(command, "--help");
    expect(help.code, command).toBe(0);
    expect(help.stdout).toContain(`usage: tswal ${command}`);
    expect(help.stdout).toContain("exit:");
  }
});

test("follow prints records as a writer appends them, and ends with exit 0 on SIGINT", async () => {
  const path = join(await useTempDir(), "orders.wal");
  const writer = await WalWriter.open(path);
  try {
    await writer.append({ order: 1 });
    await writer.flush();
    const child = Child.spawn(RUNTIME, MAIN, ["follow", path, "--poll-ms", "20"]);
    expect(JSON.parse(await child.waitForLine())).toMatchObject({ sequence: 1, value: { order: 1 } });
    await writer.append({ order: 2 });
    await writer.flush();
    expect(JSON.parse(await child.waitForLine())).toMatchObject({ sequence: 2, value: { order: 2 } });
    process.kill(child.pid, "SIGINT");
    expect(await child.exited).toEqual({ code: 0, signal: null });
  } finally {
    await writer.close();
  }
});

test("torture: a small session breaks no invariant; --json parses", async () => {
  const run = await tswal("torture", "--records", "2", "--seed", "3", "--json");
  expect(run.code, run.stderr).toBe(0);
  const report = JSON.parse(run.stdout);
  expect(report).toMatchObject({ seed: 3, records: 2, failures: [] });
  expect(report.crashStates).toBeGreaterThan(0);
  expect(await readFile(MAIN, "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
});
