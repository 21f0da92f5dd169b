/**
 * Timing, repetition and the printed table of the bench.
 *
 * @module
 */

import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** One printed comparison: tswal's figure beside a peer's, same workload, same unit. */
export interface Row {
  readonly workload: string;
  readonly tswal: number;
  readonly peer: string;
  readonly peerValue: number;
}

/** A peer's label and figure. */
export type PeerRate = readonly [peer: string, value: number];

/** Units of work per second of `run`, one run. */
export async function perSecond(units: number, run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return units / ((performance.now() - start) / 1000);
}

/**
 * Where run `run` of the measurement `name` writes: `<dir>/<name>.<run>/<name>`,
 * alone in its directory with whatever files its system adds beside it
 * (a lock, SQLite's `-wal`), so that removing the directory removes them all.
 */
export function runPath(dir: string, name: string, run: number): string {
  return join(runDirectory(dir, name, run), name);
}

/** The directory of {@link runPath}. */
function runDirectory(dir: string, name: string, run: number): string {
  return join(dir, `${name}.${run}`);
}

/**
 * One thing the bench times: the name its files get (see {@link runPath}),
 * the units of work one run does, the run, and whether run 0's output is
 * kept for a later workload to read (every other run's is removed).
 */
export interface Measurement {
  readonly name: string;
  readonly units: number;
  readonly run: (path: string) => Promise<unknown>;
  readonly keepFirstRun?: boolean;
}

/** How {@link medianRates} repeats: timed runs per measurement, and how long each is run untimed before them. */
export interface Repetition {
  readonly runs: number;
  readonly warmupMs: number;
}

/**
 * Runs every measurement `runs` times, each run on its own fresh path, and
 * returns each one's median of units per second, in order. Each run's
 * output is removed once it is timed, except run 0's of a measurement that
 * keeps it. On this project's machine (a VM), memory left free for a
 * second or two goes back to the host, and the page cache is then 7–9×
 * slower to fill (100 MB written: 29–34 ms into memory just freed by a
 * removed file, 244–313 ms 2–20 s later). Kept output made every later run
 * fill the page cache from such memory, slowing each workload the later it
 * ran; removed output is memory the next run reuses. The runs go
 * round-robin: run r of every measurement before run r + 1 of any, so that a
 * slow spell of the machine (the disk's, a neighbour's) falls on tswal and
 * its peers alike instead of on whichever ran during it, which would skew
 * their ratio.
 *
 * Before them, each measurement runs untimed until `warmupMs` have passed
 * (under `<dir>/warmup`, removed after each run): a system written in
 * JavaScript runs well below its steady speed until the JIT has optimized
 * its paths, a cost a long-lived process pays once. Measured:
 * tswal's 64-caller workload ran 108k, 121k, 143k, 138k, 159k and 152k
 * rec/s in its first six runs of 75 ms, then 160–184k interleaved with lmdb.
 */
export async function medianRates(dir: string, repetition: Repetition, measurements: readonly Measurement[]): Promise<number[]> {
  for (const measurement of measurements) await warmUp(join(dir, "warmup"), measurement, repetition.warmupMs);
  const rates: number[][] = measurements.map(() => []);
  for (let r = 0; r < repetition.runs; r++) {
    for (const [index, { name, units, run, keepFirstRun }] of measurements.entries()) {
      await mkdir(runDirectory(dir, name, r), { recursive: true });
      rates[index]!.push(await perSecond(units, () => run(runPath(dir, name, r))));
      if (r > 0 || keepFirstRun !== true) await rm(runDirectory(dir, name, r), { recursive: true, force: true });
    }
  }
  return rates.map(median);
}

/** Runs `measurement` untimed, each run in a fresh `dir` removed after it, until `warmupMs` have passed: never when it is 0, else at least once. */
async function warmUp(dir: string, { name, run }: Measurement, warmupMs: number): Promise<void> {
  if (warmupMs === 0) return;
  const start = performance.now();
  let round = 0;
  do {
    await mkdir(runDirectory(dir, name, round), { recursive: true });
    await run(runPath(dir, name, round++));
    await rm(dir, { recursive: true, force: true });
  } while (performance.now() - start < warmupMs);
}

/** The median of a non-empty list (the mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Rows of one workload variant: tswal's figure against each peer's. */
export function compare(workload: string, tswal: number, peers: readonly PeerRate[]): Row[] {
  return peers.map(([peer, peerValue]) => ({ workload, tswal, peer, peerValue }));
}

/** Prints `workload | tswal | peer | peer value | ratio` rows, the ratio being tswal / peer (above 1: tswal is faster). */
export function printTable(rows: readonly Row[]): void {
  const header = ["workload", "tswal", "peer", "peer value", "ratio"];
  const cells = rows.map((row) => [row.workload, figure(row.tswal), row.peer, figure(row.peerValue), ratio(row)]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const numeric = [false, true, false, true, true];
  const format = (line: readonly string[]): string =>
    line.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(" | ");
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("-|-"));
  for (const line of cells) console.log(format(line));
}

/** tswal / peer, as printed. */
function ratio(row: Row): string {
  return `${(row.tswal / row.peerValue).toFixed(2)}×`;
}

/** A rate for the table: whole numbers from 100 up, three significant digits below. */
function figure(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3);
}
