/**
 * Errors thrown by the in-memory filesystem, shaped like Node's `SystemError`
 * so that the core treats them exactly like a real adapter's.
 *
 * @module
 */

/** Standard wording of the POSIX codes the simulator raises on its own. */
const DESCRIPTIONS: Readonly<Record<string, string>> = {
  EBADF: "bad file descriptor",
  EBUSY: "resource busy or locked",
  EEXIST: "file already exists",
  EFBIG: "file too large",
  EINVAL: "invalid argument",
  EISDIR: "illegal operation on a directory",
  ENAMETOOLONG: "name too long",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  ENOTEMPTY: "directory not empty",
  EPERM: "operation not permitted",
};

/** A failed filesystem operation: POSIX `code`, the failing `syscall`, and the `path` as the caller gave it. */
export class MemoryFileSystemError extends Error {
  /** POSIX error name, e.g. `ENOENT`, `EIO`. */
  readonly code: string;
  /** The operation that failed, e.g. `open`, `write`, `syncDir`. */
  readonly syscall: string;
  /** The path involved, as the caller gave it. */
  readonly path: string;

  /** `detail` defaults to the standard wording of `code`. */
  constructor(code: string, syscall: string, path: string, detail?: string) {
    super(`${code}: ${detail ?? DESCRIPTIONS[code] ?? "simulated failure"}, ${syscall} '${path}'`);
    this.name = new.target.name;
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

/** Shorthand for a {@link MemoryFileSystemError} with the standard wording of `code`. */
export function fsError(code: string, syscall: string, path: string): MemoryFileSystemError {
  return new MemoryFileSystemError(code, syscall, path);
}

/** Why a {@link SimulatedCrashError} was thrown. */
export type SimulatedCrashReason =
  /** The whole machine lost power: a scheduled or explicit crash. */
  | "crash"
  /** Only the calling simulated process died (`killProcess`); its unsynced writes stay in the page cache. */
  | "killed";

/**
 * Thrown by every operation of a simulated process that is dead: the machine
 * crashed, or the process was killed. The operation had no effect. `code` is
 * `ESIMCRASH`, so the core wraps it like any other I/O error; a harness finds
 * it by walking the `cause` chain.
 */
export class SimulatedCrashError extends MemoryFileSystemError {
  /** The number the refused operation would have had (1-based, see `MemoryFileSystem.operationCount`). */
  readonly operationNumber: number;
  /** Whether the machine crashed or only this process was killed. */
  readonly reason: SimulatedCrashReason;

  /** `operationNumber` is the refused operation's number; `syscall` and `path` name it. */
  constructor(reason: SimulatedCrashReason, operationNumber: number, syscall: string, path: string) {
    super(
      "ESIMCRASH",
      syscall,
      path,
      reason === "crash"
        ? `simulated machine crashed before operation ${operationNumber}`
        : `simulated process was killed before operation ${operationNumber}`,
    );
    this.operationNumber = operationNumber;
    this.reason = reason;
  }
}
