/**
 * Error helpers shared by the runtime adapters. The core only looks at an
 * error's POSIX `code`; these read and attach it.
 *
 * @module
 */

/** The `code` property of a thrown value, if it is a string. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The `EIO` error for a write call that reported 0 bytes written at `position`. */
export function noProgressError(position: number): Error {
  return Object.assign(new Error(`write at byte ${position} made no progress`), { code: "EIO" });
}
