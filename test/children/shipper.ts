/**
 * A child process for `test/jetstream.test.ts`: ships the `Wal` in
 * directory `argv[2]` to NATS at `argv[3]`, subject `argv[4]`, stream
 * `argv[5]`, until killed.
 *
 * Stdout lines:
 * - `hello <runtime> <pid>` once shipping starts;
 * - `shipped <sequence>` for each record the stream acknowledged;
 * - `lost <from> <to>` for records removed before they were shipped;
 * - `error <message>` if shipping fails for good (then it exits with status 1).
 *
 * @module
 */

import process from "node:process";
import { runtimeName } from "../../adapters/auto.ts";
import { shipToJetStream } from "../../jetstream/mod.ts";

const [dir, url, subject, stream] = process.argv.slice(2);
if (dir === undefined || url === undefined || subject === undefined || stream === undefined) {
  throw new Error("usage: shipper.ts <dir> <url> <subject> <stream>");
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

try {
  say(`hello ${runtimeName()} ${process.pid}`);
  await shipToJetStream({
    dir,
    servers: url,
    subject,
    stream,
    pollMs: 5,
    retryMs: 50,
    timeoutMs: 2_000,
    onShipped: (sequence) => say(`shipped ${sequence}`),
    onLoss: (lost) => say(`lost ${lost.from} ${lost.to}`),
  });
  process.exit(0);
} catch (error) {
  say(`error ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  process.exit(1);
}
