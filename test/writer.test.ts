/**
 * The single-file writer and reader on the running runtime's real filesystem:
 * round trips, sequences, strict validation, torn-tail repair at every cut
 * point of the final batch, damage detection at every byte, hostile length
 * fields, payloads the codec cannot decode.
 */

import { mkdir, readdir } from "node:fs/promises";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  bytesCodec,
  type Codec,
  crc32,
  jsonCodec,
  WalSequenceError,
  SequenceError,
  WalArgumentError,
  WalClosedError,
  WalCorruptionError,
  WalDecodeError,
  WalLockedError,
  WalReader,
  WalWriter,
} from "../mod.ts";
import { defaultFileSystem } from "../adapters/auto.ts";
import type { FileSystem } from "../mod.ts";
import { useTempDir } from "./helpers.ts";
import { contents, damageOffset, finalBatchStart, frames, overwrite, readValues, writeBatches, writeLog } from "./log-files.ts";

const FIVE = [{ n: 1 }, "two", [3, 3, 3], null, { five: "x".repeat(40) }];
/** FIVE in three batches; the final one holds two records. */
const BATCHES = [FIVE.slice(0, 2), FIVE.slice(2, 3), FIVE.slice(3)];
/** The record kinds of a file holding {@link BATCHES}. */
const BATCH_KINDS = [1, 1, 2, 1, 2, 1, 1, 2];
/** The damage kinds a crash can leave (docs/FORMAT.md). */
const TEARABLE = ["torn-batch", "partial-header", "partial-payload", "bad-magic", "checksum-mismatch"];

/** Opens and expects a corruption error; returns its diagnostic. */
async function corruptionOf(path: string, repair: "strict" | "truncate-partial") {
  const error = await WalWriter.open(path, { repair }).then(
    async (w) => {
      await w.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WalCorruptionError);
  return (error as WalCorruptionError).corruption;
}

describe("round trip", () => {
  test("arbitrary JSON values and explicit sequences come back in order", async () => {
    const dir = await useTempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.jsonValue(), fc.nat({ max: 5 })), { maxLength: 12 }),
        async (entries) => {
          const path = `${dir}/rt-${run++}.wal`;
          const writer = await WalWriter.open(path);
          const expected: { sequence: number; value: unknown }[] = [];
          for (const [value, gap] of entries) {
            const sequence = await writer.append(value, gap === 0 ? undefined : { sequence: writer.currentSequence + gap });
            expected.push({ sequence, value: JSON.parse(JSON.stringify(value)) });
          }
          await writer.close();
          const got: { sequence: number; value: unknown }[] = [];
          for await (const r of WalReader.open(path)) got.push({ sequence: r.sequence, value: r.value });
          expect(got).toEqual(expected);
          const reopened = await WalWriter.open(path);
          expect(reopened.currentSequence).toBe(expected.at(-1)?.sequence ?? 0);
          await reopened.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  test("bytes codec stores raw bytes", async () => {
    const path = `${await useTempDir()}/b.wal`;
    const writer = await WalWriter.open(path, { codec: bytesCodec });
    await writer.append(Uint8Array.of(0, 1, 255));
    await writer.append(new Uint8Array(0));
    await writer.close();
    const got: Uint8Array[] = [];
    for await (const r of WalReader.open(path, { codec: bytesCodec })) got.push(r.value);
    expect(got).toEqual([Uint8Array.of(0, 1, 255), new Uint8Array(0)]);
  });

  test("reader starts from a sequence", async () => {
    const path = `${await useTempDir()}/from.wal`;
    await writeLog(path, FIVE);
    expect(await readValues(path, { from: 4 })).toEqual([null, FIVE[4]]);
    expect(await readValues(path, { from: 99 })).toEqual([]);
  });

  test("the file is laid out as docs/FORMAT.md says (format version 3: each batch's commit carries its batch CRC; data payloads have no CRC of their own)", async () => {
    const path = `${await useTempDir()}/layout.wal`;
    const bytes = await writeBatches(path, [["a"], ["b", "c"]], { now: () => 1234 });
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x57, 0x41, 0x4c, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(bytes.buffer);
    expect(view.getUint16(8, true)).toBe(3); // format version
    expect(view.getUint16(10, true)).toBe(64); // header size
    expect(view.getUint32(60, true)).toBe(crc32(bytes.subarray(0, 60), 0));
    const spans = frames(bytes);
    expect(spans.map((f) => f.kind)).toEqual([1, 2, 1, 1, 2]); // one commit per batch, after its records
    for (const span of spans) expect(bytes[span.offset + 2], `version of the frame at ${span.offset}`).toBe(3);
    const first = spans[0]!;
    expect(new TextDecoder().decode(bytes.subarray(first.offset + 32, first.end))).toBe('"a"');
    const seed = crc32(bytes.subarray(16, 24), 0); // salted CRC: continues from the CRC of the 8 salt bytes
    expect(view.getUint32(first.offset + 28, true)).toBe(crc32(bytes.subarray(first.offset, first.offset + 28), seed));
    for (const data of spans.filter((f) => f.kind === 1)) expect(view.getUint32(data.offset + 24, true), `payload CRC field at ${data.offset}`).toBe(0);
    expect(view.getUint32(first.offset + 16, true)).toBe(1234);
    const batchStarts = [64, spans[1]!.end];
    for (const [index, commit] of [spans[1]!, spans[4]!].entries()) {
      const start = batchStarts[index]!;
      expect(commit.end - commit.offset).toBe(56);
      expect(view.getUint32(commit.offset + 8, true)).toBe(index === 0 ? 1 : 3); // the batch's last sequence
      expect(view.getUint32(commit.offset + 32, true)).toBe(start); // batch start
      expect(view.getUint32(commit.offset + 40, true)).toBe(commit.offset); // its own offset
      expect(view.getUint32(commit.offset + 48, true)).toBe(index === 0 ? 1 : 2); // record count
      expect(view.getUint32(commit.offset + 52, true)).toBe(crc32(bytes.subarray(start, commit.offset), seed)); // batch CRC
      expect(view.getUint32(commit.offset + 24, true)).toBe(crc32(bytes.subarray(commit.offset + 32, commit.end), seed));
    }
  });
});

describe("sequences", () => {
  test("append uses current + 1; explicit sequences must increase; gaps are kept", async () => {
    const path = `${await useTempDir()}/seq.wal`;
    const writer = await WalWriter.open(path);
    expect(writer.currentSequence).toBe(0);
    expect(await writer.append("a")).toBe(1);
    expect(await writer.append("b", { sequence: 10 })).toBe(10);
    await writer.flush();
    const before = await contents(path);
    const error = await writer.append("c", { sequence: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalSequenceError);
    expect(error).toBeInstanceOf(SequenceError); // the deprecated name is the same class
    expect((error as WalSequenceError).code).toBe("WAL_SEQUENCE");
    expect((error as WalSequenceError).expected).toBe(11);
    expect((error as WalSequenceError).provided).toBe(10);
    await expect(writer.append("c", { sequence: 0 })).rejects.toBeInstanceOf(WalArgumentError);
    await expect(writer.append("c", { sequence: 1.5 })).rejects.toBeInstanceOf(WalArgumentError);
    expect(writer.currentSequence).toBe(10);
    await writer.flush(); // the refused appends left nothing in the batch to write
    expect(await contents(path)).toEqual(before);
    expect(await writer.append("d")).toBe(11);
    expect(await writer.append("max", { sequence: Number.MAX_SAFE_INTEGER })).toBe(Number.MAX_SAFE_INTEGER);
    await writer.flush();
    const full = await contents(path);
    await expect(writer.append("past the largest sequence")).rejects.toBeInstanceOf(WalArgumentError);
    await writer.flush();
    expect(await contents(path)).toEqual(full);
    await writer.close();
    expect(await contents(path)).toEqual(full.subarray(0, frames(full).at(-1)!.end)); // less the preallocated zeros
    const sequences: number[] = [];
    for await (const r of WalReader.open(path)) sequences.push(r.sequence);
    expect(sequences).toEqual([1, 10, 11, Number.MAX_SAFE_INTEGER]);
  });

  test("a sequence regression on disk is a sequence-violation", async () => {
    const path = `${await useTempDir()}/regress.wal`;
    const a = await writeLog(path, ["x"]); // seq 1
    const other = `${path}.other`;
    // Build the same file header with a record of sequence 1 twice: append a copy of the first batch.
    const [d, c] = frames(a);
    const doubled = new Uint8Array(a.length + (c!.end - d!.offset));
    doubled.set(a, 0);
    doubled.set(a.subarray(d!.offset, c!.end), a.length);
    await overwrite(other, doubled);
    const found = await corruptionOf(other, "truncate-partial");
    expect(found.kind).toBe("sequence-violation");
    expect(found.offset).toBe(a.length);
  });
});

describe("closed and locked", () => {
  test("a closed writer rejects appends and flushes; a second close is harmless", async () => {
    const path = `${await useTempDir()}/closed.wal`;
    const writer = await WalWriter.open(path);
    await writer.append(1);
    await writer.close();
    await writer.close();
    await expect(writer.append(2)).rejects.toBeInstanceOf(WalClosedError);
    await expect(writer.flush()).rejects.toBeInstanceOf(WalClosedError);
    expect(await readValues(path)).toEqual([1]);
  });

  test("await using closes and releases the lock", async () => {
    const path = `${await useTempDir()}/using.wal`;
    {
      await using writer = await WalWriter.open(path);
      await writer.append("kept");
    }
    const again = await WalWriter.open(path);
    expect(again.currentSequence).toBe(1);
    await again.close();
  });

  test("a second writer in the same process gets WalLockedError naming the holder", async () => {
    const path = `${await useTempDir()}/lock.wal`;
    const first = await WalWriter.open(path);
    const error = await WalWriter.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalLockedError);
    expect((error as WalLockedError).holder?.pid).toBe(process.pid);
    await first.close();
    const second = await WalWriter.open(path);
    await second.close();
  });

  test("values the codec cannot encode and oversized records are rejected before any write", async () => {
    const path = `${await useTempDir()}/bad.wal`;
    const writer = await WalWriter.open(path, { maxRecordBytes: 16 });
    const before = await contents(path);
    await expect(writer.append(undefined)).rejects.toBeInstanceOf(WalArgumentError);
    await expect(writer.append(10n as unknown)).rejects.toBeInstanceOf(WalArgumentError);
    await expect(writer.append("x".repeat(20))).rejects.toBeInstanceOf(WalArgumentError);
    expect(writer.currentSequence).toBe(0);
    await writer.flush(); // nothing was accepted, so nothing is written
    expect(await contents(path)).toEqual(before);
    expect(await writer.append("ok")).toBe(1);
    await writer.close();
    expect(await readValues(path)).toEqual(["ok"]);
  });
});

describe("torn tails", () => {
  test("a cut at every byte of the final batch: strict names the batch start, truncate-partial cuts the whole batch (never part of it) and keeps the cut bytes", async () => {
    const dir = await useTempDir();
    const full = await writeBatches(`${dir}/full.wal`, BATCHES);
    const spans = frames(full);
    expect(spans.map((f) => f.kind)).toEqual(BATCH_KINDS);
    const start = finalBatchStart(full);
    const first = spans.find((f) => f.offset === start)!;
    for (let cut = start + 1; cut < full.length; cut++) {
      const path = `${dir}/cut-${cut}.wal`;
      await overwrite(path, full.subarray(0, cut));
      // the first damaged frame: the one the cut falls in, or none (at a frame boundary: records with no commit)
      const damagedAt = spans.find((f) => cut > f.offset && cut < f.end)?.offset ?? cut;
      const kind = damagedAt !== start ? "torn-batch" : cut - start < 32 ? "partial-header" : "partial-payload";
      const found = await corruptionOf(path, "strict");
      expect(found, `cut at ${cut}`).toMatchObject({ kind, offset: start, path });
      if (kind === "torn-batch") expect(found.detail).toContain(`at ${damagedAt}`);
      expect(await contents(path)).toEqual(full.subarray(0, cut));

      const writer = await WalWriter.open(path, { repair: "truncate-partial" });
      expect(writer.repaired).toEqual({ kind, offset: start, bytes: cut - start, savedTo: `${path}.${start}.torn` });
      expect(await contents(writer.repaired!.savedTo)).toEqual(full.subarray(start, cut));
      expect(writer.currentSequence).toBe(3);
      await writer.close();
      expect(await contents(path)).toEqual(full.subarray(0, start));
      expect(await readValues(path)).toEqual(FIVE.slice(0, 3));
    }
    expect(first.end - start).toBeGreaterThan(32); // the cuts covered both kinds of a cut first record
  });

  test("zeros after the last batch are preallocated space, not damage: strict opens and the writer goes on there; closing cuts them", async () => {
    const path = `${await useTempDir()}/zeros.wal`;
    const full = await writeLog(path, FIVE);
    const zeroed = new Uint8Array(full.length + 4096);
    zeroed.set(full);
    await overwrite(path, zeroed);
    const writer = await WalWriter.open(path);
    expect(writer.repaired).toBeNull();
    expect(await writer.append("after")).toBe(6);
    await writer.flush();
    expect((await contents(path)).length).toBeGreaterThanOrEqual(zeroed.length); // the batch went into the zeros
    await writer.close();
    expect(await readValues(path)).toEqual([...FIVE, "after"]);
    expect((await contents(path)).subarray(0, full.length)).toEqual(full);
    const closed = await contents(path);
    expect(closed.length).toBe(frames(closed).at(-1)!.end); // no zeros left after the last batch
  });

  test("a writer preallocates zeros past its last batch while open (one write per batch either way) and leaves none after close", async () => {
    const path = `${await useTempDir()}/prealloc.wal`;
    const writer = await WalWriter.open(path);
    await writer.append("one");
    await writer.flush();
    const open = await contents(path);
    const end = frames(open).at(-1)!.end;
    expect(open.length).toBeGreaterThan(end);
    expect(open.subarray(end).every((byte) => byte === 0)).toBe(true);
    expect(await readValues(path)).toEqual(["one"]); // a reader stops at the zeros
    await writer.close();
    expect((await contents(path)).length).toBe(end);
  });

  test("a batch of 64 KiB or more grows the file without zeros after it (they would be written twice); a smaller one after it preallocates again", async () => {
    const path = `${await useTempDir()}/large-batch.wal`;
    const writer = await WalWriter.open(path);
    await writer.appendBatch(Array.from({ length: 300 }, (_, i) => `${i}`.padEnd(250, "x"))); // 300 frames of 32 + 252 bytes
    await writer.flush();
    const large = await contents(path);
    expect(frames(large).at(-1)!.end - 64).toBeGreaterThanOrEqual(64 * 1024);
    expect(large.length).toBe(frames(large).at(-1)!.end);
    await writer.append("small");
    await writer.flush();
    const small = await contents(path);
    expect(small.length).toBeGreaterThan(frames(small).at(-1)!.end);
    await writer.close();
  });

  test("garbage after the last commit is a torn tail; a commit of another log inside it does not count", async () => {
    const dir = await useTempDir();
    const path = `${dir}/garbage.wal`;
    const full = await writeLog(path, FIVE);
    const foreign = await writeLog(`${dir}/foreign.wal`, FIVE); // same records, another salt
    const foreignCommit = frames(foreign).at(-1)!;
    const garbage = new Uint8Array(300).map((_, i) => (i * 97 + 13) & 0xff);
    garbage.set(foreign.subarray(foreignCommit.offset, foreignCommit.end), 100);
    const damaged = new Uint8Array(full.length + garbage.length);
    damaged.set(full);
    damaged.set(garbage, full.length);
    await overwrite(path, damaged);
    expect(await corruptionOf(path, "strict")).toMatchObject({ offset: full.length });
    const writer = await WalWriter.open(path, { repair: "truncate-partial" });
    expect(writer.repaired).toMatchObject({ offset: full.length, bytes: 300 });
    await writer.close();
    expect(await readValues(path)).toEqual(FIVE);
  });

  test("bytes inserted or deleted mid-log shift later commits: fatal under every policy, never a torn tail", async () => {
    const dir = await useTempDir();
    const full = await writeLog(`${dir}/full.wal`, FIVE);
    const second = frames(full)[2]!; // second data record
    for (const [name, shifted] of [
      ["inserted", new Uint8Array([...full.subarray(0, second.offset + 5), 0xaa, 0xbb, ...full.subarray(second.offset + 5)])],
      ["deleted", new Uint8Array([...full.subarray(0, second.offset + 5), ...full.subarray(second.offset + 8)])],
    ] as const) {
      const path = `${dir}/${name}.wal`;
      await overwrite(path, shifted);
      for (const repair of ["strict", "truncate-partial"] as const) {
        const found = await corruptionOf(path, repair);
        expect(found.offset, `${name} under ${repair}`).toBe(second.offset);
        expect(found.detail).toMatch(/shifted by -?\d+ bytes/);
      }
      expect(await contents(path)).toEqual(shifted);
    }
  });

  test("unflushed records are not on disk; a final batch with a hole (writes landed out of order) or without its commit is cut whole", async () => {
    const dir = await useTempDir();
    const path = `${dir}/order.wal`;
    const writer = await WalWriter.open(path);
    await writer.append("durable");
    await writer.flush();
    const flushed = await contents(path);
    expect(await writer.append("landed")).toBe(2);
    await writer.append("lost");
    await writer.append("landed-after-hole");
    expect(writer.currentSequence).toBe(4);
    expect(await contents(path)).toEqual(flushed); // appended, not flushed: nothing of them on disk
    expect(await readValues(path)).toEqual(["durable"]);
    await writer.flush();
    await writer.close();
    const bytes = await contents(path);
    const spans = frames(bytes);
    expect(spans.map((f) => f.kind)).toEqual([1, 2, 1, 1, 1, 2]); // the three went out as one batch
    const start = frames(flushed).at(-1)!.end; // the open writer had preallocated zeros after it
    expect(spans[2]!.offset).toBe(start);

    // "lost" never reached the disk; the sectors around it and the commit did
    const holed = bytes.slice();
    holed.fill(0, spans[3]!.offset, spans[3]!.end);
    // the commit never reached the disk; every record did
    const uncommitted = bytes.slice(0, spans[5]!.offset);
    for (const [name, damaged, damagedAt] of [
      ["holed", holed, spans[3]!.offset],
      ["uncommitted", uncommitted, uncommitted.length],
    ] as const) {
      const torn = `${dir}/${name}.wal`;
      await overwrite(torn, damaged);
      const found = await corruptionOf(torn, "strict");
      expect(found, name).toMatchObject({ kind: "torn-batch", offset: start });
      expect(found.detail).toContain(`at ${damagedAt}`);
      expect(await contents(torn)).toEqual(damaged);
      const repaired = await WalWriter.open(torn, { repair: "truncate-partial" });
      expect(repaired.repaired).toMatchObject({ kind: "torn-batch", offset: start, bytes: damaged.length - start });
      expect(await contents(repaired.repaired!.savedTo)).toEqual(damaged.subarray(start));
      expect(repaired.currentSequence).toBe(1);
      await repaired.close();
      expect(await contents(torn)).toEqual(flushed.subarray(0, start));
      expect(await readValues(torn)).toEqual(["durable"]);
    }
  });

  test("repaired files are never overwritten: a second repair at the same offset gets a new name", async () => {
    const dir = await useTempDir();
    const path = `${dir}/twice.wal`;
    const full = await writeLog(path, ["a"]);
    for (let i = 0; i < 2; i++) {
      const torn = new Uint8Array(full.length + 3);
      torn.set(full);
      torn.set([0x57, 0x52, i], full.length);
      await overwrite(path, torn);
      const writer = await WalWriter.open(path, { repair: "truncate-partial" });
      await writer.close();
    }
    const saved = (await readdir(dir)).filter((n) => n.endsWith(".torn")).sort();
    expect(saved).toEqual([`twice.wal.${full.length}.2.torn`, `twice.wal.${full.length}.torn`]);
  });
});

describe("damage to durable data", () => {
  test("a flip of every byte before the final batch fails under every policy, at the right offset, changing nothing", async () => {
    const dir = await useTempDir();
    const full = await writeBatches(`${dir}/full.wal`, BATCHES);
    const spans = frames(full);
    expect(spans.map((f) => f.kind)).toEqual(BATCH_KINDS);
    const path = `${dir}/flip.wal`;
    for (let at = 0; at < finalBatchStart(full); at++) {
      const flipped = full.slice();
      flipped[at]! ^= 0x20;
      await overwrite(path, flipped);
      const expectedOffset = damageOffset(full, at); // a data payload's damage is its batch's: only the batch CRC covers it
      for (const repair of ["strict", "truncate-partial"] as const) {
        const found = await corruptionOf(path, repair);
        expect(found.offset, `byte ${at} under ${repair}`).toBe(expectedOffset);
        expect(found.path).toBe(path);
        expect(await contents(path)).toEqual(flipped);
      }
      await expect(readValues(path), `byte ${at} read`).rejects.toMatchObject({ corruption: { offset: expectedOffset } });
    }
    expect((await readdir(dir)).filter((n) => n.endsWith(".torn"))).toEqual([]);
  });

  test("a flip of any byte of the final batch, even acknowledged, is a torn tail: strict refuses at the batch start, truncate-partial cuts the batch and keeps it", async () => {
    const dir = await useTempDir();
    const full = await writeBatches(`${dir}/full.wal`, BATCHES);
    const spans = frames(full);
    const start = finalBatchStart(full);
    const first = spans.find((f) => f.offset === start)!;
    await mkdir(`${dir}/repaired`);
    for (let at = start; at < full.length; at++) {
      const flipped = full.slice();
      flipped[at]! ^= 0x20;
      // the damage starts at the batch start when the flip is in its first header, or in any data payload (only the batch CRC covers those)
      const inPayload = spans.some((f) => f.kind === 1 && at >= f.offset + 32 && at < f.end);
      const kind = inPayload ? "checksum-mismatch" : at >= first.end ? "torn-batch" : at - start < 2 ? "bad-magic" : "checksum-mismatch";
      const path = `${dir}/flip.wal`;
      await overwrite(path, flipped);
      const found = await corruptionOf(path, "strict");
      expect(found, `byte ${at} under strict`).toMatchObject({ kind, offset: start, path });
      expect(TEARABLE).toContain(found.kind);
      expect(await contents(path)).toEqual(flipped);
      expect(await readValues(path)).toEqual(FIVE.slice(0, 3)); // readers stop before it, as at any torn tail

      const repairedPath = `${dir}/repaired/flip-${at}.wal`;
      await overwrite(repairedPath, flipped);
      const writer = await WalWriter.open(repairedPath, { repair: "truncate-partial" });
      expect(writer.repaired, `byte ${at} under truncate-partial`).toEqual({
        kind,
        offset: start,
        bytes: full.length - start,
        savedTo: `${repairedPath}.${start}.torn`,
      });
      expect(writer.currentSequence).toBe(3);
      await writer.close();
      expect(await contents(writer.repaired!.savedTo)).toEqual(flipped.subarray(start));
      expect(await contents(repairedPath)).toEqual(full.subarray(0, start));
    }
    expect((await readdir(dir)).filter((n) => n.endsWith(".torn"))).toEqual([]);
  });

  test("a data record whose payload CRC field is not zero is bad-header under every policy, found by either pass over its batch", async () => {
    const dir = await useTempDir();
    const path = `${dir}/field.wal`;
    const full = await writeBatches(path, [["a", "b", "c"]]);
    const [, second, third] = frames(full);
    const seed = crc32(full.subarray(16, 24), 0);

    // A resealed header leaves the batch CRC as it was (a CRC over bytes followed by their own CRC is a
    // constant), so the batch passes the first pass and the second pass finds the field.
    const resealed = full.slice();
    const view = new DataView(resealed.buffer);
    view.setUint32(second!.offset + 24, 0x1234, true);
    view.setUint32(second!.offset + 28, crc32(resealed.subarray(second!.offset, second!.offset + 28), seed), true);
    // With a later payload damaged too, the batch CRC fails and the damage pass meets the field first.
    const alsoDamaged = resealed.slice();
    alsoDamaged[third!.offset + 32]! ^= 0x01;
    for (const bytes of [resealed, alsoDamaged]) {
      for (const repair of ["strict", "truncate-partial"] as const) {
        await overwrite(path, bytes);
        expect(await corruptionOf(path, repair), repair).toMatchObject({ kind: "bad-header", offset: second!.offset });
      }
      await expect(readValues(path)).rejects.toMatchObject({ corruption: { kind: "bad-header", offset: second!.offset } });
    }
  });

  test("a huge length field: checksum-mismatch if the header CRC fails, oversized-length if it matches; nothing allocated", async () => {
    const dir = await useTempDir();
    const path = `${dir}/huge.wal`;
    const full = await writeLog(path, ["a", "b"]);
    const first = frames(full)[0]!;
    const seed = crc32(full.subarray(16, 24), 0);

    const damaged = full.slice();
    new DataView(damaged.buffer).setUint32(first.offset + 4, 0xffff_fff0, true);
    await overwrite(path, damaged);
    expect(await corruptionOf(path, "truncate-partial")).toMatchObject({ kind: "checksum-mismatch", offset: first.offset });

    const resealed = damaged.slice();
    const view = new DataView(resealed.buffer);
    view.setUint32(first.offset + 28, crc32(resealed.subarray(first.offset, first.offset + 28), seed), true);
    await overwrite(path, resealed);
    expect(await corruptionOf(path, "truncate-partial")).toMatchObject({ kind: "oversized-length", offset: first.offset });

    const real = await defaultFileSystem();
    let largestReadBytes = 0;
    const recording: FileSystem = {
      ...real,
      name: real.name,
      process: () => real.process(),
      isProcessAlive: (pid) => real.isProcessAlive(pid),
      stat: (p) => real.stat(p),
      async open(p, mode) {
        const file = await real.open(p, mode);
        return {
          ...file,
          read: (buffer, position) => {
            largestReadBytes = Math.max(largestReadBytes, buffer.length);
            return file.read(buffer, position);
          },
          write: (d, p2) => file.write(d, p2),
          truncate: (s) => file.truncate(s),
          sync: () => file.sync(),
          size: () => file.size(),
          close: () => file.close(),
        };
      },
    };
    const error = await (async () => {
      for await (const _ of WalReader.open(path, { fs: recording })) void _;
    })().catch((e: unknown) => e);
    expect((error as WalCorruptionError).corruption.kind).toBe("oversized-length");
    expect(largestReadBytes).toBeGreaterThan(0);
    expect(largestReadBytes).toBeLessThanOrEqual(full.length);
  });

  test("a record the codec cannot decode is no damage: writers open (opening decodes nothing); the reader throws WalDecodeError when it reaches it", async () => {
    const path = `${await useTempDir()}/decode.wal`;
    const writer = await WalWriter.open(path, { codec: bytesCodec });
    const encoder = new TextEncoder();
    await writer.appendBatch([encoder.encode('"fine"'), encoder.encode("{not json"), encoder.encode('"after"')]);
    await writer.close();
    const bytes = await contents(path);
    const undecodable = frames(bytes)[1]!;
    for (const repair of ["strict", "truncate-partial"] as const) {
      const reopened = await WalWriter.open(path, { repair });
      expect(reopened.repaired).toBeNull();
      expect(reopened.currentSequence).toBe(3);
      await reopened.close();
    }
    expect(await contents(path)).toEqual(bytes);

    const values: unknown[] = [];
    const error = await (async () => {
      for await (const record of WalReader.open(path)) values.push(record.value);
    })().catch((e: unknown) => e);
    expect(values).toEqual(["fine"]); // the records before it, then the error
    expect(error).toBeInstanceOf(WalDecodeError);
    expect(error).toMatchObject({ code: "WAL_DECODE", sequence: 2, path, offset: undecodable.offset });
    expect((error as WalDecodeError).cause).toBeInstanceOf(SyntaxError);
    expect(await readValues(path, { from: 3 })).toEqual(["after"]); // records skipped are not decoded
    const raw: Uint8Array[] = [];
    for await (const record of WalReader.open(path, { codec: bytesCodec })) raw.push(record.value);
    expect(raw.map((value) => new TextDecoder().decode(value))).toEqual(['"fine"', "{not json", '"after"']);
  });

  test("a file that is not a log fails with bad-magic at 0", async () => {
    const path = `${await useTempDir()}/text.wal`;
    await overwrite(path, new TextEncoder().encode("hello, this is not a write-ahead log at all\n"));
    expect(await corruptionOf(path, "truncate-partial")).toMatchObject({ kind: "bad-magic", offset: 0 });
  });
});

describe("text codecs (toText): records encoded straight into the batch", () => {
  /** JSON without `toText`: every record takes the general path, through `encode`. */
  const jsonBytesOnly: Codec<unknown> = { name: "json", encode: (value) => jsonCodec.encode(value), decode: (bytes) => jsonCodec.decode(bytes) };

  test("write exactly the bytes encode would, whatever the text (multibyte, surrogate pairs, lone surrogates)", async () => {
    const dir = await useTempDir();
    const salt = new Uint8Array(8).fill(7);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.jsonValue()), { maxLength: 12 }), async (values) => {
        run++;
        const files: Uint8Array[] = [];
        for (const codec of [jsonCodec, jsonBytesOnly]) {
          const path = `${dir}/${run}-${files.length}.wal`;
          const writer = await WalWriter.open(path, { codec, salt, now: () => 1_700_000_000_000, maxBatchBytes: 4096 });
          for (const value of values) await writer.append(value);
          await writer.appendBatch(values.slice(0, 3));
          await writer.close();
          files.push(await contents(path));
        }
        expect(files[0]).toEqual(files[1]);
        const expected = [...values, ...values.slice(0, 3)].map((value) => JSON.parse(JSON.stringify(value)) as unknown);
        expect(await readValues(`${dir}/${run}-0.wal`)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  test("a text whose UTF-8 exceeds maxRecordBytes is refused before anything is accepted, though its code units fit", async () => {
    const path = `${await useTempDir()}/limit.wal`;
    const writer = await WalWriter.open(path, { maxRecordBytes: 100 });
    await expect(writer.append("é".repeat(60))).rejects.toBeInstanceOf(WalArgumentError); // 62 code units, 122 bytes of JSON
    await expect(writer.append("x".repeat(200))).rejects.toBeInstanceOf(WalArgumentError);
    expect(writer.currentSequence).toBe(0);
    expect(await writer.append("é".repeat(40))).toBe(1); // 82 bytes
    await writer.close();
    expect(await readValues(path)).toEqual(["é".repeat(40)]);
  });

  test("appendBatch of texts is all or nothing: a record over maxRecordBytes or a batch over maxBatchBytes accepts none of it", async () => {
    const path = `${await useTempDir()}/batch-limit.wal`;
    const writer = await WalWriter.open(path, { maxRecordBytes: 100, maxBatchBytes: 1024 });
    await writer.append("first");
    await expect(writer.appendBatch(["ok", "fine", "é".repeat(60)])).rejects.toBeInstanceOf(WalArgumentError);
    await expect(writer.appendBatch(Array.from({ length: 12 }, () => "x".repeat(90)))).rejects.toBeInstanceOf(WalArgumentError); // 12 × 124 bytes
    expect(writer.currentSequence).toBe(1);
    expect(await writer.appendBatch(["a", "b"])).toBe(3);
    await writer.close();
    expect(await readValues(path)).toEqual(["first", "a", "b"]);
  });
});
