/**
 * The in-memory filesystem: the adapter contract, the durability model, every
 * crash outcome, every fault, determinism, and a crash-at-every-operation run
 * of the kind the crash harness performs.
 */

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  CRASH_OUTCOMES,
  type CrashOutcome,
  MemoryFileSystem,
  MemoryFileSystemError,
  SimulatedCrashError,
  subsetOutcomes,
} from "../sim/mod.ts";
import type { FileHandle } from "../src/fs.ts";

const encoder = new TextEncoder();
const text = (value: string): Uint8Array => encoder.encode(value);

/** `lengthBytes` bytes all equal to `value`. */
const filled = (lengthBytes: number, value: number): Uint8Array => new Uint8Array(lengthBytes).fill(value);

/** Asserts byte equality; compares cheaply first and only builds a diff on mismatch. */
function expectBytes(actual: Uint8Array | null | undefined, expected: Uint8Array, message?: string): void {
  const same =
    actual !== null &&
    actual !== undefined &&
    actual.length === expected.length &&
    actual.every((value, index) => value === expected[index]);
  if (!same) expect(actual, message).toEqual(expected);
}

/** Awaits `promise` and returns the POSIX code it rejected with; fails if it resolved. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MemoryFileSystemError);
    return (error as MemoryFileSystemError).code;
  }
  throw new Error("expected a rejection");
}

/** Reads `lengthBytes` at `position`, returning only what was read. */
async function readAt(handle: FileHandle, position: number, lengthBytes: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(lengthBytes);
  return buffer.subarray(0, await handle.read(buffer, position));
}

/** A file `/dir/name` whose entry and (empty) contents are durable, with an open handle. */
async function durableFile(fs: MemoryFileSystem, name = "file"): Promise<FileHandle> {
  await fs.mkdir("/dir");
  await fs.syncDir("/");
  const handle = await fs.open(`/dir/${name}`, "create");
  await handle.sync();
  await fs.syncDir("/dir");
  return handle;
}

/** Contents of `path` after a crash, or null if the crash lost the file. */
async function contentsAfter(fs: MemoryFileSystem, outcome: CrashOutcome, path = "/dir/file", seed?: number) {
  const rebooted = fs.crash(outcome, seed);
  return (await rebooted.stat(path)) === null ? null : rebooted.readFile(path);
}

/** A plain-array model of a file: applies writes and truncates the way POSIX does. */
function applyModel(contents: number[], operation: ModelOperation): number[] {
  const next = [...contents];
  if (operation.kind === "truncate") {
    next.length = operation.size;
    return Array.from(next, (value) => value ?? 0);
  }
  while (next.length < operation.position) next.push(0);
  operation.data.forEach((value, index) => {
    next[operation.position + index] = value;
  });
  return next;
}

type ModelOperation =
  | { readonly kind: "write"; readonly position: number; readonly data: Uint8Array }
  | { readonly kind: "truncate"; readonly size: number };

const modelOperation: fc.Arbitrary<ModelOperation> = fc.oneof(
  fc.record({
    kind: fc.constant("write" as const),
    position: fc.nat(6000),
    data: fc.uint8Array({ minLength: 1, maxLength: 1500 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), size: fc.nat(7000) }),
);

async function applyToHandle(handle: FileHandle, operation: ModelOperation): Promise<void> {
  if (operation.kind === "write") await handle.write(operation.data, operation.position);
  else await handle.truncate(operation.size);
}

describe("adapter contract", () => {
  test("positional reads and writes, short read at end of file, zero-filled holes", async () => {
    const fs = new MemoryFileSystem();
    const handle = await fs.open("/a", "create");
    await handle.write(text("hello"), 0);
    await handle.write(text("world"), 10);
    expect(await handle.size()).toBe(15);
    expect(await readAt(handle, 0, 100)).toEqual(text("hello\0\0\0\0\0world"));
    expect(await readAt(handle, 12, 10)).toEqual(text("rld"));
    expect(await readAt(handle, 15, 10)).toEqual(new Uint8Array(0));
    expect(await readAt(handle, 99, 10)).toEqual(new Uint8Array(0));
    await handle.write(text("HE"), 0);
    expect(await fs.readFile("a")).toEqual(text("HEllo\0\0\0\0\0world"));
  });

  test("writes copy the caller's buffer", async () => {
    const fs = new MemoryFileSystem();
    const handle = await fs.open("/a", "create");
    const data = text("abc");
    await handle.write(data, 0);
    data[0] = 0x7a;
    expect(await fs.readFile("/a")).toEqual(text("abc"));
  });

  test("truncate shrinks and grows with zeros", async () => {
    const fs = new MemoryFileSystem();
    const handle = await fs.open("/a", "create");
    await handle.write(text("abcdef"), 0);
    await handle.truncate(2);
    expect(await fs.readFile("/a")).toEqual(text("ab"));
    await handle.truncate(5);
    expect(await fs.readFile("/a")).toEqual(text("ab\0\0\0"));
    expect(await codeOf(handle.truncate(-1))).toBe("EINVAL");
  });

  test("open modes: ENOENT, EEXIST, EISDIR, read-only handles, closed handles", async () => {
    const fs = new MemoryFileSystem();
    expect(await codeOf(fs.open("/missing", "read"))).toBe("ENOENT");
    expect(await codeOf(fs.open("/missing", "write"))).toBe("ENOENT");
    expect(await codeOf(fs.open("/no/such/dir/file", "create"))).toBe("ENOENT");
    const handle = await fs.open("/a", "create");
    expect(await codeOf(fs.open("/a", "create"))).toBe("EEXIST");
    await fs.mkdir("/d");
    expect(await codeOf(fs.open("/d", "read"))).toBe("EISDIR");
    expect(await codeOf(fs.open("/a/b", "create"))).toBe("ENOTDIR");
    const reader = await fs.open("/a", "read");
    expect(await codeOf(reader.write(text("x"), 0))).toBe("EBADF");
    expect(await codeOf(reader.truncate(0))).toBe("EBADF");
    await handle.close();
    expect(await codeOf(handle.read(new Uint8Array(1), 0))).toBe("EBADF");
  });

  test("link, unlink, rename replacing atomically, readdir, stat, mkdir", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("/x/y");
    await fs.mkdir("/x/y");
    const handle = await fs.open("/x/y/a", "create");
    await handle.write(text("one"), 0);
    await fs.link("/x/y/a", "/x/y/b");
    expect(await codeOf(fs.link("/x/y/a", "/x/y/b"))).toBe("EEXIST");
    expect(await codeOf(fs.link("/x/y/missing", "/x/y/c"))).toBe("ENOENT");
    expect(await codeOf(fs.link("/x/y", "/x/z"))).toBe("EPERM");
    await handle.write(text("ONE"), 0);
    expect(await fs.readFile("/x/y/b")).toEqual(text("ONE"));

    const other = await fs.open("/x/y/c", "create");
    await other.write(text("two"), 0);
    await fs.rename("/x/y/c", "/x/y/a");
    expect(await fs.readFile("/x/y/a")).toEqual(text("two"));
    expect(await fs.readFile("/x/y/b")).toEqual(text("ONE"));
    expect(await fs.readdir("/x/y")).toEqual(["a", "b"]);
    expect(await codeOf(fs.rename("/x/y/missing", "/x/y/d"))).toBe("ENOENT");
    expect(await codeOf(fs.rename("/x/y/a", "/x"))).toBe("EISDIR");
    expect(await codeOf(fs.rename("/x", "/x/y/inside"))).toBe("EINVAL");

    await fs.unlink("/x/y/b");
    expect(await codeOf(fs.unlink("/x/y/b"))).toBe("ENOENT");
    expect(await codeOf(fs.unlink("/x/y"))).toBe("EISDIR");
    expect(await fs.readdir("/x/y")).toEqual(["a"]);
    expect(await codeOf(fs.readdir("/x/y/a"))).toBe("ENOTDIR");
    expect(await codeOf(fs.readdir("/nope"))).toBe("ENOENT");
    expect(await codeOf(fs.mkdir("/x/y/a"))).toBe("EEXIST");

    expect(await fs.stat("/x/y/a")).toEqual({ size: 3, isFile: true, isDirectory: false });
    expect(await fs.stat("/x")).toEqual({ size: 0, isFile: false, isDirectory: true });
    expect(await fs.stat("/x/nothing")).toBeNull();
    expect(await codeOf(fs.readFile("/x/nothing"))).toBe("ENOENT");
  });

  test("an unlinked open file keeps working through its handle", async () => {
    const fs = new MemoryFileSystem();
    const handle = await fs.open("/a", "create");
    await fs.unlink("/a");
    await handle.write(text("still here"), 0);
    expect(await readAt(handle, 0, 64)).toEqual(text("still here"));
    expect(await fs.stat("/a")).toBeNull();
  });

  test("paths are normalized: relative, dot, dot-dot and repeated slashes name the same entry", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("d");
    await (await fs.open("/d//f", "create")).write(text("z"), 0);
    expect(await fs.readFile("d/./../d/f")).toEqual(text("z"));
    expect(await codeOf(fs.open("x".repeat(256), "create"))).toBe("ENAMETOOLONG");
  });

  test("process identity and liveness across simulated processes", async () => {
    const fs = new MemoryFileSystem({ pid: 41, hostname: "box" });
    expect(fs.process()).toMatchObject({ pid: 41, hostname: "box", runtime: "memory" });
    const instance = fs.process().instance;
    expect(fs.withProcess(43).process().instance).not.toBe(instance);
    const spare = new MemoryFileSystem({ pid: 41, hostname: "box" });
    expect(spare.process().instance).not.toBe(instance);
    expect(spare.crash("keep-unsynced").process().instance).not.toBe(spare.process().instance);
    expect(fs.isProcessAlive(41)).toBe(true);
    expect(fs.isProcessAlive(42)).toBe(false);
    const other = fs.withProcess(42);
    expect(fs.isProcessAlive(42)).toBe(true);
    await (await other.open("/shared", "create")).write(text("from 42"), 0);
    expect(await fs.readFile("/shared")).toEqual(text("from 42"));
    fs.killProcess(42);
    expect(fs.isProcessAlive(42)).toBe(false);
    const error = await other.readFile("/shared").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SimulatedCrashError);
    expect((error as SimulatedCrashError).reason).toBe("killed");
    expect(await fs.readFile("/shared")).toEqual(text("from 42"));
  });
});

describe("durability model", () => {
  test("an unsynced write is lost, a synced one kept", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await handle.write(text("synced"), 0);
    await handle.sync();
    await handle.write(text("SYNCED and more"), 0);
    expect(fs.durableContents("/dir/file")).toEqual(text("synced"));
    expect(await contentsAfter(fs, "lose-unsynced")).toEqual(text("synced"));
    expect(await contentsAfter(fs, "keep-unsynced")).toEqual(text("SYNCED and more"));
  });

  test("synced data in a synced directory survives every outcome and seed", async () => {
    for (const outcome of CRASH_OUTCOMES) {
      for (let seed = 0; seed < 20; seed++) {
        const fs = new MemoryFileSystem({ seed });
        const handle = await durableFile(fs);
        await handle.write(filled(5000, 7), 0);
        await handle.sync();
        await handle.write(filled(3000, 9), 5000);
        const after = await contentsAfter(fs, outcome);
        expectBytes(after?.subarray(0, 5000), filled(5000, 7), `${outcome} seed ${seed}`);
      }
    }
  });

  test("a created and synced file is lost unless its directory is synced", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("/dir");
    await fs.syncDir("/");
    const handle = await fs.open("/dir/file", "create");
    await handle.write(text("data"), 0);
    await handle.sync();
    expect(await contentsAfter(fs, "keep-unsynced")).toEqual(text("data"));
    expect(await contentsAfter(fs, "lose-unsynced")).toBeNull();
    expect(await contentsAfter(fs, "lose-directory-ops")).toBeNull();
    const fresh = new MemoryFileSystem();
    await fresh.mkdir("/dir");
    await fresh.syncDir("/");
    const again = await fresh.open("/dir/file", "create");
    await again.write(text("data"), 0);
    await again.sync();
    await fresh.syncDir("/dir");
    expect(await contentsAfter(fresh, "lose-unsynced")).toEqual(text("data"));
  });

  test("mkdir is durable once its parent is synced; a child entry needs both", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("/a/b");
    await (await fs.open("/a/b/f", "create")).sync();
    await fs.syncDir("/a/b");
    await fs.syncDir("/a");
    expect(await fs.crash("lose-unsynced").stat("/a")).toBeNull();
    const complete = new MemoryFileSystem();
    await complete.mkdir("/a/b");
    await (await complete.open("/a/b/f", "create")).sync();
    for (const dir of ["/a/b", "/a", "/"]) await complete.syncDir(dir);
    expect((await complete.crash("lose-unsynced").stat("/a/b/f"))?.isFile).toBe(true);
  });

  test("a rename becomes durable with its directory; an unsynced one reverts", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs, "tmp");
    await handle.write(text("snapshot"), 0);
    await handle.sync();
    await fs.rename("/dir/tmp", "/dir/final");
    const lost = fs.crash("lose-unsynced");
    expect(await lost.readdir("/dir")).toEqual(["tmp"]);
    expect(await lost.readFile("/dir/tmp")).toEqual(text("snapshot"));
    const kept = fs.crash("keep-unsynced");
    expect(await kept.readdir("/dir")).toEqual(["final"]);
  });

  test("a rename between directories is atomic and durable once either directory is synced", async () => {
    for (const synced of ["/from", "/to"]) {
      const fs = new MemoryFileSystem();
      await fs.mkdir("/from");
      await fs.mkdir("/to");
      await fs.syncDir("/");
      await (await fs.open("/from/f", "create")).sync();
      await fs.syncDir("/from");
      await fs.rename("/from/f", "/to/f");
      expect(fs.pendingOperations()).toEqual([{ kind: "rename", from: "/from/f", path: "/to/f" }]);
      await fs.syncDir(synced);
      expect(fs.pendingOperations()).toEqual([]);
      const rebooted = fs.crash("lose-unsynced");
      expect(await rebooted.readdir("/from")).toEqual([]);
      expect(await rebooted.readdir("/to")).toEqual(["f"]);
    }
  });

  test("syncDir makes a cross-directory rename durable together with the earlier operations it depends on", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("/a");
    await fs.mkdir("/b");
    await fs.syncDir("/");
    await fs.open("/b/old", "create");
    const moved = await fs.open("/a/x", "create");
    await moved.write(text("moved"), 0);
    await moved.sync();
    await fs.rename("/a/x", "/b/old");
    await fs.open("/b/later", "create");
    await fs.syncDir("/a");
    expect(fs.pendingOperations()).toEqual([{ kind: "create", path: "/b/later" }]);
    const rebooted = fs.crash("lose-unsynced");
    expect(await rebooted.readdir("/b")).toEqual(["old"]);
    expect(await rebooted.readFile("/b/old")).toEqual(text("moved"));
    expect(await rebooted.readdir("/a")).toEqual([]);
  });

  test("unlink and link are durable only with their directory", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await handle.write(text("kept"), 0);
    await handle.sync();
    await fs.link("/dir/file", "/dir/alias");
    await fs.unlink("/dir/file");
    const lost = fs.crash("lose-unsynced");
    expect(await lost.readdir("/dir")).toEqual(["file"]);
    expect(await lost.readFile("/dir/file")).toEqual(text("kept"));
    const kept = fs.crash("keep-unsynced");
    expect(await kept.readdir("/dir")).toEqual(["alias"]);
  });

  test("lose-data keeps directory operations but not unsynced data; lose-directory-ops the reverse", async () => {
    const fs = new MemoryFileSystem();
    const existing = await durableFile(fs);
    await existing.write(text("unsynced"), 0);
    const created = await fs.open("/dir/new", "create");
    await created.write(text("fresh"), 0);
    const lostData = fs.crash("lose-data");
    expect(await lostData.readFile("/dir/new")).toEqual(new Uint8Array(0));
    expect(await lostData.readFile("/dir/file")).toEqual(new Uint8Array(0));
    const lostOps = fs.crash("lose-directory-ops");
    expect(await lostOps.stat("/dir/new")).toBeNull();
    expect(await lostOps.readFile("/dir/file")).toEqual(text("unsynced"));
  });

  test("hard links survive a crash as one inode", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await fs.link("/dir/file", "/dir/alias");
    await fs.syncDir("/dir");
    const rebooted = fs.crash("lose-unsynced");
    await (await rebooted.open("/dir/alias", "write")).write(text("via alias"), 0);
    expect(await rebooted.readFile("/dir/file")).toEqual(text("via alias"));
    expect(await codeOf(handle.size())).toBe("ESIMCRASH");
  });
});

describe("crash outcomes", () => {
  test("any subset: a write in the middle of a run is dropped, torn or zeroed while later ones land", async () => {
    const fs = new MemoryFileSystem({ seed: 3 });
    const handle = await durableFile(fs);
    await handle.write(filled(600, 1), 0);
    await handle.write(filled(1000, 2), 600);
    await handle.write(filled(400, 3), 1600);
    const a = filled(600, 1);
    const c = filled(400, 3);
    // the middle write spans 512-byte sectors [512, 1024) and [1024, 1536) and [1536, 2048): only the last lands
    const torn = { sectorBytes: 512, landed: [false, false, true], fill: "zero" } as const;
    const after = await contentsAfter(fs, { kind: "subset", data: ["land", torn, "land"], entries: 0 });
    expectBytes(after, new Uint8Array([...a, ...filled(936, 0), ...filled(64, 2), ...c]));
    const dropped = await contentsAfter(fs, { kind: "subset", data: ["drop", "drop", "land"], entries: 0 });
    expectBytes(dropped, new Uint8Array([...filled(1600, 0), ...c]));
    const garbage = await contentsAfter(fs, { kind: "subset", data: ["land", { ...torn, fill: "garbage" }, "land"], entries: 0 }, "/dir/file", 9);
    expect(garbage?.subarray(600, 1536).some((value) => value !== 0 && value !== 2)).toBe(true);
    expectBytes(garbage?.subarray(1600), c);
    await expect(contentsAfter(fs, { kind: "subset", data: ["land"], entries: 0 })).rejects.toThrow(RangeError);
  });

  test("subsetOutcomes enumerates every combination of a small crash state, and samples a large one", async () => {
    const fs = new MemoryFileSystem({ seed: 3 });
    const handle = await durableFile(fs);
    await handle.write(filled(100, 1), 0);
    await handle.write(filled(1000, 2), 100);
    await fs.open("/dir/other", "create");
    // 2 fates for the small write × (2 + 3 fills × 2 halves at 512 B) for the large one × 2 directory prefixes
    const plan = subsetOutcomes(fs.pendingOperations());
    expect(plan).toMatchObject({ exhaustive: true, combinations: 2 * 8 * 2 });
    expect(new Set(plan.outcomes.map((o) => JSON.stringify(o))).size).toBe(32);
    const contents = new Set<string>();
    for (const outcome of plan.outcomes) contents.add(String(await contentsAfter(fs, outcome)));
    expect(contents.size).toBeGreaterThan(12);
    const sampled = subsetOutcomes(fs.pendingOperations(), { exhaustiveMax: 8, samples: 5, seed: 4 });
    expect(sampled).toMatchObject({ exhaustive: false, combinations: 32 });
    expect(sampled.outcomes).toHaveLength(5);
    expect(subsetOutcomes(fs.pendingOperations(), { exhaustiveMax: 8, samples: 5, seed: 4 })).toEqual(sampled);
    expect(subsetOutcomes([])).toEqual({ outcomes: [], exhaustive: true, combinations: 0 });
  });

  test("torn write: sector-aligned prefix lands, the rest is lost, zeroed or garbage", async () => {
    const fs = new MemoryFileSystem({ seed: 3 });
    const handle = await durableFile(fs);
    const data = filled(1500, 0xab);
    await handle.write(data, 100);
    const torn = (fill: "lost" | "zero" | "garbage") =>
      contentsAfter(fs, { kind: "torn", fill, sectorBytes: 512, landedSectors: 1 });
    // Sectors of file offsets: [100, 512) lands; [512, 1024) and [1024, 1600) do not.
    const lost = await torn("lost");
    expect(lost).toEqual(new Uint8Array([...filled(100, 0), ...filled(412, 0xab)]));
    const zero = await torn("zero");
    expect(zero?.length).toBe(1600);
    expect(zero?.subarray(100, 512)).toEqual(filled(412, 0xab));
    expect(zero?.subarray(512)).toEqual(filled(1088, 0));
    const garbage = await torn("garbage");
    expect(garbage?.length).toBe(1600);
    expect(garbage?.subarray(100, 512)).toEqual(filled(412, 0xab));
    const garbageTail = garbage?.subarray(512) ?? new Uint8Array(0);
    expect(garbageTail.some((value) => value !== 0 && value !== 0xab)).toBe(true);
    const whole = await contentsAfter(fs, { kind: "torn", fill: "zero", sectorBytes: 4096, landedSectors: 9 });
    expect(whole?.subarray(100)).toEqual(data);
  });

  test("seeded torn outcomes tear the last write at a 512 or 4096 byte boundary", async () => {
    const sectorSizes = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const fs = new MemoryFileSystem({ seed });
      const handle = await durableFile(fs);
      await handle.write(filled(600, 1), 0);
      await handle.write(filled(9000, 2), 600);
      const lost = await contentsAfter(fs, "torn-lost");
      const landedBytes = (lost?.length ?? 0) - 600;
      expectBytes(lost?.subarray(0, 600), filled(600, 1));
      expect(landedBytes).toBeLessThan(9000);
      expectBytes(lost?.subarray(600), filled(landedBytes, 2));
      const boundary = 600 + landedBytes;
      expect(landedBytes === 0 || boundary % 512 === 0).toBe(true);
      if (landedBytes > 0) sectorSizes.add(boundary % 4096 === 0 ? 4096 : 512);
      const zero = await contentsAfter(fs, "torn-zero");
      expect(zero?.length).toBe(9600);
      const firstZero = zero?.indexOf(0) ?? -1;
      expect(firstZero === 600 || firstZero % 512 === 0).toBe(true);
      expectBytes(zero?.subarray(firstZero), filled(9600 - firstZero, 0));
    }
    expect(sectorSizes.has(512)).toBe(true);
  });

  test("prefix { keep } persists exactly the first keep unsynced operations", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(modelOperation, { minLength: 1, maxLength: 8 }), async (operations) => {
        const fs = new MemoryFileSystem();
        const handle = await durableFile(fs);
        await handle.write(filled(700, 5), 0);
        await handle.sync();
        for (const operation of operations) await applyToHandle(handle, operation);
        expect(fs.pendingOperations()).toHaveLength(operations.length);
        let model = Array.from(filled(700, 5));
        for (let keep = 0; keep <= operations.length; keep++) {
          expectBytes(await contentsAfter(fs, { kind: "prefix", keep }), new Uint8Array(model), `keep ${keep}`);
          const next = operations[keep];
          if (next !== undefined) model = applyModel(model, next);
        }
        expect(() => fs.crash({ kind: "prefix", keep: operations.length + 1 })).toThrow(RangeError);
      }),
      { numRuns: 60 },
    );
  });

  test("seeded prefix keeps a per-file prefix of that file's operations", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), modelOperation), { minLength: 1, maxLength: 10 }),
        fc.integer(),
        async (steps, seed) => {
          const fs = new MemoryFileSystem({ seed });
          const first = await durableFile(fs, "first");
          const second = await fs.open("/dir/second", "create");
          await second.sync();
          await fs.syncDir("/dir");
          const prefixes = { first: [[] as number[]], second: [[] as number[]] };
          for (const [toFirst, operation] of steps) {
            await applyToHandle(toFirst ? first : second, operation);
            const history = toFirst ? prefixes.first : prefixes.second;
            history.push(applyModel(history[history.length - 1] ?? [], operation));
          }
          const rebooted = fs.crash("prefix");
          const matches = (actual: Uint8Array, candidates: number[][]) =>
            candidates.some((candidate) => candidate.length === actual.length && candidate.every((v, i) => v === actual[i]));
          expect(matches(await rebooted.readFile("/dir/first"), prefixes.first)).toBe(true);
          expect(matches(await rebooted.readFile("/dir/second"), prefixes.second)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("seeded prefix varies the kept length with the seed", async () => {
    const keptBytes = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const fs = new MemoryFileSystem({ seed });
      const handle = await durableFile(fs);
      for (let record = 0; record < 4; record++) await handle.write(filled(10, record + 1), record * 10);
      keptBytes.add((await contentsAfter(fs, "prefix"))?.length ?? -1);
    }
    expect([...keptBytes].sort((left, right) => left - right)).toEqual([0, 10, 20, 30, 40]);
  });

  test("reorder lands a seeded subset of sectors, in any order", async () => {
    let laterWithoutEarlier = false;
    for (let seed = 0; seed < 30; seed++) {
      const fs = new MemoryFileSystem({ seed });
      const handle = await durableFile(fs);
      for (let sector = 0; sector < 8; sector++) await handle.write(filled(512, sector + 1), sector * 512);
      const after = (await contentsAfter(fs, "reorder")) ?? new Uint8Array(0);
      expect(after.length % 512).toBe(0);
      const landed: boolean[] = [];
      for (let sector = 0; sector < after.length / 512; sector++) {
        const expected = after[sector * 512] === 0 ? 0 : sector + 1;
        expectBytes(after.subarray(sector * 512, (sector + 1) * 512), filled(512, expected));
        landed.push(expected !== 0);
      }
      if (landed.some((value, index) => !value && landed.slice(index + 1).some(Boolean))) laterWithoutEarlier = true;
    }
    expect(laterWithoutEarlier).toBe(true);
  });

  test("size-before-data grows sizes but leaves unsynced appends as zeros", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await handle.write(text("header"), 0);
    await handle.sync();
    await handle.write(text("HE"), 0);
    await handle.write(text("record"), 6);
    const created = await fs.open("/dir/new", "create");
    await created.write(text("fresh"), 0);
    const rebooted = fs.crash("size-before-data");
    expect(await rebooted.readFile("/dir/file")).toEqual(new Uint8Array([...text("HEader"), ...filled(6, 0)]));
    expect(await rebooted.readFile("/dir/new")).toEqual(filled(5, 0));
  });

  test("a crash leaves the old machine intact for other outcomes and kills its processes", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await handle.write(text("maybe"), 0);
    const first = fs.crash("keep-unsynced").snapshot();
    expect(fs.crash("lose-unsynced").snapshot().get("/dir/file")).toEqual(new Uint8Array(0));
    expect(fs.crash("keep-unsynced").snapshot()).toEqual(first);
    expect(fs.crashed).toBe(true);
    expect(fs.crashStatesProduced).toBe(3);
    expect(await codeOf(handle.write(text("x"), 0))).toBe("ESIMCRASH");
    expect(await codeOf(fs.readdir("/"))).toBe("ESIMCRASH");
    expect(() => fs.crash("nonsense" as CrashOutcome)).toThrow(RangeError);
  });
});

describe("faults", () => {
  test("a failed fsync drops the dirty data: reads still see it, the next sync succeeds, a crash loses it", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await handle.write(text("durable"), 0);
    await handle.sync();
    await handle.write(text("DIRTY"), 0);
    fs.injectFault({ op: "sync" });
    expect(await codeOf(handle.sync())).toBe("EIO");
    expect(fs.faultsInjected).toBe(1);
    expect(await readAt(handle, 0, 64)).toEqual(text("DIRTYle"));
    expect(fs.pendingOperations()).toEqual([]);
    await handle.sync();
    expect(fs.durableContents("/dir/file")).toEqual(text("durable"));
    for (const outcome of CRASH_OUTCOMES) {
      expect(await contentsAfter(fs, outcome), outcome).toEqual(text("durable"));
    }
  });

  test("a short write lands the chosen prefix and throws the chosen code", async () => {
    const fs = new MemoryFileSystem();
    const handle = await fs.open("/log", "create");
    await handle.write(text("ok"), 0);
    fs.injectFault({ op: "write", nth: 2, code: "ENOSPC", bytesWritten: 3 });
    await handle.write(text("fine"), 2);
    expect(await codeOf(handle.write(text("0123456789"), 6))).toBe("ENOSPC");
    expect(await fs.readFile("/log")).toEqual(text("okfine012"));
    await handle.write(text("after"), 9);
    expect(await fs.readFile("/log")).toEqual(text("okfine012after"));
  });

  test("failed truncate, rename, link, unlink, open, read, mkdir and syncDir change nothing", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await handle.write(text("abc"), 0);
    fs.injectFault({ op: "truncate", code: "EIO" });
    expect(await codeOf(handle.truncate(1))).toBe("EIO");
    expect(await handle.size()).toBe(3);
    fs.injectFault({ op: "rename", code: "EACCES" });
    expect(await codeOf(fs.rename("/dir/file", "/dir/other"))).toBe("EACCES");
    fs.injectFault({ op: "link", code: "EPERM" });
    expect(await codeOf(fs.link("/dir/file", "/dir/other"))).toBe("EPERM");
    fs.injectFault({ op: "unlink", code: "EROFS" });
    expect(await codeOf(fs.unlink("/dir/file"))).toBe("EROFS");
    fs.injectFault({ op: "open", code: "EMFILE" });
    expect(await codeOf(fs.open("/dir/new", "create"))).toBe("EMFILE");
    fs.injectFault({ op: "mkdir" });
    expect(await codeOf(fs.mkdir("/dir/sub"))).toBe("EIO");
    expect(await fs.readdir("/dir")).toEqual(["file"]);
    fs.injectFault({ op: "read" });
    expect(await codeOf(handle.read(new Uint8Array(3), 0))).toBe("EIO");
    expect(await readAt(handle, 0, 3)).toEqual(text("abc"));
    await fs.open("/dir/pending", "create");
    fs.injectFault({ op: "syncDir" });
    expect(await codeOf(fs.syncDir("/dir"))).toBe("EIO");
    expect(fs.pendingOperations().filter((operation) => operation.kind === "create")).toHaveLength(1);
    await fs.syncDir("/dir");
    expect(fs.pendingOperations().filter((operation) => operation.kind === "create")).toHaveLength(0);
    expect(fs.faultsInjected).toBe(8);
  });

  test("rules match by nth, path and repeat, and count from when they are added", async () => {
    const fs = new MemoryFileSystem();
    const a = await fs.open("/a", "create");
    const b = await fs.open("/b", "create");
    await a.write(text("x"), 0);
    fs.injectFault({ op: "write", path: "a", nth: 2, repeat: true });
    await b.write(text("y"), 0);
    await a.write(text("y"), 0);
    expect(await codeOf(a.write(text("z"), 0))).toBe("EIO");
    expect(await codeOf(a.write(text("z"), 0))).toBe("EIO");
    await b.write(text("z"), 0);
    fs.clearFaults();
    await a.write(text("z"), 0);
    expect(await fs.readFile("/a")).toEqual(text("z"));
    expect(() => fs.injectFault({ op: "sync", bytesWritten: 1 })).toThrow(RangeError);
    expect(() => fs.injectFault({ op: "write", nth: 0 })).toThrow(RangeError);
  });

  test("a failed close still releases the handle", async () => {
    const fs = new MemoryFileSystem();
    const handle = await fs.open("/a", "create");
    fs.injectFault({ op: "close" });
    expect(await codeOf(handle.close())).toBe("EIO");
    expect(await codeOf(handle.close())).toBe("EBADF");
  });

  test("a bit flip shows in reads, and in a crash even where newer unsynced data hides it", async () => {
    const fs = new MemoryFileSystem();
    const handle = await durableFile(fs);
    await handle.write(filled(8, 0), 0);
    await handle.sync();
    fs.flipBit("/dir/file", 2, 0);
    fs.flipBit("/dir/file", 3, 7);
    expect(await fs.readFile("/dir/file")).toEqual(new Uint8Array([0, 0, 1, 0x80, 0, 0, 0, 0]));
    await handle.write(filled(2, 0), 4);
    fs.flipBit("/dir/file", 5, 1);
    expect((await fs.readFile("/dir/file"))[5]).toBe(0);
    expect((await contentsAfter(fs, "lose-unsynced"))?.[5]).toBe(2);
    expect(() => fs.flipBit("/dir/file", 8, 0)).toThrow(RangeError);
  });
});

describe("operation counting and scheduled crashes", () => {
  test("every FileSystem and FileHandle call counts once", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("/d");
    const handle = await fs.open("/d/f", "create");
    await handle.write(text("x"), 0);
    await handle.read(new Uint8Array(1), 0);
    await handle.truncate(1);
    await handle.sync();
    await handle.size();
    await fs.stat("/d/f");
    await fs.readFile("/d/f");
    await fs.link("/d/f", "/d/g");
    await fs.rename("/d/g", "/d/h");
    await fs.unlink("/d/h");
    await fs.readdir("/d");
    await fs.syncDir("/d");
    await handle.close();
    expect(fs.operationCount).toBe(15);
    await fs.stat("/missing");
    await codeOf(fs.unlink("/missing"));
    fs.process();
    fs.isProcessAlive(1);
    fs.snapshot();
    expect(fs.operationCount).toBe(17);
  });

  test("crashAtOperation(n) refuses operation n and everything after, in every process", async () => {
    const fs = new MemoryFileSystem();
    const other = fs.withProcess(7);
    const handle = await fs.open("/a", "create");
    await handle.write(text("1"), 0);
    fs.crashAtOperation(4);
    await handle.write(text("2"), 1);
    const error = await handle.sync().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SimulatedCrashError);
    expect(error).toMatchObject({ code: "ESIMCRASH", operationNumber: 4, syscall: "sync", reason: "crash" });
    expect(await codeOf(handle.write(text("3"), 2))).toBe("ESIMCRASH");
    expect(await codeOf(other.stat("/a"))).toBe("ESIMCRASH");
    expect(fs.operationCount).toBe(3);
    expect(fs.crashed).toBe(true);
    expect(() => fs.crashAtOperation(9)).toThrow(RangeError);
    expect(await contentsAfter(fs, "keep-unsynced", "/a")).toEqual(text("12"));
    expect(await contentsAfter(fs, "lose-unsynced", "/a")).toBeNull();
  });

  test("crash points must lie in the future", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir("/d");
    expect(() => fs.crashAtOperation(1)).toThrow(RangeError);
    fs.crashAtOperation(2);
    expect(await codeOf(fs.mkdir("/e"))).toBe("ESIMCRASH");
  });
});

/** Appends `recordCount` 100-byte records, syncing each; returns how many were acknowledged before a crash. */
async function appendWorkload(fs: MemoryFileSystem, recordCount: number, syncDirectory: boolean): Promise<number> {
  let acknowledged = 0;
  try {
    await fs.mkdir("/wal");
    await fs.syncDir("/");
    const handle = await fs.open("/wal/log", "create");
    if (syncDirectory) await fs.syncDir("/wal");
    for (let record = 0; record < recordCount; record++) {
      await handle.write(filled(100, record + 1), record * 100);
      await handle.sync();
      acknowledged += 1;
    }
  } catch (error) {
    expect(error).toBeInstanceOf(SimulatedCrashError);
  }
  return acknowledged;
}

describe("crash at every operation, every outcome", () => {
  test("acknowledged records survive when the log's directory is synced", async () => {
    const total = new MemoryFileSystem();
    expect(await appendWorkload(total, 4, true)).toBe(4);
    let checkedStates = 0;
    for (let crashPoint = 1; crashPoint <= total.operationCount + 1; crashPoint++) {
      for (const outcome of CRASH_OUTCOMES) {
        const fs = new MemoryFileSystem({ seed: crashPoint });
        fs.crashAtOperation(crashPoint);
        const acknowledged = await appendWorkload(fs, 4, true);
        const rebooted = fs.crash(outcome);
        if (acknowledged === 0) continue;
        const log = await rebooted.readFile("/wal/log");
        for (let record = 0; record < acknowledged; record++) {
          expectBytes(log.subarray(record * 100, (record + 1) * 100), filled(100, record + 1), `${crashPoint} ${outcome}`);
        }
        checkedStates += 1;
      }
    }
    expect(checkedStates).toBeGreaterThan(30);
  });

  test("the same run finds the lost records when the directory sync is missing", async () => {
    let violations = 0;
    for (let crashPoint = 1; crashPoint <= 14; crashPoint++) {
      const fs = new MemoryFileSystem();
      fs.crashAtOperation(crashPoint);
      const acknowledged = await appendWorkload(fs, 4, false);
      if (acknowledged > 0 && (await fs.crash("lose-directory-ops").stat("/wal/log")) === null) violations += 1;
    }
    expect(violations).toBeGreaterThan(0);
  });
});

describe("determinism", () => {
  type Step =
    | { readonly kind: "create" | "sync" | "unlink"; readonly file: number }
    | { readonly kind: "write"; readonly file: number; readonly position: number; readonly lengthBytes: number }
    | { readonly kind: "rename"; readonly file: number; readonly to: number }
    | { readonly kind: "syncDir" };
  const fileIndex = fc.nat(2);
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constantFrom("create" as const, "sync" as const, "unlink" as const), file: fileIndex }),
    fc.record({ kind: fc.constant("write" as const), file: fileIndex, position: fc.nat(9000), lengthBytes: fc.integer({ min: 1, max: 5000 }) }),
    fc.record({ kind: fc.constant("rename" as const), file: fileIndex, to: fileIndex }),
    fc.record({ kind: fc.constant("syncDir" as const) }),
  );

  /** Runs `steps`, ignoring ordinary errors; returns the machine. */
  async function run(steps: readonly Step[], seed: number, crashPoint: number): Promise<MemoryFileSystem> {
    const fs = new MemoryFileSystem({ seed });
    fs.crashAtOperation(crashPoint);
    const handles = new Map<number, FileHandle>();
    for (const [index, current] of steps.entries()) {
      try {
        switch (current.kind) {
          case "syncDir":
            await fs.syncDir("/");
            break;
          case "create":
            handles.set(current.file, await fs.open(`/f${current.file}`, "create"));
            break;
          case "unlink":
            await fs.unlink(`/f${current.file}`);
            break;
          case "rename":
            await fs.rename(`/f${current.file}`, `/f${current.to}`);
            break;
          case "sync":
            await handles.get(current.file)?.sync();
            break;
          case "write":
            await handles.get(current.file)?.write(filled(current.lengthBytes, index + 1), current.position);
            break;
        }
      } catch (error) {
        if (error instanceof SimulatedCrashError) break;
        expect(["ENOENT", "EEXIST"]).toContain((error as MemoryFileSystemError).code);
      }
    }
    return fs;
  }

  test("the same seed gives the same crash state for every outcome", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 20 }), fc.integer(), fc.integer({ min: 1, max: 25 }), async (steps, seed, crashPoint) => {
        const left = await run(steps, seed, crashPoint);
        const right = await run(steps, seed, crashPoint);
        expect(left.operationCount).toBe(right.operationCount);
        expect(left.pendingOperations()).toEqual(right.pendingOperations());
        for (const outcome of CRASH_OUTCOMES) {
          expect(left.crash(outcome).snapshot(), outcome).toEqual(right.crash(outcome).snapshot());
        }
      }),
      { numRuns: 80 },
    );
  });

  test("different seeds reach different torn states", async () => {
    const states = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const fs = new MemoryFileSystem({ seed });
      const handle = await fs.open("/f", "create");
      await handle.write(filled(20000, 1), 0);
      states.add(Array.from(fs.crash("torn-garbage").snapshot().get("/f") as Uint8Array).join(",").slice(0, 4000));
    }
    expect(states.size).toBeGreaterThan(1);
  });
});
