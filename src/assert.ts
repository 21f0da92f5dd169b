/**
 * Invariant checks. Two kinds of failure leave this library, and they never
 * mix:
 * - a typed user error, a `WalError` subclass with a stable `code`
 *   (src/errors.ts): bad arguments, damaged files, failed I/O, a lost lock.
 *   The caller can expect these and handle them;
 * - an {@link AssertionError}: the library broke one of its own invariants
 *   (a bug in it, or a file changed behind its back in a way no crash can
 *   produce). No caller input can cause one, there is nothing to handle:
 *   report it. It is deliberately not a `WalError`, so code that branches
 *   on `code` never mistakes a bug for a condition.
 *
 * Assertions are cheap comparisons and stay on in production: a state
 * machine that goes on after breaking its invariant could write a file that
 * later reads back as valid and wrong.
 *
 * @module
 */

/** Thrown by {@link assert}: an invariant of this library does not hold (a bug, not a user error; see the module documentation). */
export class AssertionError extends Error {
  /**
   * Creates the error; its message is `invariant violated: ` and `message`.
   *
   * @param message the violated invariant, as passed to {@link assert}
   */
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = "AssertionError";
  }
}

/** Throws {@link AssertionError} unless `condition` holds; `message` states the invariant (what must be true), not the failure. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
