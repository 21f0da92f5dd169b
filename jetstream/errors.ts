/**
 * Errors of the JetStream shipper and replica, each with a stable `code`.
 *
 * @module
 */

import { WalError } from "../src/errors.ts";

/** Which records retention removed from the log before the shipper published them. */
export interface RecordsLost {
  /** The log directory. */
  readonly dir: string;
  /** First sequence the stream lacks. */
  readonly from: number;
  /** Last sequence the stream lacks. */
  readonly to: number;
}

/** Records were removed by retention (or `truncateFront`) before they were shipped (`SHIP_RECORDS_LOST`). */
export class RecordsLostError extends WalError {
  /** What was lost. */
  readonly lost: RecordsLost;

  /**
   * Creates the error.
   *
   * @param lost the sequences removed before they were shipped
   */
  constructor(lost: RecordsLost) {
    super("SHIP_RECORDS_LOST", `${lost.dir}: records ${lost.from} to ${lost.to} were removed from the log before they were shipped`);
    this.lost = lost;
  }
}

/** The subject's last message came from another log (another id): refusing to mix two logs on one subject (`SHIP_FOREIGN_LOG`). */
export class ForeignLogError extends WalError {
  /** This log's id (hex). */
  readonly logId: string;
  /** The id the stream's last message carries. */
  readonly found: string;

  /**
   * Creates the error.
   *
   * @param subject the subject
   * @param logId this log's id (hex)
   * @param found the id the subject's last message carries
   */
  constructor(subject: string, logId: string, found: string) {
    super("SHIP_FOREIGN_LOG", `the last message on ${subject} is from log ${found}, not from this log (${logId}): use a subject per log`);
    this.logId = logId;
    this.found = found;
  }
}

/** A message on the subject lacks the headers the shipper writes, or holds a bad value (`SHIP_BAD_MESSAGE`). */
export class BadMessageError extends WalError {
  /** The stream sequence of the message. */
  readonly streamSequence: number;

  /**
   * Creates the error.
   *
   * @param streamSequence the message's stream sequence
   * @param detail what is wrong with it
   */
  constructor(streamSequence: number, detail: string) {
    super("SHIP_BAD_MESSAGE", `stream message ${streamSequence}: ${detail}`);
    this.streamSequence = streamSequence;
  }
}
