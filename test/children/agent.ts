/**
 * A child process that runs log operations for a test (see
 * `test/children.ts`, `Agent`): one JSON command per stdin line (a
 * `Command` of `ops.ts` plus an `id`), one JSON reply per stdout line
 * (`{ id, ok, result }` or `{ id, ok: false, error }`), in order. Exits when
 * stdin ends, closing any writer it still holds.
 *
 * @module
 */

import process from "node:process";
import { type Command, performAsReply, releaseAll } from "./ops.ts";

/** Stdin split at "\n" only (`node:readline` also splits at U+2028 and U+2029, which JSON leaves raw). */
async function* lines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array | string>) {
    const parts = (partial + (typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }))).split("\n");
    partial = parts.pop()!;
    yield* parts;
  }
}

for await (const line of lines()) {
  if (line.trim() === "") continue;
  const { id, ...command } = JSON.parse(line) as Command & { id: number };
  const reply = await performAsReply(command as Command);
  process.stdout.write(`${JSON.stringify({ id, ...reply })}\n`);
}
await releaseAll();
process.exit(0);
