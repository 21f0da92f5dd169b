/**
 * The shipper: publishes a `Wal` directory's durable records to a JetStream
 * stream, each exactly once in the stream (within its deduplication window),
 * in order, surviving its own SIGKILL and server restarts.
 *
 * How: it follows the directory as a lock-free reader with `durable: true`,
 * so nothing a crash could take back is ever published. On every (re)start
 * it asks the stream for the subject's last message and resumes after the
 * sequence that message carries: the stream is the cursor, so a kill at any
 * moment loses nothing and repeats nothing. Each message carries
 * `Nats-Msg-Id` = log id + sequence (a republished record is dropped as a
 * duplicate) and expects the previous record's id as the stream's last
 * (`Nats-Expected-Last-Msg-Id`): when one publish is lost in a reconnect,
 * every later one is refused instead of being stored out of order, and the
 * shipper starts over from the stream's last message.
 *
 * @module
 */

import { jetstream, type JetStreamClient, type JetStreamManager, type PubAck } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { WalError } from "../src/errors.ts";
import { bytesCodec } from "../src/format/codec.ts";
import type { FileSystem } from "../src/fs.ts";
import { Wal } from "../src/segmented/wal.ts";
import { connectTo, type ConnectionOptions, ensureStream, managerOf, pause } from "./connection.ts";
import { ForeignLogError, type RecordsLost, RecordsLostError } from "./errors.ts";
import { identityOf, LOG_HEADER, messageId, SEQUENCE_HEADER, TIME_HEADER } from "./headers.ts";
import { frontOf, logIdOf } from "./log-id.ts";

/** Options of {@link shipToJetStream}. */
export interface ShipOptions extends ConnectionOptions {
  /** The `Wal` directory to ship (read without its lock; the writer may be another process). */
  readonly dir: string;
  /** The subject to publish on: one subject per log. */
  readonly subject: string;
  /** The stream; created for `subject` when missing. Default: the stream that stores `subject` (which must exist). */
  readonly stream?: string;
  /** Publishes awaiting their acknowledgement at most; default 256. */
  readonly maxInFlight?: number;
  /** Shipping ends, quietly, when this aborts. */
  readonly signal?: AbortSignal;
  /** How often to look for new records, ms; default 20. */
  readonly pollMs?: number;
  /** Wait before starting over after a failure (server down, a publish refused), ms; default 250. */
  readonly retryMs?: number;
  /** How long a publish or API call waits for the server, ms; default 5,000. */
  readonly timeoutMs?: number;
  /** Deduplication window of a stream this creates, ms; default 2 minutes (JetStream's default). */
  readonly duplicateWindowMs?: number;
  /** Filesystem adapter; default: the running runtime's. */
  readonly fs?: FileSystem;
  /** Told of records retention removed before they were shipped; shipping goes on. Without it, shipping stops with `RecordsLostError`. */
  readonly onLoss?: (lost: RecordsLost) => void;
  /** Told of each failure shipping starts over after (these are retried, not thrown). */
  readonly onRetry?: (error: unknown) => void;
  /** Told of each record the stream acknowledged (in order). */
  readonly onShipped?: (sequence: number, duplicate: boolean) => void;
}

/** What a shipping run did. */
export interface ShipReport {
  /** Records the stream acknowledged as stored. */
  shipped: number;
  /** Records the stream acknowledged as duplicates (already stored). */
  duplicates: number;
  /** Times shipping started over after a failure. */
  retries: number;
  /** The last sequence acknowledged, or -1. */
  lastSequence: number;
}

/** The checked settings of a run. */
interface Settings {
  readonly dir: string;
  readonly subject: string;
  readonly maxInFlight: number;
  readonly pollMs: number;
  readonly timeoutMs: number;
  readonly options: ShipOptions;
}

/**
 * Ships the durable records of the `Wal` in `options.dir` to JetStream until
 * `options.signal` aborts; resolves with what it did. Failures of the
 * server or the connection are retried (after `retryMs`), never fatal.
 *
 * @throws {RecordsLostError} records were removed before they were shipped and no `onLoss` was given
 * @throws {ForeignLogError} the subject's last message came from another log
 * @throws {WalRewoundError} a `truncateBack` removed records the stream already holds
 * @throws {WalError} the log is damaged or cannot be read
 */
export async function shipToJetStream(options: ShipOptions): Promise<ShipReport> {
  const settings: Settings = {
    dir: options.dir,
    subject: options.subject,
    maxInFlight: positive("maxInFlight", options.maxInFlight ?? 256),
    pollMs: positive("pollMs", options.pollMs ?? 20),
    timeoutMs: positive("timeoutMs", options.timeoutMs ?? 5_000),
    options,
  };
  const report: ShipReport = { shipped: 0, duplicates: 0, retries: 0, lastSequence: -1 };
  const connected = await connectTo(options);
  try {
    const logId = await logIdOf(settings.dir, options.fs, settings.pollMs, options.signal);
    while (logId !== null && options.signal?.aborted !== true) {
      try {
        await shipOnce(connected.connection, settings, logId, report);
      } catch (error) {
        if (error instanceof WalError) throw error;
        report.retries++;
        options.onRetry?.(error);
        await pause(options.retryMs ?? 250, options.signal);
      }
    }
    return report;
  } finally {
    await connected.release();
  }
}

/** One pass: resume from the stream's last message, ship until a failure or the signal; a failure is thrown. */
async function shipOnce(connection: NatsConnection, settings: Settings, logId: string, report: ShipReport): Promise<void> {
  const manager = await managerOf(connection, settings.timeoutMs);
  const stream = await streamFor(manager, settings);
  const shippedUpTo = await lastShipped(manager, stream, settings.subject, logId);
  // The pass's first publish expects nothing: the stream's last message was just read (and a server may not keep its last id across a restart).
  const publisher = new Publisher(jetstream(connection, { timeout: settings.timeoutMs }), settings, stream, logId, undefined, report);
  const stop = new AbortController();
  const outer = settings.options.signal;
  const onAbort = (): void => stop.abort();
  outer?.addEventListener("abort", onAbort, { once: true });
  publisher.onFailure = onAbort;
  try {
    let next = shippedUpTo + 1;
    // With nothing shipped yet, shipping starts at the log's front: what retention removed before is not this shipper's loss.
    let shipping = shippedUpTo >= 0;
    const records = Wal.follow<Uint8Array>(settings.dir, { durable: true, from: next, codec: bytesCodec, signal: stop.signal, pollMs: settings.pollMs, ...fsOf(settings) });
    for await (const record of records) {
      if (shipping && record.sequence > next) await checkGap(settings, next, record.sequence);
      shipping = true;
      await publisher.publish(record.sequence, record.value, record.timeMs);
      next = record.sequence + 1;
    }
  } finally {
    outer?.removeEventListener("abort", onAbort);
    stop.abort();
    await publisher.drain();
  }
}

/** The stream to publish to: the named one (created if missing), or the one storing the subject. */
async function streamFor(manager: JetStreamManager, settings: Settings): Promise<string> {
  const name = settings.options.stream;
  if (name === undefined) return manager.streams.find(settings.subject);
  await ensureStream(manager, name, settings.subject, settings.options.duplicateWindowMs ?? 120_000);
  return name;
}

/** The last record of this log the stream holds on `subject` (sequence -1 when none). */
async function lastShipped(manager: JetStreamManager, stream: string, subject: string, logId: string): Promise<number> {
  const last = await manager.streams.getMessage(stream, { last_by_subj: subject });
  if (last === null) return -1;
  const identity = identityOf(last.header, last.seq);
  if (identity.logId !== logId) throw new ForeignLogError(subject, logId, identity.logId);
  return identity.sequence;
}

/**
 * A jump from `next` to `found`: explicit sequences may leave gaps, but if
 * the log's front passed `next`, retention removed records never shipped.
 */
async function checkGap(settings: Settings, next: number, found: number): Promise<void> {
  const front = await frontOf(settings.dir, settings.options.fs);
  if (front <= next) return;
  const lost: RecordsLost = { dir: settings.dir, from: next, to: Math.min(front, found) - 1 };
  if (settings.options.onLoss === undefined) throw new RecordsLostError(lost);
  settings.options.onLoss(lost);
}

/** Publishes in order with at most `maxInFlight` unacknowledged; remembers the first failure. */
class Publisher {
  readonly #client: JetStreamClient;
  readonly #settings: Settings;
  readonly #stream: string;
  readonly #logId: string;
  readonly #report: ShipReport;
  readonly #inFlight: Promise<void>[] = [];
  #lastMsgId: string | undefined;
  #failure: unknown = null;
  /** Called at the first failure (to stop reading). */
  onFailure: () => void = () => undefined;

  constructor(client: JetStreamClient, settings: Settings, stream: string, logId: string, lastMsgId: string | undefined, report: ShipReport) {
    this.#client = client;
    this.#settings = settings;
    this.#stream = stream;
    this.#logId = logId;
    this.#lastMsgId = lastMsgId;
    this.#report = report;
  }

  /** Publishes one record, first waiting for the oldest publish while `maxInFlight` are unacknowledged. */
  async publish(sequence: number, value: Uint8Array, timeMs: number): Promise<void> {
    if (this.#failure !== null) return;
    while (this.#inFlight.length >= this.#settings.maxInFlight) await this.#inFlight.shift();
    const msgID = messageId(this.#logId, sequence);
    const header = headers();
    header.set(LOG_HEADER, this.#logId);
    header.set(SEQUENCE_HEADER, String(sequence));
    header.set(TIME_HEADER, String(timeMs));
    const expect = this.#lastMsgId === undefined ? { streamName: this.#stream } : { streamName: this.#stream, lastMsgID: this.#lastMsgId };
    const ack = this.#client.publish(this.#settings.subject, value, { msgID, headers: header, expect, timeout: this.#settings.timeoutMs, retries: 0 });
    this.#lastMsgId = msgID;
    this.#inFlight.push(ack.then((acked: PubAck) => this.#acked(sequence, acked), (error: unknown) => this.#failed(error)));
  }

  #acked(sequence: number, ack: PubAck): void {
    if (this.#failure !== null) return; // after a failure, later acks are not counted in order
    if (ack.duplicate) this.#report.duplicates++;
    else this.#report.shipped++;
    this.#report.lastSequence = sequence;
    this.#settings.options.onShipped?.(sequence, ack.duplicate);
  }

  #failed(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.onFailure();
  }

  /** Waits for every publish in flight; throws the first failure, if any. */
  async drain(): Promise<void> {
    while (this.#inFlight.length > 0) await this.#inFlight.shift();
    if (this.#failure !== null) throw this.#failure;
  }
}

function fsOf(settings: Settings): { fs?: FileSystem } {
  return settings.options.fs === undefined ? {} : { fs: settings.options.fs };
}

/** A positive safe integer option. */
function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new WalError("WAL_ARGUMENT", `${name} must be a positive integer, not ${String(value)}`);
  return value;
}
