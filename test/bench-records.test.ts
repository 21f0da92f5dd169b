/**
 * The bench's byte values (bench/records.ts): both makers give the same
 * 100 bytes for an id, and the slab maker's values are distinct views that
 * never share a byte, so a log or peer copying them copies each value.
 */

import { describe, expect, test } from "vitest";
import { BYTE_RECORD_BYTES, byteRecord, slabByteRecords } from "../bench/records.ts";

describe("byte values", () => {
  test("each maker gives BYTE_RECORD_BYTES bytes with the id little-endian in the first four, zeros after", () => {
    const slab = slabByteRecords();
    for (const value of [byteRecord(0x04030201), slab(0x04030201)]) {
      expect(value.length).toBe(BYTE_RECORD_BYTES);
      expect([...value.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
      expect(value.subarray(4).every((byte) => byte === 0)).toBe(true);
    }
  });

  test("the slab maker's values never overlap, across slabs too, and each keeps its id", () => {
    const slab = slabByteRecords();
    const values = Array.from({ length: 2_000 }, (_, id) => slab(id)); // 200 KB: several 64 KiB slabs
    const ranges = new Map<ArrayBufferLike, Array<[number, number]>>();
    for (const value of values) {
      const list = ranges.get(value.buffer) ?? [];
      list.push([value.byteOffset, value.byteOffset + value.length]);
      ranges.set(value.buffer, list);
    }
    expect(ranges.size).toBeGreaterThan(1);
    for (const list of ranges.values()) {
      list.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < list.length; i++) expect(list[i]![0]).toBeGreaterThanOrEqual(list[i - 1]![1]);
    }
    values.forEach((value, id) => expect(value[0]! | (value[1]! << 8)).toBe(id));
  });
});
