/**
 * The `--big` workload: opening (so validating) a 1 GiB log, its speed next
 * to a raw read of the same file, and how much resident memory opening takes.
 * The log holds 16 KiB byte values (64 Ki records, flushed per 1,000): large
 * records keep writing it to seconds; the JSON workloads cover small ones.
 *
 * @module
 */

import process from "node:process";
import { rawRead } from "./files.ts";
import { perSecond } from "./measure.ts";
import { walOpen, writeBytesLog } from "./tswal.ts";

const LOG_BYTES = 1024 ** 3;
const RECORD_BYTES = 16 * 1024;
const SAMPLE_MS = 5;

/** What `--big` measured: sizes in bytes, rates in MB/s. */
export interface BigOpen {
  readonly bytes: number;
  readonly openRate: number;
  readonly rawRate: number;
  readonly rssBefore: number;
  readonly rssPeak: number;
  readonly rssAfter: number;
}

/** Writes the 1 GiB log at `path`, then times opening it (sampling RSS) and reading it raw. */
export async function bigOpen(path: string): Promise<BigOpen> {
  await writeBytesLog(path, LOG_BYTES, RECORD_BYTES);
  const megabytes = LOG_BYTES / 1e6;
  const rawRate = await perSecond(megabytes, () => rawRead(path));
  let openRate = 0;
  const rss = await rssDuring(async () => {
    openRate = await perSecond(megabytes, () => walOpen(path));
  });
  return { bytes: LOG_BYTES, openRate, rawRate, rssBefore: rss.before, rssPeak: rss.peak, rssAfter: rss.after };
}

/** Runs `run` while sampling the resident set size every few milliseconds: before, the highest seen, after. */
async function rssDuring(run: () => Promise<void>): Promise<{ before: number; peak: number; after: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, SAMPLE_MS);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  const after = process.memoryUsage().rss;
  return { before, peak: Math.max(peak, after), after };
}
