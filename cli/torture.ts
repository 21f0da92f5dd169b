/**
 * `tswal torture [--records N] [--seed N]`: a session of the crash harness
 * (`tswal/harness`) on the in-memory filesystem. Three workloads sized by
 * `--records` are crashed before every I/O operation under every crash
 * outcome and both repair policies, their recoveries are crashed in turn,
 * every fault kind is injected at every matching operation, and bits are
 * flipped in acknowledged data; after each, every acknowledged record must
 * be there. Prints progress (on a terminal) and a summary table; exit 1,
 * with replayable scenarios, if any invariant broke.
 *
 * `tswal torture --real`: crash states built from the system calls of a
 * workload run under strace on the real filesystem, in this runtime
 * (`realCrash` in `tswal/harness`, `harness/real/`).
 *
 * @module
 */

import {
  appendFlushWorkload,
  explore,
  type ExploreReport,
  type Failure,
  type Progress,
  REAL_CRASH_BUGS,
  realCrash,
  type RealCrashBug,
  type RealCrashReport,
  realCrashUnsupported,
  type Workload,
} from "../harness/mod.ts";
import { type CliIo, type Command, EXIT, formatCount, integerOption, parse, printJson, UsageError } from "./common.ts";

/** Largest `--records`: the session grows with the square of the operations. */
const RECORDS_MAX = 200;

/** The session's three workloads for `records` records. */
function workloads(records: number): { name: string; workload: Workload }[] {
  const big = Math.max(2, Math.round((records * 2) / 3));
  const small = Math.max(1, Math.round((records * 5) / 3));
  return [
    { name: `${records} records, batches of 3`, workload: appendFlushWorkload({ records, batchRecords: 3 }) },
    {
      name: `${big} records of 700 B, concurrent, reopening`,
      workload: appendFlushWorkload({ records: big, batchRecords: 4, valueBytes: 700, concurrent: true, reopenEveryBatches: 1 }),
    },
    { name: `${small} small records, one flush each`, workload: appendFlushWorkload({ records: small, batchRecords: 1, valueBytes: 8 }) },
  ];
}

/** Totals per crash-outcome row. */
interface Row {
  /** Crash states (or scenarios) checked. */
  states: number;
  /** Recoveries where truncate-partial cut a torn tail. */
  repaired: number;
  /** Recoveries where a strict open refused a torn tail. */
  strictRefused: number;
  /** Checks that failed. */
  failed: number;
}

/** What a torture session found. */
export interface TortureReport {
  /** The simulator's seed. */
  readonly seed: number;
  /** Records of the first workload. */
  readonly records: number;
  /** Wall time of the session. */
  readonly seconds: number;
  /** I/O operations of the workloads' clean runs. */
  readonly operations: number;
  /** Crash states recovered and checked. */
  readonly crashStates: number;
  /** Fault injections checked. */
  readonly faultScenarios: number;
  /** Bit flips in acknowledged data checked. */
  readonly bitFlips: number;
  /** Totals per crash outcome, fault kind or bit flip. */
  readonly rows: Record<string, Row>;
  /** What broke, with the workload's name and a replayable scenario. */
  readonly failures: readonly (Failure & { readonly workload: string })[];
}

/** Runs a torture session of `records` records with `seed`, printing a line per workload unless `quiet`. */
export async function torture(records: number, seed: number, io: CliIo, quiet = false): Promise<TortureReport> {
  const started = Date.now();
  const reports: { name: string; report: ExploreReport }[] = [];
  for (const { name, workload } of workloads(records)) {
    const report = await explore({ workload, seed, ...(io.isTTY ? { onProgress: progressPrinter(name, io) } : {}) });
    reports.push({ name, report });
    if (!quiet) io.out(workloadLine(name, report));
  }
  const sum = (pick: (report: ExploreReport) => number): number => reports.reduce((total, { report }) => total + pick(report), 0);
  return {
    seed,
    records,
    seconds: (Date.now() - started) / 1000,
    operations: sum((r) => r.operations),
    crashStates: sum((r) => r.crashStates),
    faultScenarios: sum((r) => r.faultScenarios),
    bitFlips: sum((r) => r.bitFlips),
    rows: sumRows(reports.map((r) => r.report)),
    failures: reports.flatMap(({ name, report }) => report.failures.map((failure) => ({ workload: name, ...failure }))),
  };
}

/** One line per workload. */
function workloadLine(name: string, report: ExploreReport): string {
  const verdict = report.failures.length === 0 ? "every acknowledged record survived" : `${report.failures.length} FAILED`;
  return `  ${name}: ${report.operations} I/O operations, ${formatCount(report.crashStates)} crash states, ${report.faultScenarios} fault scenarios, ${report.bitFlips} bit flips: ${verdict}`;
}

/** A progress line per phase, redrawn in place (terminal only). */
function progressPrinter(name: string, io: CliIo): (progress: Progress) => void {
  return ({ phase, done, total }) => {
    const width = 24;
    const filled = Math.round((done / total) * width);
    io.progress(`  ${name}: ${phase.padEnd(8)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`);
  };
}

/** Sums the per-outcome rows of every report. */
function sumRows(all: readonly ExploreReport[]): Record<string, Row> {
  const rows: Record<string, Row> = {};
  for (const report of all) {
    for (const [name, row] of report.rows) {
      const sum = (rows[name] ??= { states: 0, repaired: 0, strictRefused: 0, failed: 0 });
      sum.states += row.states;
      sum.repaired += row.repaired;
      sum.strictRefused += row.strictRefused;
      sum.failed += row.failed;
    }
  }
  return rows;
}

/** The summary table of a session. */
export function tortureTable(report: TortureReport): string[] {
  const names = Object.keys(report.rows);
  const width = Math.max(8, ...names.map((name) => name.length));
  const header = `${"crash outcome".padEnd(width)}  ${"checked".padStart(8)}  ${"tail cut".padStart(8)}  ${"strict refused".padStart(14)}  ${"failed".padStart(6)}`;
  const lines = [header, "-".repeat(header.length)];
  for (const [name, row] of Object.entries(report.rows)) {
    lines.push(
      `${name.padEnd(width)}  ${String(row.states).padStart(8)}  ${String(row.repaired).padStart(8)}  ${String(row.strictRefused).padStart(14)}  ${String(row.failed).padStart(6)}`,
    );
  }
  lines.push("'tail cut': truncate-partial saved and cut a torn tail; 'strict refused': strict open named the torn tail and wrote nothing.");
  return lines;
}

/** The closing lines: the verdict, or each failure with its replayable scenario. */
export function tortureVerdict(report: TortureReport): string[] {
  if (report.failures.length === 0) {
    return [`no invariant broken: ${formatCount(report.crashStates)} crash states, ${report.faultScenarios} fault scenarios, ${report.bitFlips} bit flips in ${report.seconds.toFixed(1)} s (seed ${report.seed}).`];
  }
  const lines = [`${report.failures.length} scenario(s) failed (replay each with runScenario(workload, scenario)):`];
  for (const failure of report.failures) lines.push(`  [${failure.workload}] ${JSON.stringify(failure.scenario)}`, ...failure.problems.map((p) => `    ${p}`));
  return lines;
}

/** Largest `--records` of `--real`. */
const REAL_RECORDS_MAX = 60;

/** The lines of a `--real` report. */
export function realCrashLines(report: RealCrashReport): string[] {
  const lines = [
    `real crash states (strace, this runtime): ${report.operations} traced operations, ${report.acknowledgements} acknowledgements, ${report.states} crash states (synced-only ${report.kinds["synced-only"]}, all ${report.kinds.all}, random ${report.kinds.random}), each recovered under strict and truncate-partial`,
    `strict refused a torn tail in ${report.strictRefused}; truncate-partial cut one in ${report.repaired}; ${report.seconds.toFixed(1)} s`,
  ];
  for (const problem of report.traceProblems) lines.push(`trace: ${problem}`);
  for (const { state, problems } of report.failures) lines.push(`FAILED ${state}`, ...problems.map((p) => `  ${p}`));
  if (report.traceProblems.length === 0 && report.failedStates === 0) lines.push("no invariant broken.");
  else lines.push(`${report.traceProblems.length} trace problem(s), ${report.failedStates} failed crash state(s), ${report.lostAcknowledged} of them losing acknowledged records.`);
  return lines;
}

/** `tswal torture --real`: a real-crash run of this runtime (`realCrash` in `tswal/harness`). */
async function runReal(values: Record<string, string | boolean | undefined>, io: CliIo): Promise<number> {
  const records = integerOption(values, "records", 24, 1);
  if (records > REAL_RECORDS_MAX) throw new UsageError(`--real takes --records up to ${REAL_RECORDS_MAX}, not ${records}`);
  const bug = (values["bug"] ?? "none") as RealCrashBug;
  if (bug !== "none" && bug !== "no-dirsync-after-rename" && !REAL_CRASH_BUGS.includes(bug)) {
    throw new UsageError(`--bug takes ${[...REAL_CRASH_BUGS, "no-dirsync-after-rename"].join(", ")}, not ${JSON.stringify(bug)}`);
  }
  const unsupported = await realCrashUnsupported();
  if (unsupported !== null) {
    io.err(`tswal torture --real: ${unsupported}`);
    return EXIT.failure;
  }
  const report = await realCrash({ records, seed: integerOption(values, "seed", 1), bug });
  if (values["json"] === true) printJson(io, report);
  else for (const line of realCrashLines(report)) io.out(line);
  return report.traceProblems.length === 0 && report.failedStates === 0 ? EXIT.ok : EXIT.damaged;
}

/** `tswal torture`. */
export const tortureCommand: Command = {
  name: "torture",
  summary: "a crash-harness session on the simulated filesystem: crashes, faults, bit rot; a summary table",
  help: `usage: tswal torture [--records N] [--seed N] [--json]
       tswal torture --real [--records N] [--seed N] [--bug NAME] [--json]

Runs the crash harness (tswal/harness) on the in-memory filesystem: three
workloads of about N records are crashed before every I/O operation under
every crash outcome (unsynced data lost, torn writes, sectors out of order,
...) and both repair policies, their recoveries are crashed in turn, every
fault (EIO, ENOSPC, failed fsync, ...) is injected at every matching
operation, and bits are flipped in acknowledged data. After each, every
acknowledged record must be there. Deterministic for a seed.

  --records N   records of the first workload (default 12, 1 .. ${RECORDS_MAX}); time grows with N squared
  --seed N      seed of the simulator (default 1)
  --json        print the report as one JSON object
  --real        instead: run a workload of N records (default 24) in a child of
                this runtime under strace on the real filesystem, build crash
                states from its system calls (unsynced writes lost or torn,
                directory entries lost until their directory's fsync), recover
                each with this runtime under both policies and check them and
                the trace; needs strace (exit 3 without it)
  --bug NAME    with --real: plant a bug in the workload's adapter to see the
                checks fail (no-datasync, no-dirsync, ack-before-sync,
                no-dirsync-after-rename)

exit: 0 no invariant broken, 1 some broke (scenarios printed), 2 usage error`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const { values } = parse(args, { records: { type: "string" }, seed: { type: "string" }, real: { type: "boolean" }, bug: { type: "string" } }, { min: 0, max: 0 });
    if (values["help"] === true) {
      io.out(this.help);
      return EXIT.ok;
    }
    if (values["real"] === true) return await runReal(values, io);
    if (values["bug"] !== undefined) throw new UsageError("--bug needs --real");
    const records = integerOption(values, "records", 12, 1);
    if (records > RECORDS_MAX) throw new UsageError(`--records takes at most ${RECORDS_MAX}, not ${records}`);
    const seed = integerOption(values, "seed", 1);
    const json = values["json"] === true;
    const report = await torture(records, seed, io, json);
    if (json) printJson(io, report);
    else for (const line of ["", ...tortureTable(report), "", ...tortureVerdict(report)]) io.out(line);
    return report.failures.length === 0 ? EXIT.ok : EXIT.damaged;
  },
};
