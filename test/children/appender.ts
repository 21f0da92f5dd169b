/**
 * A child process for `test/kill.test.ts`: opens the log at `argv[2]`
 * (strict: the parent repairs before starting it) and appends records
 * forever, in batches of 1 to 3 flushed as one, until it is killed.
 *
 * Stdout lines, each written only after what it reports has happened:
 * - `hello <runtime> <pid>` once the modules are loaded;
 * - `opening`, right before `WalWriter.open`;
 * - `opened <currentSequence>`;
 * - `ack <sequence>` once the flush covering every record up to `sequence`
 *   has resolved: from then on that record is promised to survive.
 * - `error <message>` if anything fails (then it exits with status 1).
 *
 * Record `n` holds `appenderValue(n)` (`ops.ts`), so the parent knows what
 * every sequence must contain.
 *
 * @module
 */

import process from "node:process";
import { WalWriter } from "../../mod.ts";
import { runtimeName } from "../../adapters/auto.ts";
import { appenderValue } from "./ops.ts";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: appender.ts <log path>");

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

try {
  say(`hello ${runtimeName()} ${process.pid}`);
  say("opening");
  const writer = await WalWriter.open<unknown>(path);
  say(`opened ${writer.currentSequence}`);
  for (;;) {
    const next = writer.currentSequence + 1;
    const size = 1 + (next % 3);
    for (let sequence = next; sequence < next + size; sequence++) {
      if ((await writer.append(appenderValue(sequence))) !== sequence) throw new Error(`sequence ${sequence} expected`);
    }
    await writer.flush();
    say(`ack ${next + size - 1}`);
  }
} catch (error) {
  say(
    `error ${
      error instanceof Error ? `${error.name} ${(error as { code?: string }).code}: ${error.message}` : String(error)
    }`,
  );
  process.exit(1);
}
