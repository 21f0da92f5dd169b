/**
 * What every `tswal` command shares: where output goes, exit codes, option
 * parsing (`node:util`'s `parseArgs`, on Node, Bun and Deno alike), and how
 * findings are worded.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Corruption } from "../mod.ts";

/** Where a command writes. Output (stdout) is the result; diagnostics and progress go to stderr. */
export interface CliIo {
  /** Writes `text` and a newline to stdout. */
  out(text: string): void;
  /** Writes `text` and a newline to stderr. */
  err(text: string): void;
  /** Redraws a progress line on stderr; only called when {@link isTTY}. */
  progress(text: string): void;
  /** Whether stderr is a terminal: progress is shown only then. */
  readonly isTTY: boolean;
}

/** Exit codes of every command (also in `tswal --help` and the README). */
export const EXIT = {
  /** Done; for `verify`, the log is sound. */
  ok: 0,
  /** The log is damaged or has a torn tail (named on stdout), or `repair` refused damage to durable data, or `torture` broke an invariant. */
  damaged: 1,
  /** Usage error: unknown command or option, a missing or malformed argument, nothing (or no log) at PATH. */
  usage: 2,
  /** Any other failure: an I/O error, the writer lock held by another process, OUT already exists. */
  failure: 3,
} as const;

/** A mistake in the command line: reported with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** One `tswal` command. */
export interface Command {
  /** Its name on the command line. */
  readonly name: string;
  /** One line for `tswal --help`. */
  readonly summary: string;
  /** Its `--help` text. */
  readonly help: string;
  /** Runs it with the arguments after its name; resolves with the exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Option descriptions for `parseArgs`. */
type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** Parsed options and positionals. */
export interface Parsed {
  /** Option values by name (`--json` and `--help` always present). */
  readonly values: Record<string, string | boolean | undefined>;
  /** Positional arguments. */
  readonly positionals: readonly string[];
}

/**
 * Parses `args` strictly (an unknown option is a {@link UsageError}) with
 * `--json` and `--help` added to `options`, and checks the positional count.
 */
export function parse(args: readonly string[], options: OptionSpec, positionals: { min: number; max: number }): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...options, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values["help"] !== true && (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max)) {
    const expected = positionals.min === positionals.max ? `${positionals.min}` : `${positionals.min} to ${positionals.max}`;
    throw new UsageError(`expected ${expected} argument(s), got ${parsed.positionals.length}`);
  }
  return { values, positionals: parsed.positionals };
}

/** The integer value of option `name` (at least `min`), `fallback` when absent; anything else is a {@link UsageError}. */
export function integerOption(values: Parsed["values"], name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === "string" && /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} takes an integer of at least ${min}, not ${JSON.stringify(raw)}`);
  return value;
}

/** A time as ISO 8601, or `-`. */
export function formatTime(ms: number | null): string {
  return ms === null || ms < 0 ? "-" : new Date(ms).toISOString();
}

/** A byte count, readable: `812 B`, `4.0 KiB`, `16.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** An integer with thousands separators. */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** The one-line diagnostic `verify` and `repair` print for damage: kind, offset, file, detail. */
export function describeCorruption(corruption: Corruption): string {
  return `${corruption.kind} at offset ${corruption.offset} of ${corruption.path}: ${corruption.detail}`;
}

/** Writes `value` as one line of JSON to stdout. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value));
}
