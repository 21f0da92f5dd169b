/**
 * `tswal dump PATH [--from N] [--to N] [--raw]`: every record as a JSON
 * line, read-only.
 *
 * @module
 */

import { WalCorruptionError, WalDecodeError, verify } from "../mod.ts";
import { type CliIo, type Command, describeCorruption, EXIT, integerOption, parse } from "./common.ts";
import { readReported, recordLine } from "./records.ts";
import { verdictLines } from "./verify.ts";

/** `tswal dump`. */
export const dumpCommand: Command = {
  name: "dump",
  summary: "records as JSON lines {sequence,timeMs,value}; --raw for base64 payloads",
  help: `usage: tswal dump PATH [--from N] [--to N] [--raw]

Prints the records of the log file or segment directory at PATH, one JSON
line each: {"sequence":N,"timeMs":N,"value":...}. Read-only, no lock.

  --from N   first sequence to print (default: the first record)
  --to N     last sequence to print (default: the last record)
  --raw      print each payload's bytes in base64 instead of decoding it as JSON
  --json     accepted for uniformity: the output is always JSON lines

A torn tail or damage stops the dump after every intact record before it;
the diagnostic goes to stderr.

exit: 0 the log is sound and the records in range were printed; 1 the log has a torn
tail or damage (the intact records in range are printed first), or a payload is not
JSON (use --raw); 2 usage error (or nothing at PATH); 3 I/O failure`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parse(args, { from: { type: "string" }, to: { type: "string" }, raw: { type: "boolean" } }, { min: 1, max: 1 });
    if (values["help"] === true) {
      io.out(this.help);
      return EXIT.ok;
    }
    const from = integerOption(values, "from", 0);
    const to = integerOption(values, "to", Number.MAX_SAFE_INTEGER);
    const raw = values["raw"] === true;
    const report = await verify(positionals[0]!);
    try {
      for await (const record of readReported(report, from, to, raw)) io.out(recordLine(record, raw));
    } catch (error) {
      if (error instanceof WalDecodeError) {
        io.err(`tswal dump: ${error.message}; --raw prints payloads as base64`);
        return EXIT.damaged;
      }
      if (!(error instanceof WalCorruptionError)) throw error;
      io.err(`tswal dump: stopped at damage: ${describeCorruption(error.corruption)}`);
      return EXIT.damaged;
    }
    if (report.status === "sound") return EXIT.ok;
    for (const line of verdictLines(report)) io.err(`tswal dump: ${line.trim()}`);
    return EXIT.damaged;
  },
};
