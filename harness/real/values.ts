/**
 * The records the real-crash workload appends, shared by the workload child
 * and the checker so both know every byte without passing it around.
 *
 * @module
 */

/** The value of record `sequence` (1-based) in a real-crash run. Sizes vary from about 30 B to 5 KiB, so batches span sectors. */
export function realValue(sequence: number): { i: number; pad: string } {
  const size = sequence % 4 === 3 ? 5000 : (sequence * 53) % 300;
  return { i: sequence, pad: String.fromCharCode(97 + (sequence % 26)).repeat(size) };
}

/** The batch sizes of a run of `records` records: 1, 2, 3, 1, 2, 3, … (the last batch takes what is left). */
export function realBatches(records: number): number[] {
  const sizes: number[] = [];
  let left = records;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, 1 + (i % 3));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}
