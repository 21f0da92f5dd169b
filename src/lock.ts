/**
 * The exclusive-writer lock, one protocol for every runtime, built only from
 * operations every adapter has (exclusive create, hard link, rename, unlink).
 *
 * Taking the lock at `L` (e.g. `log.wal.lock`):
 * 1. Write this holder's identity as JSON to a fresh token file `L.<token>`
 *    and sync it, so a lock file is never seen half-written, even after a
 *    power loss.
 * 2. `link(L.<token>, L)`. Link is atomic and fails with `EEXIST` if `L`
 *    exists: exactly one contender wins.
 * 3. On `EEXIST`, read the holder from `L`. It is live unless it names this
 *    host and a pid that no longer exists, or this host and this pid but an
 *    earlier run of it (another `instance`: a reboot or pid reuse), or this
 *    very run with a token it does not hold. A live holder means
 *    `WalLockedError` at once; nothing waits.
 * 4. A stale holder is broken by renaming its token file `L.<old>` to
 *    `L.<old>.broken-by.<token>`. Rename succeeds for one contender only; the
 *    winner is then the only process that may unlink `L`, removes it, and
 *    retries step 2 (where a third process may still win fairly). If a
 *    breaker dies mid-way, its claim is taken over the same way once its own
 *    token file shows it dead.
 *
 * Release unlinks `L`, then the token file. A lock file that does not parse
 * is never broken automatically: it is reported with an unknown holder.
 *
 * @module
 */

import { type LockHolder, WalLockedError } from "./errors.ts";
import type { FileSystem } from "./fs.ts";
import { errorCode, unlinkIfPresent, writeNewFile } from "./io.ts";
import { basename, dirname, join } from "./path.ts";

/**
 * Per-process lock state, kept on `globalThis` so that two copies of this
 * module in one process (say, the npm build and the sources) agree on it:
 * the tokens this process holds, and a random id of this process run.
 */
const processState: { readonly instance: string; readonly heldTokens: Set<string> } = ((globalThis as Record<symbol, unknown>)[
  Symbol.for("tswal.lock.process")
] ??= { instance: randomToken(), heldTokens: new Set<string>() }) as { instance: string; heldTokens: Set<string> };
const heldTokens = processState.heldTokens;

/** How many times a contender retries after breaking a stale lock. */
const ACQUIRE_ATTEMPTS_MAX = 4;

/** A held writer lock. */
export interface WriterLock {
  /** The lock file. */
  readonly path: string;
  /** Who holds it: this process. */
  readonly holder: LockHolder;
  /** Gives the lock up. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Takes the exclusive lock at `lockPath` or throws {@link WalLockedError}
 * naming the current holder. Never waits for a live holder.
 */
export async function acquireLock(fs: FileSystem, lockPath: string): Promise<WriterLock> {
  const me = fs.process();
  const token = randomToken();
  const holder: LockHolder = {
    pid: me.pid,
    hostname: me.hostname,
    runtime: me.runtime,
    instance: me.instance ?? processState.instance,
    token,
    acquiredAtMs: Date.now(),
  };
  const tokenPath = `${lockPath}.${token}`;
  await writeNewFile(fs, tokenPath, new TextEncoder().encode(JSON.stringify(holder)));
  try {
    let seen: LockHolder | null = null;
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt++) {
      try {
        await fs.link(tokenPath, lockPath);
        heldTokens.add(token);
        return makeHandle(fs, lockPath, tokenPath, holder);
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw error;
      }
      const current = await readHolder(fs, lockPath);
      if (current === "gone") continue;
      seen = current;
      if (current === null || !isStale(fs, current)) break;
      if (!(await breakStale(fs, lockPath, current.token, token))) {
        // Another contender is breaking it or has already won: name whoever holds it now.
        const now = await readHolder(fs, lockPath);
        if (now !== "gone") seen = now;
        break;
      }
    }
    throw new WalLockedError(lockPath, seen);
  } catch (error) {
    await unlinkIfPresent(fs, tokenPath);
    throw error;
  }
}

function makeHandle(fs: FileSystem, lockPath: string, tokenPath: string, holder: LockHolder): WriterLock {
  let released = false;
  return {
    path: lockPath,
    holder,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      heldTokens.delete(holder.token);
      await unlinkIfPresent(fs, lockPath);
      await unlinkIfPresent(fs, tokenPath);
    },
  };
}

/** The holder recorded in `path`; `null` if unreadable; `"gone"` if absent. */
async function readHolder(fs: FileSystem, path: string): Promise<LockHolder | null | "gone"> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return "gone";
    throw error;
  }
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LockHolder>;
    if (
      typeof value.pid === "number" &&
      typeof value.hostname === "string" &&
      typeof value.runtime === "string" &&
      typeof value.instance === "string" &&
      typeof value.token === "string" &&
      /^[0-9a-f]{32}$/.test(value.token) &&
      typeof value.acquiredAtMs === "number"
    ) {
      return value as LockHolder;
    }
  } catch {
    // fall through: not a lock file this protocol wrote
  }
  return null;
}

function isStale(fs: FileSystem, holder: LockHolder): boolean {
  const me = fs.process();
  if (holder.hostname !== me.hostname) return false;
  if (holder.pid === me.pid) {
    // Same pid: a previous run of this pid (reboot, pid reuse) is stale; this
    // run holds only the tokens it recorded.
    return holder.instance !== (me.instance ?? processState.instance) || !heldTokens.has(holder.token);
  }
  return !fs.isProcessAlive(holder.pid);
}

/**
 * Claims the right to remove the stale lock whose token is `staleToken`, and
 * removes it. Returns false when another live contender holds that claim.
 */
async function breakStale(fs: FileSystem, lockPath: string, staleToken: string, myToken: string): Promise<boolean> {
  const stalePath = `${lockPath}.${staleToken}`;
  const prefix = `${stalePath}.broken-by.`;
  const claim = prefix + myToken;
  if (!(await renameIfPresent(fs, stalePath, claim))) {
    const claimed = await takeOverDeadClaim(fs, lockPath, prefix, claim);
    if (!claimed) return false;
  }
  await unlinkIfPresent(fs, lockPath);
  await unlinkIfPresent(fs, claim);
  return true;
}

/** Moves a claim left by a breaker that has since died to `claim`. */
async function takeOverDeadClaim(fs: FileSystem, lockPath: string, prefix: string, claim: string): Promise<boolean> {
  const dir = dirname(lockPath);
  const namePrefix = basename(prefix);
  for (const name of await fs.readdir(dir)) {
    if (!name.startsWith(namePrefix)) continue;
    const breaker = await readHolder(fs, `${lockPath}.${name.slice(namePrefix.length)}`);
    if (breaker !== "gone" && (breaker === null || !isStale(fs, breaker))) return false;
    if (await renameIfPresent(fs, join(dir, name), claim)) return true;
  }
  return false;
}

async function renameIfPresent(fs: FileSystem, from: string, to: string): Promise<boolean> {
  try {
    await fs.rename(from, to);
    return true;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false;
    throw error;
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
