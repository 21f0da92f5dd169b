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
  /** Records below this sequence may be gone from the front: released by a truncateFront or retention that returned. */
  #releasedBelow = 0;
  /** Records below this sequence may be gone too: a release under way (it may have happened when a crash stopped it). */
  #releasingBelow = 0;
  /** Of those, records below this sequence must be gone: their release returned. */
  #goneBelow = 0;
  /** While a truncateBack to this sequence is in flight, records above it need not survive. */
  #cutAbove: number | null = null;
  /** Which log the workload opened: `writer` (`ctx.open`), `wal` (`ctx.openWal`), or null before either. */
  target: "writer" | "wal" | null = null;
  /** The machine's operation count at the workload's last `ctx.focus()`, or null. */
  focusOperation: number | null = null;
  /** The options the workload last opened its segmented log with (recovery reopens with them, less retention). */
  walOptions: { readonly segmentBytes?: number; readonly maxRecordBytes?: number; readonly maxBatchBytes?: number } = {};

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

  /** How many leading entries are acknowledged (must survive any crash, unless released). */
  get acknowledgedCount(): number {
    let count = 0;
    const cut = this.#cutAbove ?? Number.POSITIVE_INFINITY;
    while (count < this.#entries.length && this.#entries[count]!.id <= this.#acknowledgedId && (this.#entries[count]!.sequence ?? 0) <= cut) count++;
    return count;
  }

  /** Records below this sequence may be missing from the front of the log. */
  get releasedBelow(): number {
    return Math.max(this.#releasedBelow, this.#releasingBelow);
  }

  /** Records below this sequence must be missing: their release returned. */
  get goneBelow(): number {
    return this.#goneBelow;
  }

  /** A release (truncateFront, retention) of the records below `sequence` started: from now on they may be gone. */
  beginRelease(sequence: number): void {
    this.#releasingBelow = Math.max(this.#releasingBelow, sequence);
  }

  /** A release returned and the log's first sequence is `firstSequence`: every record below is gone for good. */
  endRelease(firstSequence: number): void {
    this.#goneBelow = Math.max(this.#goneBelow, firstSequence);
    this.#releasedBelow = Math.max(this.#releasedBelow, firstSequence);
    this.#releasingBelow = 0;
    const kept = this.#entries.filter((entry) => entry.sequence === null || entry.sequence >= firstSequence);
    this.#entries.splice(0, this.#entries.length, ...kept);
  }

  /** A truncateBack to `sequence` started: records above it need not survive. */
  beginCut(sequence: number): void {
    this.#cutAbove = sequence;
  }

  /** The truncateBack to `sequence` returned: records above it are gone, and later appends reuse their sequences. */
  endCut(sequence: number): void {
    this.discardAbove(sequence);
    this.#cutAbove = null;
  }

  /**
   * Index of the entry the recovered log starts at: the one with its first
   * record's sequence, else past the leading entries with lower sequences.
   */
  startOf(recovered: readonly RecoveredRecord[]): number {
    const first = recovered[0]?.sequence;
    if (first === undefined) return 0;
    const exact = this.#entries.findIndex((entry) => entry.sequence === first);
    if (exact >= 0) return exact;
    let index = 0;
    while (index < this.#entries.length && (this.#entries[index]!.sequence ?? first) < first) index++;
    return index;
  }

  /**
   * After a reopen: the log now holds exactly `recovered`, which the caller
   * has checked against this history. In-flight entries that did not make it
   * are dropped; survivors keep their acknowledgment state, and those beyond
   * the acknowledged prefix stay unacknowledged.
   */
  rebase(recovered: readonly RecoveredRecord[]): void {
    this.#entries.splice(0, this.startOf(recovered));
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
