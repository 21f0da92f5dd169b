/**
 * The options of the segmented log (`Wal`): what each one means, its
 * default and range, and the checks `Wal.open`, `Wal.read` and
 * `Wal.follow` run on them at the call.
 *
 * @module
 */

import { WalArgumentError } from "../errors.ts";
import type { Codec } from "../format/codec.ts";
import type { FileSystem } from "../fs.ts";
import { type CheckedLogOptions, checkLogOptions } from "../log/log-options.ts";
import type { WalWriterOptions } from "../log/writer.ts";
import { checkBoolean, checkOptions, checkSafeInteger, type OptionNames, type RepairPolicy } from "../options.ts";
import { checkRetentionLimits, type RetentionLimits } from "./retention.ts";

/** Default `segmentBytes`: 16 MiB (docs/SEGMENTS.md says why). */
const SEGMENT_BYTES_DEFAULT = 16 * 1024 * 1024;
/** Default `pollMs`: 100 ms. */
const POLL_MS_DEFAULT = 100;
/** Largest poll interval: what a timer can wait, 2^31 − 1 ms (about 24.8 days). */
const POLL_MS_MAX = 0x7fff_ffff;
/** Options of `Wal.open`; those it shares with `WalWriter.open` (`sync`, `maxBatchBytes`, `codec`, `fs`, `maxRecordBytes`, `staleMs`, `onSync`, `onRepair`) mean the same. */
export interface WalOptions<T>
  extends RetentionLimits, Pick<WalWriterOptions<T>, "sync" | "maxBatchBytes" | "codec" | "fs" | "maxRecordBytes" | "staleMs" | "onSync" | "onRepair"> {
  /** Torn-tail policy for the newest segment; default `strict`. Damage in an older segment fails under every policy. */
  readonly repair?: RepairPolicy;
  /** Clock for record times and retention by age, milliseconds since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Records of a newly created log must have sequences above this; default 0. Ignored for an existing log. */
  readonly baseSequence?: number;
  /**
   * Rotate to a new segment before a record (with its commit) would take the
   * active segment past this many bytes, 1 … 2^53 − 1; default 16 MiB. A
   * segment always takes at least one record, however large.
   */
  readonly segmentBytes?: number;
  /** Apply the retention limits after every rotation; default true. `Wal.cleanup` applies them on demand. */
  readonly cleanupOnRotate?: boolean;
  /** How often an in-process follower looks for changes it was not told about, ms, 1 … 2^31 − 1; default 100. */
  readonly pollMs?: number;
  /**
   * Whether a missing log may be created; default true, which creates the
   * directory and its missing parents (durably), as `WalWriter.open` does
   * for a file's. With `false` a directory that does not exist or holds no
   * log is refused with `WalIoError` (operation `open`, its `cause.code`
   * `ENOENT`) before anything is created or locked.
   */
  readonly create?: boolean;
}

/** Options of `Wal.read`. */
export interface WalReadOptions {
  /** Lowest sequence to return; default 0 (from the start). */
  readonly from?: number;
  /** Highest sequence to return; default: to the end. */
  readonly to?: number;
}

/** Options of `Wal.follow` (the instance method). */
export interface WalFollowOptions {
  /** Lowest sequence to return; default 0 (from the start). */
  readonly from?: number;
  /** Following ends, quietly, when this aborts. Without one it ends only when the log is closed. */
  readonly signal?: AbortSignal;
  /**
   * Yield only records a crash can no longer take back; default false (records are yielded once written).
   * In process: up to the writer's last fsync. From another process: every batch but the newest one of
   * the newest segment (a later batch's commit, or a rotation, proves it durable), so the newest batch
   * waits for the next flush or rotation.
   */
  readonly durable?: boolean;
}

/** Options of the static `Wal.follow`, for a reader without the writer's lock (another process). */
export interface WalDirectoryFollowOptions<T> extends WalFollowOptions {
  /** Value decoding; default JSON. */
  readonly codec?: Codec<T>;
  /** Filesystem adapter; default: the running runtime's. */
  readonly fs?: FileSystem;
  /** Largest payload accepted, as for the writer; default 16 MiB. */
  readonly maxRecordBytes?: number;
  /** How often to look for new records, ms, 1 … 2^31 − 1; default 100. */
  readonly pollMs?: number;
}

/** The options `Wal.open` takes, for refusing any other. */
export const OPEN_OPTION_NAMES: OptionNames<WalOptions<unknown>> = {
  repair: true,
  sync: true,
  maxBatchBytes: true,
  codec: true,
  fs: true,
  maxRecordBytes: true,
  now: true,
  baseSequence: true,
  segmentBytes: true,
  cleanupOnRotate: true,
  pollMs: true,
  staleMs: true,
  create: true,
  onSync: true,
  onRepair: true,
  maxAgeMs: true,
  maxTotalBytes: true,
  maxSegments: true,
};
/** The options of `Wal.read`. */
export const READ_OPTION_NAMES: OptionNames<WalReadOptions> = { from: true, to: true };
/** The options of `Wal.follow` (the instance method). */
export const FOLLOW_OPTION_NAMES: OptionNames<WalFollowOptions> = { from: true, signal: true, durable: true };
/** The options of the static `Wal.follow`. */
export const DIRECTORY_FOLLOW_OPTION_NAMES: OptionNames<WalDirectoryFollowOptions<unknown>> = {
  from: true,
  signal: true,
  durable: true,
  codec: true,
  fs: true,
  maxRecordBytes: true,
  pollMs: true,
};

/** Checks a `pollMs` option (default {@link POLL_MS_DEFAULT}). */
export function checkPollMs(value: number | undefined): number {
  const pollMs = checkSafeInteger("pollMs", value ?? POLL_MS_DEFAULT, 1);
  if (pollMs > POLL_MS_MAX) throw new WalArgumentError(`pollMs must be at most ${POLL_MS_MAX}, not ${pollMs}`);
  return pollMs;
}

/**
 * The options of `Wal.open`, checked and defaulted: all but `fs`, which is
 * resolved asynchronously from `given.fs`. Each field is the option of the
 * same name; `retention` holds the three retention limits.
 */
export interface CheckedOpenOptions<T> extends CheckedLogOptions<T> {
  /** The options as given. */
  readonly given: Partial<WalOptions<T>>;
  readonly segmentBytes: number;
  readonly retention: RetentionLimits;
  readonly cleanupOnRotate: boolean;
  readonly pollMs: number;
}

/** The checked options a `Wal` keeps once open. */
export type Settings = Pick<CheckedOpenOptions<unknown>, "recordBytesMax" | "batchBytesMax" | "sync" | "pollMs">;

/** Checks the options of `Wal.open` in a fixed order (the first invalid one throws `WalArgumentError`). */
export function checkOpenOptions<T>(optionsGiven: WalOptions<T> | undefined): CheckedOpenOptions<T> {
  const options = checkOptions(optionsGiven, "Wal.open", OPEN_OPTION_NAMES);
  return {
    given: options,
    ...checkLogOptions(options),
    segmentBytes: checkSafeInteger("segmentBytes", options.segmentBytes ?? SEGMENT_BYTES_DEFAULT, 1),
    retention: checkRetentionLimits(options),
    cleanupOnRotate: checkBoolean("cleanupOnRotate", options.cleanupOnRotate, true),
    pollMs: checkPollMs(options.pollMs),
  };
}
