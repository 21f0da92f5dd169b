/**
 * What a workload did, as the checker needs it: every append in call order
 * (with its sequence once known), which of them a flush acknowledged, and
 * which were cleanly refused (and so must never appear).
 *
 * @module
 */

/** One append as the workload issued it. */
export interface AppendEntry {
  /** Issue order, from 1. */
  readonly id: number;
  /** The value given to `append`. */
  readonly value: unknown;
  /** The sequence the append resolved with, or the explicit one asked for, or null while unknown. */
  sequence: number | null;
  /** True once `append` resolved. */
  resolved: boolean;
}

/** A record as recovered from the log. */
export interface RecoveredRecord {
  /** Its sequence. */
  readonly sequence: number;
  /** Its decoded value. */
  readonly value: unknown;
}

/**
 * The history of one log. Appends are recorded when called; a clean
 * rejection (rolled back, refused) removes the entry; a crash or a poisoning
 * leaves it "in flight": it may or may not be on disk.
 */
export class History {
  /** Invariant violations seen while the workload ran (e.g. a rollback that changed the file). */
  readonly violations: string[] = [];
  readonly #entries: AppendEntry[] = [];
  #nextId = 1;
  /** Entries with `id <= #acknowledgedId` were acknowledged by a flush. */
  #acknowledgedId = 0;

  /** Records an append being called. */
  begin(value: unknown, sequence: number | null): AppendEntry {
    const entry: AppendEntry = { id: this.#nextId++, value, sequence, resolved: false };
    this.#entries.push(entry);
    return entry;
  }

  /** Records an append resolving with `sequence`. */
  resolve(entry: AppendEntry, sequence: number): void {
    entry.sequence = sequence;
    entry.resolved = true;
  }

  /** Records a clean rejection: nothing was written; the entry must never appear. */
  refuse(entry: AppendEntry): void {
    const index = this.#entries.indexOf(entry);
    if (index >= 0) this.#entries.splice(index, 1);
  }

  /**
   * Records that a failed batch write discarded every accepted record above
   * `sequence`: those entries were cleanly refused after all.
   */
  discardAbove(sequence: number): void {
    const kept = this.#entries.filter((entry) => !(entry.resolved && entry.sequence !== null && entry.sequence > sequence));
    this.#entries.splice(0, this.#entries.length, ...kept);
  }

  /** Called when a flush starts: returns the mark it acknowledges on success. */
  flushMark(): number {
    return this.#nextId - 1;
  }

  /** Records a flush that started at `mark` resolving. */
  acknowledge(mark: number): void {
    this.#acknowledgedId = Math.max(this.#acknowledgedId, mark);
  }

  /** Entries in issue order that have not been refused. */
  get entries(): readonly AppendEntry[] {
    return this.#entries;
  }

  /** How many leading entries are acknowledged (must survive any crash). */
  get acknowledgedCount(): number {
    let count = 0;
    while (count < this.#entries.length && this.#entries[count]!.id <= this.#acknowledgedId) count++;
    return count;
  }

  /**
   * After a reopen: the log now holds exactly `recovered`, which the caller
   * has checked against this history. In-flight entries that did not make it
   * are dropped; survivors keep their acknowledgment state, and those beyond
   * the acknowledged prefix stay unacknowledged.
   */
  rebase(recovered: readonly RecoveredRecord[]): void {
    this.#entries.length = Math.min(this.#entries.length, recovered.length);
    for (let i = 0; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      entry.sequence = recovered[i]!.sequence;
      entry.resolved = true;
    }
  }

  /**
   * After a crash and recovery: whatever survived is now on disk for good
   * (the recovered machine's state is its durable state), so every survivor
   * counts as acknowledged from here on.
   */
  rebaseDurable(recovered: readonly RecoveredRecord[]): void {
    this.rebase(recovered);
    this.#acknowledgedId = Math.max(this.#acknowledgedId, this.#entries.at(-1)?.id ?? 0);
  }
}
