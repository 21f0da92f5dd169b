/**
 * Imports point one way. Layers, lowest first:
 * - `src/format/`: frames, checksums, codecs; may import only the leaf
 *   modules `src/errors.ts` and `src/assert.ts`;
 * - `src/*.ts`: what both logs share (errors, asserts, the fs contract, io
 *   helpers, lock, owner, options); may import `src/format/`;
 * - `src/log/`: the single-file log; may import the two above;
 * - `src/segmented/`: the segmented log; may import all three.
 * Adapters (`adapters/`) and the simulator (`sim/`) import only the fs
 * contract (`src/fs.ts`) and their own folder. The core reaches an adapter
 * through one seam: `src/options.ts` may import `adapters/auto.ts`.
 * Only tests import from `test/`: the bench, the CLI and the examples use
 * what the package or `scripts/` offers.
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

type Layer = "format" | "shared" | "log" | "segmented" | "adapters" | "sim" | "other";

/** The layer of a repository path such as `src/log/scan.ts`. */
function layerOf(path: string): Layer {
  if (path.startsWith("src/format/")) return "format";
  if (path.startsWith("src/log/")) return "log";
  if (path.startsWith("src/segmented/")) return "segmented";
  if (path.startsWith("src/")) return "shared";
  if (path.startsWith("adapters/")) return "adapters";
  if (path.startsWith("sim/")) return "sim";
  return "other";
}

/** The layers each layer may import from, besides the exceptions in {@link allowed}. */
const MAY_IMPORT: Readonly<Record<Exclude<Layer, "other">, readonly Layer[]>> = {
  format: ["format"],
  shared: ["shared", "format"],
  log: ["log", "shared", "format"],
  segmented: ["segmented", "log", "shared", "format"],
  adapters: ["adapters"],
  sim: ["sim"],
};

/** Modules any layer may import: the leaves, and the fs contract. */
const LEAVES = new Set(["src/errors.ts", "src/assert.ts", "src/fs.ts"]);

/** The one seam from the core to the adapters. */
const SEAM = { from: "src/options.ts", to: "adapters/auto.ts" };

/** Whether the module at `from` may import the module at `to` (repository paths). */
export function allowed(from: string, to: string): boolean {
  if (to.startsWith("test/")) return from.startsWith("test/");
  const fromLayer = layerOf(from);
  if (fromLayer === "other") return true;
  if (from === SEAM.from && to === SEAM.to) return true;
  if (LEAVES.has(to)) return !(fromLayer === "format" && to === "src/fs.ts");
  return MAY_IMPORT[fromLayer].includes(layerOf(to));
}

/** Every `.ts` file under `dir` (a repository path), recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The repository paths that `path` imports relatively, statically or with `import()`. */
function importsOf(path: string): string[] {
  const text = readFileSync(join(ROOT, path), "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((match) => match[1] as string);
  return specifiers.map((specifier) => relative(ROOT, normalize(join(ROOT, dirname(path), specifier))).split("\\").join("/"));
}

test("the rule refuses imports against the direction", () => {
  expect(allowed("src/log/scan.ts", "src/format/frame.ts")).toBe(true);
  expect(allowed("src/format/frame.ts", "src/log/scan.ts")).toBe(false);
  expect(allowed("src/log/writer.ts", "src/segmented/directory.ts")).toBe(false);
  expect(allowed("src/options.ts", "src/log/log-file.ts")).toBe(false);
  expect(allowed("src/format/frame.ts", "src/errors.ts")).toBe(true);
  expect(allowed("src/format/frame.ts", "src/fs.ts")).toBe(false);
  expect(allowed("adapters/node.ts", "src/fs.ts")).toBe(true);
  expect(allowed("adapters/node.ts", "src/io.ts")).toBe(false);
  expect(allowed("sim/machine.ts", "src/log/scan.ts")).toBe(false);
  expect(allowed("src/options.ts", "adapters/auto.ts")).toBe(true);
  expect(allowed("src/segmented/wal.ts", "adapters/auto.ts")).toBe(false);
  expect(allowed("test/wal.test.ts", "test/helpers.ts")).toBe(true);
  expect(allowed("bench/jetstream.ts", "test/helpers.ts")).toBe(false);
});

test("every import in src/, adapters/, sim/ and the code beside them follows the layers", () => {
  const besides = ["harness", "jetstream", "cli", "bench", "examples", "scripts"].flatMap(sources);
  const files = [...sources("src"), ...sources("adapters"), ...sources("sim"), ...besides];
  expect(files.length).toBeGreaterThan(80);
  const against = files.flatMap((from) => importsOf(from).filter((to) => !allowed(from, to)).map((to) => `${from} imports ${to}`));
  expect(against).toEqual([]);
});
