/**
 * Typed errors. Every error the log throws on purpose is a {@link WalError}
 * with a stable string `code`; branch on `code` (or `instanceof`), never on
 * the message.
 *
 * @module
 */

/** Base class of every error thrown on purpose by this library. */
export class WalError extends Error {
  /** Stable machine-readable code, e.g. `WAL_CORRUPTION`. */
  readonly code: string;
  /**
   * Creates the error.
   *
   * @param code the stable code
   * @param message what went wrong
   * @param options the `cause`, if any
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The kinds of damage a scan can find. `offset` in {@link Corruption} is the
 * first byte of the frame (or file header) where the damage was detected.
 */
export type CorruptionKind =
  /** File or record header cut short by end of file. */
  | "partial-header"
  /** Record header intact, payload cut short by end of file. */
  | "partial-payload"
  /** File or record magic is wrong. */
  | "bad-magic"
  /** File or record format version is not one this build reads. */
  | "unsupported-version"
  /** A header field that must be fixed has another value (reserved bits, kind, sizes). */
  | "bad-header"
  /** A checksum does not match: a record header's, a commit's payload, or a batch's (reported at the batch's start). */
  | "checksum-mismatch"
  /**
   * The last batch is incomplete: its records are whole but its commit record
   * is missing, or the commit does not match them (its batch checksum fails).
   */
  | "torn-batch"
  /** A record's sequence does not increase, or a commit does not match its batch. */
  | "sequence-violation"
  /** Header intact but declares a payload larger than `maxRecordBytes`. */
  | "oversized-length"
  /**
   * A segment of a segmented log is gone: the newest one the bounds file
   * names, the one holding the front, or one between two others (the next
   * one's link does not name the salt of the one before it).
   */
  | "missing-segment"
  /** A segment belongs to another log (its log id differs), or is not part of this log's chain of segments. */
  | "foreign-segment"
  /** Segments exist but the bounds file, which every segmented log has from its creation on, does not. */
  | "missing-bounds";

/** Where and how a log is damaged. */
export interface Corruption {
  /** What is wrong. */
  readonly kind: CorruptionKind;
  /** Byte offset of the damaged frame within `path`. */
  readonly offset: number;
  /** The file the damage is in. */
  readonly path: string;
  /** Human-readable specifics (expected vs found). */
  readonly detail: string;
}

/** The log on disk is damaged; `corruption` says where and how. Nothing was written. */
export class WalCorruptionError extends WalError {
  /** Where and how the log is damaged. */
  readonly corruption: Corruption;
  /**
   * Creates the error.
   *
   * @param corruption where and how the log is damaged
   */
  constructor(corruption: Corruption, options?: { cause?: unknown }) {
    super(
      "WAL_CORRUPTION",
      `${corruption.kind} at offset ${corruption.offset} of ${corruption.path}: ${corruption.detail}`,
      options,
    );
    this.corruption = corruption;
  }
}

/**
 * A record's payload is intact (its checksums match) but the codec could not
 * decode it: the reader's codec is not the writer's, or the writer's codec
 * wrote what it cannot read back. The log itself is sound; `cause` is the
 * codec's error.
 */
export class WalDecodeError extends WalError {
  /** The record's sequence. */
  readonly sequence: number;
  /** The file holding it. */
  readonly path: string;
  /** Offset of the record's header in `path`. */
  readonly offset: number;
  /**
   * Creates the error.
   *
   * @param sequence the record's sequence
   * @param path its file
   * @param offset its header's offset
   * @param codecName the codec that failed
   * @param cause the codec's error
   */
  constructor(sequence: number, path: string, offset: number, codecName: string, cause: unknown) {
    super("WAL_DECODE", `the ${codecName} codec cannot decode record ${sequence} (offset ${offset} of ${path}): ${describe(cause)}`, { cause });
    this.sequence = sequence;
    this.path = path;
    this.offset = offset;
  }
}

/**
 * A reader returned records the log no longer holds: a back truncation cut
 * below them, or a crash lost batches that were written but not yet synced,
 * and their sequences may since have been reused by other records. Every
 * record below `restartFrom` is unchanged; read again from there (records
 * from `restartFrom` up to the cut are returned again, unchanged).
 */
export class WalRewoundError extends WalError {
  /** The highest sequence the reader had returned. */
  readonly returnedSequence: number;
  /** Where to start reading again: at or below the first record that changed. */
  readonly restartFrom: number;
  /** The log directory. */
  readonly dir: string;
  /**
   * Creates the error.
   *
   * @param dir the log directory
   * @param returnedSequence the highest sequence returned
   * @param restartFrom where to read again from
   */
  constructor(dir: string, returnedSequence: number, restartFrom: number) {
    super(
      "WAL_REWOUND",
      `the log in ${dir} no longer holds every record up to ${returnedSequence} that this reader returned (a back truncation or a crash replaced some); read again from ${restartFrom}`,
    );
    this.dir = dir;
    this.returnedSequence = returnedSequence;
    this.restartFrom = restartFrom;
  }
}

/**
 * What the log was doing when a filesystem call failed
 * ({@link WalIoError.operation}): one of a fixed set, so that code may branch
 * on it.
 */
export type IoOperation =
  | "open"
  | "create"
  | "read"
  | "write"
  | "sync"
  | "size"
  | "truncate"
  | "close"
  | "stat"
  | "list"
  | "mkdir"
  | "rename"
  | "unlink"
  | "lock"
  | "unlock"
  | "repair"
  | "verify";

/** A filesystem call failed; the original error is `cause`. */
export class WalIoError extends WalError {
  /** What the log was doing. */
  readonly operation: IoOperation;
  /** The file involved. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param operation what the log was doing
   * @param path the file or directory involved
   * @param cause the filesystem's error
   */
  constructor(operation: IoOperation, path: string, cause: unknown) {
    super("WAL_IO", `${operation} failed on ${path}: ${describe(cause)}`, { cause });
    this.operation = operation;
    this.path = path;
  }
}

/**
 * The writer can no longer guarantee what is on disk (a rollback or an fsync
 * failed) and refuses every further write. `cause` is the failure that
 * poisoned it. Reopen the log to recover from what is durable.
 */
export class WalPoisonedError extends WalError {
  /**
   * Creates the error.
   *
   * @param path the log
   * @param cause the failure that poisoned the writer
   */
  constructor(path: string, cause: unknown) {
    super("WAL_POISONED", `writer for ${path} is poisoned by an earlier failure: ${describe(cause)}`, {
      cause,
    });
  }
}

/** The writer or reader was closed. */
export class WalClosedError extends WalError {
  /**
   * Creates the error.
   *
   * @param path the log that was closed
   */
  constructor(path: string) {
    super("WAL_CLOSED", `${path} is closed`);
  }
}

/** An explicit sequence was not greater than the current one. Nothing was written. */
export class WalSequenceError extends WalError {
  /** The smallest sequence that would have been accepted. */
  readonly expected: number;
  /** The sequence that was given. */
  readonly provided: number;
  /**
   * Creates the error.
   *
   * @param expected the smallest sequence accepted
   * @param provided the sequence given
   */
  constructor(expected: number, provided: number) {
    super("WAL_SEQUENCE", `sequence ${provided} is not allowed; expected at least ${expected}`);
    this.expected = expected;
    this.provided = provided;
  }
}

/** @deprecated Renamed {@link WalSequenceError}; this alias is the same class (`instanceof` works either way). */
export const SequenceError: typeof WalSequenceError = WalSequenceError;
/** @deprecated Renamed {@link WalSequenceError}. */
export type SequenceError = WalSequenceError;

/** Another writer holds the log's lock. */
export class WalLockedError extends WalError {
  /** The lock file. */
  readonly lockPath: string;
  /** Who holds it, as recorded in the lock file, when readable. */
  readonly holder: LockHolder | null;
  /**
   * Creates the error.
   *
   *
   * @param lockPath the lock file
   * @param holder who holds it, when its lock file parses
   * @param detail why the holder counts as live (e.g. what permission would
   *   let this process tell it is dead), appended to the message
   */
  constructor(lockPath: string, holder: LockHolder | null, detail?: string) {
    const who = holder === null ? "an unknown holder" : `pid ${holder.pid} on ${holder.hostname} (${holder.runtime})`;
    super("WAL_LOCKED", `${lockPath} is held by ${who}${detail === undefined ? "" : `: ${detail}`}`);
    this.lockPath = lockPath;
    this.holder = holder;
  }
}

/** The contents of a lock file. */
export interface LockHolder {
  /** Process id of the holder. */
  readonly pid: number;
  /** Host of the holder. */
  readonly hostname: string;
  /** Runtime of the holder, e.g. `deno 2.9.6`. */
  readonly runtime: string;
  /** Which run of the process `pid` took the lock (see `ProcessIdentity.instance`). */
  readonly instance: string;
  /** Random token unique to this acquisition. */
  readonly token: string;
  /** When the lock was taken, milliseconds since the epoch. */
  readonly acquiredAtMs: number;
  /** The holder's last heartbeat, milliseconds since the epoch (`acquiredAtMs` when absent). */
  readonly heartbeatAtMs?: number;
  /** The holder's `staleMs`: contenders wait at least this long after its last heartbeat. */
  readonly staleMs?: number;
  /** The holder's machine boot (see `ProcessIdentity.bootId`), when known. */
  readonly bootId?: string;
  /** The holder's pid namespace (see `ProcessIdentity.pidNamespace`), when known. */
  readonly pidNamespace?: string;
  /** The holder's process start time (see `ProcessIdentity.startTime`), when known. */
  readonly startTime?: string;
}

/**
 * This writer's lock was taken over by another process (it was paused, or
 * could not refresh its heartbeat, for longer than `staleMs`), or can no
 * longer be confirmed. The writer refuses every further write, so it never
 * writes beside the new holder; reopen the log to write again.
 */
export class WalLockLostError extends WalError {
  /** The lock file. */
  readonly lockPath: string;
  /**
   * Creates the error.
   *
   * @param lockPath the lock file
   * @param detail how the lock was lost
   * @param options the `cause`, if any
   */
  constructor(lockPath: string, detail: string, options?: { cause?: unknown }) {
    super("WAL_LOCK_LOST", `the writer lock ${lockPath} is no longer held by this writer: ${detail}`, options);
    this.lockPath = lockPath;
  }
}

/** An argument is out of range or of the wrong type. Nothing was written. */
export class WalArgumentError extends WalError {
  /**
   * Creates the error.
   *
   * @param message what is wrong with which argument
   * @param options the `cause`, if any
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super("WAL_ARGUMENT", message, options);
  }
}

/**
 * The end of a system error's message naming the call and its path, as
 * Node, Bun and Deno write it (`, open '<path>'`, `: rename '<a>' -> '<b>'`).
 */
const SYSCALL_AND_PATH = /[,:] ?[a-z_]+ '[^']*'(?: -> '[^']*')?$/;

/**
 * Renders an unknown thrown value for a message. A system error (one with a
 * string `code`) is shown as `CODE: text` once, without the path its own
 * message ends with: the error this goes into names the log's path, and the
 * system call's may be an internal file (a lock token, a `.creating` file).
 * The original stays available as `cause`.
 */
function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  if (typeof code !== "string") return cause.message;
  const text = cause.message.replace(SYSCALL_AND_PATH, "");
  return text.startsWith(code) ? text : `${code}: ${text}`;
}

/**
 * An operation was refused because the log already holds
 * `SERIAL_QUEUE_OPERATIONS_MAX` (src/serial-queue.ts) queued operations: the caller starts
 * operations faster than the log completes them without awaiting them.
 * Nothing was queued or written; await earlier calls before making more.
 */
export class WalQueueFullError extends WalError {
  /** The bound that was reached, in operations. */
  readonly operationsMax: number;
  /**
   * Creates the error.
   *
   * @param name the log's path or directory
   * @param operationsMax the bound that was reached
   */
  constructor(name: string, operationsMax: number) {
    super("WAL_QUEUE_FULL", `${name} already has ${operationsMax} operations queued; await earlier calls before making more`);
    this.operationsMax = operationsMax;
  }
}
