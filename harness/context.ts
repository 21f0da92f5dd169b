/**
 * What a workload is handed: a filesystem, a log path, and a way to open the
 * log whose appends and flushes are recorded in a {@link History}, so the
 * harness knows what must survive.
 *
 * @module
 */

import { SequenceError, WalArgumentError, WalClosedError, WalError, WalIoError, WalPoisonedError } from "../src/errors.ts";
import type { FileSystem } from "../src/fs.ts";
import { WalReader } from "../src/log/reader.ts";
import { type AppendOptions, type RepairPolicy, WalWriter } from "../src/log/writer.ts";
import { Wal } from "../src/segmented/wal.ts";
import { checkRecovered, sameValue } from "./check.ts";
import { History, type RecoveredRecord } from "./history.ts";
import { retainsOnRotate, TrackedWal } from "./wal.ts";

/** Thrown when a log breaks an invariant; the harness reports it with its scenario. */
export class HarnessViolation extends Error {
  /** What is wrong. */
  readonly problems: readonly string[];
  /** The error for `problems`: each invariant the log broke, in words. */
  constructor(problems: readonly string[]) {
    super(problems.join("; "));
    this.name = "HarnessViolation";
    this.problems = problems;
  }
}

/** Everything a workload needs. */
export interface WorkloadContext {
  /** The (fault-injecting) filesystem to run on. */
  readonly fs: FileSystem;
  /** Where the log lives; its directory exists and is durable. */
  readonly path: string;
  /** What has been appended and acknowledged so far. */
  readonly history: History;
  /**
   * Opens the log with history tracking (default policy `truncate-partial`),
   * after checking that what it holds agrees with the history.
   */
  open(options?: { repair?: RepairPolicy }): Promise<TrackedWriter>;
  /** Where `openWal` keeps the segmented log: a directory beside `path`. */
  readonly walDir: string;
  /**
   * Opens the segmented log at `walDir` with history tracking (default
   * policy `truncate-partial`), after checking that what it holds agrees
   * with the history. A workload uses either `open` or `openWal`, not both.
   */
  openWal(options?: WalHarnessOptions): Promise<TrackedWal>;
  /**
   * Marks where the part under test starts: `explore` crashes and injects
   * faults only at the operations after the last `focus()` of its
   * undisturbed run (the setup before it still runs every time, untouched).
   */
  focus(): void;
}

/** Options of {@link WorkloadContext.openWal}: those of `Wal.open` that shape the log (see `WalOptions`). */
export interface WalHarnessOptions {
  /** Torn-tail policy; default `truncate-partial`. */
  readonly repair?: RepairPolicy;
  /** Segment size in bytes. */
  readonly segmentBytes?: number;
  /** Retention: at most this many segments. */
  readonly maxSegments?: number;
  /** Retention: at most this many bytes. */
  readonly maxTotalBytes?: number;
  /** Retention: records older than this many ms go. */
  readonly maxAgeMs?: number;
  /** Apply retention on every rotation; default true. */
  readonly cleanupOnRotate?: boolean;
  /** Bytes buffered before a write, and the largest batch. */
  readonly maxBatchBytes?: number;
  /** Largest payload in bytes. */
  readonly maxRecordBytes?: number;
  /** Records of a new log have sequences above this. */
  readonly baseSequence?: number;
  /** The clock for record times and retention by age. */
  readonly now?: () => number;
}

/** A workload: drives a log through `ctx`; must be deterministic given the filesystem's behaviour. */
export type Workload = (ctx: WorkloadContext) => Promise<void>;

/** A {@link WalWriter} whose calls are recorded in a {@link History}. Same methods, same errors. */
export class TrackedWriter {
  readonly #writer: WalWriter;
  readonly #history: History;
  readonly #probe: (() => Uint8Array | null) | null;
  /** Calls under way; the file is compared across a refused call only when it was the only one. */
  #inFlight = 0;
  /** The log's bytes when the writer first reported poisoning; it must never change them again. */
  #poisonedBytes: Uint8Array | null = null;

  /**
   * Wraps `writer`, recording into `history`. With `probe` (the log's current
   * bytes), a cleanly refused call is also checked to have left the file
   * byte-identical.
   */
  constructor(writer: WalWriter, history: History, probe: (() => Uint8Array | null) | null = null) {
    this.#writer = writer;
    this.#history = history;
    this.#probe = probe;
  }

  /** See {@link WalWriter.currentSequence}. */
  get currentSequence(): number {
    return this.#writer.currentSequence;
  }

  /** See {@link WalWriter.poisoned}. */
  get poisoned(): boolean {
    return this.#writer.poisoned;
  }

  /** See {@link WalWriter.append}. */
  async append(value: unknown, options?: AppendOptions): Promise<number> {
    const entry = this.#history.begin(value, options?.sequence ?? null);
    return this.#guarded("append", async () => {
      try {
        const sequence = await this.#writer.append(value, options);
        this.#history.resolve(entry, sequence);
        return sequence;
      } catch (error) {
        if (isCleanRefusal(error)) this.#history.refuse(entry);
        throw error;
      }
    });
  }

  /** See {@link WalWriter.appendBatch}. */
  async appendBatch(values: readonly unknown[], options?: AppendOptions): Promise<number> {
    const entries = values.map((value, index) => this.#history.begin(value, options?.sequence === undefined ? null : options.sequence + index));
    return this.#guarded("appendBatch", async () => {
      try {
        const last = await this.#writer.appendBatch(values, options);
        entries.forEach((entry, index) => this.#history.resolve(entry, last - entries.length + 1 + index));
        return last;
      } catch (error) {
        if (isCleanRefusal(error)) for (const entry of entries) this.#history.refuse(entry);
        throw error;
      }
    });
  }

  /** See {@link WalWriter.flush}; a batch write that failed cleanly discarded the records after `currentSequence`. */
  async flush(): Promise<void> {
    const mark = this.#history.flushMark();
    try {
      await this.#guarded("flush", () => this.#writer.flush());
    } catch (error) {
      if (isCleanRefusal(error)) this.#history.discardAbove(this.#writer.currentSequence);
      throw error;
    }
    this.#history.acknowledge(mark);
  }

  /** Runs a call; if it is refused cleanly while alone, checks the file did not change. */
  async #guarded<R>(name: string, call: () => Promise<R>): Promise<R> {
    this.#inFlight++;
    const before = this.#inFlight === 1 ? (this.#probe?.() ?? null) : null;
    const wasPoisoned = this.#poisonedBytes !== null;
    try {
      const result = await call();
      if (wasPoisoned) this.#history.violations.push(`a poisoned writer accepted a ${name}`);
      return result;
    } catch (error) {
      if (before !== null && this.#inFlight === 1 && isCleanRefusal(error) && !sameValue(before, this.#probe?.() ?? null)) {
        this.#history.violations.push(`a refused ${name} changed the log file (rollback was not byte-identical)`);
      }
      if (wasPoisoned && !(error instanceof WalPoisonedError)) {
        this.#history.violations.push(`a poisoned writer rejected a ${name} with ${String(error)}, not WalPoisonedError`);
      }
      if (error instanceof WalPoisonedError && !causedByCrash(error)) this.#poisonedBytes ??= this.#probe?.() ?? null;
      throw error;
    } finally {
      this.#inFlight--;
      if (wasPoisoned && this.#poisonedBytes !== null && !sameValue(this.#poisonedBytes, this.#probe?.() ?? null)) {
        this.#history.violations.push(`a poisoned writer changed the log file during a ${name}`);
      }
    }
  }

  /** See {@link WalWriter.close}; a clean close acknowledges like a flush. */
  async close(): Promise<void> {
    const mark = this.#history.flushMark();
    const poisoned = this.#writer.poisoned;
    await this.#writer.close();
    if (!poisoned) this.#history.acknowledge(mark);
  }
}

/** True for a rejection that guarantees nothing was written. */
export function isCleanRefusal(error: unknown): boolean {
  if (error instanceof SequenceError || error instanceof WalArgumentError || error instanceof WalClosedError) return true;
  return error instanceof WalIoError && !causedByCrash(error);
}

/** True if a simulated crash (code `ESIMCRASH`) is anywhere in the error's causes. */
export function causedByCrash(error: unknown): boolean {
  for (let depth = 0; depth < 8 && error !== null && typeof error === "object"; depth++) {
    if ((error as { code?: unknown }).code === "ESIMCRASH") return true;
    if (error instanceof AggregateError && error.errors.some((e) => causedByCrash(e))) return true;
    error = (error as { cause?: unknown }).cause;
  }
  return false;
}

/** Every record of the log at `path`, read without the lock. */
export async function readAll(fs: FileSystem, path: string): Promise<RecoveredRecord[]> {
  return collect(WalReader.open(path, { fs }));
}

/**
 * Makes the context a workload runs in. `probe`, if given, returns the log's
 * current bytes (see {@link TrackedWriter}).
 */
export function makeContext(
  fs: FileSystem,
  path: string,
  history: History,
  probe: (() => Uint8Array | null) | null = null,
  opened: Wal[] = [],
  operationCount: () => number = () => 0,
): WorkloadContext {
  const walDir = `${path.slice(0, path.lastIndexOf("/"))}/segments`;
  return {
    fs,
    path,
    history,
    walDir,
    focus(): void {
      history.focusOperation = operationCount();
    },
    async openWal(options = {}): Promise<TrackedWal> {
      history.target = "wal";
      history.walOptions = options;
      const wal = await Wal.open(walDir, { ...options, fs, repair: options.repair ?? "truncate-partial" });
      opened.push(wal);
      try {
        agree(history, await readWal(wal));
      } catch (error) {
        await wal.close().catch(() => undefined);
        throw error;
      }
      return new TrackedWal(wal, history, retainsOnRotate(options));
    },
    async open(options = {}): Promise<TrackedWriter> {
      history.target = "writer";
      const writer = await WalWriter.open(path, { fs, repair: options.repair ?? "truncate-partial" });
      try {
        agree(history, await readAll(fs, path));
      } catch (error) {
        await writer.close().catch(() => undefined);
        throw error;
      }
      return new TrackedWriter(writer, history, probe);
    },
  };
}

/** Every record of an open segmented log. */
export async function readWal(wal: Wal): Promise<RecoveredRecord[]> {
  return collect(wal.read());
}

/** The sequence and value of every record `records` yields. */
async function collect(records: AsyncIterable<RecoveredRecord>): Promise<RecoveredRecord[]> {
  const out: RecoveredRecord[] = [];
  for await (const record of records) out.push({ sequence: record.sequence, value: record.value });
  return out;
}

/** Checks a reopened log against the history, then rebases the history on it. */
function agree(history: History, recovered: readonly RecoveredRecord[]): void {
  const problems = checkRecovered(history, recovered);
  if (problems.length > 0) {
    history.violations.push(...problems.map((p) => `on reopen during the workload: ${p}`));
    throw new HarnessViolation(problems);
  }
  history.rebase(recovered);
}

/** True for errors a workload may see under faults: the library's typed errors. */
export function isTypedFailure(error: unknown): boolean {
  return error instanceof WalError;
}
