/**
 * `npm run bench`: tswal's throughput next to the stores a user would pick
 * instead, measured in one run on the same disk (a temporary directory),
 * printed as `workload | tswal | peer | peer value | ratio` with ratio =
 * tswal / peer. Speed is printed, never asserted: machines are noisy.
 *
 * Every system stores the same value (records.ts: an order with a 256-byte
 * note) except in the bytes workload. Workloads:
 * 1. serial: `append` + `flush` per record (and plain appends under
 *    `sync: "always"`), against raw `write` + `fdatasync` (both awaited),
 *    raw `writeSync` + awaited `fdatasync` (the fastest loop that keeps the
 *    event loop free), a JSONL file (one write + fdatasync per record) and
 *    better-sqlite3 (WAL, `synchronous=FULL`, one insert per transaction,
 *    which blocks the event loop for its fsync);
 * 2. 64 concurrent callers, each `append` + `flush` (or a plain append under
 *    `sync: "always"`), for 200 rounds, against raw (one write of 64 records +
 *    one `fdatasync`), lmdb (64 concurrent puts) and classic-level (64
 *    concurrent `{ sync: true }` puts);
 * 3. bulk: 200,000 records flushed per 1,000, appends awaited one by one, not
 *    awaited, and 1,000 per `appendBatch`, against JSONL, better-sqlite3 and
 *    lmdb, each committing per 1,000, and a bare framed loop (files.ts
 *    `framedAppends`: what one awaited value per call costs before any
 *    checking);
 * 4. 1,000,000 unsynced 100-byte appends (bytes codec), one flush at the end,
 *    against the same bytes copied into one buffer written in 1 MiB calls;
 *    the values made as views of 64 KiB slabs, and again each in an array
 *    of its own (records.ts);
 * 5. open (validating every batch's checksum) of the bulk log and of a log of
 *    50,000 one-record batches (written with fsync turned off, see
 *    `writeOneRecordBatches`), against reading the file in 1 MiB chunks; and
 *    the same opens each in a fresh process of the same runtime, timed inside
 *    it (open-fresh.ts: what an application pays at start-up, before the
 *    engine has optimized anything);
 * 6. reading the bulk log back, values parsed, against better-sqlite3
 *    `select *` + `JSON.parse` and JSONL `readFile` + `JSON.parse`;
 * 7. shipping a `Wal` to NATS JetStream against raw JetStream publishing, when
 *    a nats-server is installed (jetstream.ts; skipped with a note otherwise);
 * 8. `--big` (or `BENCH_BIG=1`), not in the default run: opening a 1 GiB log,
 *    in MB/s and resident memory growth (big.ts).
 * `--runs N` repeats every measurement N times, the runs of a workload's
 * systems interleaved (measure.ts), and prints medians; `--warmup-ms N`
 * (default 1,000) first runs each measurement untimed for that long, so that
 * JavaScript systems are timed once the JIT has optimized them.
 *
 * Runs on whichever runtime executes it: `npm run bench [-- --runs 3 --big]`
 * (Node), `bun bench/bench.ts`, `deno run -A bench/bench.ts`. Peers with
 * native parts that a runtime cannot load are skipped with a note (peers.ts).
 */

import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { runtimeFileSystem, runtimeName } from "../adapters/auto.ts";
import { type BigOpen, bigOpen } from "./big.ts";
import { framedAppends, jsonlAppends, jsonlReadAll, rawAppends, rawAppendsSyncWrite, rawBytesWrite, rawRead } from "./files.ts";
import { jetstreamBench } from "./jetstream.ts";
import { compare, type Measurement, median, medianRates, printTable, type Row, runPath } from "./measure.ts";
import { openInFreshProcess } from "./open-fresh.ts";
import { loadPeers, type Peers } from "./peers.ts";
import { byteRecord, jsonLines, order, slabByteRecords } from "./records.ts";
import {
  walBulk,
  walBulkAppendBatch,
  walBulkUnawaited,
  walBytes,
  walConcurrent,
  walOpen,
  walReadAll,
  walSerial,
  writeOneRecordBatches,
} from "./tswal.ts";

const SERIAL_RECORDS = 2_000;
const CALLERS = 64;
const ROUNDS = 200;
const BULK_RECORDS = 200_000;
const BULK_BATCH = 1_000;
const BYTE_RECORDS = 1_000_000;
const ONE_RECORD_BATCHES = 50_000;

/**
 * What every workload gets: the peers, median rates over the runs, and where
 * run 0 of a measurement wrote (kept only when it says `keepFirstRun`).
 */
interface Bench {
  readonly peers: Peers;
  /** Medians of each measurement's rate, the runs interleaved (see `medianRates`). */
  rates(measurements: readonly Measurement[]): Promise<number[]>;
  firstRun(name: string): string;
  /** Timed runs per figure (`--runs`). */
  readonly runs: number;
}

/** A system compared with tswal in a workload: its label, and its measurement (null when skipped on this runtime). */
type Peer = readonly [label: string, measurement: Measurement | null];

/** One way of running a workload on tswal: its label in the table, and its measurement. */
type Variant = readonly [label: string, measurement: Measurement];

const options = parseOptions(process.argv.slice(2), process.env.BENCH_BIG);
const dir = await mkdtemp(join(tmpdir(), "tswal-bench-"));
try {
  const runtime = runtimeName();
  console.log(
    `runtime: ${runtime} ${process.versions[runtime] ?? "?"}; each measurement run untimed for ${options.warmupMs} ms, ` +
      `then ${options.runs} run(s) per figure, median printed`,
  );
  const peers = await loadPeers(dir);
  const bench: Bench = {
    peers,
    rates: (measurements) => medianRates(dir, options, measurements),
    firstRun: (name) => runPath(dir, name, 0),
    runs: options.runs,
  };
  for (const note of peers.notes) console.log(note);
  const rows: Row[] = [];
  for (const workload of [serial, concurrent, bulk, bytes, openLogs, readAll]) {
    console.error(`… ${workload.name}`);
    rows.push(...(await workload(bench)));
  }
  console.log("");
  printTable(rows);
  console.log("");
  for (const line of await jetstreamBench()) console.log(line);
  if (options.big) printBig(await bigOpen(join(dir, "big.wal")));
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Workload 1: one durable record at a time. */
async function serial(bench: Bench): Promise<Row[]> {
  const sqlite = bench.peers.sqlite;
  const record = jsonLines([order(0)]);
  const units = SERIAL_RECORDS;
  return workloadRows(
    bench,
    [
      ["raw write+fdatasync", { name: "serial-raw", units, run: (path) => rawAppends(path, record, SERIAL_RECORDS, 1) }],
      ["raw writeSync+async fdatasync", { name: "serial-raw-sync-write", units, run: (path) => rawAppendsSyncWrite(path, record, SERIAL_RECORDS) }],
      ["JSONL write+fdatasync", { name: "serial-jsonl", units, run: (path) => jsonlAppends(path, SERIAL_RECORDS, 1) }],
      ["better-sqlite3 txn per insert", sqlite && { name: "serial-sqlite", units, run: (path) => sqlite.serial(path, SERIAL_RECORDS) }],
    ],
    [
      ["serial append+flush (rec/s)", { name: "serial-tswal-flush", units, run: (path) => walSerial(path, SERIAL_RECORDS, "manual") }],
      ['serial append, sync "always" (rec/s)', { name: "serial-tswal-always", units, run: (path) => walSerial(path, SERIAL_RECORDS, "always") }],
      [
        "serial append+flush, blockingSync (rec/s)",
        {
          name: "serial-tswal-blocking",
          units,
          run: async (path) => walSerial(path, SERIAL_RECORDS, "manual", await runtimeFileSystem({ blockingSync: true })),
        },
      ],
    ],
  );
}

/** Workload 2: {@link CALLERS} concurrent durable appends per round. */
async function concurrent(bench: Bench): Promise<Row[]> {
  const { lmdb, level } = bench.peers;
  const units = CALLERS * ROUNDS;
  const record = jsonLines([order(0)]);
  return workloadRows(
    bench,
    [
      [`raw write+fdatasync per ${CALLERS}`, { name: "concurrent-raw", units, run: (path) => rawAppends(path, record, units, CALLERS) }],
      [`lmdb ${CALLERS} puts`, lmdb && { name: "concurrent-lmdb", units, run: (path) => lmdb.concurrent(path, ROUNDS, CALLERS) }],
      [
        `classic-level ${CALLERS} sync puts`,
        level && { name: "concurrent-level", units, run: (path) => level.concurrent(path, ROUNDS, CALLERS) },
      ],
    ],
    [
      [
        `${CALLERS} callers append+flush (rec/s)`,
        { name: "concurrent-tswal-flush", units, run: (path) => walConcurrent(path, ROUNDS, CALLERS, "manual") },
      ],
      [
        `${CALLERS} callers append, sync "always" (rec/s)`,
        { name: "concurrent-tswal-always", units, run: (path) => walConcurrent(path, ROUNDS, CALLERS, "always") },
      ],
      [
        `${CALLERS} callers append+flush, blockingSync (rec/s)`,
        {
          name: "concurrent-tswal-blocking",
          units,
          run: async (path) => walConcurrent(path, ROUNDS, CALLERS, "manual", await runtimeFileSystem({ blockingSync: true })),
        },
      ],
    ],
  );
}

/** Workload 3: {@link BULK_RECORDS} records committed per {@link BULK_BATCH}; run 0 of some is read back by workloads 5 and 6. */
async function bulk(bench: Bench): Promise<Row[]> {
  const { sqlite, lmdb } = bench.peers;
  const units = BULK_RECORDS;
  return workloadRows(
    bench,
    [
      [
        "JSONL write+fdatasync per 1k",
        { name: "bulk-jsonl", units, run: (path) => jsonlAppends(path, BULK_RECORDS, BULK_BATCH), keepFirstRun: true },
      ],
      ["bare framed loop, awaited, per 1k", { name: "bulk-framed", units, run: (path) => framedAppends(path, BULK_RECORDS, BULK_BATCH) }],
      [
        "better-sqlite3 txn per 1k",
        sqlite && { name: "bulk-sqlite", units, run: (path) => sqlite.bulk(path, BULK_RECORDS, BULK_BATCH), keepFirstRun: true },
      ],
      ["lmdb transaction per 1k", lmdb && { name: "bulk-lmdb", units, run: (path) => lmdb.bulk(path, BULK_RECORDS, BULK_BATCH) }],
    ],
    [
      [
        "bulk append awaited, flush per 1k (rec/s)",
        { name: "bulk-tswal", units, run: (path) => walBulk(path, BULK_RECORDS, BULK_BATCH), keepFirstRun: true },
      ],
      [
        "bulk append unawaited, flush per 1k (rec/s)",
        { name: "bulk-tswal-unawaited", units, run: (path) => walBulkUnawaited(path, BULK_RECORDS, BULK_BATCH) },
      ],
      [
        "bulk appendBatch of 1k + flush (rec/s)",
        { name: "bulk-tswal-batch", units, run: (path) => walBulkAppendBatch(path, BULK_RECORDS, BULK_BATCH) },
      ],
    ],
  );
}

/**
 * Measures a workload's tswal variants and its peers together (the runs
 * interleaved) and compares each variant with every peer that ran.
 */
async function workloadRows(bench: Bench, peers: readonly Peer[], variants: readonly Variant[]): Promise<Row[]> {
  const ran = peers.flatMap(([label, measurement]) => (measurement === null ? [] : [{ label, measurement }]));
  const rates = await bench.rates([...variants.map(([, measurement]) => measurement), ...ran.map(({ measurement }) => measurement)]);
  const peerRates = ran.map(({ label }, index) => [label, rates[variants.length + index]!] as const);
  return variants.flatMap(([label], index) => compare(label, rates[index]!, peerRates));
}

/**
 * Workload 4: unsynced appends of small byte values, made two ways (see
 * records.ts): views carved from 64 KiB slabs, as a pooled allocator or a
 * decoded frame gives them, and an array of its own per value, which on V8
 * costs more than the append.
 */
async function bytes(bench: Bench): Promise<Row[]> {
  const units = BYTE_RECORDS;
  const makers = [
    ["slab", "views of a slab", () => slabByteRecords()],
    ["fresh", "an array each", () => byteRecord],
  ] as const;
  const rows: Row[] = [];
  for (const [name, label, maker] of makers) {
    rows.push(
      ...(await workloadRows(
        bench,
        [["raw 1 MiB writes of the same", { name: `bytes-raw-${name}`, units, run: (path) => rawBytesWrite(path, BYTE_RECORDS, maker()) }]],
        [
          [
            `1M × 100 B unsynced appends, ${label} (rec/s)`,
            { name: `bytes-tswal-${name}`, units, run: (path) => walBytes(path, BYTE_RECORDS, maker()) },
          ],
        ],
      )),
    );
  }
  return rows;
}

/** Workload 5: opening the bulk log and a log of one-record batches. */
async function openLogs(bench: Bench): Promise<Row[]> {
  const oneRecordLog = bench.firstRun("open-fixture-one-record-batches");
  await mkdir(dirname(oneRecordLog), { recursive: true });
  await writeOneRecordBatches(oneRecordLog, ONE_RECORD_BATCHES);
  const logs = [
    ["batches of 1k", bench.firstRun("bulk-tswal")],
    ["1-record batches", oneRecordLog],
  ] as const;
  const rows: Row[] = [];
  for (const [shape, path] of logs) {
    const units = (await stat(path)).size / 1e6;
    const warm = await workloadRows(
      bench,
      [["raw read, 1 MiB chunks", { name: "open-raw", units, run: () => rawRead(path) }]],
      [[`open, ${shape}, ${units.toFixed(0)} MB (MB/s)`, { name: "open-tswal", units, run: () => walOpen(path) }]],
    );
    const fresh: number[] = [];
    for (let run = 0; run < bench.runs; run++) fresh.push(await openInFreshProcess(path));
    rows.push(...warm, ...compare(`open, ${shape}, in a fresh process (MB/s)`, median(fresh), warm.map((row) => [row.peer, row.peerValue] as const)));
  }
  return rows;
}

/** Workload 6: reading the bulk records back, values parsed. */
async function readAll(bench: Bench): Promise<Row[]> {
  const { peers, firstRun } = bench;
  const sqlite = peers.sqlite;
  const reading = (name: string, read: () => Promise<number>): Measurement => ({
    name: `read-${name}`,
    units: BULK_RECORDS,
    run: async () => expectAllRecords(await read()),
  });
  return workloadRows(
    bench,
    [
      ["better-sqlite3 select * + parse", sqlite && reading("sqlite", () => sqlite.readAll(firstRun("bulk-sqlite")))],
      ["JSONL readFile + parse", reading("jsonl", () => jsonlReadAll(firstRun("bulk-jsonl")))],
    ],
    [["read all, parsed (rec/s)", reading("tswal", () => walReadAll(firstRun("bulk-tswal")))]],
  );
}

/** Throws unless a read-back found all {@link BULK_RECORDS} records (a rate over fewer would mislead). */
function expectAllRecords(count: number): void {
  if (count !== BULK_RECORDS) throw new Error(`read back ${count} records, expected ${BULK_RECORDS}`);
}

/** Prints the `--big` figures. */
function printBig(big: BigOpen): void {
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
  const ratio = (big.openRate / big.rawRate).toFixed(2);
  console.log(
    `\n--big: open of a ${mb(big.bytes)} log: ${big.openRate.toFixed(0)} MB/s; raw read ${big.rawRate.toFixed(0)} MB/s; ratio ${ratio}×`,
  );
  const growth = mb(big.rssPeak - big.rssBefore);
  console.log(`       RSS ${mb(big.rssBefore)} before, ${mb(big.rssPeak)} peak (+${growth}), ${mb(big.rssAfter)} after`);
}

/** Reads `--runs N` (default 1), `--warmup-ms N` (default 1,000) and `--big` (also on when `BENCH_BIG` is `1`). */
function parseOptions(args: readonly string[], bigVariable: string | undefined): { runs: number; warmupMs: number; big: boolean } {
  let runs = 1;
  let warmupMs = 1_000;
  let big = bigVariable === "1";
  const count = (at: number, min: number): number | null => {
    const value = Number(args[at + 1]);
    return args[at + 1] !== undefined && Number.isSafeInteger(value) && value >= min ? value : null;
  };
  for (let i = 0; i < args.length; i++) {
    const runsGiven = args[i] === "--runs" ? count(i, 1) : null;
    const warmupGiven = args[i] === "--warmup-ms" ? count(i, 0) : null;
    if (args[i] === "--big") {
      big = true;
    } else if (runsGiven !== null) {
      runs = runsGiven;
      i++;
    } else if (warmupGiven !== null) {
      warmupMs = warmupGiven;
      i++;
    } else {
      throw new Error(`usage: bench [--runs N] [--warmup-ms N] [--big]; not understood: ${args.slice(i).join(" ")}`);
    }
  }
  return { runs, warmupMs, big };
}
