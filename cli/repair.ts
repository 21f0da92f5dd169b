/**
 * `tswal repair PATH`: applies `truncate-partial` by opening the log with
 * it (taking the writer lock) and closing it. Checks read-only first, so
 * damage to durable data is refused with the diagnostic `verify` prints and
 * nothing is opened for writing.
 *
 * @module
 */

import { type Repair, verify, Wal, WalWriter } from "../mod.ts";
import { type CliIo, type Command, EXIT, formatCount, parse, printJson } from "./common.ts";
import { verdictLines } from "./verify.ts";

/** Opens the log at `path` with `truncate-partial` and closes it; returns what was cut, or null. */
export async function repairLog(path: string, layout: "file" | "directory"): Promise<Repair | null> {
  if (layout === "directory") {
    const wal = await Wal.open(path, { repair: "truncate-partial", create: false });
    const repaired = wal.repaired;
    await wal.close();
    return repaired;
  }
  const writer = await WalWriter.open(path, { repair: "truncate-partial", create: false });
  const repaired = writer.repaired;
  await writer.close();
  return repaired;
}

/** `tswal repair`. */
export const repairCommand: Command = {
  name: "repair",
  summary: "cut a torn tail (truncate-partial), keeping its bytes; refuses damage to durable data",
  help: `usage: tswal repair PATH [--json]

Cuts the torn tail a crash left at the end of the log file (or of the newest
segment of the directory) at PATH, as opening with repair "truncate-partial"
does: the cut bytes are kept in <file>.<offset>.torn (synced) before the log
is truncated. Takes the writer lock for the moment it runs. Damage to durable
data is refused, with the diagnostic \`tswal verify\` prints, and nothing is
written.

  --json   print {"status","repaired","report"} as one JSON object

exit: 0 repaired or nothing to repair, 1 refused (damage to durable data),
2 usage error (or nothing at PATH), 3 failure (I/O, lock held by a live writer)`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parse(args, {}, { min: 1, max: 1 });
    if (values["help"] === true) {
      io.out(this.help);
      return EXIT.ok;
    }
    const path = positionals[0]!;
    const report = await verify(path);
    const json = values["json"] === true;
    if (report.status === "damaged") {
      if (json) printJson(io, { status: "refused", repaired: null, report });
      else for (const line of verdictLines(report)) io.out(line);
      return EXIT.damaged;
    }
    const repaired = await repairLog(path, report.layout);
    if (json) {
      printJson(io, { status: repaired === null ? "nothing-to-repair" : "repaired", repaired, report: await verify(path) });
    } else if (repaired === null) {
      io.out(`nothing to repair: ${path} is sound (${formatCount(report.records)} records)`);
    } else {
      io.out(`repaired: cut ${formatCount(repaired.bytes)} bytes (${repaired.kind}) at offset ${repaired.offset}; kept them in ${repaired.savedTo}`);
      io.out(`  ${formatCount(report.records)} records intact, the log continues at sequence ${(report.lastSequence ?? report.files.at(-1)?.baseSequence ?? 0) + 1}`);
    }
    return EXIT.ok;
  },
};
