/**
 * The writer lock between real processes of every runtime (issue: "a second
 * writer on the same log — same process or another, same runtime or another
 * — gets WalLockedError (stable code, names the holder if known) at open,
 * immediately, never a hang. A lock left by a process that was SIGKILLed
 * does not block the next open. Readers never need the lock.").
 *
 * One long-lived agent child per runtime (`test/children/agent.ts`) does the
 * children's part. For each runtime A, A's child takes the lock; then the
 * test process, A's own child again (same process), and the children of both
 * other runtimes (so every ordered pair A≠B: Node/Bun, Node/Deno, Bun/Node,
 * Bun/Deno, Deno/Node, Deno/Bun) try to open and must get `WAL_LOCKED`
 * naming A's pid, host and runtime, while every process can read the log.
 * Then A is SIGKILLed (its lock file stays behind) and the two other
 * runtimes' children race to open: at least one must get in, any loser must
 * get `WAL_LOCKED`, nobody hangs. A is then restarted for the next round.
 *
 * "Immediately" is checked only as a generous bound against hangs (each
 * request must be answered within 20 s), never as a timing.
 */

import { existsSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WalLockedError, WalReader, WalWriter } from "../mod.ts";
import { runtimeName } from "../adapters/auto.ts";
import { Agent, type AgentReply, killAll, type Runtime, RUNTIMES } from "./children.ts";
import type { ReadRecord, WriteResult } from "./children/ops.ts";
import { useTempDir } from "./helpers.ts";

const agents = new Map<Runtime, Agent>();

function agent(runtime: Runtime): Agent {
  const found = agents.get(runtime);
  if (found === undefined) throw new Error(`no ${runtime} agent`);
  return found;
}

beforeAll(async () => {
  const started = await Promise.all(RUNTIMES.map((runtime) => Agent.start(runtime)));
  for (const a of started) agents.set(a.runtime, a);
}, 60_000);

afterAll(async () => {
  await killAll();
});

/** Values read back from `path` in this process. */
async function readHere(path: string): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const r of WalReader.open(path)) values.push(r.value);
  return values;
}

/** Expects a failed reply to be WAL_LOCKED naming `holder`. */
function expectLockedBy(reply: AgentReply<unknown>, holder: { pid: number; runtime: Runtime }): void {
  expect(reply.ok).toBe(false);
  if (reply.ok) return;
  expect(reply.error.name).toBe("WalLockedError");
  expect(reply.error.code).toBe("WAL_LOCKED");
  expect(reply.error.holder).not.toBeNull();
  expect(reply.error.holder!.pid).toBe(holder.pid);
  expect(reply.error.holder!.hostname).toBe(hostname());
  expect(reply.error.holder!.runtime.split(" ")[0]).toBe(holder.runtime);
}

test("a second writer in the test's own process is refused with WAL_LOCKED naming this process", async () => {
  const path = `${await useTempDir()}/same.wal`;
  const first = await WalWriter.open(path);
  await first.append("one");
  await first.flush();
  const error = await WalWriter.open(path).then(
    async (w) => {
      await w.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WalLockedError);
  const locked = error as WalLockedError;
  expect(locked.code).toBe("WAL_LOCKED");
  expect(locked.holder?.pid).toBe(process.pid);
  expect(locked.holder?.runtime.split(" ")[0]).toBe(runtimeName());
  expect(await readHere(path)).toEqual(["one"]);
  // The refused open took nothing away from the holder.
  await first.append("two");
  await first.close();
  const again = await WalWriter.open(path);
  expect(again.currentSequence).toBe(2);
  await again.close();
});

describe.each(RUNTIMES)("a log locked by a %s child", (holderRuntime) => {
  test("is refused to every other process and runtime, readable by all, and freed by SIGKILL", async () => {
    const path = `${await useTempDir()}/held-by-${holderRuntime}.wal`;
    const holder = agent(holderRuntime);
    const others = RUNTIMES.filter((r) => r !== holderRuntime);

    const hold = await holder.call<WriteResult>({ op: "write", path, batches: [["a", "b"], ["c"]], hold: true });
    expect(hold.sequences).toEqual([1, 2, 3]);
    const holderIdentity = { pid: holder.pid, runtime: holderRuntime };

    // The test process (another process; the same runtime as one of the holders).
    const here = await WalWriter.open(path).then(
      async (w) => {
        await w.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(here).toBeInstanceOf(WalLockedError);
    expect((here as WalLockedError).code).toBe("WAL_LOCKED");
    expect((here as WalLockedError).holder?.pid).toBe(holder.pid);
    expect((here as WalLockedError).holder?.runtime.split(" ")[0]).toBe(holderRuntime);

    // The holder's own process, a second time.
    expectLockedBy(await holder.request({ op: "write", path, batches: [["x"]] }), holderIdentity);

    // Children of the other runtimes, each a different process and runtime.
    for (const other of others) {
      expectLockedBy(await agent(other).request({ op: "write", path, batches: [["x"]] }), holderIdentity);
      expectLockedBy(
        await agent(other).request({ op: "write", path, batches: [["x"]], repair: "truncate-partial" }),
        holderIdentity,
      );
    }

    // Readers need no lock: everyone reads what the holder flushed.
    expect(await readHere(path)).toEqual(["a", "b", "c"]);
    for (const runtime of RUNTIMES) {
      const records = await agent(runtime).call<ReadRecord[]>({ op: "read", path });
      expect(records.map((r) => r.value)).toEqual(["a", "b", "c"]);
    }
    // None of the refused attempts wrote anything; the holder still writes.
    await holder.call({ op: "release", path });
    expect(await readHere(path)).toEqual(["a", "b", "c"]);
    await holder.call<WriteResult>({ op: "write", path, batches: [["d"]], hold: true });

    // SIGKILL the holder: its lock file stays behind. The signal goes straight
    // to the pid first: Deno's `ChildProcess.kill` closes the child's stdin
    // before signalling it, and an agent that sees its stdin end releases its
    // locks, which once removed the lock file before the signal landed.
    process.kill(holder.pid, "SIGKILL");
    const exit = await holder.kill();
    expect(exit.signal).toBe("SIGKILL");
    agents.delete(holderRuntime);
    expect(existsSync(`${path}.lock`)).toBe(true);
    expect(await readHere(path)).toEqual(["a", "b", "c", "d"]);

    // The other two runtimes race for the log: the dead holder blocks nobody.
    const replies = await Promise.all(
      others.map((other) => agent(other).request<WriteResult>({ op: "write", path, batches: [[`by ${other}`]] })),
    );
    const winners = replies.flatMap((reply, index) => (reply.ok ? [others[index]!] : []));
    expect(winners.length).toBeGreaterThanOrEqual(1);
    for (const reply of replies) {
      if (!reply.ok) expect(reply.error.code, JSON.stringify(reply.error)).toBe("WAL_LOCKED");
    }
    const expected = ["a", "b", "c", "d", ...winners.map((w) => `by ${w}`)];
    const readBack = await readHere(path);
    expect(readBack.slice(0, 4)).toEqual(["a", "b", "c", "d"]);
    expect([...readBack].sort()).toEqual([...expected].sort());

    // The lock is free again for anyone, including this process.
    const last = await WalWriter.open(path);
    expect(last.currentSequence).toBe(expected.length);
    await last.close();
    expect(existsSync(`${path}.lock`)).toBe(false);

    agents.set(holderRuntime, await Agent.start(holderRuntime));
  }, 60_000);
});
