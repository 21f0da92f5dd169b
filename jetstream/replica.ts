/**
 * The replica: consumes a stream the shipper fills into a local `Wal`,
 * keeping every record's sequence and bytes. Resumable and idempotent: a
 * message whose sequence the replica already holds is skipped, so a replica
 * killed at any moment is reopened and run again, and a replica of a replica
 * holds the same records.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { type ConsumerMessages, jetstream } from "@nats-io/jetstream";
import { bytesCodec } from "../src/codec.ts";
import { WalError } from "../src/errors.ts";
import { Wal, type WalOptions } from "../src/wal.ts";
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
}

/** What a replication run did. */
export interface ReplicaReport {
  /** Records appended. */
  applied: number;
  /** Messages skipped: their sequence was already in the replica. */
  skipped: number;
  /** Times consuming started over after a failure. */
  retries: number;
  /** The replica's current sequence at the end. */
  currentSequence: number;
}

/**
 * Copies the records on `options.subject` into the `Wal` at `options.dir`,
 * in order, flushing whenever it has caught up; with `follow` (default)
 * until `options.signal` aborts.
 *
 * @throws {ForeignLogError} the subject holds records of two different logs
 * @throws {BadMessageError} a message lacks the shipper's headers
 * @throws {WalError} the replica's log failed
 */
export async function replicateFromJetStream(options: ReplicaOptions): Promise<ReplicaReport> {
  const report: ReplicaReport = { applied: 0, skipped: 0, retries: 0, currentSequence: 0 };
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

/** One pass over the stream from its start; true when done (not following and caught up). */
async function consumeOnce(
  connection: NatsConnection,
  options: ReplicaOptions,
  wal: Wal<Uint8Array>,
  report: ReplicaReport,
  state: { source: string | undefined },
): Promise<boolean> {
  const manager = await managerOf(connection, 5_000);
  const stream = options.stream ?? (await manager.streams.find(options.subject));
  const consumer = await jetstream(connection).consumers.get(stream, { filter_subjects: options.subject });
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
    state.source ??= identity.logId;
    if (identity.logId !== state.source) throw new ForeignLogError(options.subject, state.source, identity.logId);
    if (identity.sequence <= wal.currentSequence) report.skipped++;
    else {
      await wal.append(message.data, { sequence: identity.sequence });
      report.applied++;
      options.onApplied?.(identity.sequence);
    }
    if (message.info.pending === 0) {
      await wal.flush();
      if (options.follow === false) return true;
    }
  }
  return false;
}
