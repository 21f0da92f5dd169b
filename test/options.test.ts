/**
 * Options that catch mistakes: an unknown option name (a typo) or a value
 * of the wrong type is `WalArgumentError` on every entry point, naming the
 * option and the closest one it may have meant, before anything is created;
 * `create: false` refuses a missing log; `WalWriter.open` and `Wal.open`
 * both create missing parent directories; and I/O errors name the user's
 * path once, with the system code once.
 */

import { open as openFile, readdir, writeFile } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { Wal, WalArgumentError, WalIoError, WalReader, WalWriter } from "../mod.ts";
import { useTempDir } from "./helpers.ts";

/** What `run` threw or rejected with (fails the test if it did not). */
async function failure(run: () => unknown): Promise<Error> {
  try {
    const result = run();
    if (result !== null && typeof result === "object" && Symbol.asyncIterator in result) {
      for await (const _ of result as AsyncIterable<unknown>) break;
    } else {
      await result;
    }
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

/** Options as a user in plain JavaScript could pass them, type checks aside. */
function loose(options: Record<string, unknown>): never {
  return options as never;
}

describe("unknown option names", () => {
  test("WalWriter.open refuses a typo beside a real option, names it and its close match, and creates nothing", async () => {
    const dir = await useTempDir();
    const error = await failure(() => WalWriter.open(`${dir}/orders.wal`, loose({ sync: "always", fsync: true })));
    expect(error).toBeInstanceOf(WalArgumentError);
    expect(error.message).toContain('WalWriter.open has no option "fsync"; did you mean "sync"?');
    expect(await readdir(dir)).toEqual([]);
  });

  test("every entry point refuses an unknown option and suggests the close match", async () => {
    const dir = await useTempDir();
    const cases: [string, string, () => unknown][] = [
      ["Wal.open", "segmentBytes", () => Wal.open(`${dir}/refused`, loose({ segmentByte: 1024 }))],
      ["WalReader.open", "from", () => WalReader.open(`${dir}/x.wal`, loose({ form: 1 }))],
      ["Wal.follow", "pollMs", () => Wal.follow(`${dir}/log`, loose({ polMs: 5 }))],
      ["WalWriter.open", "maxRecordBytes", () => WalWriter.open(`${dir}/x.wal`, loose({ maxrecordbytes: 5 }))],
    ];
    for (const [entry, match, run] of cases) {
      const error = await failure(run);
      expect(error, entry).toBeInstanceOf(WalArgumentError);
      expect(error.message, entry).toContain(`${entry} has no option`);
      expect(error.message, entry).toContain(`did you mean "${match}"?`);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  test("an option with no close match is refused without a suggestion, listing the options", async () => {
    const dir = await useTempDir();
    const error = await failure(() => WalWriter.open(`${dir}/x.wal`, loose({ banana: 1 })));
    expect(error).toBeInstanceOf(WalArgumentError);
    expect(error.message).not.toContain("did you mean");
    expect(error.message).toContain("options: repair, sync");
  });

  test("reads, follows and appends of an open log refuse unknown options; nothing is accepted", async () => {
    const dir = await useTempDir();
    const wal = await Wal.open(`${dir}/log`);
    const writer = await WalWriter.open(`${dir}/x.wal`);
    try {
      const cases: [string, string, () => unknown][] = [
        ["read", "to", () => wal.read(loose({ too: 5 }))],
        ["follow", "signal", () => wal.follow(loose({ sigal: AbortSignal.abort() }))],
        ["append", "sequence", () => wal.append(1, loose({ seq: 2 }))],
        ["appendBatch", "sequence", () => wal.appendBatch([1], loose({ sequnce: 2 }))],
        ["append", "sequence", () => writer.append(1, loose({ Sequence: 2 }))],
        ["appendBatch", "sequence", () => writer.appendBatch([1], loose({ sequences: 2 }))],
      ];
      for (const [entry, match, run] of cases) {
        const error = await failure(run);
        expect(error, entry).toBeInstanceOf(WalArgumentError);
        expect(error.message, entry).toContain(`${entry} has no option`);
        expect(error.message, entry).toContain(`did you mean "${match}"?`);
      }
      expect(wal.currentSequence).toBe(0);
      expect(writer.currentSequence).toBe(0);
    } finally {
      await wal.close();
      await writer.close();
    }
  });
});

describe("options of the wrong type", () => {
  test("are refused at every entry point, naming the option", async () => {
    const dir = await useTempDir();
    const wal = await Wal.open(`${dir}/log`);
    try {
      const cases: [string, () => unknown][] = [
        ["create", () => WalWriter.open(`${dir}/x.wal`, loose({ create: "no" }))],
        ["create", () => Wal.open(`${dir}/y`, loose({ create: 0 }))],
        ["cleanupOnRotate", () => Wal.open(`${dir}/y`, loose({ cleanupOnRotate: 1 }))],
        ["maxRecordBytes", () => WalWriter.open(`${dir}/x.wal`, loose({ maxRecordBytes: "5" }))],
        ["staleMs", () => Wal.open(`${dir}/y`, loose({ staleMs: "1000" }))],
        ["maxSegments", () => Wal.open(`${dir}/y`, loose({ maxSegments: "2" }))],
        ["from", () => WalReader.open(`${dir}/x.wal`, loose({ from: "1" }))],
        ["pollMs", () => Wal.follow(`${dir}/log`, loose({ pollMs: "5" }))],
        ["to", () => wal.read(loose({ to: "9" }))],
        ["signal", () => wal.follow(loose({ signal: {} }))],
        ["sequence", () => wal.append(1, loose({ sequence: "2" }))],
      ];
      for (const [name, run] of cases) {
        const error = await failure(run);
        expect(error, name).toBeInstanceOf(WalArgumentError);
        expect(error.message, name).toContain(name);
      }
    } finally {
      await wal.close();
    }
    expect((await readdir(dir)).sort()).toEqual(["log"]);
  });
});

describe("create: false", () => {
  test("WalWriter.open refuses a missing log file with WalIoError (ENOENT) naming the path, creating nothing, and opens one that exists", async () => {
    const dir = await useTempDir();
    const path = `${dir}/sub/orders.wal`;
    const error = await failure(() => WalWriter.open(path, { create: false }));
    expect(error).toBeInstanceOf(WalIoError);
    expect((error as WalIoError).operation).toBe("open");
    expect((error as WalIoError).path).toBe(path);
    expect((error.cause as { code?: unknown }).code).toBe("ENOENT");
    expect(error.message).toContain(path);
    expect(await readdir(dir)).toEqual([]);

    const created = await WalWriter.open(path);
    await created.append("kept");
    await created.close();
    const reopened = await WalWriter.open(path, { create: false });
    expect(reopened.currentSequence).toBe(1);
    await reopened.close();
  });

  test("Wal.open refuses a missing directory and one that holds no log, creating nothing, and opens a log that exists", async () => {
    const dir = await useTempDir();
    for (const target of [`${dir}/missing/log`, dir]) {
      const error = await failure(() => Wal.open(target, { create: false }));
      expect(error, target).toBeInstanceOf(WalIoError);
      expect((error as WalIoError).path, target).toBe(target);
      expect((error.cause as { code?: unknown }).code, target).toBe("ENOENT");
    }
    expect(await readdir(dir)).toEqual([]);

    const created = await Wal.open(`${dir}/log`);
    await created.append("kept");
    await created.close();
    const reopened = await Wal.open(`${dir}/log`, { create: false });
    expect(reopened.currentSequence).toBe(1);
    await reopened.close();
  });
});

describe("missing parent directories", () => {
  test("WalWriter.open creates them, as Wal.open does", async () => {
    const dir = await useTempDir();
    const writer = await WalWriter.open(`${dir}/a/b/orders.wal`);
    await writer.append("x");
    await writer.close();
    const wal = await Wal.open(`${dir}/c/d/orders`);
    await wal.append("y");
    await wal.close();
    expect((await readdir(`${dir}/a/b`)).sort()).toEqual(["orders.wal"]);
    expect((await readdir(`${dir}/c/d/orders`)).length).toBeGreaterThan(0);
  });
});

describe("I/O error messages", () => {
  /** A system code repeated (`ENOENT: ENOENT: ...`). */
  const DOUBLED_CODE = /\b(E[A-Z]+): \1\b/;

  test("a path under a regular file fails on both entry points naming the user's path, with the code once and no internal file", async () => {
    const dir = await useTempDir();
    await writeFile(`${dir}/file`, "not a directory");
    for (const run of [() => WalWriter.open(`${dir}/file/orders.wal`), () => Wal.open(`${dir}/file/orders`)]) {
      const error = await failure(run);
      expect(error).toBeInstanceOf(WalIoError);
      expect(error.message).toContain(`${dir}/file/orders`);
      expect(error.message).not.toMatch(DOUBLED_CODE);
      expect(error.message).not.toMatch(/\.lock\.[0-9a-f]{8}/);
      expect(error.message).toMatch(/: E[A-Z]+: /);
    }
  });

  test("a runtime's own system error is described once, without the path of the call that failed", async () => {
    const dir = await useTempDir();
    const cause = await failure(() => openFile(`${dir}/data.wal.lock.0123456789abcdef`, "r"));
    const error = new WalIoError("lock", `${dir}/data.wal.lock`, cause);
    expect(error.message.startsWith(`lock failed on ${dir}/data.wal.lock: ENOENT: `)).toBe(true);
    expect(error.message).not.toMatch(DOUBLED_CODE);
    expect(error.message).not.toContain("0123456789abcdef");
    expect(error.cause).toBe(cause);
  });
});
