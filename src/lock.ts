/**
 * The exclusive-writer lock, one protocol for every runtime, built only from
 * operations every adapter has (exclusive create, hard link, rename, unlink,
 * read, stat).
 *
 * Taking the lock at `L` (e.g. `log.wal.lock`):
 * 1. Write this holder's identity as JSON (padded with spaces) to a fresh
 *    token file `L.<token>` and sync it, so a lock file is never seen
 *    half-written, even after a power loss. The identity: pid, host name,
 *    runtime, a random id of this process run (`instance`), and where known
 *    the machine's boot id, the pid namespace and the process start time
 *    (Linux: `/proc/sys/kernel/random/boot_id`, `/proc/self/ns/pid`,
 *    `/proc/self/stat` field 22), plus `staleMs` and a heartbeat time.
 * 2. `link(L.<token>, L)`. Link is atomic and fails with `EEXIST` if `L`
 *    exists: exactly one contender wins. The winner removes what dead
 *    contenders left (token files and claims, below) and starts its
 *    heartbeat.
 * 3. On `EEXIST`, read the holder from `L`. It is stale when its heartbeat
 *    is older than `staleMs` (the larger of the holder's and this opener's),
 *    or when it is provably dead: same host, same boot, same pid namespace,
 *    and its pid is gone (or a zombie), or alive with another start time
 *    (the pid was reused), or is this very pid but not a token this run
 *    holds. A holder in another pid namespace (a container sharing the
 *    volume and the host name), on another host, or whose liveness cannot
 *    be read (Deno without `--allow-all`, which alone may read `/proc`: the
 *    error says so; `--allow-run` would not do, as `kill(pid, 0)` cannot
 *    tell namespaces apart) is live until its heartbeat is stale. A lock file that does
 *    not parse is stale once its modification time is older than `staleMs`.
 *    A live holder means `WalLockedError` at once; nothing waits.
 * 4. A stale holder is broken by renaming its token file `L.<old>` to the
 *    claim `L.<old>.broken-by.<token>`. Rename succeeds for one contender
 *    only. If the token file is gone (deleted by hand, lost in a crash) and
 *    no claim exists, `L` is first linked to that name again (a lock file
 *    that does not parse gets the name `unparsable-<crc>-<bytes>`). The
 *    claimer then re-reads the claim (still stale, else it renames it back
 *    and reports the holder live), checks that no other claim for the same
 *    holder exists, checks that `L` still holds the claimed bytes, and only
 *    then unlinks `L` and its claim, and retries step 2. If a breaker dies
 *    mid-way, its claim is taken over the same way once its own token file
 *    shows it stale.
 *
 * Heartbeat and fencing: every `staleMs / 3` (an unref'd timer, which never
 * keeps a process alive) the holder rewrites its token file in place with a
 * new `heartbeatAtMs`, then confirms that its token file still exists and
 * that `L` still names it. Before every batch write and every queued
 * operation the writer calls {@link WriterLock.fence}: free while the last
 * confirmed heartbeat started less than `staleMs / 2` ago (monotonic
 * clock), else it heartbeats first. A holder that finds its token file gone
 * or `L` naming someone else (it was paused longer than `staleMs` and was
 * broken), or cannot confirm the lock, throws `WalLockLostError` from then
 * on and writes nothing more. Wall clocks of hosts sharing a log must agree
 * to well within `staleMs / 2`.
 *
 * Release unlinks `L` if it still names this holder, then the token file.
 *
 * @module
 */

import { type LockHolder, WalLockedError, WalLockLostError } from "./errors.ts";
import { crc32 } from "./format/crc32.ts";
import { errorCode, type FileSystem, type ProcessIdentity, type ProcessStatus } from "./fs.ts";
import { ifPresent, readFileIfPresent, renameIfPresent, unlinkIfPresent, writeNewFile } from "./io.ts";
import { basename, dirname, join } from "./path.ts";

/** Default `staleMs`: a holder whose heartbeat is older than this may be broken. */
export const STALE_MS_DEFAULT = 30_000;
/** Smallest `staleMs` accepted (the heartbeat runs every `staleMs / 3`). */
export const STALE_MS_MIN = 100;
/** Largest `staleMs` accepted: one day. */
export const STALE_MS_MAX = 86_400_000;

/** Lock files are padded to this many bytes, so that a heartbeat rewrites them in place without changing their size. */
const LOCK_FILE_BYTES = 1024;
/** How many times a contender retries after breaking a stale lock. */
const ACQUIRE_ATTEMPTS_MAX = 4;
/** A token file's name after `L.`. */
const TOKEN_NAME = /^[0-9a-f]{32}$/;
/** The name given to a lock file that does not parse, after `L.`. */
const UNPARSABLE_NAME = /^unparsable-[0-9a-f]{8}-[0-9]+$/;
/** A claim's name after `L.`: what is being broken, and by whom. */
const CLAIM_NAME = /^(.+)\.broken-by\.([0-9a-f]{32})$/;

/**
 * Per-process lock state, kept on `globalThis` so that two copies of this
 * module in one process (say, the npm build and the sources) agree on it:
 * the tokens this process holds or is acquiring, and a random id of this
 * process run.
 */
const processState: { readonly instance: string; readonly heldTokens: Set<string> } = ((globalThis as Record<symbol, unknown>)[
  Symbol.for("tswal.lock.process")
] ??= { instance: randomToken(), heldTokens: new Set<string>() }) as { instance: string; heldTokens: Set<string> };
const liveTokens = processState.heldTokens;

/** How to take a lock. */
export interface LockOptions {
  /** A holder whose heartbeat is older than this is broken; checked by `checkStaleMs`. */
  readonly staleMs: number;
}

/** A held writer lock. */
export interface WriterLock {
  /** The lock file. */
  readonly path: string;
  /** Who holds it: this process. */
  readonly holder: LockHolder;
  /**
   * Call before writing: `undefined` while the lock is confirmed fresh,
   * else a promise that confirms it (heartbeating) or rejects with
   * `WalLockLostError`, as does every later call.
   */
  fence(): Promise<void> | undefined;
  /** Throws `WalLockLostError` if the lock is known to be lost. */
  checkNotLost(): void;
  /** Stops the heartbeat and gives the lock up. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Takes the exclusive lock at `lockPath` or throws {@link WalLockedError}
 * naming the current holder. Never waits for a live holder.
 */
export async function acquireLock(fs: FileSystem, lockPath: string, options: LockOptions = { staleMs: STALE_MS_DEFAULT }): Promise<WriterLock> {
  const me = fs.process();
  const token = randomToken();
  const holder = holderOf(me, token, options.staleMs);
  const tokenPath = `${lockPath}.${token}`;
  const writtenAtMs = performance.now();
  liveTokens.add(token);
  try {
    await writeNewFile(fs, tokenPath, encodeHolder(holder));
    const contest = new Contest(fs, lockPath, token, me, options.staleMs);
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt++) {
      if (await linkIfAbsent(fs, tokenPath, lockPath)) {
        const lock = new HeldLock(fs, lockPath, holder, options.staleMs, writtenAtMs);
        await contest.removeLeftovers().catch(() => undefined);
        return lock;
      }
      const outcome = await contest.challenge();
      if (outcome !== "retry") throw new WalLockedError(lockPath, outcome.holder, outcome.detail);
    }
    const last = await readLockFile(fs, lockPath);
    throw new WalLockedError(lockPath, last === "gone" ? null : last.holder, "the lock changed hands while this process tried to take it");
  } catch (error) {
    liveTokens.delete(token);
    await unlinkIfPresent(fs, tokenPath).catch(() => undefined);
    throw error;
  }
}

/** The identity this process writes to its token file. */
function holderOf(me: ProcessIdentity, token: string, staleMs: number): LockHolder {
  const nowMs = Date.now();
  return {
    pid: me.pid,
    hostname: me.hostname,
    runtime: me.runtime,
    instance: me.instance ?? processState.instance,
    token,
    acquiredAtMs: nowMs,
    heartbeatAtMs: nowMs,
    staleMs,
    ...(me.bootId === undefined ? {} : { bootId: me.bootId }),
    ...(me.pidNamespace === undefined ? {} : { pidNamespace: me.pidNamespace }),
    ...(me.startTime === undefined ? {} : { startTime: me.startTime }),
  };
}

/** Why a contender gives up: the holder it saw (null if the lock file does not parse), and why that holder counts as live. */
interface Refusal {
  readonly holder: LockHolder | null;
  readonly detail: string | undefined;
}

/** Whether a lock file's holder may be broken, and if not, why. */
type Verdict = { readonly stale: true } | { readonly stale: false; readonly detail: string | undefined };

const STALE: Verdict = { stale: true };

/** A lock file as read: its bytes and, if they parse, its holder. */
interface LockFile {
  readonly bytes: Uint8Array;
  readonly holder: LockHolder | null;
}

/** One contender's view: judges holders and breaks stale ones. */
class Contest {
  readonly #fs: FileSystem;
  readonly #lockPath: string;
  readonly #token: string;
  readonly #me: ProcessIdentity;
  readonly #staleMs: number;

  constructor(fs: FileSystem, lockPath: string, token: string, me: ProcessIdentity, staleMs: number) {
    this.#fs = fs;
    this.#lockPath = lockPath;
    this.#token = token;
    this.#me = me;
    this.#staleMs = staleMs;
  }

  /** After a failed link: breaks a stale holder (`retry`), or says who holds the lock. */
  async challenge(): Promise<"retry" | Refusal> {
    const seen = await readLockFile(this.#fs, this.#lockPath);
    if (seen === "gone") return "retry";
    const verdict = await this.#judgeFile(this.#lockPath, seen);
    if (!verdict.stale) return { holder: seen.holder, detail: verdict.detail };
    const outcome = await this.#breakStale(seen.holder?.token ?? unparsableName(seen.bytes), seen.bytes);
    if (outcome === "retry") return "retry";
    const now = await readLockFile(this.#fs, this.#lockPath);
    const holder = now === "gone" ? seen.holder : now.holder;
    return { holder, detail: outcome === "live" ? "its heartbeat resumed" : "another process is breaking this stale lock" };
  }

  /** Removes the token files and claims of contenders that died (best effort; call while holding the lock). */
  async removeLeftovers(): Promise<void> {
    const prefix = `${basename(this.#lockPath)}.`;
    for (const name of await this.#fs.readdir(dirname(this.#lockPath))) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      if (rest === this.#token || !(await this.#isLeftover(rest))) continue;
      await unlinkIfPresent(this.#fs, join(dirname(this.#lockPath), name));
    }
  }

  /** Whether `L.<rest>` is a dead contender's token file, or a dead breaker's claim. */
  async #isLeftover(rest: string): Promise<boolean> {
    const claim = CLAIM_NAME.exec(rest);
    if (claim !== null) return (await this.#judgePath(`${this.#lockPath}.${claim[2]!}`)).stale;
    if (!TOKEN_NAME.test(rest) && !UNPARSABLE_NAME.test(rest)) return false;
    return (await this.#judgePath(`${this.#lockPath}.${rest}`)).stale;
  }

  /** Judges the holder in the file at `path`; a file that is gone is stale. */
  async #judgePath(path: string): Promise<Verdict> {
    const file = await readLockFile(this.#fs, path);
    return file === "gone" ? STALE : this.#judgeFile(path, file);
  }

  async #judgeFile(path: string, file: LockFile): Promise<Verdict> {
    if (file.holder !== null) return this.#judgeHolder(file.holder);
    const stat = await this.#fs.stat(path);
    if (stat === null) return STALE;
    if (stat.modifiedAtMs === undefined) return { stale: false, detail: "the lock file does not parse, and this filesystem adapter cannot tell its age" };
    if (Date.now() - stat.modifiedAtMs > this.#staleMs) return STALE;
    return { stale: false, detail: `the lock file does not parse; it is broken once older than ${this.#staleMs} ms` };
  }

  async #judgeHolder(holder: LockHolder): Promise<Verdict> {
    if (holder.instance === (this.#me.instance ?? processState.instance) && liveTokens.has(holder.token)) {
      return { stale: false, detail: "this process holds it" };
    }
    const staleMs = Math.max(this.#staleMs, holder.staleMs ?? 0);
    const ageMs = Date.now() - (holder.heartbeatAtMs ?? holder.acquiredAtMs);
    if (ageMs > staleMs) return STALE;
    const untilStale = `it counts as abandoned once its heartbeat is more than ${staleMs} ms old (now ${Math.max(0, Math.round(ageMs))} ms)`;
    if (!sameProcessSpace(holder, this.#me)) {
      const where = this.#me.pidNamespace === undefined
        ? "this process cannot read its pid namespace from /proc, so it cannot tell whether the holder is alive (Deno 2 lets only --allow-all read /proc)"
        : "it runs on another host or in another pid namespace";
      return { stale: false, detail: `${where}; ${untilStale}` };
    }
    // Same pid namespace, same pid, and not a token this run holds: an earlier process with this pid, or an abandoned attempt.
    if (holder.pid === this.#me.pid) return STALE;
    const status = await processStatus(this.#fs, holder.pid);
    if (status.state === "gone") return STALE;
    if (status.state === "unknown") return { stale: false, detail: `${status.reason ?? `cannot tell whether pid ${holder.pid} is alive`}; ${untilStale}` };
    if (holder.startTime !== undefined && status.startTime !== undefined && holder.startTime !== status.startTime) return STALE;
    return { stale: false, detail: undefined };
  }

  /**
   * Claims the right to remove the stale lock file (whose holder's token file
   * is `L.<name>`) and removes it. `retry` once it is removed or changed;
   * `live` if the holder turned out live; `busy` if another contender is
   * breaking it.
   */
  async #breakStale(name: string, seenBytes: Uint8Array): Promise<"retry" | "live" | "busy"> {
    const stalePath = `${this.#lockPath}.${name}`;
    const claim = `${stalePath}.broken-by.${this.#token}`;
    if (!(await this.#claim(stalePath, claim, seenBytes))) return "busy";
    const claimed = await readLockFile(this.#fs, claim);
    if (claimed === "gone") return "retry";
    if (!(claimed.holder === null ? sameBytes(claimed.bytes, seenBytes) : (await this.#judgeHolder(claimed.holder)).stale)) {
      await renameIfPresent(this.#fs, claim, stalePath);
      return "live";
    }
    if (await this.#otherClaim(name, claim)) {
      await unlinkIfPresent(this.#fs, claim);
      return "busy";
    }
    const current = await readLockFile(this.#fs, this.#lockPath);
    if (current !== "gone" && sameBytes(current.bytes, claimed.bytes)) await unlinkIfPresent(this.#fs, this.#lockPath);
    await unlinkIfPresent(this.#fs, claim);
    return "retry";
  }

  /** Renames `stalePath` to `claim`, or takes over a dead breaker's claim, or gives a nameless lock file its name back first. */
  async #claim(stalePath: string, claim: string, seenBytes: Uint8Array): Promise<boolean> {
    if (await renameIfPresent(this.#fs, stalePath, claim)) return true;
    const takeover = await this.#takeOverDeadClaim(`${stalePath}.broken-by.`, claim);
    if (takeover !== "none") return takeover === "taken";
    // No token file and no claim: the name was deleted by hand or lost in a crash.
    if (!(await this.#adopt(stalePath, seenBytes))) return false;
    return renameIfPresent(this.#fs, stalePath, claim);
  }

  /** Links `L` to `stalePath` if it still holds `seenBytes`; false if it changed or is gone. */
  async #adopt(stalePath: string, seenBytes: Uint8Array): Promise<boolean> {
    const linked = await ifPresent(() => linkIfAbsent(this.#fs, this.#lockPath, stalePath), "gone");
    if (linked === "gone") return false;
    if (!linked) return true; // the name is back: the rename that follows decides
    const adopted = await readLockFile(this.#fs, stalePath);
    if (adopted !== "gone" && sameBytes(adopted.bytes, seenBytes)) return true;
    await unlinkIfPresent(this.#fs, stalePath);
    return false;
  }

  /** Moves a claim left by a breaker that has since died to `claim`: `taken`, `live` (a live breaker has it), or `none`. */
  async #takeOverDeadClaim(prefix: string, claim: string): Promise<"taken" | "live" | "none"> {
    const dir = dirname(this.#lockPath);
    const namePrefix = basename(prefix);
    for (const name of await this.#fs.readdir(dir)) {
      if (!name.startsWith(namePrefix)) continue;
      if (!(await this.#judgePath(`${this.#lockPath}.${name.slice(namePrefix.length)}`)).stale) return "live";
      if (await renameIfPresent(this.#fs, join(dir, name), claim)) return "taken";
    }
    return "none";
  }

  /** Whether a claim on `L.<name>` other than `claim` exists. */
  async #otherClaim(name: string, claim: string): Promise<boolean> {
    const prefix = `${basename(this.#lockPath)}.${name}.broken-by.`;
    const names = await this.#fs.readdir(dirname(this.#lockPath));
    return names.some((entry) => entry.startsWith(prefix) && entry !== basename(claim));
  }
}

/** Whether the holder's pids are this process's pids: same host, same boot, same (known) pid namespace. */
function sameProcessSpace(holder: LockHolder, me: ProcessIdentity): boolean {
  return (
    holder.hostname === me.hostname &&
    holder.pidNamespace !== undefined &&
    holder.pidNamespace === me.pidNamespace &&
    holder.bootId === me.bootId
  );
}

/** The adapter's answer about `pid`, or `isProcessAlive`'s when it has no `processStatus`. */
async function processStatus(fs: FileSystem, pid: number): Promise<ProcessStatus> {
  if (fs.processStatus === undefined) return { state: fs.isProcessAlive(pid) ? "alive" : "gone" };
  try {
    return await fs.processStatus(pid);
  } catch (error) {
    return { state: "unknown", reason: `cannot tell whether pid ${pid} is alive: ${String(error)}` };
  }
}

/** The lock of this process: heartbeat, fence and release. */
class HeldLock implements WriterLock {
  readonly path: string;
  readonly holder: LockHolder;
  readonly #fs: FileSystem;
  readonly #tokenPath: string;
  readonly #staleMs: number;
  /** Monotonic time (ms) when the last confirmed heartbeat started. */
  #confirmedAtMs: number;
  #lost: WalLockLostError | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #beat: Promise<void> | null = null;
  #released = false;

  /** @param writtenAtMs monotonic time (ms) when the token file was written, its first heartbeat */
  constructor(fs: FileSystem, lockPath: string, holder: LockHolder, staleMs: number, writtenAtMs: number) {
    this.#confirmedAtMs = writtenAtMs;
    this.#fs = fs;
    this.path = lockPath;
    this.holder = holder;
    this.#tokenPath = `${lockPath}.${holder.token}`;
    this.#staleMs = staleMs;
    this.#schedule();
  }

  fence(): Promise<void> | undefined {
    if (this.#lost !== null) return Promise.reject(this.#lost);
    if (performance.now() - this.#confirmedAtMs < this.#staleMs / 2) return undefined;
    return this.#heartbeat().then(
      () => {
        if (this.#timer === null) this.#schedule();
      },
      (error: unknown) => {
        throw this.#lose(`it could not be confirmed (${String(error)})`, error);
      },
    );
  }

  checkNotLost(): void {
    if (this.#lost !== null) throw this.#lost;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    liveTokens.delete(this.holder.token);
    await this.#beat?.catch(() => undefined);
    const current = await readLockFile(this.#fs, this.path);
    if (current !== "gone" && current.holder?.token === this.holder.token) await unlinkIfPresent(this.#fs, this.path);
    await unlinkIfPresent(this.#fs, this.#tokenPath);
  }

  /** Arms the next heartbeat; a failed one stops the timer (the fence then confirms the lock itself before any write). */
  #schedule(): void {
    if (this.#released || this.#lost !== null) return;
    const timer = setTimeout(() => {
      this.#heartbeat().then(
        () => this.#schedule(),
        () => (this.#timer = null),
      );
    }, this.#staleMs / 3);
    if (typeof (timer as { unref?: unknown }).unref === "function") (timer as { unref(): void }).unref();
    else this.#fs.unrefTimer?.(timer);
    this.#timer = timer;
  }

  /** One heartbeat at a time; callers during one share it. */
  #heartbeat(): Promise<void> {
    this.#beat ??= this.#refresh().finally(() => (this.#beat = null));
    return this.#beat;
  }

  /** Rewrites the token file with a new heartbeat time, then confirms the lock is still this holder's. */
  async #refresh(): Promise<void> {
    if (this.#lost !== null) throw this.#lost;
    const startedAtMs = performance.now();
    const bytes = encodeHolder({ ...this.holder, heartbeatAtMs: Date.now() });
    try {
      await rewriteInPlace(this.#fs, this.#tokenPath, bytes);
    } catch (error) {
      if (errorCode(error) === "ENOENT") throw this.#lose(`its token file ${this.#tokenPath} is gone: another process broke the lock`);
      throw error;
    }
    if ((await this.#fs.stat(this.#tokenPath)) === null) throw this.#lose(`its token file ${this.#tokenPath} is gone: another process broke the lock`);
    const current = await readLockFile(this.#fs, this.path);
    if (current === "gone") throw this.#lose("the lock file is gone");
    if (current.holder?.token !== this.holder.token) throw this.#lose("the lock file names another holder");
    this.#confirmedAtMs = startedAtMs;
  }

  /** Marks the lock lost (once) and returns the error every later fence throws. */
  #lose(detail: string, cause?: unknown): WalLockLostError {
    this.#lost ??= new WalLockLostError(this.path, detail, cause === undefined ? undefined : { cause });
    return this.#lost;
  }
}

/** Overwrites the existing file `path` from offset 0 (without syncing: a lost heartbeat only makes the lock look older). */
async function rewriteInPlace(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const file = await fs.open(path, "write");
  try {
    await file.write(bytes, 0);
  } finally {
    await file.close();
  }
}

/** The holder as the bytes of a lock file: JSON padded with spaces to {@link LOCK_FILE_BYTES}. */
function encodeHolder(holder: LockHolder): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(holder).padEnd(LOCK_FILE_BYTES, " "));
}

/** The lock file at `path`, or `"gone"` if absent. */
async function readLockFile(fs: FileSystem, path: string): Promise<LockFile | "gone"> {
  const bytes = await readFileIfPresent(fs, path);
  return bytes === null ? "gone" : { bytes, holder: parseHolder(bytes) };
}

/** The holder recorded in `bytes`, or null if they are not a lock file this protocol wrote. */
function parseHolder(bytes: Uint8Array): LockHolder | null {
  let value: Partial<Record<keyof LockHolder, unknown>>;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Record<keyof LockHolder, unknown>>;
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  const valid =
    Number.isSafeInteger(value.pid) &&
    typeof value.hostname === "string" &&
    typeof value.runtime === "string" &&
    typeof value.instance === "string" &&
    typeof value.token === "string" &&
    TOKEN_NAME.test(value.token) &&
    Number.isFinite(value.acquiredAtMs) &&
    (value.heartbeatAtMs === undefined || Number.isFinite(value.heartbeatAtMs)) &&
    (value.staleMs === undefined || Number.isFinite(value.staleMs)) &&
    ["bootId", "pidNamespace", "startTime"].every((key) => {
      const field = value[key as keyof LockHolder];
      return field === undefined || typeof field === "string";
    });
  return valid ? (value as unknown as LockHolder) : null;
}

/** The token-file name given to a lock file that does not parse: its checksum and size. */
function unparsableName(bytes: Uint8Array): string {
  return `unparsable-${crc32(bytes, 0).toString(16).padStart(8, "0")}-${bytes.length}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** `link(from, to)`; false if `to` exists. */
async function linkIfAbsent(fs: FileSystem, from: string, to: string): Promise<boolean> {
  try {
    await fs.link(from, to);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
