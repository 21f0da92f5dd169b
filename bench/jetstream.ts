/**
 * Shipping throughput next to raw JetStream publishing, in the same run on
 * the same nats-server (started here on loopback with a temporary store):
 *
 * - raw: `js.publish` of N 100-byte messages with a `Nats-Msg-Id` each,
 *   at most 256 unacknowledged (what the shipper does, minus the log);
 * - ship: `shipToJetStream` of a `Wal` holding N such records (durable,
 *   sealed), from start to the last acknowledgement.
 *
 * `npm run bench` runs it after the other workloads (bench.ts).
 *
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { shipToJetStream } from "../jetstream/mod.ts";
import { bytesCodec, Wal } from "../mod.ts";
import { findNatsServer, NatsServer } from "../scripts/natsd.ts";

const RECORDS = 20_000;
const WINDOW = 256;

/** Publishes `RECORDS` messages pipelined `WINDOW` deep; resolves with messages per second. */
async function rawPublish(url: string): Promise<number> {
  const connection = await connect({ servers: url });
  await (await jetstreamManager(connection)).streams.add({ name: "RAW", subjects: ["bench.raw"] });
  const client = jetstream(connection);
  const payload = new Uint8Array(100).fill(120);
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let index = 1; index <= RECORDS; index++) {
    if (inFlight.length >= WINDOW) await inFlight.shift();
    inFlight.push(client.publish("bench.raw", payload, { msgID: `raw:${index}` }));
  }
  await Promise.all(inFlight);
  const rate = RECORDS / ((performance.now() - started) / 1000);
  await connection.close();
  return rate;
}

/** Ships a `Wal` of `RECORDS` records; resolves with records per second. */
async function ship(url: string, dir: string): Promise<number> {
  const wal = await Wal.open<Uint8Array>(dir, { codec: bytesCodec });
  const payload = new Uint8Array(100).fill(120);
  for (let index = 1; index <= RECORDS; index++) {
    await wal.append(payload);
    if (index % 100 === 0) await wal.flush();
  }
  await wal.rotate(); // seal: every record durable for a reader in another process
  await wal.close();
  const stop = new AbortController();
  const started = performance.now();
  await shipToJetStream({
    dir,
    servers: url,
    subject: "bench.ship",
    stream: "SHIP",
    maxInFlight: WINDOW,
    signal: stop.signal,
    onShipped: (sequence) => sequence === RECORDS && stop.abort(),
  });
  return RECORDS / ((performance.now() - started) / 1000);
}

/**
 * Runs both on a nats-server started on loopback and returns the lines to
 * print, or one line saying why it was skipped (no nats-server here).
 */
export async function jetstreamBench(): Promise<string[]> {
  const binary = findNatsServer();
  if (binary.path === null) return [`JetStream shipping: skipped, ${binary.reason}`];
  const root = await mkdtemp(join(tmpdir(), "tswal-bench-nats-"));
  const server = await NatsServer.start(binary.path, join(root, "store"));
  try {
    const raw = await rawPublish(server.url);
    const shipped = await ship(server.url, join(root, "log"));
    const format = (rate: number): string => Math.round(rate).toLocaleString("en-US");
    return [
      `JetStream shipping: ${RECORDS} records of 100 bytes, ${WINDOW} in flight, nats-server on loopback, file storage`,
      `  raw js.publish with msgID: ${format(raw)} msg/s`,
      `  shipToJetStream from a Wal: ${format(shipped)} rec/s (${(shipped / raw).toFixed(2)}x raw)`,
    ];
  } finally {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}
