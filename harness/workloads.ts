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
import type { TrackedWriter, Workload, WorkloadContext } from "./context.ts";

/** Options of {@link appendFlushWorkload}. */
export interface AppendFlushOptions {
  /** Records to append in all; default 12. */
  readonly records?: number;
  /** Records per flush; default 3. */
  readonly batchRecords?: number;
  /** Padding per value in bytes (makes records cross sectors); default 40. */
  readonly valueBytes?: number;
  /** Issue each batch's appends concurrently rather than one by one; default false. */
  readonly concurrent?: boolean;
  /** Close and reopen the log after this many batches; default never (0). */
  readonly reopenEveryBatches?: number;
}

/** Appends `records` values in batches, flushing after each batch. */
export function appendFlushWorkload(options: AppendFlushOptions = {}): Workload {
  const records = options.records ?? 12;
  const batchRecords = options.batchRecords ?? 3;
  const pad = "x".repeat(options.valueBytes ?? 40);
  const reopenEvery = options.reopenEveryBatches ?? 0;
  return async (ctx) => {
    let writer = await openRetrying(ctx);
    let batches = 0;
    for (let first = 0; first < records; first += batchRecords) {
      const values = Array.from({ length: Math.min(batchRecords, records - first) }, (_, i) => ({ n: first + i, pad }));
      try {
        await appendBatch(writer, values, options.concurrent ?? false);
        await writer.flush();
      } catch (error) {
        if (error instanceof WalPoisonedError) {
          // A poisoned writer must refuse everything; the tracked writer checks it does.
          await writer.append({ afterPoison: first }).catch(() => undefined);
          await writer.flush().catch(() => undefined);
          await writer.close();
          writer = await openRetrying(ctx);
        } else if (!(error instanceof WalIoError)) {
          throw error;
        }
      }
      batches++;
      if (reopenEvery > 0 && batches % reopenEvery === 0) {
        await writer.close();
        writer = await openRetrying(ctx);
      }
    }
    await writer.close();
  };
}

/** Opens the log; if that fails with a library error (an injected fault, say), tries once more. */
async function openRetrying(ctx: WorkloadContext): Promise<TrackedWriter> {
  try {
    return await ctx.open();
  } catch (error) {
    if (!(error instanceof WalError)) throw error;
    return ctx.open();
  }
}

async function appendBatch(writer: TrackedWriter, values: unknown[], concurrent: boolean): Promise<void> {
  if (concurrent) {
    const settled = await Promise.allSettled(values.map((value) => writer.append(value)));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    return;
  }
  for (const value of values) await writer.append(value);
}
