/**
 * The replica: consumes a stream the shipper fills into a local `Wal`,
 * keeping every record's sequence and bytes. Resumable and idempotent: a
 * message whose sequence the replica already holds is skipped, so a replica
 * killed at any moment is reopened and run again, and a replica of a replica
 * holds the same records. A restarted replica does not read the stream from
 * its beginning: it binary-searches the stream (message gets by sequence) for
 * the first message whose record sequence is above its own, and consumes from
 * there; the skip of held sequences stays as the safety net.
 *
 * @module
 */

import { type ConsumerMessages, DeliverPolicy, jetstream, type JetStreamManager, type MsgRequest } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { WalError } from "../src/errors.ts";
import { bytesCodec } from "../src/format/codec.ts";
import { Wal, type WalOptions } from "../src/segmented/wal.ts";
import { connectTo, type ConnectionOptions, managerOf, pause } from "./connection.ts";
import { ForeignLogError } from "./errors.ts";
import { identityOf } from "./headers.ts";

/** Options of {@link replicateFromJetStream}. */
export interface ReplicaOptions extends ConnectionOptions {
  /** The replica's `Wal` directory (opened with its writer lock). */
  readonly dir: string;
  /** The subject the shipper publishes on. */
  readonly subject: string;
  /** The stream; default: the one that stores `subject`. */
  readonly stream?: string;
  /** Keep consuming new messages (default true); false returns once the replica holds everything the stream held. */
  readonly follow?: boolean;
  /** Consuming ends, quietly, when this aborts. */
  readonly signal?: AbortSignal;
  /** Options for opening the replica's `Wal` (its codec is always raw bytes). */
  readonly wal?: Omit<WalOptions<Uint8Array>, "codec">;
  /** Messages fetched ahead at most; default 256. */
  readonly maxBuffered?: number;
  /** Wait before starting over after a failure, ms; default 250. */
  readonly retryMs?: number;
  /** Told of each failure consuming starts over after. */
  readonly onRetry?: (error: unknown) => void;
  /** Told of each record appended to the replica. */
  readonly onApplied?: (sequence: number) => void;
  /** Told of each message received from the stream (applied or skipped): its record sequence. */
  readonly onReceived?: (sequence: number) => void;
}

/** What a replication run did. */
export interface ReplicaReport {
  /** Records appended. */
  applied: number;
  /** Messages skipped: their sequence was already in the replica. */
  skipped: number;
  /** Times consuming started over after a failure. */
  retries: number;
  /** Messages received from the stream (applied plus skipped). */
  received: number;
  /** The stream sequence the last pass started consuming at (0: none started). */
  startedAt: number;
  /** The replica's current sequence at the end. */
  currentSequence: number;
}

/**
 * Copies the records on `options.subject` into the `Wal` at `options.dir`,
 * in order, flushing whenever it has caught up (and every `maxBuffered`
 * records while catching up); with `follow` (default)
 * until `options.signal` aborts.
 *
 * @throws {ForeignLogError} the subject holds records of two different logs
 * @throws {BadMessageError} a message lacks the shipper's headers
 * @throws {WalError} the replica's log failed
 */
export async function replicateFromJetStream(options: ReplicaOptions): Promise<ReplicaReport> {
  const report: ReplicaReport = { applied: 0, skipped: 0, retries: 0, received: 0, startedAt: 0, currentSequence: 0 };
  const wal = await Wal.open<Uint8Array>(options.dir, { ...options.wal, codec: bytesCodec });
  const connected = await connectTo(options);
  try {
    const state = { source: undefined as string | undefined, done: false };
    while (!state.done && options.signal?.aborted !== true) {
      try {
        state.done = await consumeOnce(connected.connection, options, wal, report, state);
      } catch (error) {
        if (error instanceof WalError) throw error;
        report.retries++;
        options.onRetry?.(error);
        await pause(options.retryMs ?? 250, options.signal);
      }
    }
    await wal.flush();
    report.currentSequence = wal.currentSequence;
    return report;
  } finally {
    await connected.release().catch(() => undefined);
    await wal.close();
  }
}

/** One pass over the stream from the first message the replica lacks; true when done (not following and caught up). */
async function consumeOnce(
  connection: NatsConnection,
  options: ReplicaOptions,
  wal: Wal<Uint8Array>,
  report: ReplicaReport,
  state: { source: string | undefined },
): Promise<boolean> {
  const manager = await managerOf(connection, 5_000);
  const stream = options.stream ?? (await manager.streams.find(options.subject));
  const start = await firstMissing(manager, stream, options.subject, wal.currentSequence);
  report.startedAt = start;
  const consumer = await jetstream(connection).consumers.get(stream, {
    filter_subjects: options.subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: start,
  });
  if (options.follow === false && (await consumer.info()).num_pending === 0) return true;
  const messages = await consumer.consume({ max_messages: options.maxBuffered ?? 256 });
  const stop = (): void => void messages.stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    return await apply(messages, options, wal, report, state);
  } finally {
    options.signal?.removeEventListener("abort", stop);
    await messages.close().catch(() => undefined);
  }
}

/** Appends each message's record unless the replica holds its sequence; true once caught up when not following. */
async function apply(
  messages: ConsumerMessages,
  options: ReplicaOptions,
  wal: Wal<Uint8Array>,
  report: ReplicaReport,
  state: { source: string | undefined },
): Promise<boolean> {
  for await (const message of messages) {
    const identity = identityOf(message.headers, message.seq);
    report.received++;
    options.onReceived?.(identity.sequence);
    state.source ??= identity.logId;
    if (identity.logId !== state.source) throw new ForeignLogError(options.subject, state.source, identity.logId);
    let flush = message.info.pending === 0;
    if (identity.sequence <= wal.currentSequence) report.skipped++;
    else {
      await wal.append(message.data, { sequence: identity.sequence });
      report.applied++;
      options.onApplied?.(identity.sequence);
      // A long catch-up keeps what it applied if it is killed, so a restart resumes near there.
      flush ||= report.applied % (options.maxBuffered ?? 256) === 0;
    }
    if (flush) await wal.flush();
    if (message.info.pending === 0 && options.follow === false) return true;
  }
  return false;
}

/**
 * The stream sequence of the first message on `subject` whose record
 * sequence is above `held` (one past the stream's last when none is). The
 * shipper publishes one log per subject in order, so record sequences grow
 * with stream sequences: a binary search over the stream's range with
 * "first message on the subject at or after" gets, O(log n) requests.
 */
async function firstMissing(manager: JetStreamManager, stream: string, subject: string, held: number): Promise<number> {
  const { first_seq: first, last_seq: last } = (await manager.streams.info(stream)).state;
  let low = Math.max(first, 1);
  let high = last + 1; // the answer lies in [low, high]
  if (held <= 0) return low;
  while (low < high) {
    const middle = low + Math.floor((high - low) / 2);
    // STREAM.MSG.GET takes `next_by_subj` (server 2.9+), though the client's MsgRequest type omits it.
    const query = { seq: middle, next_by_subj: subject } as unknown as MsgRequest;
    const found = await manager.streams.getMessage(stream, query);
    if (found === null) high = middle; // nothing on the subject at or after middle
    else if (identityOf(found.header, found.seq).sequence > held) high = middle;
    else low = found.seq + 1;
  }
  return low;
}
