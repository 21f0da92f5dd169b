/**
 * `tswal follow PATH [--from N] [--raw]`: prints records as JSON lines as
 * they are appended, until interrupted (SIGINT). A segment directory is
 * followed with `Wal.follow`; a single file is read again every `--poll-ms`
 * from where the last read stopped (a cursor: each poll costs what was
 * appended since). Takes no lock.
 *
 * @module
 */

import process from "node:process";
import { defaultFileSystem } from "../adapters/auto.ts";
import { type FileSystem, Wal, type WalRecord } from "../mod.ts";
import { RECORD_BYTES_MAX_DEFAULT } from "../src/format/frame.ts";
import { decodingFrom, type FileReadEnd, readFileRecords } from "../src/log/reader.ts";
import { PositionLostError, type ScanPosition } from "../src/log/scan.ts";
import { type CliIo, type Command, EXIT, integerOption, parse, UsageError } from "./common.ts";
import { codecFor, recordLine } from "./records.ts";

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Follows a single log file by polling, from sequence `from`, until `signal` aborts. */
async function* followFile(fs: FileSystem, path: string, from: number, raw: boolean, pollMs: number, signal: AbortSignal): AsyncGenerator<WalRecord<unknown>> {
  let next = from;
  let resume: ScanPosition | null = null;
  while (!signal.aborted) {
    try {
      const reads: AsyncGenerator<WalRecord<unknown>[], FileReadEnd> = readFileRecords(fs, path, resume, RECORD_BYTES_MAX_DEFAULT, decodingFrom(codecFor(raw), next, path));
      for (;;) {
        const step: IteratorResult<WalRecord<unknown>[], FileReadEnd> = await reads.next();
        if (step.done === true) {
          resume = step.value.position;
          break;
        }
        for (const record of step.value) {
          next = record.sequence + 1;
          yield record;
        }
      }
    } catch (error) {
      if (!(error instanceof PositionLostError)) throw error;
      resume = null; // the file was cut back (a repair, or a crash that lost unsynced batches): read it again from the start
    }
    await pause(pollMs, signal);
  }
}

/** `tswal follow`. */
export const followCommand: Command = {
  name: "follow",
  summary: "print records as JSON lines as they are appended, until interrupted",
  help: `usage: tswal follow PATH [--from N] [--raw] [--poll-ms N]

Prints the records of the log file or segment directory at PATH as JSON
lines, {"sequence":N,"timeMs":N,"value":...}, then waits for more and prints
them as a writer (any process, any runtime) appends and flushes them, until
interrupted (Ctrl-C, SIGINT). Takes no lock.

  --from N      first sequence to print (default: the first record)
  --raw         payloads in base64 instead of decoded as JSON
  --poll-ms N   how often to look for new records, ms (default 100)
  --json        accepted for uniformity: the output is always JSON lines

exit: 0 interrupted, 1 damage met, 2 usage error, 3 I/O failure`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const options = { from: { type: "string" }, raw: { type: "boolean" }, "poll-ms": { type: "string" } } as const;
    const { values, positionals } = parse(args, options, { min: 1, max: 1 });
    if (values["help"] === true) {
      io.out(this.help);
      return EXIT.ok;
    }
    const path = positionals[0]!;
    const from = integerOption(values, "from", 0);
    const pollMs = integerOption(values, "poll-ms", 100, 1);
    const raw = values["raw"] === true;
    const fs = await defaultFileSystem();
    const stat = await fs.stat(path);
    if (stat === null) throw new UsageError(`nothing at ${path}`);
    const stop = new AbortController();
    const interrupt = (): void => stop.abort();
    process.on("SIGINT", interrupt);
    try {
      const records = stat.isDirectory
        ? Wal.follow(path, { from, signal: stop.signal, pollMs, codec: codecFor(raw) })
        : followFile(fs, path, from, raw, pollMs, stop.signal);
      for await (const record of records) io.out(recordLine(record, raw));
    } finally {
      process.off("SIGINT", interrupt);
    }
    return EXIT.ok;
  },
};
