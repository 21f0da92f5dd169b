/**
 * Logs move between runtimes (issue: "a log written under each runtime is
 * read, appended to and repaired under each of the others, and the bytes
 * written are identical whichever runtime wrote them").
 *
 * A child of each runtime (a long-lived agent, `test/children/agent.ts`)
 * and the test process itself do the same operations with a fixed `salt`
 * and a fixed clock (`now`), so every byte of their output is determined:
 *
 * 1. each writes the same batches to a new log: the files are identical, and
 *    every runtime reads them back as the same records;
 * 2. for every ordered pair (A, B), B appends to a copy of A's log: the result
 *    is identical to A appending to its own copy (and so across all pairs);
 * 3. for every ordered pair (A, B), A's log is cut in the middle of its last
 *    record (inside its final batch) and B opens it with `truncate-partial`:
 *    B reports the same cut (the whole final batch, from its start), saves the
 *    same torn bytes, leaves the same bytes behind, and every runtime then
 *    reads the same records.
 */

import { createHash } from "node:crypto";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runtimeName } from "../adapters/auto.ts";
import { Agent, killAll, type Runtime, RUNTIMES } from "./children.ts";
import { type Command, perform, type ReadRecord, type WriteResult } from "./children/ops.ts";
import { useTempDir } from "./helpers.ts";
import { finalBatchStart, frames } from "./log-files.ts";

const SALT = [0x5a, 0x17, 0x00, 0xff, 0x80, 0x01, 0xc3, 0x3c];
/** Record times; above 2^32 so the upper half of the u64 field is used. */
const NOW_WRITE = 1_700_000_000_123;
const NOW_APPEND = 1_700_000_555_000;
const NOW_REPAIR = 1_700_000_999_999;

/** Batches of values a JSON log must carry identically on every runtime. */
const FIRST: unknown[][] = [
  [{ n: 1, nested: { a: [1, 2, { b: null }] } }, "plain"],
  ["unicode: héllo wörld 日本語 🎉", "lone surrogate \ud800 end", "", 0, -0, 1e21, 1.5e-7, 2 ** 53 - 1, true, null],
  [{ big: "x".repeat(70_000), "10": "numeric key", b: 2, a: 1 }],
  [[], {}, { 'quote " backslash \\ control \u0000\u001f': "\u2028\u2029" }],
];
/** Appended later: two batches, the last one cut in step 3. */
const MORE: unknown[][] = [
  ["m1", { m: 2 }],
  ["m3", ["m", 4], { m5: "y".repeat(300) }],
];

/** What a value reads back as (JSON turns -0 into 0, and so on). */
const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const agents = new Map<Runtime, Agent>();

beforeAll(async () => {
  for (const a of await Promise.all(RUNTIMES.map((runtime) => Agent.start(runtime)))) agents.set(a.runtime, a);
}, 60_000);

afterAll(async () => {
  await killAll();
});

/** Runs `command` in a child of `runtime`, or in this process for `"here"`. */
async function run<R>(where: Runtime | "here", command: Command): Promise<R> {
  if (where === "here") return (await perform(command)) as R;
  return await agents.get(where)!.call<R>(command as unknown as Record<string, unknown>);
}

/** SHA-256 and length of `bytes`, as a short comparable string (vitest compares big byte arrays slowly). */
const digest = (bytes: Uint8Array): string =>
  `${bytes.length} bytes, sha256 ${createHash("sha256").update(bytes).digest("hex")}`;

/** Expects every file to hold exactly the bytes of the first; returns them. */
async function expectIdentical(paths: readonly string[]): Promise<Uint8Array> {
  const contents = await Promise.all(paths.map(async (p) => new Uint8Array(await readFile(p))));
  const digests = Object.fromEntries(paths.map((p, i) => [p.slice(p.lastIndexOf("/") + 1), digest(contents[i]!)]));
  const first = digest(contents[0]!);
  expect(digests).toEqual(Object.fromEntries(Object.keys(digests).map((name) => [name, first])));
  return contents[0]!;
}

/** Expects every runtime (children and this process) to read `expected` from `path`. */
async function expectEveryoneReads(path: string, expected: ReadRecord[]): Promise<void> {
  const wheres: (Runtime | "here")[] = [...RUNTIMES, "here"];
  const reads = await Promise.all(wheres.map((where) => run<ReadRecord[]>(where, { op: "read", path })));
  for (const [index, records] of reads.entries()) {
    expect(records, `read by ${wheres[index]}`).toEqual(expected);
  }
}

/** The records `batches` become, numbered from `first`, all timed `timeMs`. */
function recordsOf(batches: unknown[][], first: number, timeMs: number): ReadRecord[] {
  return batches.flat().map((value, index) => ({ sequence: first + index, value: roundTrip(value), timeMs }));
}

test(
  "every runtime writes the same bytes, appends the same bytes to any runtime's log, and repairs alike",
  async () => {
    const dir = await useTempDir();
    const firstRecords = recordsOf(FIRST, 1, NOW_WRITE);
    const moreRecords = recordsOf(MORE, firstRecords.length + 1, NOW_APPEND);

    // 1. Same operations, same bytes.
    const writers: (Runtime | "here")[] = [...RUNTIMES, "here"];
    await Promise.all(
      writers.map((where) =>
        run(where, { op: "write", path: `${dir}/${where}.wal`, salt: SALT, now: NOW_WRITE, batches: FIRST })
      ),
    );
    const written = await expectIdentical(writers.map((where) => `${dir}/${where}.wal`));
    expect(frames(written).filter((f) => f.kind === 2)).toHaveLength(FIRST.length); // one commit per batch
    expect([...written.subarray(16, 24)]).toEqual(SALT);
    for (const runtime of RUNTIMES) await expectEveryoneReads(`${dir}/${runtime}.wal`, firstRecords);

    // 2. B appends to A's log, for every A and B (A = B is the reference).
    const appended = (a: Runtime, b: Runtime) => `${dir}/${a}-appended-by-${b}.wal`;
    for (const a of RUNTIMES) for (const b of RUNTIMES) await copyFile(`${dir}/${a}.wal`, appended(a, b));
    await Promise.all(
      RUNTIMES.map(async (b) => {
        for (const a of RUNTIMES) {
          const result = await run<WriteResult>(b, {
            op: "write",
            path: appended(a, b),
            now: NOW_APPEND,
            batches: MORE,
          });
          expect(result.openedAt).toBe(firstRecords.length);
          expect(result.sequences).toEqual(moreRecords.map((r) => r.sequence));
        }
      }),
    );
    for (const a of RUNTIMES) {
      const alone = digest(new Uint8Array(await readFile(appended(a, a))));
      for (const b of RUNTIMES) {
        expect(digest(new Uint8Array(await readFile(appended(a, b)))), `${a} then ${b}`).toBe(
          alone,
        );
      }
    }
    const appendedBytes = await expectIdentical(RUNTIMES.flatMap((a) => RUNTIMES.map((b) => appended(a, b))));
    expect(digest(appendedBytes.subarray(0, written.length))).toBe(digest(written)); // appending never rewrites
    for (const b of RUNTIMES) await expectEveryoneReads(appended("node", b), [...firstRecords, ...moreRecords]);

    // 3. A's log, cut in the middle of its last data record, repaired by B:
    // the cut takes the whole final batch (MORE's last, three records), never part of it.
    const dataFrames = frames(appendedBytes).filter((f) => f.kind === 1);
    const last = dataFrames.at(-1)!;
    const cut = last.offset + 32 + Math.floor((last.end - last.offset - 32) / 2);
    const batchStart = finalBatchStart(appendedBytes);
    expect(dataFrames.filter((f) => f.offset >= batchStart)).toHaveLength(MORE.at(-1)!.length);
    const survivors = [...firstRecords, ...moreRecords.slice(0, -MORE.at(-1)!.length)];
    const torn = (a: Runtime, b: Runtime) => `${dir}/${a}-torn-repaired-by-${b}.wal`;
    for (const a of RUNTIMES) {
      const bytes = new Uint8Array(await readFile(appended(a, a))).subarray(0, cut);
      for (const b of RUNTIMES) await writeFile(torn(a, b), bytes);
    }
    await Promise.all(
      RUNTIMES.map(async (b) => {
        for (const a of RUNTIMES) {
          const result = await run<WriteResult>(b, {
            op: "write",
            path: torn(a, b),
            now: NOW_REPAIR,
            repair: "truncate-partial",
          });
          expect(result.repaired, `${a} torn, repaired by ${b}`).toEqual({
            kind: "torn-batch", // its first records are whole; the damage starts at the last one
            offset: batchStart,
            bytes: cut - batchStart,
          });
          expect(result.openedAt).toBe(survivors.at(-1)!.sequence);
        }
      }),
    );
    const repairedPaths = RUNTIMES.flatMap((a) => RUNTIMES.map((b) => torn(a, b)));
    const repaired = await expectIdentical(repairedPaths);
    await expectIdentical(repairedPaths.map((p) => `${p}.${batchStart}.torn`));
    expect(digest(new Uint8Array(await readFile(`${torn("node", "bun")}.${batchStart}.torn`)))).toBe(
      digest(appendedBytes.subarray(batchStart, cut)),
    );
    // Kept: exactly every batch before the torn one (the repairing writer's
    // close had nothing to write), ending with a commit.
    expect(digest(repaired)).toBe(digest(appendedBytes.subarray(0, batchStart)));
    expect(frames(repaired).at(-1)!.kind).toBe(2);
    for (const a of RUNTIMES) for (const b of RUNTIMES) await expectEveryoneReads(torn(a, b), survivors);
    // And the repaired log takes appends again, from any runtime.
    const next = await run<WriteResult>(RUNTIMES[(RUNTIMES.indexOf(runtimeName()) + 1) % RUNTIMES.length]!, {
      op: "write",
      path: torn("deno", "node"),
      now: NOW_APPEND,
      batches: [["after repair"]],
    });
    expect(next.sequences).toEqual([survivors.length + 1]);
    await expectEveryoneReads(torn("deno", "node"), [...survivors, {
      sequence: survivors.length + 1,
      value: "after repair",
      timeMs: NOW_APPEND,
    }]);
  },
  120_000,
);
