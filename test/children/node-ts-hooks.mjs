/**
 * How a Node child process runs this repository's TypeScript sources.
 *
 * Node 20 cannot strip types, and a child on Node must be real Node (not Bun
 * in Node's clothes), so `test/children.ts` starts Node children as
 *
 *     node --import 'data:text/javascript,<register this file>' test/children/x.ts
 *
 * and these module-loading hooks (Node >= 20.6, `module.register`) compile
 * every `.ts` module as it is imported with the `typescript` devDependency's
 * `transpileModule` (type erasure only, one file at a time, no type check).
 *
 * Why not the compiled `dist/`: it is the npm build, only as fresh as the
 * last `npm run build`, while the sources change under the tests; rebuilding
 * it for every test run costs seconds, races with parallel test files and
 * with whoever else builds it, and emits everything when one file is needed.
 * Compiling on import always runs exactly the sources on disk.
 *
 * Output is cached in `.tmp/node-ts-cache/`, keyed by a hash of the source
 * text and the compiler version, so only the first child after a change
 * pays for loading the compiler (about 0.4 s); cache entries are written to
 * a unique temporary name and renamed into place, so parallel children never
 * read a half-written entry.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CACHE_DIR = join(ROOT, ".tmp", "node-ts-cache");
const require = createRequire(join(ROOT, "package.json"));
const TS_VERSION = require("typescript/package.json").version;
/** Bump when the options below change, to invalidate the cache. */
const OPTIONS_VERSION = 1;

/** @type {typeof import("typescript") | undefined} */
let ts;

/** JavaScript for the TypeScript `source` of `path`: from the cache, or compiled now. */
async function compile(path, source) {
  const key = createHash("sha256").update(`${TS_VERSION}\0${OPTIONS_VERSION}\0${source}`).digest("hex");
  const cached = join(CACHE_DIR, `${key}.js`);
  try {
    return await readFile(cached, "utf8");
  } catch {
    // not cached yet
  }
  ts ??= require("typescript");
  const output = ts.transpileModule(source, {
    fileName: path,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      // Relative imports keep their `.ts` names; these hooks load them.
      rewriteRelativeImportExtensions: false,
      sourceMap: false,
    },
  }).outputText;
  await mkdir(CACHE_DIR, { recursive: true });
  const temporary = `${cached}.${process.pid}.${Math.random().toString(16).slice(2)}`;
  await writeFile(temporary, output);
  await rename(temporary, cached);
  return output;
}

/** Node's `load` hook: `.ts`/`.mts` files are compiled; everything else is Node's. */
export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !/\.m?ts$/.test(new URL(url).pathname) || /\.d\.m?ts$/.test(url)) {
    return nextLoad(url, context);
  }
  const path = fileURLToPath(url);
  const source = await readFile(path, "utf8");
  return { format: "module", source: await compile(path, source), shortCircuit: true };
}
