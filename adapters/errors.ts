/**
 * Helpers shared by the runtime adapters: the error they throw for a write
 * that makes no progress, and the process-liveness probe (Node, Bun and Deno
 * all provide `node:process`).
 *
 * @module
 */

import process from "node:process";
import { errorCode } from "../src/fs.ts";

/** The `EIO` error for a write call that reported 0 bytes written at `position`. */
export function noProgressError(position: number): Error {
  return Object.assign(new Error(`write at byte ${position} made no progress`), { code: "EIO" });
}

/**
 * `kill(pid, 0)`: `ESRCH` means gone; success, `EPERM` or anything else
 * (a sandbox refusing the call, say) means alive, so a live lock is never
 * broken by mistake.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== "ESRCH";
  }
}
