/**
 * The main demonstration, `npm run demo` (Node, compiled), `bun
 * examples/demo.ts`, `deno run -A examples/demo.ts`. In under a minute:
 *
 * 1. **The log at work on the real disk.** A writer process
 *    (examples/demo-writer.ts) appends orders to a segmented log in a
 *    temporary directory, in concurrent batches each sealed by one flush,
 *    and is SIGKILLed at a random moment, several times. After each kill
 *    the log is checked read-only (`verify`), reopened with repair
 *    `truncate-partial`, read back (every acknowledged record must be
 *    there, in order, with its value), and verified again; the next writer
 *    continues the same log. Throughput and what was recovered are printed.
 * 2. **A torn write**, as a power cut leaves one, shown with the `tswal`
 *    commands: `verify` names it, `repair` cuts it and keeps its bytes,
 *    `verify` finds the log sound, `inspect` describes it.
 * 3. **The proof at scale**: a short session of the crash harness on the
 *    simulated filesystem (`tswal torture`), with its summary table.
 *
 * Options: `--kills N` (default 6), `--seed N` (default: from the clock,
 * printed), `--records N` (of the torture session, default 8). Exit status
 * 1 if anything acknowledged was missing or any invariant broke.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runtimeName } from "../adapters/auto.ts";
import { Prng } from "../sim/mod.ts";
import { formatCount } from "../cli/common.ts";
import { processIo, runCli } from "../cli/run.ts";
import { torture, tortureTable, tortureVerdict } from "../cli/torture.ts";
import { verify, Wal } from "../mod.ts";
import { demoOrder, isDemoOrder } from "./demo-order.ts";

/** What one kill round saw. */
interface Round {
  /** How long the writer ran after opening, ms. */
  readonly ranMs: number;
  /** Records acknowledged by this writer. */
  readonly acked: number;
  /** Flushes that resolved in this writer. */
  readonly flushes: number;
  /** The highest acknowledged sequence so far (all rounds). */
  readonly lastAcked: number;
  /** `verify` right after the kill. */
  readonly statusAfterKill: string;
  /** Records found on reopening. */
  readonly found: number;
  /** What repair cut, if anything. */
  readonly cut: string | null;
  /** `verify` after the repairing open closed. */
  readonly statusAfterRepair: string;
  /** What is wrong; empty when every check passed. */
  readonly problems: readonly string[];
}

const io = processIo();
const say = (line = ""): void => io.out(line);
/** `text` with each non-empty line indented by three spaces. */
const indent = (text: string): string => text.replace(/^(?=.)/gm, "   ");

/** A seeded generator of floats in [0, 1): the simulator's {@link Prng}. */
function random(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.nextFloat();
}

/** The command line that starts the writer in this runtime (compiled JavaScript under Node, the sources under Bun and Deno). */
function writerCommand(dir: string): string[] {
  const script = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "./demo-writer.ts" : "./demo-writer.js", import.meta.url));
  return runtimeName() === "deno" ? [process.execPath, "run", "-A", script, dir] : [process.execPath, script, dir];
}

/**
 * Starts a writer on `dir`, SIGKILLs it `delayMs` after it opened the log,
 * and returns how long it ran, the last sequence it acknowledged and how
 * many flushes resolved.
 */
async function runAndKill(dir: string, delayMs: number): Promise<{ ranMs: number; opened: number; lastAck: number; flushes: number }> {
  const [command, ...args] = writerCommand(dir);
  const child = spawn(command!, args, { stdio: ["ignore", "pipe", "inherit"] });
  let openedAt = 0;
  let opened = -1;
  let lastAck = -1;
  let flushes = 0;
  let partial = "";
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const [word, value] = line.split(" ");
      if (word === "ack") {
        lastAck = Number(value);
        flushes++;
      } else if (word === "opened") {
        opened = Number(value);
        openedAt = performance.now();
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    }
  });
  await exited;
  if (opened < 0) throw new Error("the writer exited before opening the log");
  return { ranMs: performance.now() - openedAt, opened, lastAck: lastAck < 0 ? opened : lastAck, flushes };
}

/** Reopens `dir` with repair, reads every record back and checks it against what was acknowledged. */
async function recover(dir: string, lastAcked: number): Promise<{ found: number; cut: string | null; problems: string[] }> {
  const problems: string[] = [];
  const wal = await Wal.open(dir, { repair: "truncate-partial" });
  let expected = 1;
  try {
    for await (const { sequence, value } of wal.read()) {
      if (sequence !== expected && problems.length < 3) problems.push(`sequence ${sequence} where ${expected} was expected`);
      if (!isDemoOrder(sequence, value) && problems.length < 3) problems.push(`record ${sequence} holds ${JSON.stringify(value)}`);
      expected = sequence + 1;
    }
  } finally {
    await wal.close();
  }
  const found = expected - 1;
  if (found < lastAcked) problems.push(`acknowledged records ${found + 1} .. ${lastAcked} are missing`);
  const cut = wal.repaired === null ? null : `${wal.repaired.bytes} B (${wal.repaired.kind}) kept in ${wal.repaired.savedTo}`;
  return { found, cut, problems };
}

/** One round: run a writer, kill it, check, repair, read back, check again. */
async function killRound(dir: string, delayMs: number, lastAckedBefore: number): Promise<Round> {
  const run = await runAndKill(dir, delayMs);
  const lastAcked = Math.max(lastAckedBefore, run.lastAck);
  const statusAfterKill = (await verify(dir)).status;
  const { found, cut, problems } = await recover(dir, lastAcked);
  const statusAfterRepair = (await verify(dir)).status;
  if (statusAfterRepair !== "sound") problems.push(`verify after the repair: ${statusAfterRepair}`);
  if (statusAfterKill === "damaged") problems.push("a kill left damage to durable data");
  return { ranMs: run.ranMs, acked: run.lastAck - run.opened, flushes: run.flushes, lastAcked, statusAfterKill, found, cut, statusAfterRepair, problems };
}

/** One line per round. */
function roundLine(index: number, round: Round): string {
  const rate = round.ranMs > 0 ? Math.round((round.acked / round.ranMs) * 1000) : 0;
  const beyond = round.found - round.lastAcked;
  const verdict = round.problems.length === 0 ? "every acknowledged record intact" : `FAILED: ${round.problems.join("; ")}`;
  const head = `  kill ${String(index).padStart(2)} after ${String(Math.round(round.ranMs)).padStart(4)} ms: `;
  return [
    `${head}${formatCount(round.acked).padStart(7)} records acknowledged in ${formatCount(round.flushes).padStart(5)} flushes (${formatCount(rate).padStart(7)} records/s)`,
    `${" ".repeat(head.length)}on disk: ${round.statusAfterKill}${round.cut === null ? "" : `, cut ${round.cut}`}; reopened: ${formatCount(round.found)} records (+${beyond} unacknowledged), ${verdict}; verify: ${round.statusAfterRepair}`,
  ].join("\n");
}

/** Part 1: kill a writer `kills` times; returns the rounds. */
async function killSession(dir: string, kills: number, seed: number): Promise<Round[]> {
  say(`1. A writer process appends orders to a segmented log on disk (${dir}),`);
  say(`   in concurrent batches of 1-64 each sealed by one flush (one write + one fsync), and is SIGKILLed at a random moment.`);
  say("   After each kill: tswal verify, reopen with repair, read every record back, verify again; the next writer continues.");
  say();
  const next = random(seed);
  const rounds: Round[] = [];
  let lastAcked = 0;
  for (let index = 1; index <= kills; index++) {
    const round = await killRound(dir, 150 + Math.floor(next() * 650), lastAcked);
    lastAcked = round.lastAcked;
    rounds.push(round);
    say(roundLine(index, round));
  }
  const acked = rounds.reduce((sum, round) => sum + round.acked, 0);
  const ranMs = rounds.reduce((sum, round) => sum + round.ranMs, 0);
  const failed = rounds.filter((round) => round.problems.length > 0).length;
  say();
  say(
    failed === 0
      ? `   ${kills} kills, ${formatCount(acked)} records acknowledged (${formatCount(Math.round((acked / ranMs) * 1000))} records/s, durable): every one recovered, in order, value for value.`
      : `   ${failed} of ${kills} rounds FAILED.`,
  );
  say("   (A SIGKILL cannot tear a write: the kernel keeps what the process wrote. Power loss can; that comes next.)");
  return rounds;
}

/** Part 2: a torn final write, shown with the tswal commands. Returns whether each behaved as it should. */
async function tornWrite(dir: string): Promise<boolean> {
  say();
  say("2. A power cut in the middle of a flush: one more batch is written, then its last 20 bytes are taken off the disk");
  say("   (that flush never returned, so nothing acknowledged is in it). The tswal command line at work:");
  const wal = await Wal.open(dir);
  const first = wal.currentSequence + 1;
  for (let sequence = first; sequence < first + 3; sequence++) await wal.append(demoOrder(sequence));
  await wal.flush();
  await wal.close();
  const newest = (await readdir(dir)).filter((name) => /^\d{20}\.wal$/.test(name)).sort().at(-1)!;
  const segment = join(dir, newest);
  await truncate(segment, (await verify(segment)).files[0]!.bytes - 20);
  const expect: [string[], number][] = [[["verify", dir], 1], [["repair", dir], 0], [["verify", dir], 0], [["inspect", dir], 0]];
  let ok = true;
  for (const [args, code] of expect) {
    say();
    say(`   $ tswal ${args.join(" ")}`);
    const exit = await runCli(args, { ...io, out: (text) => say(indent(text)) });
    say(`   (exit ${exit})`);
    ok &&= exit === code;
  }
  return ok;
}

/** Part 3: the crash harness, smaller than `tswal torture`'s default. */
async function simulation(records: number, seed: number): Promise<boolean> {
  say();
  say("3. The proof at scale: the crash harness on the simulated filesystem (tswal torture). Each workload is crashed before");
  say("   every I/O operation under every crash outcome, its recoveries crashed too, every fault injected, bits flipped in");
  say("   acknowledged data; after each, every acknowledged record must be there.");
  say();
  const report = await torture(records, seed, { ...io, out: (text) => say(` ${text}`) });
  say();
  for (const line of [...tortureTable(report), "", ...tortureVerdict(report)]) say(indent(line));
  return report.failures.length === 0;
}

/** Runs the three parts; resolves with the exit status. */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { kills: { type: "string" }, seed: { type: "string" }, records: { type: "string" } }, strict: true });
  const kills = Number(values.kills ?? 6);
  const seed = Number(values.seed ?? Date.now() % 100_000);
  const records = Number(values.records ?? 8);
  const started = performance.now();
  say(`tswal demo on ${runtimeName()} (seed ${seed}; --seed ${seed} repeats the kill moments)`);
  say();
  const root = await mkdtemp(join(tmpdir(), "tswal-demo-"));
  let ok: boolean;
  try {
    const rounds = await killSession(join(root, "orders"), kills, seed);
    ok = rounds.every((round) => round.problems.length === 0);
    ok = (await tornWrite(join(root, "orders"))) && ok;
    ok = (await simulation(records, seed)) && ok;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  say();
  say(`${ok ? "demo passed" : "demo FAILED"} in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
