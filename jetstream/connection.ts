/**
 * Connecting to NATS for the shipper and the replica, and the small waits
 * they share.
 *
 * @module
 */

import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connect } from "@nats-io/transport-node";
import { WalArgumentError } from "../src/errors.ts";

/** Where to reach NATS: a connection the caller owns, or server URLs to connect to (and close afterwards). */
export interface ConnectionOptions {
  /** A connection to use; the caller closes it. */
  readonly connection?: NatsConnection;
  /** Server URLs (`nats://127.0.0.1:4222`), when no `connection` is given. */
  readonly servers?: string | readonly string[];
}

/** A connection, and whether it is ours to close. */
export interface Connected {
  /** The connection. */
  readonly connection: NatsConnection;
  /** Closes it if this module opened it. */
  release(): Promise<void>;
}

/**
 * The caller's connection, or a new one to `servers` that reconnects
 * forever (a server restart is waited out, not fatal).
 *
 * @throws {WalArgumentError} neither or both of `connection` and `servers` were given
 */
export async function connectTo(options: ConnectionOptions): Promise<Connected> {
  if ((options.connection === undefined) === (options.servers === undefined)) {
    throw new WalArgumentError("give either connection or servers");
  }
  if (options.connection !== undefined) return { connection: options.connection, release: async () => undefined };
  const servers = typeof options.servers === "string" ? [options.servers] : [...options.servers!];
  const connection = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 200, waitOnFirstConnect: true });
  return { connection, release: () => connection.close() };
}

/** A JetStream manager whose API calls time out after `timeoutMs`. */
export function managerOf(connection: NatsConnection, timeoutMs: number): Promise<JetStreamManager> {
  return jetstreamManager(connection, { timeout: timeoutMs });
}

/**
 * Makes sure stream `name` exists, creating it for `subject` (file storage,
 * deduplication window `duplicateWindowMs`) when it does not.
 */
export async function ensureStream(manager: JetStreamManager, name: string, subject: string, duplicateWindowMs: number): Promise<void> {
  try {
    await manager.streams.info(name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await manager.streams.add({ name, subjects: [subject], duplicate_window: duplicateWindowMs * 1_000_000 });
  }
}

/** True for JetStream's "stream not found". */
function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
