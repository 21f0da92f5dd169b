/**
 * Invariant checks. A failed assertion is a bug in this library (or a file
 * changed behind its back in a way no crash can produce), never an I/O error
 * to handle: it throws a plain `Error`, not a `WalError`.
 *
 * @module
 */

/** Throws unless `condition` holds; `message` names the invariant. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
