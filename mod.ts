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
 *   (see {@link FileSystem} for the contract, {@link runtimeFileSystem} for options).
 *
 * The on-disk format is documented in docs/FORMAT.md.
 *
 * ## The story of an append
 *
 * `append(value)` encodes the value (a text codec such as JSON straight into
 * the batch buffer, `src/format/batch-buffer.ts`) as a data record: a 32-byte
 * header with its sequence, time, length and its own CRC, then the payload
 * (which the batch's CRC covers).
 * The record joins the open batch in memory and `append` resolves with its
 * sequence; nothing has touched the disk yet. When the batch has reached
 * `maxBatchBytes`, it is sealed and written and the append waits for room:
 * backpressure, not growth.
 *
 * `flush()` (or, under `sync: "always"`, the append itself) seals the batch
 * with a commit record whose CRC covers every byte of the batch, writes the
 * batch in one write at the end of the file (a batch under 64 KiB followed
 * by zeros when the file must grow, so later fsyncs have no size to
 * journal), then makes it durable with one fdatasync (`src/log/log-file.ts`). Appends made meanwhile fill the
 * next batch, which the next flush writes: concurrent callers share fsyncs.
 * A failed write is rolled back byte-for-byte; a failed rollback or fsync
 * poisons the writer (`WalPoisonedError`), since the disk's state is then
 * unknown. `Wal` does the same inside its newest segment
 * (`src/segmented/`), rotating to a new segment when one is full.
 *
 * ## The story of an open
 *
 * `WalWriter.open(path)` takes the writer lock (`src/lock.ts`: a lock file
 * made by `link`, holding the owner's host, boot, pid and heartbeat), then
 * scans the file (`src/log/scan.ts`): the file header, then batch after
 * batch, checking each record header's CRC and sequence and each commit's
 * CRC over its batch, in one pass that decodes no payload. The scan ends at
 * the last valid commit. What follows it is classified: zeros are free
 * space; a final batch cut short by a crash is a torn tail, which
 * `repair: "truncate-partial"` cuts (keeping its bytes in a `.torn` file)
 * and `"strict"` refuses; damage followed by a later valid commit is damage
 * to acknowledged data and fails under every policy
 * (`WalCorruptionError`, with kind, offset and file). `Wal.open(dir)` does
 * this for the newest segment, after checking the segment set against its
 * bounds file (docs/SEGMENTS.md).
 *
 * @module
 */

export { runtimeFileSystem, type RuntimeFileSystemOptions } from "./adapters/auto.ts";
export { bytesCodec, type Codec, jsonCodec } from "./src/format/codec.ts";
export { crc32 } from "./src/format/crc32.ts";
export {
  type Corruption,
  type CorruptionKind,
  type IoOperation,
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
  WalQueueFullError,
  WalSequenceError,
} from "./src/errors.ts";
export { AssertionError } from "./src/assert.ts";
export type { FileHandle, FileStat, FileSystem, OpenMode, ProcessIdentity, ProcessStatus } from "./src/fs.ts";
export { WalReader, type WalReaderOptions, type WalRecord } from "./src/log/reader.ts";
export { type VerifiedCounts, type VerifiedFile, verify, type VerifyOptions, type VerifyReport, type VerifyStatus } from "./src/segmented/verify.ts";
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
