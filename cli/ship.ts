/**
 * `tswal ship DIR --nats URL --subject S [--stream NAME]`: ships a segment
 * directory's durable records to a NATS JetStream stream until interrupted
 * (SIGINT or SIGTERM), with `shipToJetStream` (tswal/jetstream). The NATS
 * clients are loaded only when this command runs.
 *
 * @module
 */

import process from "node:process";
import { defaultFileSystem } from "../adapters/auto.ts";
import type { RecordsLost, ShipReport } from "../jetstream/mod.ts";
import { type CliIo, type Command, EXIT, integerOption, parse, printJson, UsageError } from "./common.ts";

/** The checked command line. */
interface ShipArguments {
  readonly dir: string;
  readonly nats: string;
  readonly subject: string;
  readonly stream: string | undefined;
  readonly maxInFlight: number;
  readonly pollMs: number;
  readonly allowLoss: boolean;
  readonly json: boolean;
}

/** Reads and checks the command line. */
function shipArguments(values: Record<string, string | boolean | undefined>, positionals: readonly string[]): ShipArguments {
  const nats = values["nats"];
  const subject = values["subject"];
  if (typeof nats !== "string" || nats === "") throw new UsageError("--nats URL is required");
  if (typeof subject !== "string" || subject === "") throw new UsageError("--subject S is required");
  const stream = values["stream"];
  return {
    dir: positionals[0]!,
    nats,
    subject,
    stream: typeof stream === "string" ? stream : undefined,
    maxInFlight: integerOption(values, "max-in-flight", 256, 1),
    pollMs: integerOption(values, "poll-ms", 50, 1),
    allowLoss: values["allow-loss"] === true,
    json: values["json"] === true,
  };
}

/** Prints what shipping ended with. */
function printReport(io: CliIo, report: ShipReport, json: boolean): void {
  if (json) printJson(io, { event: "stopped", ...report });
  else io.out(`shipped ${report.shipped} records (${report.duplicates} duplicates dropped, ${report.retries} retries), last sequence ${report.lastSequence}`);
}

/** Says that records were lost, on stderr (or as a JSON line). */
function reportLoss(io: CliIo, lost: RecordsLost, json: boolean): void {
  if (json) printJson(io, { event: "lost", from: lost.from, to: lost.to });
  else io.err(`tswal ship: records ${lost.from} to ${lost.to} were removed by retention before they were shipped`);
}

/** `tswal ship`. */
export const shipCommand: Command = {
  name: "ship",
  summary: "ship a segment directory's durable records to NATS JetStream, until interrupted",
  help: `usage: tswal ship DIR --nats URL --subject S [--stream NAME] [--max-in-flight N] [--allow-loss]

Publishes each durable record of the segment directory DIR to the JetStream
subject S, with Nats-Msg-Id = the log's id and the record's sequence, and
keeps following the log until interrupted (Ctrl-C, SIGINT, or SIGTERM). On
start it resumes after the last record of this log the stream holds: a
restart never republishes, a kill never skips. Server restarts are waited
out. Takes no lock: the writer may be another process.

  --nats URL          the NATS server, e.g. nats://127.0.0.1:4222
  --subject S         the subject to publish on (one subject per log)
  --stream NAME       the stream; created for S if missing (default: the stream storing S)
  --max-in-flight N   unacknowledged publishes at most (default 256)
  --poll-ms N         how often to look for new records, ms (default 50)
  --allow-loss        report records removed by retention before they were shipped, and go on
                      (default: stop, exit 3)
  --json              events and the final report as JSON lines

exit: 0 interrupted, 2 usage error or no log at DIR, 3 records lost or another failure`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const options = {
      nats: { type: "string" },
      subject: { type: "string" },
      stream: { type: "string" },
      "max-in-flight": { type: "string" },
      "poll-ms": { type: "string" },
      "allow-loss": { type: "boolean" },
    } as const;
    const { values, positionals } = parse(args, options, { min: 1, max: 1 });
    if (values["help"] === true) {
      io.out(this.help);
      return EXIT.ok;
    }
    const shipping = shipArguments(values, positionals);
    const stat = await (await defaultFileSystem()).stat(shipping.dir);
    if (stat === null || !stat.isDirectory) throw new UsageError(`no segment directory at ${shipping.dir}`);
    const { shipToJetStream } = await import("../jetstream/mod.ts");
    const stop = new AbortController();
    const interrupt = (): void => stop.abort();
    process.on("SIGINT", interrupt);
    process.on("SIGTERM", interrupt);
    try {
      const report = await shipToJetStream({
        dir: shipping.dir,
        servers: shipping.nats,
        subject: shipping.subject,
        maxInFlight: shipping.maxInFlight,
        pollMs: shipping.pollMs,
        signal: stop.signal,
        ...(shipping.stream === undefined ? {} : { stream: shipping.stream }),
        ...(shipping.allowLoss ? { onLoss: (lost: RecordsLost) => reportLoss(io, lost, shipping.json) } : {}),
        onRetry: (error) => io.err(`tswal ship: retrying after: ${error instanceof Error ? error.message : String(error)}`),
      });
      printReport(io, report, shipping.json);
    } finally {
      process.off("SIGINT", interrupt);
      process.off("SIGTERM", interrupt);
    }
    return EXIT.ok;
  },
};
