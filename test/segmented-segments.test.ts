/**
 * The pure helpers of src/segmented/segments.ts that opening and `verify`
 * share: the segment-order problem (thrown by the one, reported by the
 * other), the name check, a sealed segment's torn tail as damage, liveness.
 */

import { expect, test } from "vitest";
import {
  liveFirstSequences,
  nameMismatch,
  sealedTailDamage,
  segmentFirstSequences,
  segmentName,
  segmentOrderProblem,
} from "../src/segmented/segments.ts";

test("segmentOrderProblem: none when the base is at or above the last record before, a sequence-violation below it", () => {
  const before = { path: "/log/a.wal", lastSequence: 10 };
  expect(segmentOrderProblem(before, { path: "/log/b.wal", baseSequence: 10 })).toBeNull();
  expect(segmentOrderProblem(before, { path: "/log/b.wal", baseSequence: 12 })).toBeNull();
  expect(segmentOrderProblem(before, { path: "/log/b.wal", baseSequence: 9 })).toEqual({
    kind: "sequence-violation",
    offset: 0,
    path: "/log/b.wal",
    detail: "base sequence 9 is below 10, the last sequence of /log/a.wal",
  });
});

test("nameMismatch and sealedTailDamage say what is wrong", () => {
  expect(nameMismatch("/log/x.wal", 4, 8)).toEqual({ kind: "sequence-violation", offset: 0, path: "/log/x.wal", detail: "base sequence 4, but the name says 7" });
  const tail = { kind: "torn-batch", offset: 128, path: "/log/x.wal", detail: "batch ends early" } as const;
  expect(sealedTailDamage(tail)).toEqual({ ...tail, detail: "batch ends early; the segment is sealed (a newer one exists), so this is damage to durable data" });
});

test("segment first sequences come from the names, ascending", () => {
  const names = [segmentName(21), "wal.bounds", segmentName(1), `${segmentName(5)}.creating`, segmentName(11)];
  expect(segmentFirstSequences(names)).toEqual([1, 11, 21]);
});

test("liveFirstSequences drops segments wholly below the front and, with a back cut pending, those above it", () => {
  expect(liveFirstSequences([1, 11, 21], { front: 11, back: null })).toEqual([11, 21]);
  expect(liveFirstSequences([1, 11, 21], { front: 12, back: null })).toEqual([11, 21]);
  expect(liveFirstSequences([1, 11, 21], { front: 0, back: 15 })).toEqual([1, 11]);
  expect(liveFirstSequences([1, 11, 21], { front: 21, back: null })).toEqual([21]);
});
