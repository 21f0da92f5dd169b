/**
 * Feeding the log's observer hooks into Prometheus metrics with prom-client:
 * a histogram of fsync latency and of batch sizes, and counters of bytes and
 * records made durable, the way etcd exports `wal_fsync_duration_seconds`.
 * Appends a few thousand records with concurrent flushes (so group commit
 * makes batches of several records), then prints the metrics as a scrape
 * would see them.
 *
 * Run: `npm run example:prometheus`.
 *
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Counter, Histogram, Registry } from "prom-client";
import { Wal } from "../mod.ts";

const registry = new Registry();
const fsyncSeconds = new Histogram({
  name: "tswal_fsync_duration_seconds",
  help: "fdatasync latency of each committed batch",
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
  registers: [registry],
});
const batchRecords = new Histogram({
  name: "tswal_batch_records",
  help: "records per committed batch (group commit)",
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});
const durableBytes = new Counter({ name: "tswal_durable_bytes_total", help: "bytes made durable", registers: [registry] });
const durableRecords = new Counter({ name: "tswal_durable_records_total", help: "records made durable", registers: [registry] });

const dir = await mkdtemp(join(tmpdir(), "tswal-prometheus-"));
try {
  const wal = await Wal.open(join(dir, "log"), {
    onSync: ({ bytes, records, syncMs }) => {
      fsyncSeconds.observe(syncMs / 1000);
      batchRecords.observe(records);
      durableBytes.inc(bytes);
      durableRecords.inc(records);
    },
  });
  for (let round = 0; round < 100; round++) {
    // 32 callers each appending and flushing: they share fsyncs
    await Promise.all(Array.from({ length: 32 }, async (_, caller) => {
      await wal.append({ round, caller });
      await wal.flush();
    }));
  }
  await wal.close();
  console.log(await registry.metrics());
} finally {
  await rm(dir, { recursive: true, force: true });
}
