/**
 * Following only what is durable (`durable: true`): in process, up to the
 * writer's last fsync; from another process, every batch but the newest of
 * the newest segment, which waits for a later batch or a rotation.
 */

import { describe, expect, test } from "vitest";
import { Wal, type WalRecord } from "../mod.ts";
import { gatedSyncs, useTempDir } from "./helpers.ts";

const POLL_MS = 5;

/** Lets several poll intervals pass: a follower that would return a record it must not has had every chance to. */
function pollsPass(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, POLL_MS * 10));
}

/** Starts `next()` and records whether it settled before `flag()` turned true. */
function watch(iterator: AsyncIterator<WalRecord<unknown>>, flag: () => boolean): { done: Promise<WalRecord<unknown>>; early: () => boolean } {
  let early = false;
  const done = iterator.next().then((step) => {
    early = !flag();
    if (step.done === true) throw new Error("follower ended");
    return step.value;
  });
  return { done, early: () => early };
}

describe("durable follow", () => {
  test("in process: a written batch is returned only once its fsync returned", async () => {
    const { fs, hold, release } = await gatedSyncs();
    const dir = `${await useTempDir()}/log`;
    const wal = await Wal.open(dir, { fs, pollMs: POLL_MS });
    const controller = new AbortController();
    const durable = wal.follow({ durable: true, signal: controller.signal });
    const eager = wal.follow({ signal: controller.signal });
    await wal.append("a");
    await wal.flush();
    expect((await durable.next()).value).toMatchObject({ sequence: 1, value: "a" });
    expect((await eager.next()).value).toMatchObject({ sequence: 1 });
    let synced = false;
    const second = watch(durable, () => synced);
    hold();
    await wal.append("b");
    const flushed = wal.flush();
    expect((await eager.next()).value).toMatchObject({ sequence: 2, value: "b" }); // written, not yet durable
    await pollsPass();
    synced = true;
    release();
    await flushed;
    expect(await second.done).toMatchObject({ sequence: 2, value: "b" });
    expect(second.early()).toBe(false);
    controller.abort();
    await wal.close();
  });

  test("across processes: the newest batch waits for a later batch, a whole segment for its successor", async () => {
    const dir = `${await useTempDir()}/log`;
    const wal = await Wal.open(dir, { pollMs: POLL_MS });
    for (const value of ["a", "b", "c"]) {
      await wal.append(value);
      await wal.flush();
    }
    const controller = new AbortController();
    const follower = Wal.follow(dir, { durable: true, signal: controller.signal, pollMs: POLL_MS });
    expect((await follower.next()).value).toMatchObject({ sequence: 1 });
    expect((await follower.next()).value).toMatchObject({ sequence: 2 });
    let later = false;
    const third = watch(follower, () => later);
    await pollsPass();
    later = true;
    await wal.appendBatch(["d", "e"]);
    await wal.flush();
    expect(await third.done).toMatchObject({ sequence: 3, value: "c" });
    expect(third.early()).toBe(false);
    // The batch d, e is now the newest: held back until a rotation seals its segment.
    let rotated = false;
    const fourth = watch(follower, () => rotated);
    await pollsPass();
    rotated = true;
    await wal.rotate();
    expect(await fourth.done).toMatchObject({ sequence: 4, value: "d" });
    expect(fourth.early()).toBe(false);
    expect((await follower.next()).value).toMatchObject({ sequence: 5, value: "e" });
    controller.abort();
    await wal.close();
  });

  test("refuses a durable option that is not a boolean", async () => {
    expect(() => Wal.follow("x", { durable: "yes" as unknown as boolean })).toThrow(/durable/);
  });
});
