/**
 * `tswal inspect PATH`: what a log holds (format version, segments,
 * records, batches, bytes, first and last sequence, time range, torn tail),
 * read-only, from the same report as `verify`.
 *
 * @module
 */

import type { VerifyReport } from "../mod.ts";
import { type CliIo, type Command, describeCorruption, EXIT, formatBytes, formatCount, formatTime } from "./common.ts";
import { printVerifyReport } from "./verify.ts";

/** The human-readable lines of `inspect`. */
export function inspectLines(report: VerifyReport): string[] {
  const range = (first: number | null, last: number | null): string => (first === null ? "-" : `${first} .. ${last}`);
  const lines = [
    `path            ${report.path}`,
    `layout          ${report.layout === "file" ? "single file (WalWriter)" : "segment directory (Wal)"}`,
    `format version  ${report.formatVersion}`,
    `status          ${report.status}`,
    `segments        ${report.files.length}`,
    `records         ${formatCount(report.records)}`,
    `batches         ${formatCount(report.batches)}`,
    `bytes           ${formatCount(report.bytes)} (${formatBytes(report.bytes)})`,
    `sequences       ${range(report.firstSequence, report.lastSequence)}`,
    `time range      ${formatTime(report.firstTimeMs)} .. ${formatTime(report.lastTimeMs)}`,
  ];
  if (report.front !== null) lines.push(`front           ${report.front}`);
  if (report.unfinished !== null) lines.push(`unfinished      ${report.unfinished}`);
  lines.push(`torn tail       ${report.tail === null ? "none" : describeCorruption(report.tail)}`);
  if (report.damage !== null) lines.push(`damage          ${describeCorruption(report.damage)}`);
  if (report.layout === "directory") lines.push(...segmentLines(report));
  return lines;
}

/** One line per segment. */
function segmentLines(report: VerifyReport): string[] {
  const lines = ["", "segment                    records  batches       bytes  sequences"];
  for (const file of report.files) {
    const name = file.path.slice(file.path.lastIndexOf("/") + 1);
    const sequences = file.firstSequence === null ? "-" : `${file.firstSequence} .. ${file.lastSequence}`;
    lines.push(`${name.padEnd(25)}  ${String(file.records).padStart(7)}  ${String(file.batches).padStart(7)}  ${String(file.bytes).padStart(10)}  ${sequences}`);
  }
  return lines;
}

/** `tswal inspect`. */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "what a log holds: version, segments, records, batches, bytes, sequences, times, torn tail",
  help: `usage: tswal inspect PATH [--json]

Describes the log file or segment directory at PATH, read-only (no lock, no
write): format version, segments, records, batches, bytes, first and last
sequence, time range, and a torn tail or damage if there is one.

  --json   print the report as one JSON object (the same as \`tswal verify --json\`)

exit: 0 inspected (whatever its state: \`tswal verify\` judges), 2 usage error (or nothing at PATH), 3 I/O failure`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    await printVerifyReport(args, io, this.help, inspectLines);
    return EXIT.ok;
  },
};
