/**
 * What the shipper writes beside each record's bytes, and how a message id
 * is derived from the log's identity and the record's sequence.
 *
 * @module
 */

import { BadMessageError } from "./errors.ts";

/** Header naming the log a message came from (its id, hex). */
export const LOG_HEADER = "Tswal-Log";
/** Header holding the record's sequence in its log. */
export const SEQUENCE_HEADER = "Tswal-Sequence";
/** Header holding the record's append time, ms since the epoch. */
export const TIME_HEADER = "Tswal-Time";

/** The message id of record `sequence` of log `logId`: the same on every attempt, so JetStream drops a republished one. */
export function messageId(logId: string, sequence: number): string {
  return `${logId}:${sequence}`;
}

/** The 16-byte log id as 32 lowercase hex digits. */
export function hexId(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Reads headers of the shape `get(name)` returns. */
interface HeaderSource {
  get(name: string): string;
}

/** A shipped record's identity, as its headers carry it. */
export interface ShippedIdentity {
  /** The source log's id (hex). */
  readonly logId: string;
  /** The record's sequence. */
  readonly sequence: number;
}

/** Reads a message's log id and sequence, throwing `BadMessageError` when either is missing or malformed. */
export function identityOf(header: HeaderSource | undefined, streamSequence: number): ShippedIdentity {
  const logId = header?.get(LOG_HEADER) ?? "";
  const sequence = Number(header?.get(SEQUENCE_HEADER) ?? "");
  if (!/^[0-9a-f]{32}$/.test(logId)) throw new BadMessageError(streamSequence, `no ${LOG_HEADER} header`);
  if (!Number.isSafeInteger(sequence) || sequence < 0 || header?.get(SEQUENCE_HEADER) === "") {
    throw new BadMessageError(streamSequence, `no valid ${SEQUENCE_HEADER} header`);
  }
  return { logId, sequence };
}
