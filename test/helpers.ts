/**
 * Test helpers that work unchanged on Node, Bun and Deno (test code may use
 * `node:` modules; all three runtimes provide these).
 *
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";

/**
 * Creates a fresh empty directory under the system temp directory and
 * registers its recursive removal for when the current test finishes.
 * Call it inside a test. Returns the directory's path (with `/` separators).
 */
export async function useTempDir(): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), "tswal-test-"));
  onTestFinished(() => rm(path, { recursive: true, force: true }));
  return path;
}
