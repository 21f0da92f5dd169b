/**
 * Readers of the segmented log on the real filesystem: `read` across
 * segments and bounds, in-process followers woken by the writer, the
 * lock-free `Wal.follow` of another process (a child of every runtime),
 * and followers surviving rotation, retention and truncation underneath
 * them.
 */

import { afterAll, describe, expect, test } from "vitest";
import { Wal, type WalOptions, type WalRecord, WalRewoundError } from "../mod.ts";
import { Child, childScript, killAll, RUNTIMES } from "./children.ts";
import { countingFileSystem, useTempDir } from "./helpers.ts";

afterAll(killAll);

/** Sequences `from` … `to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

async function freshWal(options: WalOptions<unknown> = {}): Promise<{ dir: string; wal: Wal }> {
  const dir = `${await useTempDir()}/log`;
  return { dir, wal: await Wal.open(dir, options) };
}

/** Appends `r<sequence>` up to `to`, flushing every `batch`. */
async function appendUpTo(wal: Wal, to: number, batch = 1): Promise<void> {
  while (wal.currentSequence < to) {
    await wal.append(`r${wal.currentSequence + 1}`);
    if (wal.currentSequence % batch === 0) await wal.flush();
  }
  await wal.flush();
}

/** Collects what `records` yields until `until` holds for the collected list; then aborts `controller`. */
async function collect(
  records: AsyncIterable<WalRecord<unknown>>,
  controller: AbortController,
  until: (seen: WalRecord<unknown>[]) => boolean,
): Promise<WalRecord<unknown>[]> {
  const seen: WalRecord<unknown>[] = [];
  for await (const record of records) {
    seen.push(record);
    if (until(seen)) controller.abort();
  }
  return seen;
}

/** Checks that `seen` is strictly increasing and that each record holds `r<sequence>`. */
function expectInOrderAndIntact(seen: readonly WalRecord<unknown>[]): void {
  for (const [index, record] of seen.entries()) {
    expect(record.value).toBe(`r${record.sequence}`);
    if (index > 0) expect(record.sequence).toBeGreaterThan(seen[index - 1]!.sequence);
  }
}

describe("read", () => {
  test("returns a range across segments, and only records within the bounds", async () => {
    const { wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 30, 3);
    expect(wal.stats().segments).toBeGreaterThan(3);
    const sequences = async (options: { from?: number; to?: number }): Promise<number[]> => {
      const out: number[] = [];
      for await (const record of wal.read(options)) out.push(record.sequence);
      return out;
    };
    expect(await sequences({})).toEqual(range(1, 30));
    expect(await sequences({ from: 7, to: 23 })).toEqual(range(7, 23));
    expect(await sequences({ from: 31 })).toEqual([]);
    expect(await sequences({ from: 9, to: 8 })).toEqual([]);
    await wal.truncateFront(12);
    await wal.truncateBack(20);
    expect(await sequences({ from: 2, to: 25 })).toEqual(range(12, 20));
    await wal.close();
  });

  test("sees only flushed records (unflushed ones are not on disk), and a read in progress does not hold up the writer", async () => {
    const { wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 10);
    const reading = wal.read()[Symbol.asyncIterator]();
    expect((await reading.next()).value?.sequence).toBe(1);
    await wal.append("r11"); // the read is suspended mid-segment; the writer goes on
    const fresh: number[] = [];
    for await (const record of wal.read()) fresh.push(record.sequence);
    expect(fresh).toEqual(range(1, 10)); // r11 is appended, not flushed
    await wal.rotate(); // flushes r11
    await wal.cleanup();
    const rest: number[] = [];
    for (let next = await reading.next(); next.done !== true; next = await reading.next()) rest.push(next.value.sequence);
    expect(rest).toEqual(range(2, 11));
    await wal.close();
  });
});

describe("in-process follow", () => {
  test("yields existing records, then new ones as they are flushed (never before), across rotations, until the signal aborts", async () => {
    const { wal } = await freshWal({ segmentBytes: 300, pollMs: 60_000 });
    await appendUpTo(wal, 5);
    const controller = new AbortController();
    let latest = 0;
    const following = collect(wal.follow({ from: 3, signal: controller.signal }), controller, (seen) => {
      latest = seen.at(-1)!.sequence;
      return seen.length === 48;
    });
    for (let n = 6; n <= 50; n++) {
      await wal.append(`r${n}`);
      if (n % 4 === 0) await wal.flush();
    }
    // r49 and r50 were appended after the last flush: only a rotation (which flushes) can have
    // taken r49 to disk; r50 waits in the batch buffer. The follower gets to the last record
    // on disk and waits there.
    const onDisk: number[] = [];
    for await (const record of wal.read({ from: 3 })) onDisk.push(record.sequence);
    expect(onDisk).toEqual(range(3, onDisk.at(-1)!));
    expect(onDisk.at(-1)).toBeGreaterThanOrEqual(48);
    expect(onDisk.at(-1)).toBeLessThan(50);
    while (latest < onDisk.at(-1)!) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(latest).toBe(onDisk.at(-1));
    await wal.flush();
    const seen = await following;
    expect(seen.map((record) => record.sequence)).toEqual(range(3, 50));
    expectInOrderAndIntact(seen);
    expect(wal.stats().segments).toBeGreaterThan(5);
    await wal.close();
  });

  test("ends quietly when the signal aborts while it waits, and when the log closes", async () => {
    const { wal } = await freshWal();
    await appendUpTo(wal, 2);
    const controller = new AbortController();
    const aborted = collect(wal.follow({ signal: controller.signal }), new AbortController(), () => false);
    const closed = collect(wal.follow({ from: 2 }), new AbortController(), () => false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect((await aborted).map((record) => record.sequence)).toEqual([1, 2]);
    await wal.append("r3");
    await wal.close();
    expect((await closed).map((record) => record.sequence)).toEqual([2, 3]);
  });

  test("a follower left behind by retention and truncation goes on from what remains, never backwards", async () => {
    const { wal } = await freshWal({ segmentBytes: 300, maxSegments: 2 });
    await appendUpTo(wal, 4);
    const controller = new AbortController();
    const iterator = wal.follow({ signal: controller.signal })[Symbol.asyncIterator]();
    const seen: WalRecord<unknown>[] = [(await iterator.next()).value as WalRecord<unknown>];
    await appendUpTo(wal, 60); // rotations; retention deletes the segment the follower is in and many after
    await wal.truncateFront(wal.firstSequence + 1);
    await appendUpTo(wal, 70);
    const firstKept = wal.firstSequence;
    expect(firstKept).toBeGreaterThan(50);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      seen.push(next.value);
      if (next.value.sequence === 70) controller.abort();
    }
    expectInOrderAndIntact(seen);
    expect(seen[0]!.sequence).toBe(1);
    const sequences = seen.map((record) => record.sequence);
    expect(sequences).toEqual(expect.arrayContaining(range(firstKept, 70)));
    expect(sequences.length).toBeLessThan(70);
    await wal.close();
  });

  test("a follower does not hold up the writer, however slowly it reads", async () => {
    const { wal } = await freshWal({ segmentBytes: 300 });
    await appendUpTo(wal, 3);
    const iterator = wal.follow()[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.sequence).toBe(1);
    await appendUpTo(wal, 40); // while the follower sits suspended in the first segment
    expect(wal.currentSequence).toBe(40);
    await iterator.return?.();
    await wal.close();
  });
});

/** Reads from `records` until one throws; returns what was read and the error. */
async function readUntilError(iterator: AsyncIterator<WalRecord<unknown>>): Promise<{ seen: number[]; error: unknown }> {
  const seen: number[] = [];
  try {
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) seen.push(next.value.sequence);
  } catch (error) {
    return { seen, error };
  }
  return { seen, error: null };
}

describe("followers and back truncation", () => {
  test("a follower resumes after the last batch it read: reading a segment as it grows costs its size, not its size squared", async () => {
    const { fs, bytesRead } = await countingFileSystem();
    const { wal } = await freshWal({ fs, segmentBytes: 64 * 1024 * 1024 });
    const controller = new AbortController();
    const following = collect(wal.follow({ signal: controller.signal }), controller, (seen) => seen.length === 2_000);
    for (let n = 1; n <= 2_000; n++) {
      await wal.append(`r${n}${"x".repeat(200)}`);
      await wal.flush(); // one batch per record: the follower is woken for each
    }
    expect((await following).length).toBe(2_000);
    const logBytes = (await fs.stat(`${wal.dir}/00000000000000000001.wal`))!.size;
    // Rescanning from the start on every wake-up would read ~1,000 times the log.
    expect(bytesRead()).toBeLessThan(4 * logBytes + 1024 * 1024);
    await wal.close();
  });

  for (const where of ["in-process", "another process's view"] as const) {
    test(`a back cut below what a follower returned is a WalRewoundError (${where}); restarting from its restartFrom returns the new records`, async () => {
      const { dir, wal } = await freshWal({ segmentBytes: 400 });
      await appendUpTo(wal, 30, 4);
      const follow = (from: number): AsyncIterator<WalRecord<unknown>> =>
        (where === "in-process" ? wal.follow({ from }) : Wal.follow(dir, { from, pollMs: 2 }))[Symbol.asyncIterator]();
      const iterator = follow(1);
      const before: number[] = [];
      while (before.at(-1) !== 30) before.push(((await iterator.next()).value as WalRecord<unknown>).sequence);
      await wal.truncateBack(17); // across segments: the follower's segment is deleted, an earlier one cut
      for (let n = 18; n <= 25; n++) await wal.append(`new${n}`);
      await wal.flush();
      const { seen, error } = await readUntilError(iterator);
      expect(seen).toEqual([]);
      expect(error).toBeInstanceOf(WalRewoundError);
      const rewound = error as WalRewoundError;
      expect(rewound.code).toBe("WAL_REWOUND");
      expect(rewound.returnedSequence).toBe(30);
      expect(rewound.restartFrom).toBeGreaterThanOrEqual(1);
      expect(rewound.restartFrom).toBeLessThanOrEqual(18);
      const again = follow(rewound.restartFrom);
      const values: unknown[] = [];
      while (values.length < 26 - rewound.restartFrom) values.push(((await again.next()).value as WalRecord<unknown>).value);
      expect(values.at(-1)).toBe("new25");
      expect(values).toContain("new18");
      expect(values).not.toContain("r18");
      await again.return?.(undefined);
      await wal.close();
    });
  }

  test("a back cut inside the segment a follower is reading, below what it returned, is a WalRewoundError; one above it is not", async () => {
    const { dir, wal } = await freshWal();
    await appendUpTo(wal, 20, 5);
    const iterator = Wal.follow(dir, { pollMs: 2 })[Symbol.asyncIterator]();
    for (let n = 1; n <= 20; n++) expect(((await iterator.next()).value as WalRecord<unknown>).sequence).toBe(n);
    await wal.truncateBack(25); // above everything: nothing changes
    await wal.append("r21");
    await wal.flush();
    expect(((await iterator.next()).value as WalRecord<unknown>).value).toBe("r21");
    await wal.truncateBack(12);
    await wal.append("new13");
    await wal.flush();
    const { error } = await readUntilError(iterator);
    expect(error).toBeInstanceOf(WalRewoundError);
    expect((error as WalRewoundError).restartFrom).toBe(1); // the cut segment, from its start
    await wal.close();
  });
});

describe("Wal.follow without the lock", () => {
  test("follows the directory by polling, across rotations, retention and truncation", async () => {
    const { dir, wal } = await freshWal({ segmentBytes: 300, maxSegments: 3 });
    const controller = new AbortController();
    const following = collect(Wal.follow(dir, { pollMs: 2, signal: controller.signal }), controller, (seen) => seen.at(-1)?.sequence === 90);
    for (let n = 1; n <= 80; n++) {
      await wal.append(`r${n}`);
      await wal.flush();
      if (n % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await wal.truncateFront(wal.currentSequence - 1); // inside the active segment
    await appendUpTo(wal, 90);
    const seen = await following;
    expectInOrderAndIntact(seen);
    expect(wal.firstSequence).toBeGreaterThan(70);
    expect(seen.map((record) => record.sequence)).toEqual(expect.arrayContaining(range(wal.firstSequence, 90)));
    await wal.close();
  });

  test("waits for a directory that does not exist yet, and checks its options", async () => {
    const dir = `${await useTempDir()}/later`;
    const controller = new AbortController();
    const following = collect(Wal.follow(dir, { pollMs: 2, signal: controller.signal }), controller, () => true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const wal = await Wal.open(dir);
    await wal.append("r1");
    await wal.flush();
    expect((await following).map((record) => record.value)).toEqual(["r1"]);
    await wal.close();
    expect(() => Wal.follow(dir, { pollMs: 0 })).toThrow("pollMs");
  });

  for (const runtime of RUNTIMES) {
    test(`a ${runtime} child follows a log this process writes, missing nothing through rotation, and surviving retention`, async () => {
      const { dir, wal } = await freshWal({ segmentBytes: 400, maxSegments: 2, cleanupOnRotate: false });
      const child = Child.spawn(runtime, childScript("wal-follower.ts"), [dir, "1"]);
      await child.waitForLine((line) => line.startsWith("hello "), 60_000);
      const seen: number[] = [];
      const take = (line: string): boolean => {
        if (line.startsWith("error ")) throw new Error(`${line}; ${child.describe()}`);
        if (!line.startsWith("record ")) return false;
        const [, sequence, value] = /^record (\d+) (.*)$/.exec(line)!;
        const at = Number(sequence);
        expect(JSON.parse(value!), line).toBe(at === 201 ? "stop" : `r${at}`);
        expect(at, "sequences only increase").toBeGreaterThan(seen.at(-1) ?? 0);
        seen.push(at);
        return at >= 100;
      };
      await appendUpTo(wal, 100, 3); // many rotations while the child reads: it must miss nothing
      await child.waitForLine(take);
      expect(seen).toEqual(range(1, 100));
      while (wal.currentSequence < 200) {
        await appendUpTo(wal, Math.min(200, wal.currentSequence + 7)); // rotations, and retention deleting segments under the child
        await wal.cleanup();
      }
      await wal.truncateFront(198); // inside a segment
      await wal.append("stop");
      await wal.flush();
      expect(wal.firstSequence).toBe(198);
      await child.waitForLine((line) => {
        take(line);
        return line === "done";
      });
      expect((await child.exited).code).toBe(0);
      expect(seen.at(-1)).toBe(201);
      expect(seen).toEqual(expect.arrayContaining(range(198, 201))); // everything the log still holds
      await wal.close();
    });
  }
});
