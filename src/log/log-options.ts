/**
 * The options both writers take (`WalWriter.open` for a file, `Wal.open`
 * for a directory), checked and defaulted once, by {@link checkLogOptions}.
 * Each writer checks its own extra options (`salt`; segment size, retention,
 * polling) after these.
 *
 * @module
 */

import { WalArgumentError } from "../errors.ts";
import type { Codec } from "../format/codec.ts";
import {
  checkBatchBytesMax,
  checkBoolean,
  checkCallback,
  checkRecordBytesMax,
  checkRepairPolicy,
  checkSafeInteger,
  checkStaleMs,
  codecOrDefault,
  type RepairPolicy,
} from "../options.ts";
import { checkSyncMode, type SyncMode } from "./durability.ts";
import type { WalWriterOptions } from "./writer.ts";

/** The option names both writers take; their meaning is documented on `WalWriterOptions`. */
export type LogOptionName =
  | "repair"
  | "sync"
  | "codec"
  | "fs"
  | "maxRecordBytes"
  | "maxBatchBytes"
  | "now"
  | "baseSequence"
  | "staleMs"
  | "create"
  | "onSync"
  | "onRepair";

/** The options both writers take, as given. */
export type LogOptions<T> = Pick<WalWriterOptions<T>, LogOptionName>;

/**
 * {@link LogOptions} checked and defaulted: each field is the option of the
 * same meaning (`recordBytesMax` is `maxRecordBytes`, `batchBytesMax` is
 * `maxBatchBytes`). `fs` is left out: it is resolved asynchronously, after
 * every synchronous check has passed.
 */
export interface CheckedLogOptions<T> {
  readonly repair: RepairPolicy;
  readonly sync: SyncMode;
  readonly recordBytesMax: number;
  readonly batchBytesMax: number;
  readonly now: () => number;
  readonly baseSequence: number;
  readonly create: boolean;
  readonly onSync: LogOptions<T>["onSync"];
  readonly onRepair: LogOptions<T>["onRepair"];
  readonly staleMs: number;
  readonly codec: Codec<T>;
}

/**
 * Checks the options both writers take, in a fixed order (the first invalid
 * one throws `WalArgumentError`), and fills in their defaults.
 */
export function checkLogOptions<T>(options: LogOptions<T>): CheckedLogOptions<T> {
  return {
    repair: checkRepairPolicy(options.repair),
    sync: checkSyncMode(options.sync),
    recordBytesMax: checkRecordBytesMax(options.maxRecordBytes),
    batchBytesMax: checkBatchBytesMax(options.maxBatchBytes),
    now: checkClock(options.now),
    baseSequence: checkSafeInteger("baseSequence", options.baseSequence ?? 0, 0),
    create: checkBoolean("create", options.create, true),
    onSync: checkCallback("onSync", options.onSync),
    onRepair: checkCallback("onRepair", options.onRepair),
    staleMs: checkStaleMs(options.staleMs),
    codec: codecOrDefault(options.codec),
  };
}

/** Checks the `now` option and returns it or `Date.now`. */
function checkClock(now: unknown): () => number {
  if (now === undefined) return Date.now;
  if (typeof now !== "function") throw new WalArgumentError(`now must be a function returning milliseconds, not ${typeof now}`);
  return now as () => number;
}
