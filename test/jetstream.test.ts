/**
 * Shipping a `Wal` to NATS JetStream and rebuilding a replica from it,
 * against a real nats-server on loopback (the Debian package `nats-server`;
 * without it these tests skip and say why).
 *
 * The main test writes a few thousand records into a log that rotates every
 * few dozen, while a shipper child process (same runtime as the test) ships
 * them; it SIGKILLs the shipper mid-way and restarts it, and restarts the
 * server once. Then the stream must hold every record exactly once, in
 * order, and a replica built from it must equal the source.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { bytesCodec, Wal } from "../mod.ts";
import { identityOf } from "../jetstream/headers.ts";
import { type RecordsLost, type ReplicaReport, replicateFromJetStream, shipToJetStream } from "../jetstream/mod.ts";
import { runtimeName } from "../adapters/auto.ts";
import { Child, childScript, killAll, ROOT, type Runtime } from "./children.ts";
import { useTempDir } from "./helpers.ts";
import { findNatsServer, NatsServer } from "../scripts/natsd.ts";

const binary = findNatsServer();
if (binary.path === null) console.log(`test/jetstream.test.ts skipped: ${binary.reason}`);

const RECORDS = 3_000;
const FLUSH_EVERY = 25;

let server: NatsServer;
let connection: NatsConnection;
let store = "";

afterAll(async () => {
  await killAll();
  await connection?.close();
  await server?.stop();
  if (store !== "") await rm(store, { recursive: true, force: true });
});

/** The sequences the stream holds on `subject`, in stream order, and how many messages it holds in all. */
async function streamContents(stream: string, subject: string): Promise<{ sequences: number[]; messages: number }> {
  const manager = await jetstreamManager(connection);
  const messages = (await manager.streams.info(stream)).state.messages;
  const sequences: number[] = [];
  if (messages === 0) return { sequences, messages };
  const consumer = await jetstream(connection).consumers.get(stream, { filter_subjects: subject });
  const iterator = await consumer.consume({ max_messages: 500 });
  for await (const message of iterator) {
    sequences.push(identityOf(message.headers, message.seq).sequence);
    if (message.info.pending === 0) break;
  }
  return { sequences, messages };
}

/** Every record of the log in `dir`, bytes as they are stored. */
async function recordsOf(dir: string): Promise<{ sequence: number; value: Uint8Array }[]> {
  const wal = await Wal.open<Uint8Array>(dir, { codec: bytesCodec, create: false });
  try {
    const records = [];
    for await (const { sequence, value } of wal.read()) records.push({ sequence, value });
    return records;
  } finally {
    await wal.close();
  }
}

/** Appends records `from` … `to` (values padded so segments fill), flushing every `FLUSH_EVERY`. */
async function appendRange(wal: Wal, from: number, to: number): Promise<void> {
  for (let sequence = from; sequence <= to; sequence++) {
    await wal.append({ record: sequence, pad: "x".repeat(sequence % 64) });
    if (sequence % FLUSH_EVERY === 0) await wal.flush();
  }
  await wal.flush();
}

/** Waits until `shipper` reports sequence `sequence` shipped. */
async function shippedUpTo(shipper: Child, sequence: number): Promise<void> {
  await shipper.waitForLine((line) => line.startsWith("shipped ") && Number(line.slice(8)) >= sequence, 45_000);
}

function startReplica(dir: string, subject: string, mode: "follow" | "once", stallAt?: number): Child {
  const args = [dir, server.url, subject, mode, ...(stallAt === undefined ? [] : [String(stallAt)])];
  return Child.spawn(runtimeName() as Runtime, childScript("replica.ts"), args);
}

function startShipper(dir: string, subject: string, stream: string): Child {
  return Child.spawn(runtimeName() as Runtime, childScript("shipper.ts"), [dir, server.url, subject, stream]);
}

describe.skipIf(binary.path === null)("JetStream shipper and replica", () => {
  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), "tswal-nats-"));
    server = await NatsServer.start(binary.path!, store);
    connection = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  }, 30_000);

  test("each committed record lands once, in order, through rotation, a shipper SIGKILL and a server restart; the replica equals the source", async () => {
    const root = await useTempDir();
    const source = `${root}/source`;
    const subject = "tswal.main";
    const stream = "MAIN";
    const wal = await Wal.open(source, { segmentBytes: 8_192 });
    await appendRange(wal, 1, 1_000);
    let shipper = startShipper(source, subject, stream);
    await shippedUpTo(shipper, 500);
    shipper.kill(); // mid-way: records 501 … 1,000 are durable, some in flight
    expect((await shipper.exited).signal).toBe("SIGKILL");
    await appendRange(wal, 1_001, 2_000);
    shipper = startShipper(source, subject, stream);
    await shippedUpTo(shipper, 1_500);
    await Promise.all([server.restart(), appendRange(wal, 2_001, RECORDS)]); // the server goes away under the shipper's publishes
    await wal.rotate(); // the newest batch is durable for a reader in another process once a rotation seals it
    await shippedUpTo(shipper, RECORDS);
    shipper.kill();
    await shipper.exited;
    expect(wal.stats().segments).toBeGreaterThan(20);
    await wal.close();

    const { sequences, messages } = await streamContents(stream, subject);
    expect(messages).toBe(RECORDS);
    expect(sequences).toEqual(Array.from({ length: RECORDS }, (_, index) => index + 1));

    // A replica, stopped part-way (as a kill would) and run again: the same records, sequences and bytes.
    const replica = `${root}/replica`;
    const stop = new AbortController();
    const first = await replicateFromJetStream({
      dir: replica,
      connection,
      subject,
      signal: stop.signal,
      onApplied: (sequence) => sequence === 1_200 && stop.abort(),
    });
    expect(first.currentSequence).toBeGreaterThanOrEqual(1_200);
    expect(first.currentSequence).toBeLessThan(RECORDS);
    const second = await replicateFromJetStream({ dir: replica, connection, subject, follow: false });
    expect(second.applied).toBe(RECORDS - first.currentSequence);
    expect(second.currentSequence).toBe(RECORDS);
    const third = await replicateFromJetStream({ dir: replica, connection, subject, follow: false });
    expect(third.applied).toBe(0); // idempotent: everything skipped
    expect(await recordsOf(replica)).toEqual(await recordsOf(source));

    // A replica of the replica (shipped under its own log id): the same records again. Its newest batch
    // is durable for the shipper (another reader of the directory) only once a rotation seals it.
    const sealing = await Wal.open(replica);
    await sealing.rotate();
    await sealing.close();
    const done = new AbortController();
    const shipped = await shipToJetStream({ dir: replica, connection, subject: "tswal.again", stream: "AGAIN", pollMs: 5, signal: done.signal, onShipped: (sequence) => sequence === RECORDS && done.abort() });
    expect(shipped).toMatchObject({ shipped: RECORDS, duplicates: 0, lastSequence: RECORDS });
    await replicateFromJetStream({ dir: `${root}/replica-of-replica`, connection, subject: "tswal.again", follow: false });
    expect(await recordsOf(`${root}/replica-of-replica`)).toEqual(await recordsOf(source));
  }, 60_000);

  test("a replica SIGKILLed mid-way resumes near where it stopped, not from the stream's start, and equals the source", async () => {
    const root = await useTempDir();
    const source = `${root}/source`;
    const subject = "tswal.resume";
    const wal = await Wal.open(source, { segmentBytes: 65_536 });
    await appendRange(wal, 1, RECORDS);
    await wal.rotate();
    await wal.close();
    const shipping = new AbortController();
    await shipToJetStream({ dir: source, connection, subject, stream: "RESUME", pollMs: 5, signal: shipping.signal, onShipped: (sequence) => sequence === RECORDS && shipping.abort() });
    expect((await streamContents("RESUME", subject)).messages).toBe(RECORDS);

    // A replica process stalls after applying record 1,750 (some of it unflushed) and is SIGKILLed there.
    const replica = `${root}/replica`;
    const first = startReplica(replica, subject, "follow", 1_750);
    await first.waitForLine((line) => line === "stalled 1750", 45_000);
    first.kill();
    expect((await first.exited).signal).toBe("SIGKILL");
    const held = (await recordsOf(replica)).map(({ sequence }) => sequence);
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(1_750);
    expect(held).toEqual(Array.from({ length: held.length }, (_, index) => index + 1));

    // Restarted, it reads only what it lacks: it starts at the first message above its sequence.
    const second = startReplica(replica, subject, "once");
    const done = await second.waitForLine((line) => line.startsWith("done ") || line.startsWith("error "), 45_000);
    expect(done.startsWith("done "), second.describe()).toBe(true);
    expect(await second.exited).toEqual({ code: 0, signal: null });
    const report = JSON.parse(done.slice(5)) as ReplicaReport;
    expect(report).toMatchObject({ applied: RECORDS - held.length, currentSequence: RECORDS });
    expect(report.received).toBeLessThan(RECORDS);
    expect(report.received).toBe(RECORDS - held.length); // not a message held already was read again
    expect(await recordsOf(replica)).toEqual(await recordsOf(source)); // sequences and values: none missing, none twice
  }, 60_000);

  test("records removed by retention before they were shipped are reported, not skipped silently", async () => {
    const root = await useTempDir();
    const source = `${root}/source`;
    const subject = "tswal.loss";
    const wal = await Wal.open(source, { segmentBytes: 1_024 });
    await appendRange(wal, 1, 10);
    await wal.rotate();
    const shipOnce = async (onLoss?: (lost: RecordsLost) => void): Promise<unknown> => {
      const stop = new AbortController();
      return shipToJetStream({
        dir: source,
        connection,
        subject,
        stream: "LOSS",
        pollMs: 5,
        signal: stop.signal,
        onShipped: (sequence) => sequence === wal.currentSequence && stop.abort(),
        ...(onLoss === undefined ? {} : { onLoss }),
      }).catch((error: unknown) => error);
    };
    expect(await shipOnce()).toMatchObject({ shipped: 10, lastSequence: 10 });
    await appendRange(wal, 11, 20);
    await wal.rotate();
    await wal.truncateFront(16); // 11 … 15 go before the shipper saw them
    const error = await shipOnce();
    expect(error).toMatchObject({ code: "SHIP_RECORDS_LOST", lost: { from: 11, to: 15 } });
    const reported: RecordsLost[] = [];
    await shipOnce((lost) => reported.push(lost));
    expect(reported).toEqual([{ dir: source, from: 11, to: 15 }]);
    expect((await streamContents("LOSS", subject)).sequences).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 19, 20]);
    await wal.close();
  });

  test("tswal ship ships until SIGINT, then prints what it did", async () => {
    const source = `${await useTempDir()}/source`;
    const wal = await Wal.open(source);
    await appendRange(wal, 1, 50);
    await wal.rotate();
    await wal.close();
    const cli = Child.spawn(runtimeName() as Runtime, join(ROOT, "cli", "main.ts"), ["ship", source, "--nats", server.url, "--subject", "tswal.cli", "--stream", "CLI", "--poll-ms", "5"]);
    let held = 0;
    for (let attempt = 0; attempt < 2_000 && held < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      held = await jetstreamManager(connection).then((manager) => manager.streams.info("CLI")).then((info) => info.state.messages, () => 0);
    }
    expect(held).toBe(50);
    process.kill(cli.pid, "SIGINT");
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.takeLines()).toContain("shipped 50 records (0 duplicates dropped, 0 retries), last sequence 50");
    expect((await streamContents("CLI", "tswal.cli")).sequences).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
  });
});
