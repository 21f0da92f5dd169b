/**
 * The bench's repetition (bench/measure.ts): every measurement's runs are
 * interleaved round by round, so that tswal and its peers share the
 * machine's slow spells, untimed warm-up runs come first, and each figure
 * is the median of its own runs.
 * The clock is faked, so the rates are exact and nothing here is timed.
 */

import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { type Measurement, medianRates } from "../bench/measure.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Fakes `performance.now`, and returns measurements whose runs take the
 * given durations (ms), one per run in order, while logging `dir/name.run`
 * (the last two parts of each run's path) as each starts.
 */
function fakeMeasurements(durations: Readonly<Record<string, { units: number; ms: readonly number[] }>>): {
  measurements: Measurement[];
  started: string[];
} {
  let nowMs = 0;
  vi.spyOn(performance, "now").mockImplementation(() => nowMs);
  const started: string[] = [];
  const measurements = Object.entries(durations).map(([name, { units, ms }]) => {
    let runs = 0;
    return {
      name,
      units,
      run: async (path: string) => {
        started.push(path.split(/[\\/]/).slice(-2).join("/"));
        nowMs += ms[runs++]!;
      },
    };
  });
  return { measurements, started };
}

describe("medianRates", () => {
  test("runs round by round: run r of every measurement before run r + 1 of any", async () => {
    const { measurements, started } = fakeMeasurements({
      tswal: { units: 1_000, ms: [100, 300, 200] },
      peer: { units: 10, ms: [10, 40, 20] },
    });
    const rates = await medianRates("/bench", { runs: 3, warmupMs: 0 }, measurements);
    expect(started).toEqual(["bench/tswal.0", "bench/peer.0", "bench/tswal.1", "bench/peer.1", "bench/tswal.2", "bench/peer.2"]);
    // tswal: 10,000, 3,333 and 5,000 units/s; the peer: 1,000, 250 and 500.
    expect(rates).toEqual([5_000, 500]);
  });

  test("an even number of runs gives the mean of the middle two", async () => {
    const { measurements } = fakeMeasurements({ tswal: { units: 1_000, ms: [500, 100, 250, 200] } });
    // 2,000, 10,000, 4,000 and 5,000 units/s.
    expect(await medianRates("/bench", { runs: 4, warmupMs: 0 }, measurements)).toEqual([4_500]);
  });

  test("each measurement first runs untimed until the warm-up time has passed, under a directory removed afterwards", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tswal-bench-measure-"));
    try {
      // Warm-up runs of 1 s against 1.5 s of warm-up: two each. Were they timed, the medians would differ.
      const { measurements, started } = fakeMeasurements({
        tswal: { units: 1_000, ms: [1_000, 1_000, 100, 300, 200] },
        peer: { units: 10, ms: [1_000, 1_000, 10, 40, 20] },
      });
      const rates = await medianRates(dir, { runs: 3, warmupMs: 1_500 }, measurements);
      const timed = (run: string): string => `${dir.split(/[\\/]/).pop()}/${run}`;
      expect(started).toEqual([
        "warmup/tswal.0",
        "warmup/tswal.1",
        "warmup/peer.0",
        "warmup/peer.1",
        ...["tswal.0", "peer.0", "tswal.1", "peer.1", "tswal.2", "peer.2"].map(timed),
      ]);
      expect(rates).toEqual([5_000, 500]);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
