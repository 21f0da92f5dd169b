/**
 * Option checking and defaults shared by the writer, the reader and the
 * segmented log.
 *
 * @module
 */

import { WalArgumentError } from "./errors.ts";
import { type Codec, jsonCodec } from "./format/codec.ts";
import { type Crc32, crc32 as crc32Portable } from "./format/crc32.ts";
import { RECORD_BYTES_MAX_DEFAULT, RECORD_BYTES_MAX_LIMIT } from "./format/frame.ts";
import type { FileSystem } from "./fs.ts";
import { STALE_MS_DEFAULT, STALE_MS_MAX, STALE_MS_MIN } from "./lock.ts";

/** Default `maxBatchBytes`: 4 MiB. */
export const BATCH_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;

/** Checks `maxBatchBytes` and returns it or the default. */
export function checkBatchBytesMax(value: number | undefined): number {
  const max = value ?? BATCH_BYTES_MAX_DEFAULT;
  if (!Number.isSafeInteger(max) || max < 1024 || max > RECORD_BYTES_MAX_LIMIT) {
    throw new WalArgumentError(`maxBatchBytes must be an integer from 1024 to ${RECORD_BYTES_MAX_LIMIT}, not ${max}`);
  }
  return max;
}

/** Checks `maxRecordBytes` and returns it or the default. */
export function checkRecordBytesMax(value: number | undefined): number {
  const max = value ?? RECORD_BYTES_MAX_DEFAULT;
  if (!Number.isSafeInteger(max) || max < 1 || max > RECORD_BYTES_MAX_LIMIT) {
    throw new WalArgumentError(`maxRecordBytes must be an integer from 1 to ${RECORD_BYTES_MAX_LIMIT}, not ${max}`);
  }
  return max;
}

/**
 * What opening does with a torn tail (a final batch a crash cut short).
 * Damage anywhere before a later batch's commit fails under every policy.
 * - `strict`: fail with `WalCorruptionError`; write nothing.
 * - `truncate-partial`: save the tail's bytes to `<path>.<offset>.torn`, cut
 *   the log back to the end of its last intact batch, and open.
 */
export type RepairPolicy = "strict" | "truncate-partial";

/** Checks a repair policy and returns it or `strict`. */
export function checkRepairPolicy(value: RepairPolicy | undefined): RepairPolicy {
  const repair = value ?? "strict";
  if (repair !== "strict" && repair !== "truncate-partial") {
    throw new WalArgumentError(`repair must be "strict" or "truncate-partial", not ${String(repair)}`);
  }
  return repair;
}

/** Checks `staleMs` (how old a lock holder's heartbeat must be before it is broken) and returns it or the default. */
export function checkStaleMs(value: unknown): number {
  const staleMs = value ?? STALE_MS_DEFAULT;
  if (typeof staleMs !== "number" || !Number.isSafeInteger(staleMs) || staleMs < STALE_MS_MIN || staleMs > STALE_MS_MAX) {
    throw new WalArgumentError(`staleMs must be an integer from ${STALE_MS_MIN} to ${STALE_MS_MAX}, not ${String(staleMs)}`);
  }
  return staleMs;
}

/** Checks that `value` is a safe integer of at least `min`, naming it `name`. */
export function checkSafeInteger(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new WalArgumentError(`${name} must be a safe integer of at least ${min}, not ${value}`);
  }
  return value;
}

/**
 * The time `now` returns, checked: milliseconds from 0 to 2^53 - 1 (the
 * format's range), floored. NaN, infinities, negatives and non-numbers are
 * refused before anything uses them (a record time, a retention cutoff).
 */
export function clockTimeMs(now: () => number): number {
  const timeMs = now();
  if (typeof timeMs !== "number" || !(timeMs >= 0) || timeMs > Number.MAX_SAFE_INTEGER) {
    throw new WalArgumentError(`the clock returned ${String(timeMs)}; times must be milliseconds from 0 to 2^53 - 1`);
  }
  return Math.floor(timeMs);
}

/**
 * The option names an entry point takes, each mapped to `true`. Typed as a
 * `Record` over the options interface, so that adding an option without
 * listing it here (or listing one that does not exist) fails to compile.
 */
export type OptionNames<O> = { readonly [K in keyof Required<O>]: true };

/** Longest option name compared when looking for a close match (bounds the edit-distance work). */
const OPTION_NAME_CHARS_MAX = 64;

/**
 * Checks that an options argument is an object or absent (`{}` then), and,
 * given `names`, that it has no other own property: a misspelled option
 * (`fsync` beside `sync`) is refused, naming it and the closest allowed
 * name. `entry` names the call in the error.
 */
export function checkOptions<O extends object>(value: O | undefined, entry: string, names?: Readonly<Record<string, true>>): Partial<O> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new WalArgumentError(`${entry} takes an options object, not ${describeValue(value)}`);
  }
  if (names !== undefined) {
    for (const key in value) {
      if (Object.hasOwn(value, key) && !Object.hasOwn(names, key)) throw unknownOption(entry, key, Object.keys(names));
    }
  }
  return value;
}

/** The error for an option `key` that `entry` does not take, suggesting the closest of `names`. */
function unknownOption(entry: string, key: string, names: readonly string[]): WalArgumentError {
  const match = closestName(key, names);
  const hint = match === null ? "" : `; did you mean "${match}"?`;
  const shown = JSON.stringify(key.length > OPTION_NAME_CHARS_MAX ? `${key.slice(0, OPTION_NAME_CHARS_MAX)}…` : key);
  return new WalArgumentError(`${entry} has no option ${shown}${hint} (options: ${names.join(", ")})`);
}

/** The name in `names` closest to `key` (case aside, at most 2 edits, or one containing the other), or null. */
function closestName(key: string, names: readonly string[]): string | null {
  if (key.length > OPTION_NAME_CHARS_MAX) return null;
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = 3;
  for (const name of names) {
    const candidate = name.toLowerCase();
    const distance = candidate.includes(lower) || lower.includes(candidate) ? Math.min(2, editDistance(lower, candidate)) : editDistance(lower, candidate);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance between two short strings (callers bound their length). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Checks a boolean option: absent (then `fallback`) or a boolean. */
export function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new WalArgumentError(`${name} must be true or false, not ${describeValue(value)}`);
  return value;
}

/** Calls an observer option with `event`; an exception from it is the observer's own and is ignored (it cannot fail the log). */
export function observe<E>(observer: ((event: E) => void) | undefined, event: E): void {
  if (observer === undefined) return;
  try {
    observer(event);
  } catch {
    // ignored: see above
  }
}

/** Checks a callback option: absent or a function. */
export function checkCallback<F extends (...args: never[]) => unknown>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== "function") throw new WalArgumentError(`${name} must be a function, not ${describeValue(value)}`);
  return value;
}

/** Checks a file or directory path: a non-empty string without NUL that does not end in `/`. */
export function checkPath(name: string, value: unknown): string {
  if (typeof value !== "string" || value === "" || value.includes("\0") || value.endsWith("/")) {
    throw new WalArgumentError(`${name} must be a non-empty path not ending in "/", not ${describeValue(value)}`);
  }
  return value;
}

/** Checks the `signal` option: absent or an `AbortSignal`. */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new WalArgumentError(`signal must be an AbortSignal (controller.signal), not ${describeValue(value)}`);
  }
  return value;
}

/** The codec, checked (an object with a name and `encode` and `decode` functions), or JSON. */
export function codecOrDefault<T>(codec: Codec<T> | undefined): Codec<T> {
  if (codec === undefined) return jsonCodec as Codec<T>;
  if (typeof codec !== "object" || codec === null || typeof codec.encode !== "function" || typeof codec.decode !== "function") {
    throw new WalArgumentError(`codec must be an object with encode and decode functions, not ${describeValue(codec)}`);
  }
  if (typeof codec.name !== "string") throw new WalArgumentError("codec must have a string name (used in diagnostics)");
  return codec;
}

/** Checks the `fs` option: absent or an adapter (an object with an `open` function). */
export function checkFileSystem(fs: FileSystem | undefined): FileSystem | undefined {
  if (fs !== undefined && (typeof fs !== "object" || fs === null || typeof fs.open !== "function")) {
    throw new WalArgumentError(`fs must be a FileSystem adapter, not ${describeValue(fs)}`);
  }
  return fs;
}

/** The given adapter, checked, or the running runtime's (its module loaded only now). */
export async function fileSystemOrDefault(fs: FileSystem | undefined): Promise<FileSystem> {
  return checkFileSystem(fs) ?? (await (await import("../adapters/auto.ts")).defaultFileSystem());
}

/** A short description of a bad argument for an error message. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return `${typeof value} ${String(value)}`;
}

/** The adapter's native CRC-32, or the portable one. */
export function crcOf(fs: FileSystem): Crc32 {
  return fs.crc32 ?? crc32Portable;
}
