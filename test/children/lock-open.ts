/**
 * Opens a `WalWriter` at the path given as the last argument, closes it, and
 * prints one line of JSON: `{"ok":true}`, or `{"ok":false,"code","message"}`
 * for a failure. `test/lock.test.ts` runs it in Deno with narrow permissions.
 *
 * @module
 */

import process from "node:process";
import { WalWriter } from "../../mod.ts";

const path = process.argv.at(-1)!;
try {
  await (await WalWriter.open(path)).close();
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (error) {
  const { code, message } = error as { code?: string; message?: string };
  process.stdout.write(`${JSON.stringify({ ok: false, code, message })}\n`);
}
