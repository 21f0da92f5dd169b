/**
 * `tswal verify PATH`: the read-only full check ({@link verify} of the
 * library). Never takes the writer lock, never writes. Exit 0 when the log
 * is sound, 1 when it is damaged or has a torn tail (kind, offset and file
 * named), 2 on a usage error.
 *
 * @module
 */

import { verify, type VerifyReport } from "../mod.ts";
import { type CliIo, type Command, describeCorruption, EXIT, formatBytes, formatCount, parse, printJson } from "./common.ts";

/** The verdict line(s) of a report: what `verify` prints, and `repair` when it refuses. */
export function verdictLines(report: VerifyReport): string[] {
  const records = `${formatCount(report.records)} records in ${formatCount(report.batches)} batches`;
  const what = `${records}, ${formatBytes(report.bytes)}`;
  const unfinished = report.unfinished === null ? [] : [`  the next open finishes ${report.unfinished}`];
  switch (report.status) {
    case "sound":
      return [`sound: ${report.path} (${what})`, ...unfinished];
    case "torn-tail":
      return [
        `torn tail: ${describeCorruption(report.tail!)}`,
        `  ${records} before it are intact; a crash leaves this: \`tswal repair ${report.path}\` cuts it and keeps its bytes`,
      ];
    case "damaged":
      return [
        `damaged: ${describeCorruption(report.damage!)}`,
        `  damage to durable data, fatal under every repair policy; \`tswal salvage ${report.path} OUT\` copies every intact record`,
      ];
  }
}

/** The exit code a report calls for: 0 sound, 1 otherwise. */
export function verdictExit(report: VerifyReport): number {
  return report.status === "sound" ? EXIT.ok : EXIT.damaged;
}

/** `tswal verify`. */
export const verifyCommand: Command = {
  name: "verify",
  summary: "check a log read-only (no lock, no write); exit 0 sound, 1 damaged",
  help: `usage: tswal verify PATH [--json]

Checks every batch and checksum of the log file or segment directory at PATH,
as opening would, without taking the writer lock and without writing: safe
beside a live writer. Prints the verdict: sound, a torn tail (what a crash
leaves; \`tswal repair\` cuts it), or damage to durable data (kind, offset,
file).

  --json   print the whole report as one JSON object

exit: 0 sound, 1 torn tail or damaged, 2 usage error (or nothing at PATH), 3 I/O failure`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const report = await printVerifyReport(args, io, this.help, verdictLines);
    return report === undefined ? EXIT.ok : verdictExit(report);
  },
};

/**
 * What `tswal verify` and `tswal inspect` share: parses `args` (one PATH,
 * `--json`, `--help`), runs {@link verify} on PATH and prints the report as
 * JSON or as `lines(report)`. Returns the report, or `undefined` when it
 * printed `help` instead.
 */
export async function printVerifyReport(
  args: readonly string[],
  io: CliIo,
  help: string,
  lines: (report: VerifyReport) => readonly string[],
): Promise<VerifyReport | undefined> {
  const { values, positionals } = parse(args, {}, { min: 1, max: 1 });
  if (values["help"] === true) {
    io.out(help);
    return undefined;
  }
  const report = await verify(positionals[0]!);
  if (values["json"] === true) printJson(io, report);
  else for (const line of lines(report)) io.out(line);
  return report;
}
