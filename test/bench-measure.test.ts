/**
 * The bench's repetition (bench/measure.ts): every measurement's runs are
 * interleaved round by round, so that tswal and its peers share the
 * machine's slow spells, untimed warm-up runs come first, and each figure
 * is the median of its own runs; each run's output is removed once timed,
 * but for run 0 of a measurement a later workload reads.
 * The clock is faked, so the rates are exact and nothing here is timed.
 */

import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
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
 * (the two directories above each run's path) as each starts. Each run
 * writes its path and a `-wal` file beside it, as SQLite would.
 */
function fakeMeasurements(durations: Readonly<Record<string, { units: number; ms: readonly number[]; keepFirstRun?: boolean }>>): {
  measurements: Measurement[];
  started: string[];
} {
  let nowMs = 0;
  vi.spyOn(performance, "now").mockImplementation(() => nowMs);
  const started: string[] = [];
  const measurements = Object.entries(durations).map(([name, { units, ms, keepFirstRun }]) => {
    let runs = 0;
    return {
      name,
      units,
      keepFirstRun,
      run: async (path: string) => {
        started.push(path.split(/[\\/]/).slice(-3, -1).join("/"));
        await writeFile(path, "log");
        await writeFile(`${path}-wal`, "wal");
        nowMs += ms[runs++]!;
      },
    };
  });
  return { measurements, started };
}

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function inTemporaryDirectory(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tswal-bench-measure-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("medianRates", () => {
  test("runs round by round: run r of every measurement before run r + 1 of any", async () => {
    await inTemporaryDirectory(async (dir) => {
      const { measurements, started } = fakeMeasurements({
        tswal: { units: 1_000, ms: [100, 300, 200] },
        peer: { units: 10, ms: [10, 40, 20] },
      });
      const rates = await medianRates(dir, { runs: 3, warmupMs: 0 }, measurements);
      const base = dir.split(/[\\/]/).pop();
      expect(started).toEqual(["tswal.0", "peer.0", "tswal.1", "peer.1", "tswal.2", "peer.2"].map((run) => `${base}/${run}`));
      // tswal: 10,000, 3,333 and 5,000 units/s; the peer: 1,000, 250 and 500.
      expect(rates).toEqual([5_000, 500]);
    });
  });

  test("an even number of runs gives the mean of the middle two", async () => {
    await inTemporaryDirectory(async (dir) => {
      const { measurements } = fakeMeasurements({ tswal: { units: 1_000, ms: [500, 100, 250, 200] } });
      // 2,000, 10,000, 4,000 and 5,000 units/s.
      expect(await medianRates(dir, { runs: 4, warmupMs: 0 }, measurements)).toEqual([4_500]);
    });
  });

  test("each run's output is removed once timed, but for run 0 of a measurement that keeps it", async () => {
    await inTemporaryDirectory(async (dir) => {
      const { measurements } = fakeMeasurements({
        kept: { units: 1, ms: [1, 1, 1], keepFirstRun: true },
        dropped: { units: 1, ms: [1, 1, 1] },
      });
      await medianRates(dir, { runs: 3, warmupMs: 0 }, measurements);
      expect(await readdir(dir)).toEqual(["kept.0"]);
      expect((await readdir(join(dir, "kept.0"))).sort()).toEqual(["kept", "kept-wal"]);
    });
  });

  test("each measurement first runs untimed until the warm-up time has passed, under a directory removed afterwards", async () => {
    await inTemporaryDirectory(async (dir) => {
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
    });
  });
});
