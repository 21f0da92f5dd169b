/**
 * How many zeros a writer puts after a batch that grows its file
 * (src/log/preallocation.ts, docs/FORMAT.md "Preallocated space"): none
 * within the file or after a large batch, else as many bytes as the log
 * holds within 4 KiB … 1 MiB, never past the limit (a segment's size).
 * The writer's tests check what lands in the file; these pin the bounds.
 */

import { describe, expect, test } from "vitest";
import {
  PREALLOCATE_BATCH_BYTES_MAX,
  PREALLOCATE_BYTES_MAX,
  PREALLOCATE_BYTES_MIN,
  preallocationBytes,
} from "../src/log/preallocation.ts";

const KIB = 1024;
const MIB = 1024 * KIB;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

describe("preallocationBytes", () => {
  test("none for a batch that ends within the file (it overwrites zeros written earlier)", () => {
    expect(preallocationBytes(64, 1 * KIB, 8 * KIB, NO_LIMIT)).toBe(0);
    expect(preallocationBytes(64, 8 * KIB - 64, 8 * KIB, NO_LIMIT)).toBe(0); // ends exactly at the file's end
  });

  test("none for a batch of 64 KiB or more, which grows the file alone", () => {
    expect(preallocationBytes(64, PREALLOCATE_BATCH_BYTES_MAX, 64, NO_LIMIT)).toBe(0);
    expect(preallocationBytes(64, PREALLOCATE_BATCH_BYTES_MAX - 1, 64, NO_LIMIT)).toBeGreaterThan(0);
  });

  test("as many bytes as the log will hold, from 4 KiB up to 1 MiB", () => {
    expect(preallocationBytes(64, 100, 64, NO_LIMIT)).toBe(PREALLOCATE_BYTES_MIN);
    expect(preallocationBytes(100 * KIB, 1 * KIB, 100 * KIB, NO_LIMIT)).toBe(101 * KIB);
    expect(preallocationBytes(10 * MIB, 1 * KIB, 10 * MIB, NO_LIMIT)).toBe(PREALLOCATE_BYTES_MAX);
  });

  test("never past the limit, and none once the batch reaches it", () => {
    expect(preallocationBytes(100 * KIB, 1 * KIB, 100 * KIB, 110 * KIB)).toBe(9 * KIB);
    expect(preallocationBytes(100 * KIB, 1 * KIB, 100 * KIB, 101 * KIB)).toBe(0);
    expect(preallocationBytes(100 * KIB, 2 * KIB, 100 * KIB, 101 * KIB)).toBe(0); // a batch may end past a segment's size; no zeros after it
  });
});
