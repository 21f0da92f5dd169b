/**
 * The segmented log's state machine, without a lock or a queue (the public
 * `Wal` adds those, as `WalWriter` does for one {@link LogFile}): a
 * directory of segment files, the newest one open for appending, and the
 * bounds file. It opens (recovering from any interrupted operation; the
 * directory-level part is in `store-open.ts`), appends, rotates, applies
 * retention and truncates at either end.
 *
 * Crash safety. Every operation that changes which records the log holds
 * has a single commit point: the durable replacement of the bounds file, or
 * the durable creation of a segment. Before it, nothing a reader or a
 * reopen can see has changed; after it, reopening finishes the operation
 * from the bounds file and the segment names alone. docs/SEGMENTS.md gives
 * the argument for each operation.
 *
 * Failure outcomes: a failed commit of the active segment throws what
 * {@link LogFile.commit} throws and changes nothing. Any failure inside a
 * rotation, retention run or truncation after that commit poisons the
 * store: the memory view may no longer match the disk, so every later call
 * throws `WalPoisonedError`; reopening recovers, as after a crash.
 *
 * @module
 */

import { assert } from "../assert.ts";
import { WalPoisonedError, WalSequenceError } from "../errors.ts";
import type { Crc32 } from "../format/crc32.ts";
import { COMMIT_RECORD_BYTES, SALT_BYTES } from "../format/frame.ts";
import type { FileSystem } from "../fs.ts";
import { io } from "../io.ts";
import { type LogFile, recordBytesAtMost } from "../log/log-file.ts";
import type { Repair } from "../log/repair.ts";
import { clockTimeMs } from "../options.ts";
import { join } from "../path.ts";
import { type Bounds, BOUNDS_FILE, type StoredBounds, writeBounds } from "./bounds.ts";
import type { RecordClock } from "./record-clock.ts";
import { hasRetention, retentionFront } from "./retention.ts";
import { type CutOptions, cutSegment } from "./segment-cut.ts";
import {
  addRecord,
  discardAbove,
  liveFirstSequences,
  removeSegments,
  scanSegment,
  type SegmentSummary,
  summarizeSegment,
} from "./segments.ts";
import { firstVisibleSequence, lastVisibleSequence, logStats, type WalStats } from "./stats.ts";
import { checkSegmentOrder, type OpenedSegments, openSegmentLog, openSegments, type SegmentStoreOptions } from "./store-open.ts";

export type { SegmentStoreOptions } from "./store-open.ts";
export type { WalStats } from "./stats.ts";

/** An open segmented log. Callers must not overlap calls (they queue them). */
export class SegmentStore {
  /** The log directory. */
  readonly dir: string;
  /** What opening cut off the newest segment as a torn tail, or null. */
  readonly repaired: Repair | null;
  readonly #fs: FileSystem;
  readonly #options: SegmentStoreOptions;
  /** Live segments, oldest first; the last is the active one. */
  readonly #segments: SegmentSummary[];
  readonly #clock: RecordClock;
  #active: LogFile;
  #bounds: StoredBounds;
  #poison: unknown = null;

  private constructor(fs: FileSystem, dir: string, options: SegmentStoreOptions, opened: OpenedSegments) {
    this.#fs = fs;
    this.dir = dir;
    this.#options = options;
    this.#clock = opened.clock;
    this.#segments = opened.segments;
    this.#active = opened.active;
    this.#bounds = opened.bounds;
    this.repaired = opened.active.repaired;
  }

  /**
   * Opens the log in `dir` (which exists; the caller holds its lock), or
   * creates one there: verifies the segment set read-only, removes what
   * interrupted operations left, validates every segment (damage in any but
   * the newest is fatal under every policy; the newest gets
   * `options.repair`; see `store-open.ts`), then checks the order across
   * segments, finishes a pending back cut and settles the front.
   */
  static async open(fs: FileSystem, dir: string, options: SegmentStoreOptions): Promise<SegmentStore> {
    const store = new SegmentStore(fs, dir, options, await openSegments(fs, dir, options));
    try {
      checkSegmentOrder(store.#segments);
      if (store.#bounds.back !== null) await store.#finishBackCut(store.#bounds.back);
      await store.#applyFront();
    } catch (error) {
      await store.#active.close().catch(() => undefined);
      throw error;
    }
    return store;
  }

  /** Highest sequence in the log, or where it continues from when it holds none. */
  get currentSequence(): number {
    return this.#active.currentSequence;
  }

  /** Lowest sequence a read can return: the first record's, or `currentSequence + 1` when there is none. */
  get firstSequence(): number {
    return firstVisibleSequence(this.#segments, this.currentSequence);
  }

  /** Sequence of the last record, or `currentSequence` when there is none. */
  get lastSequence(): number {
    return lastVisibleSequence(this.#segments, this.currentSequence);
  }

  /** The bounds in force. */
  get bounds(): Bounds {
    return this.#bounds;
  }

  /** End of the active segment's batches sealed so far: readers need not look past it (preallocated zeros follow). */
  get activeEndOffset(): number {
    return this.#active.endOffset;
  }

  /** End of the active segment's batches made durable so far: a durable follower reads no further. */
  get activeDurableEndOffset(): number {
    return this.#active.durableEndOffset;
  }

  /** First sequences of the live segments, oldest first (a fresh array). */
  get segmentFirstSequences(): number[] {
    return this.#segments.map((segment) => segment.first);
  }

  /** True once a failure has made the store refuse every change. */
  get poisoned(): boolean {
    return this.#poison !== null || this.#active.poisoned;
  }

  /** Segments, bytes, records and the oldest record's time. */
  stats(): WalStats {
    return logStats(this.#segments);
  }

  /** Poisons the store with `cause`: nothing more is written. */
  poison(cause: unknown): void {
    this.#poison ??= cause;
  }

  /** Throws `WalPoisonedError` if poisoned. */
  checkNotPoisoned(): void {
    if (this.#poison !== null) throw new WalPoisonedError(this.dir, this.#poison);
    this.#active.checkNotPoisoned();
  }

  /**
   * Accepts encoded records (`recordBytes` of frames in all) with
   * consecutive sequences from `first` (default current + 1) into the active
   * segment, in one batch, and returns the last sequence. First rotates (and
   * applies retention, if so configured) when they and a commit would take a
   * non-empty active segment past `segmentBytes`.
   */
  async append(payloads: readonly Uint8Array[], recordBytes: number, first: number = this.currentSequence + 1): Promise<number> {
    this.checkNotPoisoned();
    if (first <= this.currentSequence) throw new WalSequenceError(this.currentSequence + 1, first);
    if (this.#activeIsFullFor(recordBytes)) await this.rotate();
    await this.#tracked(() => this.#active.whenRoom(recordBytes));
    const last = this.#active.appendAll(payloads, first);
    this.#recordAccepted(first, last);
    return last;
  }

  /** Counts the records `first` … `last` (none when `last < first`) just accepted into the active segment in its summary. */
  #recordAccepted(first: number, last: number): void {
    const summary = this.#activeSummary();
    for (let sequence = first; sequence <= last; sequence++) addRecord(summary, sequence, this.#active.lastTimeMs);
    summary.bytes = this.#active.bytes;
  }

  /**
   * Accepts one record at once, without I/O, when the active segment takes
   * it without rotating and its batch has room: `payload` as bytes, or as
   * text encoded in place (sized at its largest UTF-8 for both checks).
   * Returns its sequence, or null when it must go through {@link append}.
   */
  appendNow(payload: Uint8Array | string, sequence: number = this.currentSequence + 1): number | null {
    this.checkNotPoisoned();
    if (this.#activeIsFullFor(recordBytesAtMost(payload))) return null;
    const accepted = this.#active.appendNow(payload, sequence);
    if (accepted === null) return null;
    this.#recordAccepted(accepted, accepted);
    return accepted;
  }

  /**
   * {@link LogFile.appendAllTextNow} in the active segment when it takes the
   * records without rotating; null when they must go through
   * {@link append}.
   */
  appendAllTextNow(texts: readonly string[], first: number = this.currentSequence + 1): number | null {
    this.checkNotPoisoned();
    let bytesAtMost = 0;
    for (const text of texts) bytesAtMost += recordBytesAtMost(text);
    if (this.#activeIsFullFor(bytesAtMost)) return null;
    const last = this.#active.appendAllTextNow(texts, first);
    if (last === null) return null;
    this.#recordAccepted(last - texts.length + 1, last);
    return last;
  }

  /** True when records of `recordBytes` (frames) and a commit would take the non-empty active segment past `segmentBytes`: they go to a new one. */
  #activeIsFullFor(recordBytes: number): boolean {
    return this.#active.records > 0 && this.#active.bytes + recordBytes + COMMIT_RECORD_BYTES > this.#options.segmentBytes;
  }

  /** Makes every accepted record durable (see {@link LogFile.commit}). */
  async commit(): Promise<void> {
    this.checkNotPoisoned();
    await this.#tracked(() => this.#active.commit());
  }

  /**
   * Runs a step that may write a batch of the active segment, then brings
   * the active segment's summary up to date: a failed batch discards the
   * records accepted after the last written one.
   */
  async #tracked(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } finally {
      const summary = this.#activeSummary();
      if (summary.lastSequence > this.#active.currentSequence) discardAbove(summary, this.#active.currentSequence, this.#active.records, this.#active.lastTimeMs);
      summary.bytes = this.#active.bytes;
    }
  }

  /**
   * Commits the active segment, seals it and starts the next one, then
   * applies retention if `cleanupOnRotate` is set. Does nothing when the
   * active segment holds no record.
   */
  async rotate(): Promise<void> {
    await this.commit();
    if (this.#active.records === 0) return;
    await this.#poisonOnFailure(() => this.#startSegment(this.currentSequence));
    if (this.#options.cleanupOnRotate) await this.cleanup();
  }

  /** Applies the retention limits now (after committing): see {@link retentionFront}. */
  async cleanup(): Promise<void> {
    await this.commit();
    if (!hasRetention(this.#options.retention)) return;
    const front = await retentionFront(this.#segments, this.#bounds.front, this.#options.retention, clockTimeMs(this.#options.now), (segment, cutoffMs) =>
      this.#firstSequenceSince(segment, cutoffMs),
    );
    await this.truncateFront(front);
  }

  /**
   * After committing, makes `front` the lowest sequence ever returned again,
   * if it is above the current front. Segments wholly below it are deleted;
   * when it is above every record, the log continues from `front - 1` in a
   * fresh segment and every older one is deleted.
   */
  async truncateFront(front: number): Promise<void> {
    await this.commit();
    if (front <= this.#bounds.front) return;
    await this.#poisonOnFailure(async () => {
      await this.#writeBounds({ ...this.#bounds, front, back: null });
      await this.#applyFront();
    });
  }

  /**
   * After committing, removes every record above `sequence`, if
   * `sequence` is below `currentSequence`, and makes `sequence` the current
   * one: the next append gets `sequence + 1`. A front above `sequence + 1`
   * comes down to it (the log is then empty).
   */
  async truncateBack(sequence: number): Promise<void> {
    await this.commit();
    if (sequence >= this.currentSequence) return;
    // The bounds name the segment the cut leaves newest: the last one starting at or below it.
    const newest = this.#segments.filter((segment) => segment.first <= sequence).at(-1)?.first ?? 0;
    await this.#poisonOnFailure(async () => {
      await this.#writeBounds({ ...this.#bounds, front: Math.min(this.#bounds.front, sequence + 1), back: sequence, newest });
      await this.#finishBackCut(sequence);
      await this.#applyFront();
    });
  }

  /** Commits (unless poisoned) and releases the active segment. */
  async close(): Promise<void> {
    let failure: unknown = null;
    if (!this.poisoned) await this.commit().catch((error: unknown) => (failure = error));
    await this.#active.close().catch((error: unknown) => (failure ??= error));
    if (failure !== null) throw failure;
  }

  /**
   * With the bounds saying "cut after `back`" durably: deletes the segments
   * above it, cuts the straddling one, makes sure the log continues from
   * `back`, and clears the pending cut. Idempotent: reopening runs it again
   * after a crash anywhere in it.
   */
  async #finishBackCut(back: number): Promise<void> {
    assert(this.#bounds.back === back, "the bounds record the pending cut");
    const keep = this.#segments.filter(
      (segment) => segment.first <= back || (segment.first === back + 1 && segment.records === 0),
    ).length;
    const victims = this.#segments.splice(keep);
    await removeSegments(this.#fs, this.dir, victims.map((victim) => victim.first));
    const newest = this.#segments.at(-1);
    const cut = newest !== undefined && newest.lastSequence > back;
    assert(!cut || newest.first <= back, "the cut falls inside the segment it cuts");
    if (cut) await cutSegment(this.#fs, newest.path, back, this.#cutOptions());
    if (victims.length > 0 || cut) {
      const first = newest?.first ?? back + 1;
      const created = { logId: this.#bounds.logId, link: new Uint8Array(SALT_BYTES) };
      const { log, summary } = await openSegmentLog(this.#fs, this.dir, first, this.#bounds.front, this.#options, "strict", this.#clock.now, created);
      if (newest === undefined) this.#segments.push(summary);
      else this.#segments[this.#segments.length - 1] = summary;
      const replaced = this.#active;
      this.#active = log;
      await replaced.close();
    }
    assert(this.#activeSummary().lastSequence <= back, "nothing above the cut remains");
    await this.commit();
    if (this.currentSequence < back) await this.#startSegment(back);
    await this.#writeBounds({ ...this.#bounds, back: null, newest: this.#activeSummary().first });
  }

  /**
   * Makes the segments match the front: starts a fresh segment from
   * `front - 1` when every record lies below the front, deletes the
   * segments wholly below it, and recounts the hidden records of the
   * oldest remaining one. Idempotent.
   */
  async #applyFront(): Promise<void> {
    assert(this.#bounds.back === null, "no back cut is pending");
    const front = this.#bounds.front;
    const active = this.#active;
    if (front > active.currentSequence && !(active.records === 0 && active.baseSequence === front - 1)) {
      await this.#startSegment(front - 1);
    }
    const live = liveFirstSequences(this.segmentFirstSequences, this.#bounds);
    const victims = this.#segments.splice(0, this.#segments.length - live.length);
    assert(victims.every((victim) => !live.includes(victim.first)), "dead segments are a prefix");
    assert(this.#segments.length > 0 && this.#activeSummary().path === this.#active.path, "the active segment is never removed");
    await removeSegments(this.#fs, this.dir, victims.map((victim) => victim.first));
    const oldest = this.#segments[0]!;
    if (oldest.first < front && oldest.records > 0 && oldest.front !== front) {
      const { summary } = await summarizeSegment(this.#fs, oldest.path, oldest.first, front, this.#validateOptions());
      this.#segments[0] = summary;
    }
    this.#checkInvariants();
  }

  /**
   * Seals the active segment (committed) and starts one with base sequence
   * `base`, linked to the active one; then, unless a back cut is pending
   * (finishing it names the newest), makes the bounds file name it as the
   * newest, before anything is appended to it.
   */
  async #startSegment(base: number): Promise<void> {
    assert(base >= this.currentSequence, `new segment base ${base} below current sequence ${this.currentSequence}`);
    assert(base + 1 > this.#activeSummary().first, "segment names increase");
    await this.commit();
    const created = { logId: this.#bounds.logId, link: this.#active.header.salt };
    const { log, summary } = await openSegmentLog(this.#fs, this.dir, base + 1, this.#bounds.front, this.#options, "strict", this.#clock.now, created);
    assert(log.records === 0 && log.baseSequence === base, `${summary.path} is new`);
    const sealed = this.#active;
    this.#segments.push(summary);
    this.#active = log;
    await sealed.close();
    if (this.#bounds.back === null) await this.#writeBounds({ ...this.#bounds, newest: base + 1 });
  }

  /** Sequence of the first record at or above the front in `segment` appended at or after `cutoffMs`. */
  async #firstSequenceSince(segment: SegmentSummary, cutoffMs: number): Promise<number> {
    let found = -1;
    await scanSegment(this.#fs, segment.path, {
      ...this.#validateOptions(),
      onRecord: (sequence, timeMs) => {
        if (found < 0 && sequence >= this.#bounds.front && timeMs >= cutoffMs) found = sequence;
      },
    });
    assert(found >= 0, `${segment.path} holds a record appended at or after ${cutoffMs}`);
    return found;
  }

  /** Replaces the bounds file with `bounds` (which name the active segment as the newest unless a back cut is pending), durably. */
  async #writeBounds(bounds: StoredBounds): Promise<void> {
    assert(bounds.back !== null || bounds.newest === this.#activeSummary().first, "the bounds file names the active segment as the newest");
    await io("write", join(this.dir, BOUNDS_FILE), () => writeBounds(this.#fs, this.dir, bounds, this.#options.crc));
    this.#bounds = bounds;
  }

  /** Runs a step that changes the directory; any failure poisons the store. */
  async #poisonOnFailure(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      this.#poison ??= error;
      throw error instanceof WalPoisonedError ? error : new WalPoisonedError(this.dir, error);
    }
  }

  /** The active segment's summary: the last one. */
  #activeSummary(): SegmentSummary {
    return this.#segments.at(-1)!;
  }

  /** What a read-only scan of a segment needs. */
  #validateOptions(): { recordBytesMax: number; crc: Crc32 } {
    return { recordBytesMax: this.#options.recordBytesMax, crc: this.#options.crc };
  }

  /** What {@link cutSegment} needs. */
  #cutOptions(): CutOptions {
    return { ...this.#validateOptions(), batchBytesMax: this.#options.batchBytesMax, now: this.#clock.now };
  }

  /** Asserts what holds between operations (docs/SEGMENTS.md, "Invariants"). */
  #checkInvariants(): void {
    const segments = this.#segments;
    assert(segments.length > 0, "there is an active segment");
    assert(this.#activeSummary().path === this.#active.path, "the last segment is the active one");
    assert(this.#activeSummary().first === this.#active.baseSequence + 1, "the active segment is named after its base");
    for (let index = 1; index < segments.length; index++) {
      const before = segments[index - 1]!;
      assert(segments[index]!.first > before.first, "first sequences of segments strictly increase");
      assert(segments[index]!.first > before.lastSequence, "each segment starts above the last record of the one before");
    }
    assert(liveFirstSequences(this.segmentFirstSequences, this.#bounds).length === segments.length, "every segment is live");
    assert(this.#bounds.back !== null || this.#bounds.newest === this.#activeSummary().first, "the bounds file names the active segment as the newest");
    assert(this.#bounds.back !== null || this.#bounds.front <= this.currentSequence + 1, "the front is at most one past the end");
  }
}
