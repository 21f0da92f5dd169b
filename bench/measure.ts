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

/** Where run `run` of the measurement `name` writes: `<dir>/<name>.<run>`. */
export function runPath(dir: string, name: string, run: number): string {
  return join(dir, `${name}.${run}`);
}

/** One thing the bench times: the name its files get (see {@link runPath}), the units of work one run does, and the run. */
export interface Measurement {
  readonly name: string;
  readonly units: number;
  readonly run: (path: string) => Promise<unknown>;
}

/** How {@link medianRates} repeats: timed runs per measurement, and untimed warm-up rounds before them. */
export interface Repetition {
  readonly runs: number;
  readonly warmupRounds: number;
}

/**
 * Runs every measurement `runs` times, each run on its own fresh path
 * (nothing is removed, so run 0's output can serve later workloads), and
 * returns each one's median of units per second, in order. The runs go
 * round-robin: run r of every measurement before run r + 1 of any, so that a
 * slow spell of the machine (the disk's, a neighbour's) falls on tswal and
 * its peers alike instead of on whichever ran during it, which would skew
 * their ratio. Before them, `warmupRounds` untimed rounds run every
 * measurement once each (under `<dir>/warmup`, removed afterwards): a
 * system written in JavaScript runs well below its steady speed until the
 * JIT has optimized its paths, which takes a few hundred milliseconds of
 * running (measured: tswal's 64-caller workload at 104k, 118k, 165k, 140k,
 * 168k, then 160–186k rec/s in consecutive runs), a cost a long-lived
 * process pays once.
 */
export async function medianRates(dir: string, repetition: Repetition, measurements: readonly Measurement[]): Promise<number[]> {
  const warmupDir = join(dir, "warmup");
  for (let round = 0; round < repetition.warmupRounds; round++) {
    await mkdir(warmupDir, { recursive: true });
    for (const { name, run } of measurements) await run(runPath(warmupDir, name, round));
    await rm(warmupDir, { recursive: true, force: true });
  }
  const rates: number[][] = measurements.map(() => []);
  for (let r = 0; r < repetition.runs; r++) {
    for (const [index, { name, units, run }] of measurements.entries()) {
      rates[index]!.push(await perSecond(units, () => run(runPath(dir, name, r))));
    }
  }
  return rates.map(median);
}

/** The median of a non-empty list (the mean of the middle two for an even length). */
function median(values: readonly number[]): number {
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
