/**
 * A real-crash run (issue 10, ALICE-style): the workload runs in a child
 * process of a real runtime under `strace`, against the real filesystem;
 * its trace becomes crash states on real files; each is recovered by a
 * child of the same runtime under both repair policies and checked.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { acknowledgedCount, checkRecovery, checkTrace, isLockName, type Outcome, payloadHash } from "./check.ts";
import { type CrashState, crashStates, type VariantKind, writeState } from "./states.ts";
import { parseTrace } from "./trace.ts";
import { realValue } from "./values.ts";

/** A bug to plant in the workload's filesystem adapter, to show the checks fail (see `workload.ts`). */
export type RealCrashBug = "none" | "no-datasync" | "no-dirsync" | "no-dirsync-after-rename" | "ack-before-sync";

/** The {@link RealCrashBug}s that lose acknowledged records, which the checks must catch. */
export const REAL_CRASH_BUGS: readonly RealCrashBug[] = ["no-datasync", "no-dirsync", "ack-before-sync"];

/** Options of {@link realCrash}. */
export interface RealCrashOptions {
  /**
   * The command line that runs a TypeScript (or, from `dist/`, JavaScript)
   * file of this folder with arguments in the runtime under test; default:
   * this process's own runtime ({@link ownRuntimeCommand}).
   */
  readonly command?: (script: string, args: readonly string[]) => string[];
  /** Records the workload appends (default 24, at most 60). */
  readonly records?: number;
  /** Seed of the random crash states (default 1). */
  readonly seed?: number;
  /** Random variants per prefix (default 40, at most 100). */
  readonly variants?: number;
  /** Most crash states checked (default 400, at most 5000). */
  readonly maxStates?: number;
  /** A bug planted in the workload's adapter (default `none`). */
  readonly bug?: RealCrashBug;
  /** The strace executable (default `strace`). */
  readonly strace?: string;
  /** Environment of the children (default this process's, without `NODE_OPTIONS`). */
  readonly env?: Record<string, string | undefined>;
}

/** What a real-crash run found. */
export interface RealCrashReport {
  /** File-system operations in the trace under the log's directory (acknowledgements included). */
  readonly operations: number;
  /** Acknowledgements in the trace. */
  readonly acknowledgements: number;
  /** Distinct crash states recovered (each under both policies). */
  readonly states: number;
  /** States per kind of variant. */
  readonly kinds: Readonly<Record<VariantKind, number>>;
  /** States where strict refused a torn tail (allowed). */
  readonly strictRefused: number;
  /** States where truncate-partial cut a torn tail. */
  readonly repaired: number;
  /** Problems with the trace itself. */
  readonly traceProblems: readonly string[];
  /** Failed states: where they come from and what broke (at most 20 listed). */
  readonly failures: readonly { readonly state: string; readonly problems: readonly string[] }[];
  /** Failed states in all. */
  readonly failedStates: number;
  /** Failed states where an acknowledged record was lost (missing, or the log itself gone). */
  readonly lostAcknowledged: number;
  /** Wall time in seconds. */
  readonly seconds: number;
}

const LOG = "data/real.wal";
const TRACED_CALLS = [
  "open", "openat", "creat", "close", "write", "pwrite64", "writev", "pwritev", "pwritev2", "lseek", "fcntl",
  "ftruncate", "truncate", "fsync", "fdatasync", "rename", "renameat", "renameat2", "link", "linkat", "unlink",
  "unlinkat", "mkdir", "mkdirat", "rmdir", "fallocate", "dup", "dup2", "dup3", "io_uring_setup", "io_uring_enter",
  "copy_file_range", "sendfile",
].join(",");

/** This folder's file `name` (`.ts` from the sources, `.js` from `dist/`). */
function sibling(name: string): string {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`./${name}${extension}`, import.meta.url));
}

/** The command line that runs `script` in this process's runtime (Deno with `run -A`). */
export function ownRuntimeCommand(script: string, args: readonly string[]): string[] {
  if ("Deno" in globalThis) return [process.execPath, "run", "-A", "--quiet", script, ...args];
  return [process.execPath, script, ...args];
}

/** Runs a command to its end; its exit status and output. */
function runChild(argv: readonly string[], env: Record<string, string | undefined>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on("error", (error) => resolve({ status: null, stdout, stderr: String(error) }));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** The children's environment: libuv kept off io_uring (strace cannot see its I/O), no NODE_OPTIONS. */
function childEnv(options: RealCrashOptions): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env), UV_USE_IO_URING: "0", DENO_NO_UPDATE_CHECK: "1" };
  delete env["NODE_OPTIONS"];
  return env;
}

/**
 * Why real-crash runs cannot work here (no `strace`, or ptrace not
 * permitted), or `null` when they can.
 */
export async function realCrashUnsupported(strace = "strace"): Promise<string | null> {
  const probe = await runChild([strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=openat", "true"], process.env);
  if (probe.status === 0) return null;
  return probe.status === null ? `${strace} is not installed (${probe.stderr.trim()})` : `${strace} cannot trace here: ${probe.stderr.trim().split("\n")[0]}`;
}

/** The integer option `value` (`fallback` if absent); a `RangeError` outside `min .. max`. */
function bounded(value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`expected an integer in ${min} .. ${max}, got ${v}`);
  return v;
}

/**
 * Runs the workload under strace, builds the crash states, recovers each
 * with the same runtime under `strict` and `truncate-partial`, and checks
 * them and the trace. Throws if strace or a child cannot run at all.
 */
export async function realCrash(options: RealCrashOptions = {}): Promise<RealCrashReport> {
  const started = Date.now();
  const records = bounded(options.records, 24, 1, 60);
  const command = options.command ?? ownRuntimeCommand;
  const env = childEnv(options);
  const work = mkdtempSync(join(tmpdir(), "tswal-real-"));
  try {
    const trace = await traceWorkload(work, records, command, env, options);
    const states = crashStates(trace, {
      seed: bounded(options.seed, 1, 0, 2 ** 31),
      variants: bounded(options.variants, 40, 0, 100),
      maxStates: bounded(options.maxStates, 400, 1, 5000),
    });
    const payloads = Array.from({ length: records }, (_, i) => payloadHash(realValue(i + 1)));
    const checked = await recoverAll(work, states, command, env, payloads);
    return {
      operations: trace.ops.length,
      acknowledgements: trace.ops.filter((op) => op.kind === "ack").length,
      states: states.length,
      kinds: countKinds(states),
      ...checked,
      traceProblems: [...trace.problems, ...checkTrace(trace)],
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs the workload under strace in `work`; the parsed trace. */
async function traceWorkload(
  work: string,
  records: number,
  command: NonNullable<RealCrashOptions["command"]>,
  env: Record<string, string | undefined>,
  options: RealCrashOptions,
): Promise<ReturnType<typeof parseTrace>> {
  const root = join(work, "run");
  const acks = join(work, "acks");
  const tracePath = join(work, "trace.txt");
  writeFileSync(acks, "");
  mkdirSync(root);
  const workload = command(sibling("workload"), [join(root, LOG), acks, String(records), options.bug ?? "none"]);
  const strace = [options.strace ?? "strace", "-f", "-qq", "-e", "signal=none", "-X", "raw", "-xx", "-s", String(64 << 20), "-o", tracePath, "-e", `trace=${TRACED_CALLS}`];
  const result = await runChild([...strace, ...workload], env);
  if (result.status !== 0) throw new Error(`the workload under strace exited with ${result.status}: ${result.stderr.trim()}`);
  return parseTrace(readFileSync(tracePath, "utf8"), root, acks, process.cwd());
}

/** States per variant kind. */
function countKinds(states: readonly CrashState[]): Record<VariantKind, number> {
  const kinds: Record<VariantKind, number> = { "synced-only": 0, all: 0, random: 0 };
  for (const state of states) kinds[state.kind]++;
  return kinds;
}

/** True if every file of `state` is still there, byte-identical, and nothing but lock files was added (lock files may go). */
function unchanged(state: CrashState, dir: string): boolean {
  const found = new Set<string>();
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else found.add(relative(dir, full));
    }
  };
  walk(dir);
  for (const path of found) if (!state.tree.has(path) && !isLockName(path)) return false;
  for (const [path, data] of state.tree) {
    if (data === null || isLockName(path)) continue;
    if (!found.has(path)) return false;
    const now = readFileSync(join(dir, path));
    if (now.length !== data.length || !now.equals(data)) return false;
  }
  return true;
}

/** Writes every state twice, runs one recovery child over all, checks each state. */
async function recoverAll(
  work: string,
  states: readonly CrashState[],
  command: NonNullable<RealCrashOptions["command"]>,
  env: Record<string, string | undefined>,
  payloads: readonly string[],
): Promise<Pick<RealCrashReport, "failures" | "failedStates" | "lostAcknowledged" | "strictRefused" | "repaired">> {
  const jobs: { path: string; policy: string }[] = [];
  states.forEach((state, i) => {
    for (const policy of ["strict", "truncate-partial"]) {
      const dir = join(work, "states", `${i}-${policy}`);
      writeState(state, dir);
      jobs.push({ path: join(dir, LOG), policy });
    }
  });
  const jobsPath = join(work, "jobs.json");
  writeFileSync(jobsPath, JSON.stringify(jobs));
  const result = await runChild(command(sibling("recover"), [jobsPath]), env);
  const outcomes = result.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Outcome);
  if (outcomes.length !== jobs.length) throw new Error(`the recovery child answered ${outcomes.length} of ${jobs.length} recoveries (exit ${result.status}): ${result.stderr.trim()}`);
  const failures: { state: string; problems: string[] }[] = [];
  let failedStates = 0;
  let lostAcknowledged = 0;
  let strictRefused = 0;
  let repaired = 0;
  states.forEach((state, i) => {
    const strict = outcomes[2 * i]!;
    const repair = outcomes[2 * i + 1]!;
    if (!strict.ok && strict.kind !== null) strictRefused++;
    if (repair.ok && repair.repaired !== null) repaired++;
    const expect = { payloads, acknowledged: acknowledgedCount(state.acks) };
    const problems = checkRecovery(strict, repair, strict.ok || unchanged(state, join(work, "states", `${i}-strict`)), expect);
    if (problems.length === 0) return;
    failedStates++;
    if (expect.acknowledged > 0 && !(repair.ok && repair.records.length >= expect.acknowledged)) lostAcknowledged++;
    if (failures.length < 20) failures.push({ state: `crash after ${state.prefix} operations, ${state.kind} (${state.uncovered} uncovered), ${expect.acknowledged} acknowledged`, problems });
  });
  return { failures, failedStates, lostAcknowledged, strictRefused, repaired };
}
