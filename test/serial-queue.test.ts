/**
 * The serial queue every open log runs its non-overlapping operations on:
 * call order, failures that stay with their own caller, and the fixed bound
 * on its length (refused with `WalQueueFullError`, nothing queued; the final
 * operation, closing, accepted even at the bound).
 */

import { describe, expect, test } from "vitest";
import { WalReader, WalWriter } from "../mod.ts";
import { MemoryFileSystem } from "../sim/mod.ts";
import { AssertionError } from "../src/assert.ts";
import { WalError } from "../src/errors.ts";
import { WalQueueFullError } from "../mod.ts";
import { SERIAL_QUEUE_OPERATIONS_MAX, SerialQueue } from "../src/serial-queue.ts";

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe("SerialQueue", () => {
  test("runs operations one at a time in call order; a failure rejects only its own caller", async () => {
    const queue = new SerialQueue("log");
    const order: string[] = [];
    const gate = deferred();
    const first = queue.run(async () => {
      order.push("first starts");
      await gate.promise;
      order.push("first ends");
      return 1;
    });
    const second = queue.run(async () => {
      order.push("second");
      throw new Error("second fails");
    });
    const third = queue.run(async () => {
      order.push("third");
      return 3;
    });
    expect(queue.idle).toBe(false);
    gate.resolve();
    expect(await first).toBe(1);
    await expect(second).rejects.toThrow("second fails");
    expect(await third).toBe(3);
    expect(order).toEqual(["first starts", "first ends", "second", "third"]);
    await Promise.resolve();
    expect(queue.idle).toBe(true);
  });

  test("at its bound it refuses with WalQueueFullError, queuing nothing, and takes operations again once one settles", async () => {
    const operationsMax = 3;
    const queue = new SerialQueue("the-log", operationsMax);
    const gate = deferred();
    let ran = 0;
    const accepted = Array.from({ length: operationsMax }, () =>
      queue.run(async () => {
        ran++;
        await gate.promise;
      }),
    );
    const refused = queue.run(async () => {
      ran += 100;
    });
    await expect(refused).rejects.toBeInstanceOf(WalQueueFullError);
    const error = (await refused.catch((caught: unknown) => caught)) as WalQueueFullError;
    expect(error).toBeInstanceOf(WalError);
    expect(error.code).toBe("WAL_QUEUE_FULL");
    expect(error.operationsMax).toBe(operationsMax);
    expect(error.message).toContain("the-log");
    gate.resolve();
    await Promise.all(accepted);
    expect(ran).toBe(operationsMax); // the refused operation never ran
    await Promise.resolve();
    expect(queue.idle).toBe(true);
    await expect(queue.run(async () => "again")).resolves.toBe("again");
  });

  test("the final operation (closing) is accepted at the bound, and nothing after it", async () => {
    const queue = new SerialQueue("log", 1);
    const gate = deferred();
    const running = queue.run(() => gate.promise);
    await expect(queue.run(async () => undefined)).rejects.toBeInstanceOf(WalQueueFullError);
    const final = queue.runFinal(async () => "closed");
    gate.resolve();
    await running;
    expect(await final).toBe("closed");
    let bug: unknown = null;
    try {
      queue.run(async () => undefined);
    } catch (error) {
      bug = error;
    }
    // A programming error, not a condition to handle: an AssertionError, never a WalError with a code.
    expect(bug).toBeInstanceOf(AssertionError);
    expect(bug).not.toBeInstanceOf(WalError);
    expect((bug as Error).name).toBe("AssertionError");
    expect((bug as Error).message).toBe("invariant violated: nothing is queued after the final operation");
  });

  test("the default bound is SERIAL_QUEUE_OPERATIONS_MAX, far above what awaiting callers reach", () => {
    expect(SERIAL_QUEUE_OPERATIONS_MAX).toBe(1024 * 1024);
    expect(() => new SerialQueue("log", 0)).toThrow(AssertionError);
  });

  test("a writer closed while appends wait in its queue for room runs them first, then closes", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("/data");
    await fs.syncDir("/");
    const writer = await WalWriter.open("/data/log.wal", { fs, maxBatchBytes: 1024 });
    const note = "x".repeat(600); // two do not fit one batch: the second waits in the queue for room
    const appends = [writer.append(note), writer.append(note), writer.append(note)];
    const closed = writer.close();
    expect(await Promise.all(appends)).toEqual([1, 2, 3]);
    await closed;
    const sequences: number[] = [];
    for await (const record of WalReader.open("/data/log.wal", { fs })) sequences.push(record.sequence);
    expect(sequences).toEqual([1, 2, 3]);
  });
});
