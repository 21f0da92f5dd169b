/**
 * The main demonstration: a torture session of the crash harness on the
 * embedded in-memory filesystem. Three workloads are crashed before every
 * I/O operation under every crash outcome and both repair policies, their
 * recoveries are crashed in turn, every fault kind is injected at every
 * matching operation, and bits are flipped in acknowledged data. After each,
 * every acknowledged record must be there. Prints progress and a summary
 * table; exits non-zero (printing replayable scenarios) if anything failed.
 *
 * `npm run demo` (Node, compiled), `deno run -A examples/torture.ts`,
 * `bun examples/torture.ts`. Optional argument: a seed (default 1).
 */

import process from "node:process";
import { appendFlushWorkload, explore, type ExploreReport, type Progress, type Workload } from "../harness/mod.ts";

const WORKLOADS: readonly { name: string; workload: Workload }[] = [
  { name: "12 records, batches of 3", workload: appendFlushWorkload({ records: 12, batchRecords: 3 }) },
  {
    name: "8 records of 700 B, concurrent, reopening",
    workload: appendFlushWorkload({ records: 8, batchRecords: 4, valueBytes: 700, concurrent: true, reopenEveryBatches: 1 }),
  },
  { name: "20 small records, one flush each", workload: appendFlushWorkload({ records: 20, batchRecords: 1, valueBytes: 8 }) },
];

const seed = Number(process.argv[2] ?? 1);
const started = Date.now();
const reports: { name: string; report: ExploreReport }[] = [];
for (const { name, workload } of WORKLOADS) {
  console.log(`\nworkload: ${name}`);
  const report = await explore({ workload, seed, onProgress: progressPrinter() });
  reports.push({ name, report });
  console.log(
    `  ${report.operations} I/O operations; ${report.crashStates} crash states, ` +
      `${report.faultScenarios} fault scenarios, ${report.bitFlips} bit flips: ` +
      (report.failures.length === 0 ? "every acknowledged record survived" : `${report.failures.length} FAILED`),
  );
}

printTable(reports.map((r) => r.report));
const failures = reports.flatMap(({ name, report }) => report.failures.map((f) => ({ name, ...f })));
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  console.log(`\n${failures.length} scenario(s) failed (replay each with runScenario(workload, scenario)):`);
  for (const f of failures) console.log(`  [${f.name}] ${JSON.stringify(f.scenario)}\n    ${f.problems.join("\n    ")}`);
  process.exitCode = 1;
} else {
  console.log(`\nno invariant broken in ${seconds} s (seed ${seed}).`);
}

/** A progress line per phase: redrawn in place on a terminal, every 25% otherwise. */
function progressPrinter(): (progress: Progress) => void {
  const tty = process.stdout.isTTY === true;
  let lastQuarter = -1;
  return ({ phase, done, total }) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line = `  ${phase.padEnd(8)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
    if (tty) {
      process.stdout.write(`\r${line}${done === total ? "\n" : ""}`);
      return;
    }
    const quarter = Math.floor((done / total) * 4);
    if (quarter !== lastQuarter) {
      lastQuarter = quarter;
      console.log(line);
    }
  };
}

/** Sums the per-outcome rows of every report into one table. */
function printTable(all: readonly ExploreReport[]): void {
  const rows = new Map<string, { states: number; repaired: number; strictRefused: number; failed: number }>();
  for (const report of all) {
    for (const [name, row] of report.rows) {
      const sum = rows.get(name) ?? { states: 0, repaired: 0, strictRefused: 0, failed: 0 };
      sum.states += row.states;
      sum.repaired += row.repaired;
      sum.strictRefused += row.strictRefused;
      sum.failed += row.failed;
      rows.set(name, sum);
    }
  }
  const nameWidth = Math.max(...[...rows.keys()].map((k) => k.length), 8);
  const header = `${"scenario".padEnd(nameWidth)}  ${"checked".padStart(8)}  ${"tail cut".padStart(8)}  ${"strict refused".padStart(14)}  ${"failed".padStart(6)}`;
  console.log(`\n${header}\n${"-".repeat(header.length)}`);
  for (const [name, row] of rows) {
    console.log(
      `${name.padEnd(nameWidth)}  ${String(row.states).padStart(8)}  ${String(row.repaired).padStart(8)}  ` +
        `${String(row.strictRefused).padStart(14)}  ${String(row.failed).padStart(6)}`,
    );
  }
  console.log(
    "\n'tail cut': truncate-partial saved and cut a torn tail; 'strict refused': strict open named the torn tail and wrote nothing.",
  );
}
