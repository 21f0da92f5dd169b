/**
 * Option checking and defaults shared by the writer, the reader and the
 * segmented log, plus the serial operation queue they run on.
 *
 * @module
 */

import { type Codec, jsonCodec } from "./codec.ts";
import { type Crc32, crc32 as crc32Portable } from "./crc32.ts";
import { WalArgumentError } from "./errors.ts";
import { RECORD_BYTES_MAX_DEFAULT, RECORD_BYTES_MAX_LIMIT } from "./format.ts";
import type { FileSystem } from "./fs.ts";
import { STALE_MS_DEFAULT, STALE_MS_MAX, STALE_MS_MIN } from "./lock.ts";
import type { RepairPolicy } from "./log-file.ts";

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

/** The codec, or JSON. */
export function codecOrDefault<T>(codec: Codec<T> | undefined): Codec<T> {
  return codec ?? (jsonCodec as Codec<T>);
}

/** The given adapter, or the running runtime's (its module loaded only now). */
export async function fileSystemOrDefault(fs: FileSystem | undefined): Promise<FileSystem> {
  return fs ?? (await (await import("../adapters/auto.ts")).defaultFileSystem());
}

/** The adapter's native CRC-32, or the portable one. */
export function crcOf(fs: FileSystem): Crc32 {
  return fs.crc32 ?? crc32Portable;
}

/**
 * Runs async operations one at a time in call order. A failed operation
 * rejects its own promise only; the queue goes on.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  /** Operations queued and not yet settled. */
  #pending = 0;

  /** True when no operation is queued or running. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /** Runs `operation` after every previously queued one has settled. */
  run<R>(operation: () => Promise<R>): Promise<R> {
    this.#pending++;
    const result = this.#tail.then(operation);
    this.#tail = result.then(
      () => this.#pending--,
      () => this.#pending--,
    );
    return result;
  }
}
