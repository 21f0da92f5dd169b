/**
 * A crash-safe write-ahead log for Node, Bun and Deno.
 *
 * - {@link WalWriter}: append, flush (durable), close; strict or repairing open.
 * - {@link WalReader}: iterate records without the writer lock.
 * - {@link verify}: check a log file or directory read-only, without the lock.
 * - {@link Wal}: a log kept as a directory of segments, with rotation,
 *   retention, truncation at both ends, and readers that follow the writer
 *   (docs/SEGMENTS.md).
 * - Codecs: {@link jsonCodec} (default), {@link bytesCodec}, or your own {@link Codec}.
 * - Adapters: the runtime's own is picked automatically; pass `fs` to use another
 *   (see {@link FileSystem} for the contract).
 *
 * The on-disk format is documented in docs/FORMAT.md.
 *
 * @module
 */

export { runtimeFileSystem, type RuntimeFileSystemOptions } from "./adapters/auto.ts";
export { bytesCodec, type Codec, jsonCodec } from "./src/format/codec.ts";
export { crc32 } from "./src/format/crc32.ts";
export {
  type Corruption,
  type CorruptionKind,
  type LockHolder,
  SequenceError,
  WalArgumentError,
  WalClosedError,
  WalCorruptionError,
  WalDecodeError,
  WalError,
  WalIoError,
  WalLockedError,
  WalLockLostError,
  WalPoisonedError,
  WalRewoundError,
} from "./src/errors.ts";
export type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus } from "./src/fs.ts";
export { WalReader, type WalReaderOptions, type WalRecord } from "./src/log/reader.ts";
export { type VerifiedFile, verify, type VerifyOptions, type VerifyReport, type VerifyStatus } from "./src/segmented/verify.ts";
export { type AppendOptions, type Repair, type RepairPolicy, type SyncMode, WalWriter, type WalWriterOptions } from "./src/log/writer.ts";
export {
  type RetentionLimits,
  Wal,
  type WalDirectoryFollowOptions,
  type WalFollowOptions,
  type WalOptions,
  type WalReadOptions,
  type WalStats,
} from "./src/segmented/wal.ts";
