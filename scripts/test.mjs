/**
 * The project's one test command, `npm test`. In order, each step running
 * even if an earlier one failed:
 *
 * 1. `tsc --noEmit -p tsconfig.json` (the whole repo, Node and Bun types);
 * 2. Deno and JSR, on every entry point of `deno.json` "exports": `deno
 *    check` (Deno's own types); `deno check --no-config` (as an app that
 *    imports the sources by path would, without this repo's config or
 *    `@types/bun`); `deno doc --lint` (what JSR scores: every export
 *    documented, no public type referring to a private one); and
 *    `deno publish --dry-run` (the package as JSR would take it);
 * 3. the vitest suite under Node, then `bun --bun`, then `deno run -A`, each
 *    with `WAL_EXPECT_RUNTIME` set so `test/runtime.test.ts` can check that
 *    the tests really ran there.
 *
 * After each runtime's run it prints the figures the tests recorded (crash
 * states explored, faults injected, kills survived, fuzz cases).
 *
 * Ends with the line `N passed, N failed[, N skipped]` summed over the vitest
 * runs (a run that fails without a failing test, e.g. a file that does not
 * load, counts as one failure), and exits non-zero if any step failed.
 *
 * Options (after `npm test --`):
 * - `--runtime NAME` (repeatable, or comma-separated; also `WAL_RUNTIMES`):
 *   run vitest only under these of `node`, `bun`, `deno`;
 * - `--no-check`: skip steps 1 and 2;
 * - anything else goes to vitest, e.g. a file filter or `-t "test name"`.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const BIN = "node_modules/.bin";
const VITEST = "node_modules/vitest/vitest.mjs";
const REPORT_DIR = ".tmp";

/** The command line that starts vitest inside each runtime. */
const VITEST_COMMANDS = {
  node: [process.execPath, VITEST],
  bun: [join(BIN, "bun"), "--bun", VITEST],
  deno: [join(BIN, "deno"), "run", "-A", VITEST],
};

/** Splits this script's arguments into runtimes, the check switch and vitest's own. */
function parseArguments(argv) {
  const runtimes = [];
  const vitestArgs = [];
  let check = true;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === "--no-check") check = false;
    else if (argument === "--runtime") runtimes.push(...(argv[++index] ?? "").split(","));
    else if (argument.startsWith("--runtime=")) runtimes.push(...argument.slice(10).split(","));
    else vitestArgs.push(argument);
  }
  if (runtimes.length === 0) runtimes.push(...(process.env.WAL_RUNTIMES ?? "node,bun,deno").split(","));
  const unknown = runtimes.filter((name) => !(name in VITEST_COMMANDS));
  if (unknown.length > 0) {
    console.error(`unknown runtime ${unknown.join(", ")}; use node, bun or deno`);
    process.exit(2);
  }
  return { runtimes: [...new Set(runtimes)], check, vitestArgs };
}

/** Runs a command with inherited output; returns its exit status (1 if it could not start). */
function run(label, [command, ...args], env = process.env) {
  console.log(`\n> ${label}: ${[command, ...args].join(" ")}`);
  const result = spawnSync(command, args, { stdio: "inherit", env });
  if (result.error) console.error(result.error.message);
  return result.status ?? 1;
}

/**
 * Sums the figures tests recorded under `runtime` (`test/figures.ts` writes
 * one `name<TAB>value` line each) and prints them.
 */
function printFigures(runtime) {
  const path = join(REPORT_DIR, `figures-${runtime}.txt`);
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return;
  }
  const sums = new Map();
  for (const line of text.split("\n")) {
    const [name, value] = line.split("\t");
    if (name && value) sums.set(name, (sums.get(name) ?? 0) + Number(value));
  }
  console.log(`\nfigures on ${runtime}:`);
  for (const [name, value] of sums) console.log(`  ${name.padEnd(52)} ${value}`);
}

/**
 * `deno doc --lint` of each of `entryPoints` on its own (a type public
 * through one entry point may be private through another), quiet (Deno
 * warns about every `@types` file it cannot resolve in node_modules); on
 * failure, again without `--quiet` to show the errors. Returns whether every
 * one passed.
 */
function docLint(entryPoints) {
  let passed = true;
  for (const entryPoint of entryPoints) {
    const command = [join(BIN, "deno"), "doc", "--lint", "--quiet", entryPoint];
    if (run(`deno doc --lint ${entryPoint}`, command) === 0) continue;
    run(`deno doc --lint ${entryPoint} (the errors)`, command.filter((argument) => argument !== "--quiet"));
    passed = false;
  }
  return passed;
}

/** Runs vitest under `runtime`; returns its exit status and test counts from its JSON report. */
function runVitest(runtime, vitestArgs) {
  const reportPath = join(REPORT_DIR, `vitest-${runtime}.json`);
  rmSync(reportPath, { force: true });
  rmSync(join(REPORT_DIR, `figures-${runtime}.txt`), { force: true });
  const command = [
    ...VITEST_COMMANDS[runtime],
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${reportPath}`,
    ...vitestArgs,
  ];
  const status = run(`vitest on ${runtime}`, command, { ...process.env, WAL_EXPECT_RUNTIME: runtime });
  printFigures(runtime);
  let report = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };
  try {
    report = JSON.parse(readFileSync(reportPath, "utf8"));
  } catch {
    console.error(`no vitest report from ${runtime} at ${reportPath}`);
  }
  const failed = status !== 0 ? Math.max(report.numFailedTests, 1) : report.numFailedTests;
  return { status, passed: report.numPassedTests, failed, skipped: report.numPendingTests + report.numTodoTests };
}

const { runtimes, check, vitestArgs } = parseArguments(process.argv.slice(2));
process.chdir(fileURLToPath(new URL("..", import.meta.url)));
mkdirSync(REPORT_DIR, { recursive: true });
const failedSteps = [];
if (check) {
  if (run("typecheck", [process.execPath, "node_modules/typescript/bin/tsc", "--noEmit", "-p", "tsconfig.json"]) !== 0) {
    failedSteps.push("tsc");
  }
  const entryPoints = Object.values(JSON.parse(readFileSync("deno.json", "utf8")).exports);
  if (run("deno check", [join(BIN, "deno"), "check", ...entryPoints]) !== 0) failedSteps.push("deno check");
  if (run("deno check as a consumer", [join(BIN, "deno"), "check", "--no-config", ...entryPoints]) !== 0) failedSteps.push("deno check --no-config");
  if (!docLint(entryPoints)) failedSteps.push("deno doc --lint");
  const publish = [join(BIN, "deno"), "publish", "--dry-run", "--allow-dirty", "--quiet"];
  if (run("deno publish --dry-run", publish) !== 0) failedSteps.push("deno publish --dry-run");
}
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const runtime of runtimes) {
  const result = runVitest(runtime, vitestArgs);
  if (result.status !== 0) failedSteps.push(`vitest on ${runtime}`);
  totals.passed += result.passed;
  totals.failed += result.failed;
  totals.skipped += result.skipped;
}
console.log(`\nruntimes: ${runtimes.join(", ")}${failedSteps.length > 0 ? `; failed steps: ${failedSteps.join(", ")}` : ""}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exitCode = failedSteps.length > 0 ? 1 : 0;
