/**
 * Injected faults: the rules a test adds, checked and resolved, and the
 * schedule that matches them against each counted operation.
 *
 * @module
 */

import { MemoryFileSystemError } from "./errors.ts";
import { joinPath, splitPath } from "./paths.ts";

/**
 * The counted operations, by the name of the method that performs them
 * (`FileSystem` methods, then `FileHandle` methods).
 */
export type OperationName =
  | "open"
  | "stat"
  | "readFile"
  | "rename"
  | "link"
  | "unlink"
  | "mkdir"
  | "readdir"
  | "syncDir"
  | "read"
  | "write"
  | "truncate"
  | "sync"
  | "size"
  | "close";

/** Every {@link OperationName}, as a set the compiler checks is complete. */
const OPERATION_NAMES: Readonly<Record<OperationName, true>> = {
  open: true,
  stat: true,
  readFile: true,
  rename: true,
  link: true,
  unlink: true,
  mkdir: true,
  readdir: true,
  syncDir: true,
  read: true,
  write: true,
  truncate: true,
  sync: true,
  size: true,
  close: true,
};

/** POSIX codes an injected fault may carry. */
export type FaultCode = "EIO" | "ENOSPC" | "EDQUOT" | "EACCES" | "EPERM" | "EROFS" | "EMFILE" | "EBUSY";

/** Every {@link FaultCode}, as a set the compiler checks is complete. */
const FAULT_CODES: Readonly<Record<FaultCode, true>> = { EIO: true, ENOSPC: true, EDQUOT: true, EACCES: true, EPERM: true, EROFS: true, EMFILE: true, EBUSY: true };

/**
 * Makes a future operation fail. The operation throws a
 * `MemoryFileSystemError` with `code`, and has no effect, except:
 * - `write` first lands the first `bytesWritten` bytes (a short write);
 * - `sync` drops the file's dirty data from the durability queue while the
 *   cache keeps it (Linux after a failed `fsync`): reads still return it, the
 *   next sync succeeds without persisting it, a crash loses it;
 * - `close` releases the handle anyway.
 */
export interface FaultRule {
  /** The operation that fails. */
  readonly op: OperationName;
  /** Fails the `nth` matching operation, counted from 1 from when the rule is added. Default 1. */
  readonly nth?: number;
  /** Fails every matching operation from the `nth` on, not only the `nth`. Default false. */
  readonly repeat?: boolean;
  /**
   * Only operations on this path match. A handle's operations match the path
   * it was opened with; `rename` and `link` match either of their paths.
   * Default: every path.
   */
  readonly path?: string;
  /** The error's POSIX code. Default `EIO`. */
  readonly code?: FaultCode;
  /** `write` only: how many leading bytes land before the error, clamped to the data's length. Default 0. */
  readonly bytesWritten?: number;
  /**
   * Start counting matching operations only once another fault has fired
   * after this rule was added (to fail, say, the truncate that rolls back a
   * failed write). Default false.
   */
  readonly afterFault?: boolean;
}

/** A fault rule with its defaults filled in and its path normalized. */
export interface ResolvedFault {
  /** See {@link FaultRule.op}. */
  readonly op: OperationName;
  /** See {@link FaultRule.nth}. */
  readonly nth: number;
  /** See {@link FaultRule.repeat}. */
  readonly repeat: boolean;
  /** Normalized path, or null for every path. */
  readonly key: string | null;
  /** See {@link FaultRule.code}. */
  readonly code: FaultCode;
  /** See {@link FaultRule.bytesWritten}. */
  readonly bytesWritten: number;
  /** See {@link FaultRule.afterFault}. */
  readonly afterFault: boolean;
}

/**
 * Checks `rule` and fills in its defaults; a malformed rule throws a
 * `RangeError`.
 */
export function resolveFault(rule: FaultRule): ResolvedFault {
  if (OPERATION_NAMES[rule.op] !== true) throw new RangeError(`unknown operation ${rule.op}`);
  const nth = rule.nth ?? 1;
  if (!Number.isSafeInteger(nth) || nth < 1) throw new RangeError(`fault nth ${nth} must be at least 1`);
  const code = rule.code ?? "EIO";
  if (FAULT_CODES[code] !== true) throw new RangeError(`fault code ${code} is not one of ${Object.keys(FAULT_CODES).join(", ")}`);
  const bytesWritten = rule.bytesWritten ?? 0;
  if (!Number.isSafeInteger(bytesWritten) || bytesWritten < 0) throw new RangeError(`bytesWritten ${bytesWritten}`);
  if (bytesWritten > 0 && rule.op !== "write") throw new RangeError("bytesWritten applies to write faults only");
  const key = rule.path === undefined ? null : joinPath(splitPath(rule.path, "injectFault"));
  return { op: rule.op, nth, repeat: rule.repeat ?? false, key, code, bytesWritten, afterFault: rule.afterFault ?? false };
}

/** Throws the error of an injected fault, if one fired. */
export function throwFault(fault: ResolvedFault | null, syscall: string, path: string): void {
  if (fault !== null) throw new MemoryFileSystemError(fault.code, syscall, path, "injected fault");
}

/** A fault rule in force, with the number of operations it has matched so far. */
interface ActiveFault {
  readonly fault: ResolvedFault;
  matchCount: number;
  /** `firedCount` when the rule was added (see {@link FaultRule.afterFault}). */
  readonly firedCountAtAdd: number;
}

/** The fault rules in force on one machine, in the order added, and how many faults fired. */
export class FaultSchedule {
  /** Injected faults that fired. */
  firedCount = 0;
  #active: ActiveFault[] = [];

  /** Adds a rule; it counts matching operations from now on. */
  add(fault: ResolvedFault): void {
    this.#active.push({ fault, matchCount: 0, firedCountAtAdd: this.firedCount });
  }

  /** Removes every rule. */
  clear(): void {
    this.#active = [];
  }

  /**
   * Counts `operation` on normalized `keys` against every rule and returns
   * the fault that fires (the earliest added of those that do), or null.
   * Rules that can no longer fire are dropped.
   */
  match(operation: OperationName, keys: readonly string[]): ResolvedFault | null {
    let fired: ResolvedFault | null = null;
    for (const active of this.#active) {
      const { fault } = active;
      if (fault.op !== operation || (fault.key !== null && !keys.includes(fault.key))) continue;
      if (fault.afterFault && this.firedCount === active.firedCountAtAdd) continue;
      active.matchCount += 1;
      const fires = fault.repeat ? active.matchCount >= fault.nth : active.matchCount === fault.nth;
      if (fires && fired === null) fired = fault;
    }
    this.#active = this.#active.filter((active) => active.fault.repeat || active.matchCount < active.fault.nth);
    if (fired !== null) this.firedCount += 1;
    return fired;
  }
}
