/**
 * A child process for `test/jetstream.test.ts`: replicates subject `argv[4]`
 * of NATS at `argv[3]` into the `Wal` in directory `argv[2]`; following
 * until killed when `argv[5]` is `follow`, else until caught up. With
 * `argv[6]`, it stalls (spins, its event loop blocked) once it has applied
 * that sequence, waiting to be SIGKILLed mid-way.
 *
 * Stdout lines:
 * - `hello <runtime> <pid>` once it starts;
 * - `stalled <sequence>` when it stalls;
 * - `done <report as JSON>` when caught up without following (then it exits with status 0);
 * - `error <message>` if replicating fails (then it exits with status 1).
 *
 * @module
 */

import { writeSync } from "node:fs";
import process from "node:process";
import { runtimeName } from "../../adapters/auto.ts";
import { replicateFromJetStream } from "../../jetstream/mod.ts";

const [dir, url, subject, mode, stallAt] = process.argv.slice(2);
if (dir === undefined || url === undefined || subject === undefined) {
  throw new Error("usage: replica.ts <dir> <url> <subject> [follow|once] [stall-at]");
}

const say = (line: string): void => {
  writeSync(1, `${line}\n`); // synchronous: the line is out before a stall blocks the event loop
};

try {
  say(`hello ${runtimeName()} ${process.pid}`);
  const report = await replicateFromJetStream({
    dir,
    servers: url,
    subject,
    follow: mode === "follow",
    maxBuffered: 100,
    retryMs: 50,
    onApplied: (sequence) => {
      if (sequence !== Number(stallAt)) return;
      say(`stalled ${sequence}`);
      for (;;); // until SIGKILLed: nothing after this sequence is applied, nothing unflushed is written
    },
  });
  say(`done ${JSON.stringify(report)}`);
  process.exit(0);
} catch (error) {
  say(`error ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  process.exit(1);
}
