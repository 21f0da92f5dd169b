/**
 * The format's and the scan's asserted invariants, at their edges: what
 * encode writes, decode reads back; a caller that breaks a precondition only
 * the library can break (a salt of the wrong size, a frame with no room, a
 * read range past the reader's capacity or the file) fails an assertion, a
 * plain `Error`, never a `WalError`; and a log whose batches take every path
 * of the scan (buffered, refilled, streamed past the buffer) reads back.
 */

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { bytesCodec, WalError, WalReader, WalWriter } from "../mod.ts";
import { BatchBuffer } from "../src/format/batch-buffer.ts";
import { crc32 } from "../src/format/crc32.ts";
import { utf8IntoPortable } from "../src/format/utf8.ts";
import {
  Checksummer,
  COMMIT_PAYLOAD_BYTES,
  COMMIT_RECORD_BYTES,
  decodeCommitRecord,
  decodeFileHeader,
  decodeRecordHeader,
  emptyCommitFields,
  getU16,
  getU32,
  getU64,
  setU64,
  encodeFileHeader,
  encodeCommitHeader,
  encodeRecordFields,
  type FileHeader,
  FILE_HEADER_BYTES,
  FORMAT_VERSION,
  LOG_ID_BYTES,
  RECORD_HEADER_BYTES,
  RECORD_HEADER_CRC_AT,
  RECORD_KIND_AT,
  RECORD_PAYLOAD_BYTES_AT,
  RECORD_PAYLOAD_CRC_AT,
  RECORD_SEQUENCE_AT,
  RECORD_TIME_AT,
  RECORD_VERSION_AT,
  readCommitAt,
  RecordKind,
  SALT_BYTES,
} from "../src/format/frame.ts";
import { ChunkReader } from "../src/log/chunk-reader.ts";
import { MemoryFileSystem } from "../sim/mod.ts";

const INVARIANT = /^invariant violated: /;

/** What `run` threw: it must throw. */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

/** Expects `run` to fail an assertion: a plain Error, not a WalError. */
function expectAssertion(run: () => unknown): void {
  const error = thrown(run);
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toBeInstanceOf(WalError);
  expect((error as Error).message).toMatch(INVARIANT);
}

function header(fields: Partial<FileHeader> = {}): FileHeader {
  return {
    salt: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    baseSequence: 41,
    logId: new Uint8Array(LOG_ID_BYTES).fill(9),
    link: new Uint8Array(SALT_BYTES).fill(3),
    ...fields,
  };
}

describe("field readers", () => {
  test("read u16, u32 and u64 little-endian at any offset as a DataView does; a u64 past 2^53 − 1 reads as -1", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 24 }), fc.nat(16), (bytes, offsetWanted) => {
        const at = offsetWanted % (bytes.length - 7);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        expect(getU16(bytes, at)).toBe(view.getUint16(at, true));
        expect(getU32(bytes, at)).toBe(view.getUint32(at, true));
        const high = view.getUint32(at + 4, true);
        expect(getU64(bytes, at)).toBe(high >= 0x20_0000 ? -1 : high * 2 ** 32 + view.getUint32(at, true));
      }),
      { numRuns: 500 },
    );
    const edges = new Uint8Array(8);
    const view = new DataView(edges.buffer);
    for (const value of [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      setU64(view, 0, value);
      expect(getU64(edges, 0)).toBe(value);
    }
    view.setUint32(4, 0x20_0000, true);
    expect(getU64(edges, 0)).toBe(-1); // 2^53 exactly
  });
});

describe("the file header", () => {
  test("decodes to the fields it was encoded from", () => {
    const fields = header({ baseSequence: Number.MAX_SAFE_INTEGER });
    const bytes = encodeFileHeader(fields, crc32);
    expect(bytes.length).toBe(FILE_HEADER_BYTES);
    expect(decodeFileHeader(bytes, crc32)).toEqual(fields);
  });

  test("fields of the wrong size, or a base sequence the format cannot hold, fail an assertion", () => {
    expectAssertion(() => encodeFileHeader(header({ salt: new Uint8Array(SALT_BYTES - 1) }), crc32));
    expectAssertion(() => encodeFileHeader(header({ link: new Uint8Array(SALT_BYTES + 1) }), crc32));
    expectAssertion(() => encodeFileHeader(header({ logId: new Uint8Array(LOG_ID_BYTES - 1) }), crc32));
    expectAssertion(() => encodeFileHeader(header({ baseSequence: 2 ** 53 }), crc32));
  });
});

describe("records and batches", () => {
  const checksummer = new Checksummer(crc32, header().salt);

  test("a record header is encoded only where its whole frame fits", () => {
    const target = new Uint8Array(COMMIT_RECORD_BYTES);
    const view = new DataView(target.buffer);
    expect(encodeRecordFields(target, view, 0, RecordKind.data, 1, 2, COMMIT_PAYLOAD_BYTES)).toBe(COMMIT_RECORD_BYTES);
    expectAssertion(() => encodeRecordFields(target, view, 0, RecordKind.data, 1, 2, COMMIT_PAYLOAD_BYTES + 1));
    expectAssertion(() => encodeRecordFields(target, view, 1, RecordKind.data, 1, 2, COMMIT_PAYLOAD_BYTES));
    expect(encodeCommitHeader(target, view, 0, 1, 2, checksummer)).toBe(COMMIT_RECORD_BYTES);
    expectAssertion(() => encodeCommitHeader(target, view, 1, 1, 2, checksummer));
  });

  test("a batch encodes text with the utf8Into it was given, and an encoder that claims more than the room reserved fails an assertion", () => {
    const texts = ["four", "é€😀", ""];
    const calls: number[] = [];
    const given = new BatchBuffer((text, bytes, offset) => (calls.push(offset), utf8IntoPortable(text, bytes, offset)));
    const portable = new BatchBuffer();
    texts.forEach((text, index) => {
      expect(given.addText(index + 1, 100, text, 1024)).toBe(portable.addText(index + 1, 100, text, 1024));
    });
    expect(calls).toEqual([RECORD_HEADER_BYTES, 2 * RECORD_HEADER_BYTES + 4, 3 * RECORD_HEADER_BYTES + 4 + 9]);
    expect(given.seal(0, 101, checksummer)).toEqual(portable.seal(0, 101, checksummer));
    const overclaiming = new BatchBuffer((text, bytes, offset) => utf8IntoPortable(text, bytes, offset) + 3 * text.length);
    expectAssertion(() => overclaiming.addText(1, 100, "x", 1024));
  });

  test("a sealed batch ends with a commit that names exactly it", () => {
    const batch = new BatchBuffer();
    batch.add(7, 100, Uint8Array.of(1, 2, 3));
    expect(batch.addText(8, 101, "four", 1024)).toBe(4);
    const start = 4096;
    const bytes = batch.seal(start, 102, checksummer);
    const commitAt = bytes.length - COMMIT_RECORD_BYTES;
    const found = decodeCommitRecord(bytes.subarray(commitAt), checksummer);
    expect(found).toEqual({
      sequence: 8,
      commit: { batchStart: start, commitOffset: start + commitAt, records: 2, batchCrc: checksummer.of(bytes.subarray(0, commitAt)) },
    });
    const headers = [0, RECORD_HEADER_BYTES + 3].map((at) => decodeRecordHeader(bytes.subarray(at), checksummer, 1024));
    expect(headers).toEqual([
      { kind: RecordKind.data, payloadBytes: 3, sequence: 7, timeMs: 100, payloadCrc: 0 },
      { kind: RecordKind.data, payloadBytes: 4, sequence: 8, timeMs: 101, payloadCrc: 0 },
    ]); // each data header was checksummed when the batch was sealed
    expectAssertion(() => batch.add(9, 103, Uint8Array.of(1)));
    expectAssertion(() => batch.seal(start, 104, checksummer));
  });
});

describe("a commit record, checked where it lies", () => {
  const checksummer = new Checksummer(crc32, header().salt);
  /** A sealed batch of two records at file offset 4096, and where its commit starts. */
  function sealed(): { bytes: Uint8Array; commitAt: number } {
    const batch = new BatchBuffer();
    batch.add(7, 100, Uint8Array.of(1, 2, 3));
    batch.add(8, 101, Uint8Array.of(4));
    const bytes = batch.seal(4096, 102, checksummer).slice();
    return { bytes, commitAt: bytes.length - COMMIT_RECORD_BYTES };
  }
  /** Recomputes the commit's payload CRC and header CRC after an edit, as a writer would have. */
  function rechecksum(bytes: Uint8Array, commitAt: number): void {
    const view = new DataView(bytes.buffer);
    const payloadAt = commitAt + RECORD_HEADER_BYTES;
    view.setUint32(commitAt + RECORD_PAYLOAD_CRC_AT, checksummer.ofRange(bytes, payloadAt, payloadAt + COMMIT_PAYLOAD_BYTES), true);
    view.setUint32(commitAt + RECORD_HEADER_CRC_AT, checksummer.ofRange(bytes, commitAt, commitAt + RECORD_HEADER_CRC_AT), true);
  }

  test("reads the fields decodeCommitRecord decodes, from inside a larger buffer", () => {
    const { bytes, commitAt } = sealed();
    const fields = emptyCommitFields();
    expect(readCommitAt(bytes, commitAt, checksummer, fields)).toBe(true);
    const decoded = decodeCommitRecord(bytes.subarray(commitAt), checksummer)!;
    expect(fields).toEqual({ sequence: decoded.sequence, ...decoded.commit });
    expect(fields).toMatchObject({ sequence: 8, batchStart: 4096, commitOffset: 4096 + commitAt, records: 2 });
  });

  test("any one bit flipped in its 56 bytes makes it refused, and leaves the fields untouched", () => {
    const { bytes, commitAt } = sealed();
    for (let bit = 0; bit < COMMIT_RECORD_BYTES * 8; bit++) {
      const flipped = bytes.slice();
      flipped[commitAt + (bit >> 3)]! ^= 1 << (bit & 7);
      const fields = emptyCommitFields();
      expect(readCommitAt(flipped, commitAt, checksummer, fields), `bit ${bit}`).toBe(false);
      expect(fields).toEqual(emptyCommitFields());
      expect(decodeCommitRecord(flipped.subarray(commitAt), checksummer), `bit ${bit}`).toBeNull();
    }
  });

  test("a wrong magic, version, kind or size, or a time, sequence or offset past 2^53 - 1, is refused even under valid checksums", () => {
    const payloadAt = RECORD_HEADER_BYTES;
    for (const highWordAt of [RECORD_SEQUENCE_AT + 4, RECORD_TIME_AT + 4, payloadAt + 4, payloadAt + 12]) {
      const { bytes, commitAt } = sealed();
      new DataView(bytes.buffer).setUint32(commitAt + highWordAt, 0x20_0000, true);
      rechecksum(bytes, commitAt);
      expect(readCommitAt(bytes, commitAt, checksummer, emptyCommitFields()), `word at ${highWordAt}`).toBe(false);
    }
    const edits: [string, (bytes: Uint8Array, view: DataView, at: number) => void][] = [
      ["magic", (bytes, _view, at) => void (bytes[at + 1] = 0x53)],
      ["version", (bytes, _view, at) => void (bytes[at + RECORD_VERSION_AT] = FORMAT_VERSION + 1)],
      ["kind", (bytes, _view, at) => void (bytes[at + RECORD_KIND_AT] = RecordKind.data)],
      ["payload size", (_bytes, view, at) => view.setUint32(at + RECORD_PAYLOAD_BYTES_AT, COMMIT_PAYLOAD_BYTES - 1, true)],
    ];
    for (const [name, edit] of edits) {
      const { bytes, commitAt } = sealed();
      edit(bytes, new DataView(bytes.buffer), commitAt);
      rechecksum(bytes, commitAt);
      expect(readCommitAt(bytes, commitAt, checksummer, emptyCommitFields()), name).toBe(false);
    }
    const { bytes, commitAt } = sealed();
    rechecksum(bytes, commitAt); // the same edit path, with nothing edited, still reads
    expect(readCommitAt(bytes, commitAt, checksummer, emptyCommitFields())).toBe(true);
  });
});

describe("the chunk reader", () => {
  test("a range past its capacity, or starting past the end of the file, fails an assertion", async () => {
    const fs = new MemoryFileSystem();
    const file = await fs.open("/f", "create");
    await file.write(new Uint8Array(4096).fill(5), 0);
    const capacityBytes = 2 * 1024 * 1024; // the reader's capacity is never below its 1 MiB read-ahead
    const reader = new ChunkReader(file, 4096, capacityBytes);
    expect((await reader.view(4000, 200)).length).toBe(96);
    expect((await reader.view(4096, 10)).length).toBe(0);
    expectAssertion(() => reader.view(0, capacityBytes + 1));
    expectAssertion(() => reader.view(4097, 1));
    expectAssertion(() => reader.view(-1, 1));
    await file.close();
  });

  test("widening doubles what it holds from an offset, up to its capacity and the end of the file, then says it cannot", async () => {
    const MIB = 1024 * 1024;
    const fs = new MemoryFileSystem();
    const file = await fs.open("/f", "create");
    await file.write(new Uint8Array(5 * MIB).fill(7), 0);
    const wide = new ChunkReader(file, 5 * MIB, 16 * MIB);
    await wide.refillFrom(0);
    expect(wide.isBuffered(0, MIB)).toBe(true);
    expect(wide.isBuffered(0, MIB + 1)).toBe(false);
    const held: boolean[] = [];
    while (await wide.refillWider(0)) held.push(wide.isBuffered(0, 2 * MIB), wide.isBuffered(0, 5 * MIB));
    expect(held).toEqual([true, false, true, false, true, true]); // 2, 4, then all 5 MiB
    const capped = new ChunkReader(file, 5 * MIB, 3 * MIB);
    await capped.refillFrom(MIB);
    expect(await capped.refillWider(MIB)).toBe(true);
    expect(capped.isBuffered(MIB, 2 * MIB)).toBe(true);
    expect(await capped.refillWider(MIB)).toBe(true); // 3 MiB: the capacity
    expect(capped.isBuffered(MIB, 3 * MIB)).toBe(true);
    expect(await capped.refillWider(MIB)).toBe(false);
    const shrunk = new ChunkReader(file, 8 * MIB, 16 * MIB); // told of more than the file holds, as when a file is cut back
    await shrunk.refillFrom(0);
    while (await shrunk.refillWider(0));
    expect(shrunk.isBuffered(0, 5 * MIB)).toBe(true);
    expect(await shrunk.refillWider(0)).toBe(false);
    await file.close();
  });
});

describe("the scan", () => {
  test("batches of one record, of several, and larger than the read-ahead or the reader's capacity, read back in order", async () => {
    const fs = new MemoryFileSystem();
    const path = "/log.wal";
    const values: Uint8Array[] = [];
    const options = { fs, codec: bytesCodec, maxRecordBytes: 1536 * 1024 }; // the read buffer holds one such record and a commit
    const writer = await WalWriter.open(path, options);
    const sizes = [
      [10],
      [10, 20, 30],
      [1024 * 1024 + 5],
      Array.from({ length: 500 }, (_, i) => i),
      Array.from({ length: 4 }, () => 300 * 1024), // past one read-ahead, within the capacity: read by widening
      [1, 1024 * 1024, 1024 * 1024, 1], // past the capacity: checked frame by frame
      [7],
    ];
    for (const batch of sizes) {
      const batchValues = batch.map((bytes, i) => new Uint8Array(bytes).fill((values.length + i) % 251));
      await writer.appendBatch(batchValues);
      await writer.flush();
      values.push(...batchValues);
    }
    await writer.close();
    const read: Uint8Array[] = [];
    for await (const record of WalReader.open(path, options)) read.push(record.value);
    const digest = (records: Uint8Array[]) => records.map((value) => `${value.length}:${crc32(value, 0)}`); // toEqual on MiBs is slow
    expect(digest(read)).toEqual(digest(values));
  });
});
