/**
 * `npm run bench`: tswal's throughput next to the stores a user would pick
 * instead, measured in one run on the same disk (a temporary directory),
 * printed as `workload | tswal | peer | peer value | ratio` with ratio =
 * tswal / peer. Speed is printed, never asserted: machines are noisy.
 *
 * Every system stores the same value (records.ts: an order with a 256-byte
 * note) except in the bytes workload. Workloads:
 * 1. serial: `append` + `flush` per record (and plain appends under
 *    `sync: "always"`), against raw `write` + `fdatasync`, a JSONL file (one
 *    write + fdatasync per record) and better-sqlite3 (WAL, `synchronous=FULL`,
 *    one insert per transaction);
 * 2. 64 concurrent callers, each `append` + `flush` (or a plain append under
 *    `sync: "always"`), for 200 rounds, against raw (one write of 64 records +
 *    one `fdatasync`), lmdb (64 concurrent puts) and classic-level (64
 *    concurrent `{ sync: true }` puts);
 * 3. bulk: 200,000 records flushed per 1,000, appends awaited one by one, not
 *    awaited, and 1,000 per `appendBatch`, against JSONL, better-sqlite3 and
 *    lmdb, each committing per 1,000;
 * 4. 1,000,000 unsynced 100-byte appends (bytes codec), one flush at the end,
 *    against the same bytes copied into one buffer written in 1 MiB calls;
 * 5. open (validating every batch's checksum) of the bulk log and of a log of
 *    50,000 one-record batches (written with fsync turned off, see
 *    `writeOneRecordBatches`), against reading the file in 1 MiB chunks;
 * 6. reading the bulk log back, values parsed, against better-sqlite3
 *    `select *` + `JSON.parse` and JSONL `readFile` + `JSON.parse`;
 * 7. shipping a `Wal` to NATS JetStream against raw JetStream publishing, when
 *    a nats-server is installed (jetstream.ts; skipped with a note otherwise);
 * 8. `--big` (or `BENCH_BIG=1`), not in the default run: opening a 1 GiB log,
 *    in MB/s and resident memory growth (big.ts).
 * `--runs N` repeats every measurement N times and prints medians.
 *
 * Runs on whichever runtime executes it: `npm run bench [-- --runs 3 --big]`
 * (Node), `bun bench/bench.ts`, `deno run -A bench/bench.ts`. Peers with
 * native parts that a runtime cannot load are skipped with a note (peers.ts).
 */

import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { runtimeFileSystem, runtimeName } from "../adapters/auto.ts";
import { type BigOpen, bigOpen } from "./big.ts";
import { jsonlAppends, jsonlReadAll, rawAppends, rawBytesWrite, rawRead } from "./files.ts";
import { jetstreamBench } from "./jetstream.ts";
import { compare, medianRate, type PeerRate, printTable, type Row, runPath } from "./measure.ts";
import { loadPeers, type Peers } from "./peers.ts";
import { jsonLines, order } from "./records.ts";
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

/** What every workload gets: the peers, a median rate over the runs, and where run 0 of a measurement wrote. */
interface Bench {
  readonly peers: Peers;
  rate(name: string, units: number, run: (path: string) => Promise<unknown>): Promise<number>;
  firstRun(name: string): string;
}

const options = parseOptions(process.argv.slice(2), process.env.BENCH_BIG);
const dir = await mkdtemp(join(tmpdir(), "tswal-bench-"));
try {
  const runtime = runtimeName();
  console.log(`runtime: ${runtime} ${process.versions[runtime] ?? "?"}; ${options.runs} run(s) per figure, median printed`);
  const peers = await loadPeers(dir);
  const bench: Bench = {
    peers,
    rate: (name, units, run) => medianRate(dir, options.runs, name, units, run),
    firstRun: (name) => runPath(dir, name, 0),
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
async function serial({ peers, rate }: Bench): Promise<Row[]> {
  const sqlite = peers.sqlite;
  const record = jsonLines([order(0)]);
  const peerRates: PeerRate[] = [
    ["raw write+fdatasync", await rate("serial-raw", SERIAL_RECORDS, (path) => rawAppends(path, record, SERIAL_RECORDS, 1))],
    ["JSONL write+fdatasync", await rate("serial-jsonl", SERIAL_RECORDS, (path) => jsonlAppends(path, SERIAL_RECORDS, 1))],
    [
      "better-sqlite3 txn per insert",
      sqlite && (await rate("serial-sqlite", SERIAL_RECORDS, (path) => sqlite.serial(path, SERIAL_RECORDS))),
    ],
  ];
  return variantRows(rate, SERIAL_RECORDS, peerRates, [
    ["serial-tswal-flush", "serial append+flush (rec/s)", (path) => walSerial(path, SERIAL_RECORDS, "manual")],
    ["serial-tswal-always", 'serial append, sync "always" (rec/s)', (path) => walSerial(path, SERIAL_RECORDS, "always")],
    [
      "serial-tswal-blocking",
      "serial append+flush, blockingSync (rec/s)",
      async (path) => walSerial(path, SERIAL_RECORDS, "manual", await runtimeFileSystem({ blockingSync: true })),
    ],
  ]);
}

/** Workload 2: {@link CALLERS} concurrent durable appends per round. */
async function concurrent({ peers, rate }: Bench): Promise<Row[]> {
  const { lmdb, level } = peers;
  const records = CALLERS * ROUNDS;
  const record = jsonLines([order(0)]);
  const peerRates: PeerRate[] = [
    [`raw write+fdatasync per ${CALLERS}`, await rate("concurrent-raw", records, (path) => rawAppends(path, record, records, CALLERS))],
    [`lmdb ${CALLERS} puts`, lmdb && (await rate("concurrent-lmdb", records, (path) => lmdb.concurrent(path, ROUNDS, CALLERS)))],
    [
      `classic-level ${CALLERS} sync puts`,
      level && (await rate("concurrent-level", records, (path) => level.concurrent(path, ROUNDS, CALLERS))),
    ],
  ];
  return variantRows(rate, records, peerRates, [
    ["concurrent-tswal-flush", `${CALLERS} callers append+flush (rec/s)`, (path) => walConcurrent(path, ROUNDS, CALLERS, "manual")],
    [
      "concurrent-tswal-always",
      `${CALLERS} callers append, sync "always" (rec/s)`,
      (path) => walConcurrent(path, ROUNDS, CALLERS, "always"),
    ],
    [
      "concurrent-tswal-blocking",
      `${CALLERS} callers append+flush, blockingSync (rec/s)`,
      async (path) => walConcurrent(path, ROUNDS, CALLERS, "manual", await runtimeFileSystem({ blockingSync: true })),
    ],
  ]);
}

/** Workload 3: {@link BULK_RECORDS} records committed per {@link BULK_BATCH}; run 0 of some is read back by workloads 5 and 6. */
async function bulk({ peers, rate }: Bench): Promise<Row[]> {
  const { sqlite, lmdb } = peers;
  const peerRates: PeerRate[] = [
    ["JSONL write+fdatasync per 1k", await rate("bulk-jsonl", BULK_RECORDS, (path) => jsonlAppends(path, BULK_RECORDS, BULK_BATCH))],
    [
      "better-sqlite3 txn per 1k",
      sqlite && (await rate("bulk-sqlite", BULK_RECORDS, (path) => sqlite.bulk(path, BULK_RECORDS, BULK_BATCH))),
    ],
    ["lmdb transaction per 1k", lmdb && (await rate("bulk-lmdb", BULK_RECORDS, (path) => lmdb.bulk(path, BULK_RECORDS, BULK_BATCH)))],
  ];
  return variantRows(rate, BULK_RECORDS, peerRates, [
    ["bulk-tswal", "bulk append awaited, flush per 1k (rec/s)", (path) => walBulk(path, BULK_RECORDS, BULK_BATCH)],
    ["bulk-tswal-unawaited", "bulk append unawaited, flush per 1k (rec/s)", (path) => walBulkUnawaited(path, BULK_RECORDS, BULK_BATCH)],
    ["bulk-tswal-batch", "bulk appendBatch of 1k + flush (rec/s)", (path) => walBulkAppendBatch(path, BULK_RECORDS, BULK_BATCH)],
  ]);
}

/** One way of running a workload on tswal: the name its files get, its label in the table, and the run. */
type Variant = readonly [name: string, label: string, run: (path: string) => Promise<void>];

/** Measures each tswal variant of a workload of `units` and compares it with the same peer figures. */
async function variantRows(
  rate: Bench["rate"],
  units: number,
  peerRates: readonly PeerRate[],
  variants: readonly Variant[],
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [name, label, run] of variants) rows.push(...compare(label, await rate(name, units, run), peerRates));
  return rows;
}

/** Workload 4: unsynced appends of small byte values. */
async function bytes({ rate }: Bench): Promise<Row[]> {
  return compare("1M × 100 B unsynced appends (rec/s)", await rate("bytes-tswal", BYTE_RECORDS, (path) => walBytes(path, BYTE_RECORDS)), [
    ["raw 1 MiB writes of the same", await rate("bytes-raw", BYTE_RECORDS, (path) => rawBytesWrite(path, BYTE_RECORDS))],
  ]);
}

/** Workload 5: opening the bulk log and a log of one-record batches. */
async function openLogs({ rate, firstRun }: Bench): Promise<Row[]> {
  const oneRecordLog = firstRun("open-fixture-one-record-batches");
  await writeOneRecordBatches(oneRecordLog, ONE_RECORD_BATCHES);
  const logs = [
    ["batches of 1k", firstRun("bulk-tswal")],
    ["1-record batches", oneRecordLog],
  ] as const;
  const rows: Row[] = [];
  for (const [shape, path] of logs) {
    const megabytes = (await stat(path)).size / 1e6;
    rows.push(
      ...compare(`open, ${shape}, ${megabytes.toFixed(0)} MB (MB/s)`, await rate("open-tswal", megabytes, () => walOpen(path)), [
        ["raw read, 1 MiB chunks", await rate("open-raw", megabytes, () => rawRead(path))],
      ]),
    );
  }
  return rows;
}

/** Workload 6: reading the bulk records back, values parsed. */
async function readAll({ peers, rate, firstRun }: Bench): Promise<Row[]> {
  const sqlite = peers.sqlite;
  const readRate = (name: string, read: () => Promise<number>): Promise<number> =>
    rate(`read-${name}`, BULK_RECORDS, async () => expectAllRecords(await read()));
  return compare("read all, parsed (rec/s)", await readRate("tswal", () => walReadAll(firstRun("bulk-tswal"))), [
    ["better-sqlite3 select * + parse", sqlite && (await readRate("sqlite", () => sqlite.readAll(firstRun("bulk-sqlite"))))],
    ["JSONL readFile + parse", await readRate("jsonl", () => jsonlReadAll(firstRun("bulk-jsonl")))],
  ]);
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

/** Reads `--runs N` (default 1) and `--big` (also on when `BENCH_BIG` is `1`). */
function parseOptions(args: readonly string[], bigVariable: string | undefined): { runs: number; big: boolean } {
  let runs = 1;
  let big = bigVariable === "1";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--big") {
      big = true;
    } else if (args[i] === "--runs" && Number.isSafeInteger(Number(args[i + 1])) && Number(args[i + 1]) >= 1) {
      runs = Number(args[++i]);
    } else {
      throw new Error(`usage: bench [--runs N] [--big]; not understood: ${args.slice(i).join(" ")}`);
    }
  }
  return { runs, big };
}
