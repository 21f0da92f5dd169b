/**
 * Log operations that a test can run in its own process or ask a child of
 * any runtime to run (`agent.ts`), with results and failures as plain JSON so
 * that both sides compare alike.
 *
 * @module
 */

import process from "node:process";
import { WalReader, WalWriter, type WalWriterOptions } from "../../mod.ts";
import { runtimeName } from "../../adapters/auto.ts";

/** One command; `op` picks the operation. */
export type Command =
  | { readonly op: "hello" }
  | WriteCommand
  | { readonly op: "release"; readonly path: string }
  | { readonly op: "read"; readonly path: string };

/**
 * Opens a writer at `path` (with a fixed `salt` and clock when given), appends
 * each batch and flushes after it, then closes, or keeps the writer open
 * (and the lock held) when `hold` is set, until `release`.
 */
export interface WriteCommand {
  readonly op: "write";
  readonly path: string;
  readonly batches?: readonly (readonly unknown[])[];
  /** The 8 salt bytes of a new file. */
  readonly salt?: readonly number[];
  /** Every record time, and so the clock, is this. */
  readonly now?: number;
  readonly repair?: "strict" | "truncate-partial";
  readonly hold?: boolean;
}

/** What a `write` did. */
export interface WriteResult {
  /** The sequences appended, in order. */
  readonly sequences: number[];
  /** `currentSequence` right after opening. */
  readonly openedAt: number;
  /** What opening repaired, if anything. */
  readonly repaired: { kind: string; offset: number; bytes: number } | null;
}

/** A record as read back. */
export interface ReadRecord {
  readonly sequence: number;
  readonly value: unknown;
  readonly timeMs: number;
}

/** A failure as JSON. */
export interface ErrorJson {
  readonly name: string;
  readonly code: string | null;
  readonly message: string;
  readonly holder: { pid: number; hostname: string; runtime: string } | null;
}

/** The value `test/children/appender.ts` appends as record `sequence`: sizes vary from 20 to 270 bytes. */
export function appenderValue(sequence: number): { i: number; pad: string } {
  return { i: sequence, pad: "p".repeat((sequence * 37) % 251) };
}

const held = new Map<string, WalWriter>();

/** Runs one command. Throws what the log throws. */
export async function perform(command: Command): Promise<unknown> {
  switch (command.op) {
    case "hello":
      return { runtime: runtimeName(), pid: process.pid };
    case "write":
      return await write(command);
    case "release": {
      const writer = held.get(command.path);
      if (writer === undefined) throw new Error(`no writer held for ${command.path}`);
      held.delete(command.path);
      await writer.close();
      return null;
    }
    case "read": {
      const records: ReadRecord[] = [];
      for await (const r of WalReader.open(command.path)) {
        records.push({ sequence: r.sequence, value: r.value, timeMs: r.timeMs });
      }
      return records;
    }
  }
}

async function write(command: WriteCommand): Promise<WriteResult> {
  const options: { -readonly [K in keyof WalWriterOptions<unknown>]: WalWriterOptions<unknown>[K] } = {};
  if (command.salt !== undefined) options.salt = Uint8Array.from(command.salt);
  if (command.now !== undefined) {
    const now = command.now;
    options.now = () => now;
  }
  if (command.repair !== undefined) options.repair = command.repair;
  const writer = await WalWriter.open(command.path, options);
  const openedAt = writer.currentSequence;
  const repaired = writer.repaired === null
    ? null
    : { kind: writer.repaired.kind, offset: writer.repaired.offset, bytes: writer.repaired.bytes };
  const sequences: number[] = [];
  try {
    for (const batch of command.batches ?? []) {
      for (const value of batch) sequences.push(await writer.append(value));
      await writer.flush();
    }
  } catch (error) {
    await writer.close().catch(() => undefined);
    throw error;
  }
  if (command.hold === true) held.set(command.path, writer);
  else await writer.close();
  return { sequences, openedAt, repaired };
}

/** `error` as JSON: name, `code`, message, and the lock holder of a `WalLockedError`. */
export function errorJson(error: unknown): ErrorJson {
  if (!(error instanceof Error)) return { name: "non-Error", code: null, message: String(error), holder: null };
  const { code, holder } = error as { code?: unknown; holder?: ErrorJson["holder"] };
  return {
    name: error.name,
    code: typeof code === "string" ? code : null,
    message: error.message,
    holder: holder === undefined || holder === null
      ? null
      : { pid: holder.pid, hostname: holder.hostname, runtime: holder.runtime },
  };
}

/** Runs one command and reports success or failure as JSON, as an agent answers. */
export async function performAsReply(
  command: Command,
): Promise<{ ok: true; result: unknown } | { ok: false; error: ErrorJson }> {
  try {
    return { ok: true, result: await perform(command) };
  } catch (error) {
    return { ok: false, error: errorJson(error) };
  }
}

/** Closes every held writer. */
export async function releaseAll(): Promise<void> {
  for (const [path, writer] of held) {
    held.delete(path);
    await writer.close().catch(() => undefined);
  }
}
