/**
 * The writer lock against holders it must not break and holders it must
 * (issue 9, items 1, 4 and 5): lock files are written here by hand, as a
 * holder in another container, a dead process whose pid was reused, a
 * crashed or half-deleted holder would have left them, and a real writer
 * then opens the log. Also: leftovers of dead contenders are removed, a
 * live holder's heartbeat keeps its lock, a holder whose lock was taken
 * over writes nothing more (fencing), and `staleMs` is checked.
 *
 * Runs in the test's runtime with its own adapter; a Deno child with narrow
 * permissions (no `--allow-run`, no `/proc`, which Deno 2 opens to
 * `--allow-all` only) shows that the error says what to grant, and that a
 * dead holder's lock is still broken once its heartbeat is stale.
 */

import { spawn } from "node:child_process";
import { existsSync, linkSync, readdirSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, expect, test, vi } from "vitest";
import { defaultFileSystem, runtimeName } from "../adapters/auto.ts";
import { type FileSystem, type LockHolder, Wal, WalArgumentError, WalLockedError, WalLockLostError, WalWriter } from "../mod.ts";
import { childScript, ROOT } from "./children.ts";
import { deadPid, useTempDir } from "./helpers.ts";

const fs = await defaultFileSystem();
const me = fs.process();

function randomToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A holder as another process of this host, boot and pid namespace would record it, with `changes`. */
function holder(changes: Partial<LockHolder> = {}): LockHolder {
  const nowMs = Date.now();
  return {
    pid: me.pid,
    hostname: me.hostname,
    runtime: "elsewhere 1.0",
    instance: "another-process-run",
    token: randomToken(),
    acquiredAtMs: nowMs,
    heartbeatAtMs: nowMs,
    staleMs: 30_000,
    ...(me.bootId === undefined ? {} : { bootId: me.bootId }),
    ...(me.pidNamespace === undefined ? {} : { pidNamespace: me.pidNamespace }),
    ...changes,
  };
}

/** Leaves `L.<token>` and `L` as a holder does (`L` alone with `tokenFile: false`). */
function writeLock(lockPath: string, who: LockHolder, tokenFile = true): void {
  const tokenPath = `${lockPath}.${who.token}`;
  writeFileSync(tokenPath, JSON.stringify(who));
  linkSync(tokenPath, lockPath);
  if (!tokenFile) unlinkSync(tokenPath);
}

/** The rejection of `promise`, or null if it resolved (closing what it opened). */
async function failure(promise: Promise<{ close(): Promise<void> }>): Promise<unknown> {
  return promise.then(
    async (opened) => {
      await opened.close();
      return null;
    },
    (error: unknown) => error,
  );
}

/** The start time of a live pid, as the adapter reads it. */
async function startTimeOf(pid: number): Promise<string> {
  const status = await fs.processStatus!(pid);
  if (status.state !== "alive" || status.startTime === undefined) throw new Error(`no start time for pid ${pid}: ${JSON.stringify(status)}`);
  return status.startTime;
}

/** `fs` as a process with another identity (another pid namespace, another run) would use it. */
function asOtherProcess(inner: FileSystem, changes: { pidNamespace: string }): FileSystem {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === "process") return () => ({ ...target.process(), instance: "a-process-elsewhere", ...changes });
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe.skipIf(process.platform !== "linux")(`the writer lock on ${runtimeName()}`, () => {
  test("this process knows its boot, pid namespace and start time", async () => {
    expect(me.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(me.pidNamespace).toMatch(/^pid:\[[0-9]+\]$/);
    expect(me.startTime).toBe(await startTimeOf(process.pid));
  });

  test("the adapter tells a live pid's start time, and a dead pid from a live one", async () => {
    expect(await fs.processStatus!(process.pid)).toEqual({ state: "alive", startTime: me.startTime });
    expect(await fs.processStatus!(await deadPid())).toEqual({ state: "gone" });
  });

  test("a live-looking holder in another pid namespace is never broken, whatever its pid is here", async () => {
    const dir = await useTempDir();
    for (const pid of [await deadPid(), process.pid, process.ppid]) {
      const path = join(dir, `ns-${pid}.wal`);
      const other = holder({ pid, pidNamespace: "pid:[4026530000]" });
      writeLock(`${path}.lock`, other);
      const error = await failure(WalWriter.open(path));
      expect(error, `pid ${pid}`).toBeInstanceOf(WalLockedError);
      expect((error as WalLockedError).holder?.token).toBe(other.token);
      expect((error as WalLockedError).message).toContain("another pid namespace");
      expect(existsSync(path)).toBe(false);
      expect(JSON.parse(readFileSync(`${path}.lock`, "utf8"))).toEqual(other);
    }
  });

  test("so is a holder on another host, and one that recorded no pid namespace", async () => {
    const dir = await useTempDir();
    const dead = await deadPid();
    const others = [holder({ pid: dead, hostname: `${me.hostname}-twin` }), holder({ pid: dead, bootId: "another-boot" })];
    const { pidNamespace: _, ...noNamespace } = holder({ pid: dead });
    for (const [index, other] of [...others, noNamespace].entries()) {
      const path = join(dir, `other-${index}.wal`);
      writeLock(`${path}.lock`, other);
      expect(await failure(WalWriter.open(path))).toBeInstanceOf(WalLockedError);
    }
  });

  test("a holder whose pid now belongs to another process (another start time) is broken", async () => {
    const dir = await useTempDir();
    const live = process.ppid;
    const reused = join(dir, "reused.wal");
    writeLock(`${reused}.lock`, holder({ pid: live, startTime: "1" }));
    const writer = await WalWriter.open(reused);
    await writer.append("mine");
    await writer.close();
    // The same pid with its real start time is that very process, alive: not broken.
    const alive = join(dir, "alive.wal");
    writeLock(`${alive}.lock`, holder({ pid: live, startTime: await startTimeOf(live) }));
    expect(await failure(WalWriter.open(alive))).toBeInstanceOf(WalLockedError);
  });

  test("a holder whose heartbeat is older than staleMs is broken, even in another pid namespace", async () => {
    const dir = await useTempDir();
    const old = Date.now() - 60_000;
    for (const [index, stale] of [holder({ pid: process.ppid, pidNamespace: "pid:[4026530000]" }), holder({ hostname: "elsewhere" })].entries()) {
      const path = join(dir, `old-${index}.wal`);
      writeLock(`${path}.lock`, { ...stale, heartbeatAtMs: old, acquiredAtMs: old });
      const writer = await WalWriter.open(path);
      await writer.close();
    }
    // staleMs is the larger of the holder's and the opener's.
    const patient = join(dir, "patient.wal");
    writeLock(`${patient}.lock`, holder({ hostname: "elsewhere", heartbeatAtMs: old, staleMs: 120_000 }));
    expect(await failure(WalWriter.open(patient))).toBeInstanceOf(WalLockedError);
    expect(await failure(WalWriter.open(patient, { staleMs: 100 }))).toBeInstanceOf(WalLockedError);
  });

  test("a lock file whose token file is gone is broken once its holder is dead or stale", async () => {
    const dir = await useTempDir();
    const dead = join(dir, "dead.wal");
    writeLock(`${dead}.lock`, holder({ pid: await deadPid() }), false);
    await (await WalWriter.open(dead)).close();
    const stale = join(dir, "stale.wal");
    writeLock(`${stale}.lock`, holder({ hostname: "elsewhere", heartbeatAtMs: Date.now() - 60_000 }), false);
    await (await WalWriter.open(stale)).close();
    const fresh = join(dir, "fresh.wal");
    writeLock(`${fresh}.lock`, holder({ hostname: "elsewhere" }), false);
    expect(await failure(WalWriter.open(fresh))).toBeInstanceOf(WalLockedError);
    expect(readdirSync(dir).sort()).toEqual(["dead.wal", "fresh.wal.lock", "stale.wal"]);
  });

  test("a lock file that does not parse is broken once it is older than staleMs", async () => {
    const dir = await useTempDir();
    const path = join(dir, "garbled.wal");
    writeFileSync(`${path}.lock`, "{ not a lock");
    const error = await failure(WalWriter.open(path));
    expect(error).toBeInstanceOf(WalLockedError);
    expect((error as WalLockedError).holder).toBeNull();
    expect((error as WalLockedError).message).toContain("does not parse");
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, longAgo, longAgo);
    const writer = await WalWriter.open(path);
    await writer.append("x");
    await writer.close();
    expect(readdirSync(dir)).toEqual(["garbled.wal"]);
  });

  test("token files and claims of dead contenders are removed; a live contender's are kept", async () => {
    const dir = await useTempDir();
    const path = join(dir, "crowd.wal");
    const lockPath = `${path}.lock`;
    const deadContender = holder({ pid: await deadPid() });
    const staleContender = holder({ hostname: "elsewhere", heartbeatAtMs: Date.now() - 60_000 });
    const liveContender = holder({ hostname: "elsewhere" });
    for (const who of [deadContender, staleContender, liveContender]) writeFileSync(`${lockPath}.${who.token}`, JSON.stringify(who));
    writeFileSync(`${lockPath}.${randomToken()}.broken-by.${randomToken()}`, JSON.stringify(holder({ pid: await deadPid() })));
    const liveClaim = `${lockPath}.${randomToken()}.broken-by.${liveContender.token}`;
    writeFileSync(liveClaim, JSON.stringify(holder({ pid: await deadPid() })));
    writeFileSync(join(dir, "crowd.wal.lockless"), "not ours");
    const writer = await WalWriter.open(path);
    await writer.close();
    expect(readdirSync(dir).sort()).toEqual(
      ["crowd.wal", "crowd.wal.lockless", `crowd.wal.lock.${liveContender.token}`, liveClaim.slice(dir.length + 1)].sort(),
    );
  });

  test("a live holder keeps its lock past staleMs by heartbeating", async () => {
    const path = join(await useTempDir(), "beating.wal");
    const writer = await WalWriter.open(path, { staleMs: 1000 });
    await writer.append("a");
    await sleep(2500);
    const elsewhere = asOtherProcess(fs, { pidNamespace: "pid:[4026530000]" });
    const error = await failure(WalWriter.open(path, { fs: elsewhere, staleMs: 1000 }));
    expect(error).toBeInstanceOf(WalLockedError);
    expect((error as WalLockedError).holder?.pid).toBe(process.pid);
    await writer.flush();
    await writer.close();
  });

  test("staleMs is checked before anything is created", async () => {
    const dir = await useTempDir();
    for (const staleMs of [0, 99, 1.5, Number.NaN, 86_400_001, "1000"]) {
      const error = await failure(WalWriter.open(join(dir, "w.wal"), { staleMs: staleMs as number }));
      expect(error, String(staleMs)).toBeInstanceOf(WalArgumentError);
      expect(await failure(Wal.open(join(dir, "segmented"), { staleMs: staleMs as number }))).toBeInstanceOf(WalArgumentError);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

/** Replaces the lock at `lockPath` the way a process that broke it and took it would. */
function takeOver(lockPath: string): LockHolder {
  const old = JSON.parse(readFileSync(lockPath, "utf8")) as LockHolder;
  const newcomer = holder({ hostname: "elsewhere" });
  renameSync(`${lockPath}.${old.token}`, `${lockPath}.${old.token}.broken-by.${newcomer.token}`);
  unlinkSync(lockPath);
  writeLock(lockPath, newcomer);
  unlinkSync(`${lockPath}.${old.token}.broken-by.${newcomer.token}`);
  return newcomer;
}

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).filter((name) => !name.startsWith("wal.lock")).map((name) => [name, readFileSync(join(dir, name), "latin1")]));
}

describe.skipIf(process.platform !== "linux")(`fencing on ${runtimeName()}`, () => {
  test("a writer whose lock was taken over writes nothing more and leaves the new holder's lock alone", async () => {
    const dir = await useTempDir();
    const path = join(dir, "fenced.wal");
    const writer = await WalWriter.open(path, { staleMs: 100 });
    await writer.append("before");
    await writer.flush();
    const newcomer = takeOver(`${path}.lock`);
    const before = readFileSync(path);
    await sleep(200); // past staleMs / 2: the next write must confirm the lock first
    const appended = await writer.append("after").then(() => null, (error: unknown) => error);
    if (appended !== null) expect(appended).toBeInstanceOf(WalLockLostError);
    const flushed = await writer.flush().then(() => null, (error: unknown) => error);
    expect(flushed).toBeInstanceOf(WalLockLostError);
    expect((flushed as WalLockLostError).code).toBe("WAL_LOCK_LOST");
    await expect(writer.append("later")).rejects.toBeInstanceOf(WalLockLostError);
    await writer.close().catch(() => undefined);
    expect(readFileSync(path)).toEqual(before);
    expect(JSON.parse(readFileSync(`${path}.lock`, "utf8"))).toEqual(newcomer);
  });

  test("the fence before a batch write catches a takeover that no heartbeat has noticed yet", async () => {
    const path = join(await useTempDir(), "unnoticed.wal");
    const writer = await WalWriter.open(path, { staleMs: 100 });
    vi.useFakeTimers({ toFake: ["setTimeout"] }); // the heartbeat timer never fires from here on
    try {
      await writer.append("before");
      await writer.flush();
      takeOver(`${path}.lock`);
      const before = readFileSync(path);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // past staleMs / 2, without a timer
      expect(await writer.append("after")).toBe(2); // accepted into the buffer: nothing knows yet
      await expect(writer.flush()).rejects.toBeInstanceOf(WalLockLostError);
      expect(readFileSync(path)).toEqual(before);
      await expect(writer.append("later")).rejects.toBeInstanceOf(WalLockLostError);
    } finally {
      vi.useRealTimers();
      await writer.close().catch(() => undefined);
    }
  });

  test("so does the fence before a queued operation of a segmented log", async () => {
    const dir = await useTempDir();
    const wal = await Wal.open(dir, { staleMs: 100 });
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    try {
      await wal.appendBatch(["a", "b", "c"]);
      await wal.flush();
      takeOver(join(dir, "wal.lock"));
      const before = snapshot(dir);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      await expect(wal.truncateFront(2)).rejects.toBeInstanceOf(WalLockLostError);
      expect(snapshot(dir)).toEqual(before);
    } finally {
      vi.useRealTimers();
      await wal.close().catch(() => undefined);
    }
  });

  test("so does a segmented log, for appends, rotations and truncations alike", async () => {
    const dir = await useTempDir();
    const wal = await Wal.open(dir, { staleMs: 100, segmentBytes: 200 });
    await wal.appendBatch(["a", "b", "c"]);
    await wal.flush();
    const newcomer = takeOver(join(dir, "wal.lock"));
    const before = snapshot(dir);
    await sleep(200);
    await wal.append("after").catch(() => undefined);
    await expect(wal.flush()).rejects.toBeInstanceOf(WalLockLostError);
    await expect(wal.rotate()).rejects.toBeInstanceOf(WalLockLostError);
    await expect(wal.truncateFront(2)).rejects.toBeInstanceOf(WalLockLostError);
    await wal.close().catch(() => undefined);
    expect(snapshot(dir)).toEqual(before);
    expect(JSON.parse(readFileSync(join(dir, "wal.lock"), "utf8"))).toEqual(newcomer);
  });
});

/** Runs `test/children/lock-open.ts` in Deno with only `permissions`, and returns its one line of JSON. */
async function openInDeno(path: string, permissions: readonly string[]): Promise<{ ok: boolean; code?: string; message?: string }> {
  const deno = join(ROOT, "node_modules", ".bin", "deno");
  const child = spawn(deno, ["run", "--quiet", ...permissions, childScript("lock-open.ts"), path], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let errors = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) throw new Error(`deno child exited with ${code}: ${errors}`);
  return JSON.parse(output) as { ok: boolean; code?: string; message?: string };
}

describe.skipIf(process.platform !== "linux")("Deno and a dead holder's lock", () => {
  test("without /proc the error says what to grant, a stale heartbeat is enough without --allow-run, and -A breaks it at once", async () => {
    const dir = await useTempDir();
    const narrow = [`--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-sys=hostname"];
    const fresh = join(dir, "fresh.wal");
    writeLock(`${fresh}.lock`, holder({ pid: await deadPid() }));
    const refused = await openInDeno(fresh, narrow);
    expect(refused.ok).toBe(false);
    expect(refused.code).toBe("WAL_LOCKED");
    expect(refused.message).toContain("--allow-all");
    expect(refused.message).toContain("30000 ms");
    const stale = join(dir, "stale.wal");
    writeLock(`${stale}.lock`, holder({ pid: await deadPid(), heartbeatAtMs: Date.now() - 60_000 }));
    expect(await openInDeno(stale, narrow)).toEqual({ ok: true });
    expect(await openInDeno(fresh, ["--allow-all"])).toEqual({ ok: true });
    expect(readdirSync(dir).sort()).toEqual(["fresh.wal", "stale.wal"]);
  }, 60_000);
});
