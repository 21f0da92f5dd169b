/**
 * Ready-made workloads. Each is deterministic and copes with faults the way
 * an application should: a rolled-back append or commit (`WalIoError`) is
 * given up and the run goes on; a poisoned writer is closed and the log
 * reopened (with repair), which is the documented way back; an open that
 * fails with a typed error is tried once more.
 *
 * @module
 */

import { WalError, WalIoError, WalPoisonedError } from "../src/errors.ts";
import { sameValue } from "./check.ts";
import { causedByCrash, type TrackedWriter, type WalHarnessOptions, type Workload, type WorkloadContext } from "./context.ts";
import type { TrackedWal } from "./wal.ts";

/** Options both ready-made workloads take: how many records, in batches of how many, how large, and how often to reopen. */
export interface BatchedWorkloadOptions {
  /** Records to append in all; default 12. */
  readonly records?: number;
  /** Records per flush; default 3. */
  readonly batchRecords?: number;
  /** Padding per value in bytes (makes records cross sectors); default 40. */
  readonly valueBytes?: number;
  /** Close and reopen the log after this many batches; default never (0). */
  readonly reopenEveryBatches?: number;
}

/** Options of {@link appendFlushWorkload}. */
export interface AppendFlushOptions extends BatchedWorkloadOptions {
  /** Issue each batch's appends concurrently rather than one by one; default false. */
  readonly concurrent?: boolean;
}

/** The values of each batch, in order: `{ n, pad }` with `n` counting from 0. */
function* batches(options: BatchedWorkloadOptions): Generator<{ n: number; pad: string }[]> {
  const records = options.records ?? 12;
  const batchRecords = options.batchRecords ?? 3;
  const pad = "x".repeat(options.valueBytes ?? 40);
  for (let first = 0; first < records; first += batchRecords) {
    yield Array.from({ length: Math.min(batchRecords, records - first) }, (_, i) => ({ n: first + i, pad }));
  }
}

/** Runs `open`; if that fails with a library error (an injected fault, say), runs it once more. */
async function retryingOnce<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (!(error instanceof WalError)) throw error;
    return open();
  }
}

/** Appends `records` values in batches, flushing after each batch. */
export function appendFlushWorkload(options: AppendFlushOptions = {}): Workload {
  const reopenEvery = options.reopenEveryBatches ?? 0;
  return async (ctx) => {
    const open = (): Promise<TrackedWriter> => retryingOnce(() => ctx.open());
    let writer = await open();
    let batchCount = 0;
    for (const values of batches(options)) {
      try {
        await appendBatch(writer, values, options.concurrent ?? false);
        await writer.flush();
      } catch (error) {
        if (error instanceof WalPoisonedError) {
          // A poisoned writer must refuse everything; the tracked writer checks it does.
          await writer.append({ afterPoison: values[0]!.n }).catch(() => undefined);
          await writer.flush().catch(() => undefined);
          await writer.close();
          writer = await open();
        } else if (!(error instanceof WalIoError)) {
          throw error;
        }
      }
      batchCount++;
      if (reopenEvery > 0 && batchCount % reopenEvery === 0) {
        await writer.close();
        writer = await open();
      }
    }
    await writer.close();
  };
}

/** Appends `values` one by one, or all at once when `concurrent` (then the first rejection, once all settled, is thrown). */
async function appendBatch(writer: TrackedWriter, values: unknown[], concurrent: boolean): Promise<void> {
  if (concurrent) {
    const settled = await Promise.allSettled(values.map((value) => writer.append(value)));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    return;
  }
  for (const value of values) await writer.append(value);
}

/** Options of {@link walWorkload}. */
export interface WalWorkloadOptions extends BatchedWorkloadOptions {
  /** Segment size in bytes: small, so appends rotate; default 700. */
  readonly segmentBytes?: number;
  /** Append each batch with `appendBatch` (all or nothing) rather than record by record; default false. */
  readonly atomicBatches?: boolean;
  /** Retention applied on every rotation: at most this many segments; default none. */
  readonly maxSegments?: number;
  /** Retention applied on every rotation: at most this many bytes; default none. */
  readonly maxTotalBytes?: number;
  /** Rotate explicitly after every this many batches; default never (0). */
  readonly rotateEveryBatches?: number;
  /** After every this many batches, `truncateFront` to keep the last two batches; default never (0). */
  readonly truncateFrontEveryBatches?: number;
  /** After every this many batches, `truncateBack` the last record; default never (0). */
  readonly truncateBackEveryBatches?: number;
  /** After every this many batches, `cleanup()`; default never (0). */
  readonly cleanupEveryBatches?: number;
  /** Run an in-process follower beside the writer, checking every record it sees was appended with that sequence; default false. */
  readonly follower?: boolean;
}

/**
 * Drives the segmented `Wal` (opened with `ctx.openWal`): appends `records`
 * values in batches (record by record or with `appendBatch`), flushing after
 * each, in segments small enough to rotate, with retention on rotation and,
 * every few batches, explicit rotation, `truncateFront`, `truncateBack` and
 * `cleanup`, as the options ask; optionally with a follower.
 */
export function walWorkload(options: WalWorkloadOptions = {}): Workload {
  const batchRecords = options.batchRecords ?? 3;
  return async (ctx) => {
    let clock = 1_000_000;
    const walOptions = {
      segmentBytes: options.segmentBytes ?? 700,
      now: () => (clock += 1000),
      ...(options.maxSegments === undefined ? {} : { maxSegments: options.maxSegments }),
      ...(options.maxTotalBytes === undefined ? {} : { maxTotalBytes: options.maxTotalBytes }),
    };
    const appended = new Map<number, unknown>();
    let wal = await openWalRetrying(ctx, walOptions);
    let follower = options.follower === true ? startFollower(ctx, wal, appended) : null;
    try {
      let batch = 0;
      for (const values of batches(options)) {
        batch++;
        try {
          await appendWal(wal, values, options.atomicBatches === true, appended);
          await wal.flush();
          await maintain(wal, batch, batchRecords, options);
        } catch (error) {
          if (!(error instanceof WalPoisonedError || error instanceof WalIoError)) throw error;
          if (error instanceof WalPoisonedError) wal = await reopenWal(ctx, wal, walOptions);
        }
        if ((options.reopenEveryBatches ?? 0) > 0 && batch % options.reopenEveryBatches! === 0) {
          await follower?.stop();
          wal = await reopenWal(ctx, wal, walOptions);
          follower = options.follower === true ? startFollower(ctx, wal, appended) : null;
        }
      }
      await wal.close();
    } finally {
      await follower?.stop();
    }
  };
}

/** Appends one batch, remembering each value's sequence for the follower. */
async function appendWal(wal: TrackedWal, values: readonly unknown[], atomic: boolean, appended: Map<number, unknown>): Promise<void> {
  if (atomic) {
    const last = await wal.appendBatch(values);
    values.forEach((value, i) => appended.set(last - values.length + 1 + i, value));
    return;
  }
  for (const value of values) appended.set(await wal.append(value), value);
}

/** The rotations, truncations and cleanups due after batch number `batch`. */
async function maintain(wal: TrackedWal, batch: number, batchRecords: number, options: WalWorkloadOptions): Promise<void> {
  const due = (every: number | undefined): boolean => (every ?? 0) > 0 && batch % every! === 0;
  if (due(options.rotateEveryBatches)) await wal.rotate();
  if (due(options.truncateFrontEveryBatches)) await wal.truncateFront(wal.currentSequence - 2 * batchRecords + 1);
  if (due(options.truncateBackEveryBatches)) await wal.truncateBack(wal.currentSequence - 1);
  if (due(options.cleanupEveryBatches)) await wal.cleanup();
}

/** Closes a (possibly poisoned) log and opens it again, as an application recovers. */
async function reopenWal(ctx: WorkloadContext, wal: TrackedWal, walOptions: WalHarnessOptions): Promise<TrackedWal> {
  await wal.close().catch((error: unknown) => {
    if (!(error instanceof WalError)) throw error;
  });
  return openWalRetrying(ctx, walOptions);
}

/** Opens the segmented log; if that fails with a library error, tries once more. */
function openWalRetrying(ctx: WorkloadContext, walOptions: WalHarnessOptions): Promise<TrackedWal> {
  return retryingOnce(() => ctx.openWal(walOptions));
}

/**
 * Follows the log until stopped: every record it yields must carry a value
 * the workload appended with that sequence. Errors from a crash or a fault
 * end it quietly.
 */
function startFollower(ctx: WorkloadContext, wal: TrackedWal, appended: ReadonlyMap<number, unknown>): { stop: () => Promise<void> } {
  const abort = new AbortController();
  const done = (async () => {
    for await (const record of wal.follow({ signal: abort.signal })) {
      if (!appended.has(record.sequence) || !sameValue(appended.get(record.sequence), record.value)) {
        ctx.history.violations.push(`a follower saw sequence ${record.sequence} with a value never appended there`);
      }
    }
  })().catch((error: unknown) => {
    if (!(error instanceof WalError) && !causedByCrash(error)) ctx.history.violations.push(`a follower failed: ${String(error)}`);
  });
  return {
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}
