/**
 * Record times of a segmented log: the clock, raised to the last record's
 * time, so that times never decrease along the log (retention by age
 * relies on it: the expired records are then exactly a prefix).
 *
 * @module
 */

/**
 * The clock for the records of one log: a clock stepping back cannot make a
 * young record look older than the ones before it.
 */
export class RecordClock {
  readonly #source: () => number;
  #lastMs = -1;

  constructor(source: () => number) {
    this.#source = source;
  }

  /** The time for the next record: the source's time, or the last one's if that is later. */
  readonly now = (): number => {
    this.#lastMs = Math.max(this.#source(), this.#lastMs);
    return this.#lastMs;
  };

  /** Notes a record time already in the log (while opening it). */
  observe(timeMs: number): void {
    this.#lastMs = Math.max(this.#lastMs, timeMs);
  }
}
