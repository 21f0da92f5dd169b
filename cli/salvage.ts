/**
 * `tswal salvage PATH OUT`: copies every record of every intact batch of a
 * (damaged) log into a new, sound log at OUT, skipping damage, and reports
 * what was skipped. Sequences and times are kept; payloads are copied byte
 * for byte. The source is only read.
 *
 * @module
 */

import { defaultFileSystem } from "../adapters/auto.ts";
import { bytesCodec, type FileSystem, Wal, WalWriter } from "../mod.ts";
import { RECORD_BYTES_MAX_DEFAULT } from "../src/format/frame.ts";
import { crcOf } from "../src/options.ts";
import { readBounds } from "../src/segmented/bounds.ts";
import { segmentFirstSequences, segmentPath } from "../src/segmented/segments.ts";
import { type CliIo, type Command, EXIT, formatCount, parse, printJson, UsageError } from "./common.ts";
import { SALVAGE_FILE_BYTES_MAX, type SalvagedFile, salvageFile, type SkippedRange } from "./salvage-scan.ts";

/** Where salvaged records go. */
interface Sink {
  /** Appends `payload` as record `sequence`. */
  append(payload: Uint8Array, sequence: number): Promise<number>;
  /** Makes what was appended durable. */
  flush(): Promise<void>;
  /** Closes the new log. */
  close(): Promise<void>;
}

/** What `salvage` reports. */
export interface SalvageReport {
  /** The damaged log. */
  readonly source: string;
  /** The new log. */
  readonly out: string;
  /** Files read (the log file, or every segment). */
  readonly files: number;
  /** Intact batches copied. */
  readonly batches: number;
  /** Records copied. */
  readonly records: number;
  /** First sequence copied, or null when none. */
  readonly firstSequence: number | null;
  /** Last sequence copied, or null when none. */
  readonly lastSequence: number | null;
  /** Damage skipped, per file. */
  readonly skipped: readonly (SkippedRange & { readonly path: string })[];
  /** Records dropped because their sequence did not rise above what was already copied (segments out of order). */
  readonly outOfOrder: number;
}

/** Opens the new log at `out` (a file, or a directory for a directory source) with a clock the copy sets per record. */
async function openSink(out: string, directory: boolean, clock: { timeMs: number }, base: number): Promise<Sink> {
  const now = (): number => clock.timeMs;
  const log = directory
    ? await Wal.open<Uint8Array>(out, { codec: bytesCodec, now, baseSequence: base })
    : await WalWriter.open<Uint8Array>(out, { codec: bytesCodec, now, baseSequence: base });
  return {
    append: (payload, sequence) => log.append(payload, { sequence }),
    flush: () => log.flush(),
    close: () => log.close(),
  };
}

/** The files to salvage: the path itself, or every segment of the directory in name order. */
async function sourceFiles(fs: FileSystem, path: string, directory: boolean): Promise<string[]> {
  if (!directory) return [path];
  return segmentFirstSequences(await fs.readdir(path)).map((first) => segmentPath(path, first));
}

/** The front of a segment directory, when its bounds file is readable (records below it were truncated away); else 0. */
async function frontOf(fs: FileSystem, dir: string): Promise<number> {
  try {
    return (await readBounds(fs, dir, crcOf(fs)))?.front ?? 0;
  } catch {
    return 0;
  }
}

/** Reads and walks one file. */
async function walk(fs: FileSystem, path: string): Promise<SalvagedFile> {
  const stat = await fs.stat(path);
  if (stat === null || !stat.isFile) throw new Error(`${path} is not a regular file`);
  if (stat.size > SALVAGE_FILE_BYTES_MAX) throw new Error(`${path} has ${stat.size} bytes; salvage reads a file whole, up to ${SALVAGE_FILE_BYTES_MAX}`);
  return salvageFile(await fs.readFile(path), crcOf(fs), RECORD_BYTES_MAX_DEFAULT);
}

/** Copies the records of `walked` at or above `front` with sequences above `last` into `sink`, a flush per batch. */
async function copy(walked: readonly { found: SalvagedFile }[], sink: Sink, clock: { timeMs: number }, front: number, last: number) {
  const counts = { batches: 0, records: 0, outOfOrder: 0, last };
  for (const batch of walked.flatMap(({ found }) => found.batches)) {
    const copied = batch.filter((record) => record.sequence > counts.last);
    counts.outOfOrder += batch.filter((record) => record.sequence <= counts.last && record.sequence >= front).length;
    if (copied.length === 0) continue;
    for (const record of copied) {
      clock.timeMs = record.timeMs;
      await sink.append(record.payload, record.sequence);
    }
    await sink.flush();
    counts.last = copied.at(-1)!.sequence;
    counts.batches++;
    counts.records += copied.length;
  }
  return counts;
}

/** Copies every intact record of the log at `source` into a new log at `out`. */
export async function salvage(source: string, out: string, io: CliIo): Promise<SalvageReport> {
  const fs = await defaultFileSystem();
  const stat = await fs.stat(source);
  if (stat === null) throw new UsageError(`nothing at ${source}`);
  if ((await fs.stat(out)) !== null) throw new Error(`${out} already exists: salvage writes a new log`);
  const directory = stat.isDirectory;
  const front = directory ? await frontOf(fs, source) : 0;
  const walked: { path: string; found: SalvagedFile }[] = [];
  for (const path of await sourceFiles(fs, source, directory)) {
    if (io.isTTY) io.progress(`reading ${path}`);
    walked.push({ path, found: await walk(fs, path) });
  }
  const firstSequence = walked.flatMap(({ found }) => found.batches.flat()).find((record) => record.sequence >= front)?.sequence ?? null;
  const clock = { timeMs: 0 };
  const sink = await openSink(out, directory, clock, firstSequence === null ? Math.max(0, front - 1) : firstSequence - 1);
  let counts;
  try {
    counts = await copy(walked, sink, clock, front, firstSequence === null ? Number.MAX_SAFE_INTEGER : firstSequence - 1);
  } finally {
    await sink.close();
  }
  const skipped = walked.flatMap(({ path, found }) => found.skipped.map((range) => ({ path, ...range })));
  const { batches, records, outOfOrder } = counts;
  return { source, out, files: walked.length, batches, records, firstSequence, lastSequence: records === 0 ? null : counts.last, skipped, outOfOrder };
}

/** `tswal salvage`. */
export const salvageCommand: Command = {
  name: "salvage",
  summary: "copy every intact record of a damaged log into a new sound log, reporting what was skipped",
  help: `usage: tswal salvage PATH OUT [--json]

Reads the log file or segment directory at PATH (only reads it) and copies
the records of every intact batch into a new log at OUT (a file for a file,
a directory for a directory), skipping damage: after a damaged stretch it
searches on for the next batch whose checksums all match. Sequences, times
and payload bytes are kept. Reports each skipped stretch (file, offset,
bytes, the sequences around it).

  --json   print the report as one JSON object

exit: 0 copied (damage skipped or not), 2 usage error (or nothing at PATH),
3 failure (OUT exists, I/O error, a file header too damaged to read)`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parse(args, {}, { min: 2, max: 2 });
    if (values["help"] === true) {
      io.out(this.help);
      return EXIT.ok;
    }
    const report = await salvage(positionals[0]!, positionals[1]!, io);
    if (values["json"] === true) {
      printJson(io, report);
      return EXIT.ok;
    }
    const range = report.firstSequence === null ? "" : ` (sequences ${report.firstSequence} .. ${report.lastSequence})`;
    io.out(`salvaged ${formatCount(report.records)} records in ${formatCount(report.batches)} batches${range} from ${report.files} file(s) into ${report.out}`);
    for (const skip of report.skipped) {
      const before = skip.before === null ? "the end of the file" : `sequence ${skip.before}`;
      io.out(`  skipped ${formatCount(skip.bytes)} damaged bytes at offset ${skip.offset} of ${skip.path}: after sequence ${skip.after}, before ${before}`);
    }
    if (report.skipped.length === 0) io.out("  nothing skipped: every batch was intact");
    if (report.outOfOrder > 0) io.out(`  ${report.outOfOrder} record(s) left out: their sequences did not rise above the ones copied before`);
    return EXIT.ok;
  },
};
