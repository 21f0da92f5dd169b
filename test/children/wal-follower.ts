/**
 * A child process for `test/wal-follow.test.ts`: follows the segmented log
 * in directory `argv[2]` with `Wal.follow` (no lock, polling every 5 ms)
 * from sequence `argv[3]`, and exits once it has seen the record whose
 * value is `"stop"`.
 *
 * Stdout lines:
 * - `hello <runtime> <pid>` once the modules are loaded and following starts;
 * - `record <sequence> <value as JSON>` for every record, in order;
 * - `done` after the `"stop"` record;
 * - `error <message>` if anything fails (then it exits with status 1).
 *
 * @module
 */

import process from "node:process";
import { runtimeName } from "../../adapters/auto.ts";
import { Wal } from "../../mod.ts";

const [dir, from] = process.argv.slice(2);
if (dir === undefined || from === undefined) throw new Error("usage: wal-follower.ts <dir> <from>");

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

try {
  say(`hello ${runtimeName()} ${process.pid}`);
  for await (const record of Wal.follow(dir, { from: Number(from), pollMs: 5 })) {
    say(`record ${record.sequence} ${JSON.stringify(record.value)}`);
    if (record.value === "stop") break;
  }
  say("done");
  process.exit(0);
} catch (error) {
  say(`error ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  process.exit(1);
}
