/**
 * Zeros written after a batch that would grow a log file, so that the
 * batches after it overwrite space the file already has: an fsync after an
 * overwrite has no new file size to journal, which makes each flush cheaper
 * (docs/FORMAT.md, "Preallocated space"). Closing a log cuts what is left.
 *
 * @module
 */

/** Fewest zeros written when a batch grows the file. */
export const PREALLOCATE_BYTES_MIN = 4 * 1024;
/** Most zeros written when a batch grows the file. */
export const PREALLOCATE_BYTES_MAX = 1024 * 1024;
/**
 * Batches of at least this size grow the file without zeros after them:
 * every zero is written twice (as a zero, then as data), and from about
 * this size the bytes cost the fsync more than the journalled size does
 * (measured: 64 KiB batches sync as fast either way, 256 KiB ones 20%
 * slower with zeros).
 */
export const PREALLOCATE_BATCH_BYTES_MAX = 64 * 1024;

/**
 * How many zeros to write after a batch of `batchBytes` at `start` in a file
 * of `fileBytes`: none when the batch ends within the file or is large,
 * else as many bytes as the log will hold (within
 * {@link PREALLOCATE_BYTES_MIN} … {@link PREALLOCATE_BYTES_MAX}), never past
 * `limitBytes` (a segment's size).
 */
export function preallocationBytes(start: number, batchBytes: number, fileBytes: number, limitBytes: number): number {
  const end = start + batchBytes;
  if (end <= fileBytes || batchBytes >= PREALLOCATE_BATCH_BYTES_MAX) return 0;
  return Math.min(PREALLOCATE_BYTES_MAX, Math.max(PREALLOCATE_BYTES_MIN, end), Math.max(0, limitBytes - end));
}
